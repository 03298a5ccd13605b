/// The CIFAR ResNet basic block: conv3×3 → BN → ReLU → conv3×3 → BN, plus the shortcut, → ReLU.
///
/// When the block halves the resolution and widens the channels, the shortcut is the input
/// sampled at stride 2 with the new channels zero-padded (He et al. 2016, option A): it has
/// no parameters, as in the original CIFAR networks.
public final class BasicBlock: Layer {
    public let conv1: Conv2d, bn1: BatchNorm2d
    public let conv2: Conv2d, bn2: BatchNorm2d
    /// The activations after bn1 and after the sum: ReLU, or PACT when quantized.
    public var activation1: any Layer = ReLU()
    public var activation2: any Layer = ReLU()
    public let stride: Int, inChannels: Int, outChannels: Int
    public let name: String
    private var inputShape: [Int] = []

    public init(_ inChannels: Int, _ outChannels: Int, stride: Int, initializer: inout TensorInitializer, name: String) {
        (self.inChannels, self.outChannels, self.stride, self.name) = (inChannels, outChannels, stride, name)
        conv1 = Conv2d(inChannels, outChannels, kernel: 3, stride: stride, padding: 1, initializer: &initializer, name: "\(name).conv1")
        bn1 = BatchNorm2d(outChannels, name: "\(name).bn1")
        conv2 = Conv2d(outChannels, outChannels, kernel: 3, stride: 1, padding: 1, initializer: &initializer, name: "\(name).conv2")
        bn2 = BatchNorm2d(outChannels, name: "\(name).bn2")
    }

    var layers: [any Layer] { [conv1, bn1, activation1, conv2, bn2] }
    public var parameters: [Parameter] { layers.flatMap(\.parameters) + activation2.parameters }
    public var buffers: [(name: String, value: Tensor)] { layers.flatMap(\.buffers) }
    public func setBuffer(_ name: String, _ value: Tensor) { layers.forEach { $0.setBuffer(name, value) } }
    public var sublayers: [any Layer] { layers + [activation2] }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        inputShape = input.shape
        let residual = layers.reduce(input) { $1.forward($0, training: training) }
        return activation2.forward(residual + shortcut(input), training: training)
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let g = activation2.backward(gradient)
        let throughBlock = layers.reversed().reduce(g) { $1.backward($0) }
        return throughBlock + shortcutBackward(g)
    }

    /// Identity, or stride-2 sampling with zero-padded new channels (split evenly before and after).
    func shortcut(_ x: Tensor) -> Tensor {
        guard stride != 1 || inChannels != outChannels else { return x }
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let (ho, wo) = ((h + stride - 1) / stride, (w + stride - 1) / stride)
        let before = (outChannels - inChannels) / 2
        var out = [Float](repeating: 0, count: n * outChannels * ho * wo)
        for image in 0..<n {
            for c in 0..<inChannels {
                for i in 0..<ho {
                    for j in 0..<wo {
                        out[((image * outChannels + c + before) * ho + i) * wo + j] = x.data[((image * inChannels + c) * h + i * stride) * w + j * stride]
                    }
                }
            }
        }
        return Tensor(shape: [n, outChannels, ho, wo], data: out)
    }

    func shortcutBackward(_ g: Tensor) -> Tensor {
        guard stride != 1 || inChannels != outChannels else { return g }
        let (n, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let (ho, wo) = (g.shape[2], g.shape[3])
        let before = (outChannels - inChannels) / 2
        var dx = [Float](repeating: 0, count: n * inChannels * h * w)
        for image in 0..<n {
            for c in 0..<inChannels {
                for i in 0..<ho {
                    for j in 0..<wo {
                        dx[((image * inChannels + c) * h + i * stride) * w + j * stride] = g.data[((image * outChannels + c + before) * ho + i) * wo + j]
                    }
                }
            }
        }
        return Tensor(shape: inputShape, data: dx)
    }
}
