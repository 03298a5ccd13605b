/// The mean over H × W of each channel: N × C × H × W → N × C.
public final class GlobalAveragePool: Layer {
    private var shape: [Int] = []

    public init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        shape = input.shape
        let (nc, plane) = (input.shape[0] * input.shape[1], input.shape[2] * input.shape[3])
        let data = (0..<nc).map { i in input.data[(i * plane)..<((i + 1) * plane)].reduce(0, +) / Float(plane) }
        return Tensor(shape: [input.shape[0], input.shape[1]], data: data)
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let plane = shape[2] * shape[3]
        var dx = [Float](repeating: 0, count: shape.reduce(1, *))
        for i in 0..<gradient.count { for j in 0..<plane { dx[i * plane + j] = gradient.data[i] / Float(plane) } }
        return Tensor(shape: shape, data: dx)
    }
}

/// k × k max pooling with stride k (no padding): N × C × H × W → N × C × ⌊H/k⌋ × ⌊W/k⌋.
/// The gradient goes to the first maximum of each window.
public final class MaxPool2d: Layer {
    public let size: Int
    private var shape: [Int] = []
    private var argmax: [Int] = []

    public init(_ size: Int) { self.size = size }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        shape = input.shape
        let (nc, h, w) = (input.shape[0] * input.shape[1], input.shape[2], input.shape[3])
        let (ho, wo) = (h / size, w / size)
        var out = [Float](repeating: 0, count: nc * ho * wo)
        argmax = [Int](repeating: 0, count: out.count)
        for plane in 0..<nc {
            for oh in 0..<ho {
                for ow in 0..<wo {
                    var best = -Float.infinity, position = 0
                    for i in 0..<size {
                        for j in 0..<size {
                            let index = plane * h * w + (oh * size + i) * w + ow * size + j
                            if input.data[index] > best { best = input.data[index]; position = index }
                        }
                    }
                    let o = (plane * ho + oh) * wo + ow
                    out[o] = best
                    argmax[o] = position
                }
            }
        }
        return Tensor(shape: [input.shape[0], input.shape[1], ho, wo], data: out)
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        var dx = [Float](repeating: 0, count: shape.reduce(1, *))
        for (o, index) in argmax.enumerated() { dx[index] += gradient.data[o] }
        return Tensor(shape: shape, data: dx)
    }
}
