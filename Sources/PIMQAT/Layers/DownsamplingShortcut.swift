/// The shortcut of a CIFAR ResNet block that halves the resolution and widens the channels:
/// the input sampled at `stride` with the new channels zero-padded, split evenly before and
/// after the old ones (He et al. 2016, option A). It has no parameters, as in the original
/// CIFAR networks. N × Cin × H × W → N × Cout × ⌈H/s⌉ × ⌈W/s⌉.
public final class DownsamplingShortcut: Layer {
    public let inChannels: Int, outChannels: Int, stride: Int
    private var inputShape: [Int] = []

    public init(_ inChannels: Int, _ outChannels: Int, stride: Int) {
        precondition(outChannels >= inChannels && stride >= 1, "DownsamplingShortcut: \(inChannels) → \(outChannels), stride \(stride)")
        (self.inChannels, self.outChannels, self.stride) = (inChannels, outChannels, stride)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        inputShape = x.shape
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

    public func backward(_ g: Tensor) -> Tensor {
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
