/// max(0, x), element-wise.
public final class ReLU: Layer {
    private var mask: [Bool] = []

    public init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        mask = input.data.map { $0 > 0 }
        return Tensor(shape: input.shape, data: input.data.map { max($0, 0) })
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        Tensor(shape: gradient.shape, data: zip(gradient.data, mask).map { $1 ? $0 : 0 })
    }
}

/// Flattens N × … to N × (product of the rest).
public final class Flatten: Layer {
    private var shape: [Int] = []

    public init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        shape = input.shape
        return input.reshaped([input.shape[0], input.count / max(1, input.shape[0])])
    }

    public func backward(_ gradient: Tensor) -> Tensor { gradient.reshaped(shape) }
}
