/// A trainable value and its gradient.
public final class Parameter {
    public let name: String
    public var value: Tensor
    public var gradient: Tensor
    /// Whether weight decay applies (weights yes; biases, BN scales and PACT α no).
    public let decays: Bool
    /// Whether the optimizer updates it (false: the value stays fixed; its gradient is still
    /// computed, and its momentum stays zero).
    public var trainable = true

    public init(name: String, value: Tensor, decays: Bool) {
        self.name = name
        self.value = value
        gradient = Tensor(zeros: value.shape)
        self.decays = decays
    }

    public func zeroGradient() {
        gradient.data.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }
}

/// A layer with an explicit backward pass.
///
/// `forward` caches what `backward` needs; `backward` takes ∂L/∂output, adds ∂L/∂parameter to
/// each parameter's gradient, and returns ∂L/∂input. One forward precedes each backward.
public protocol Layer: AnyObject {
    func forward(_ input: Tensor, training: Bool) -> Tensor
    func backward(_ gradient: Tensor) -> Tensor
    /// Trainable parameters, in a fixed order.
    var parameters: [Parameter] { get }
    /// Non-trainable state saved with a model (BN running statistics), by name.
    var buffers: [(name: String, value: Tensor)] { get }
    /// Restores a buffer saved under `name`.
    func setBuffer(_ name: String, _ value: Tensor)
    /// Why `value` cannot be this layer's buffer `name` (nil: it can, or the name is not
    /// this layer's): a restored checkpoint is checked with it.
    func bufferProblem(_ name: String, _ value: Tensor) -> String?
    /// The layers this one is made of, in forward order (empty for a leaf).
    var sublayers: [any Layer] { get }
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var buffers: [(name: String, value: Tensor)] { [] }
    public func setBuffer(_ name: String, _ value: Tensor) {}
    public func bufferProblem(_ name: String, _ value: Tensor) -> String? { nil }
    public var sublayers: [any Layer] { [] }

    /// This layer and every layer inside it, depth first in forward order.
    public var allLayers: [any Layer] { [self] + sublayers.flatMap(\.allLayers) }
}
