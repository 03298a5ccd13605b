/// The mean over H × W of each channel: N × C × H × W → N × C (or N × C × 1 × 1 with
/// `keepsSpatialAxes`, as ONNX's GlobalAveragePool).
public final class GlobalAveragePool: Layer {
    public let keepsSpatialAxes: Bool
    private var shape: [Int] = []

    public init(keepsSpatialAxes: Bool = false) { self.keepsSpatialAxes = keepsSpatialAxes }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        shape = input.shape
        let (nc, plane) = (input.shape[0] * input.shape[1], input.shape[2] * input.shape[3])
        let data = (0..<nc).map { i in input.data[(i * plane)..<((i + 1) * plane)].reduce(0, +) / Float(plane) }
        return Tensor(shape: keepsSpatialAxes ? [input.shape[0], input.shape[1], 1, 1] : [input.shape[0], input.shape[1]], data: data)
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

/// k × k average pooling with stride k (no padding): N × C × H × W → N × C × ⌊H/k⌋ × ⌊W/k⌋.
public final class AveragePool2d: Layer {
    public let size: Int
    private var shape: [Int] = []

    public init(_ size: Int) { self.size = size }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        shape = input.shape
        let (nc, h, w) = (input.shape[0] * input.shape[1], input.shape[2], input.shape[3])
        let (ho, wo) = (h / size, w / size)
        let scale = 1 / Float(size * size)
        var out = [Float](repeating: 0, count: nc * ho * wo)
        for plane in 0..<nc {
            for oh in 0..<ho {
                for ow in 0..<wo {
                    var sum: Float = 0
                    for i in 0..<size {
                        for j in 0..<size { sum += input.data[plane * h * w + (oh * size + i) * w + ow * size + j] }
                    }
                    out[(plane * ho + oh) * wo + ow] = sum * scale
                }
            }
        }
        return Tensor(shape: [input.shape[0], input.shape[1], ho, wo], data: out)
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let (nc, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let (ho, wo) = (h / size, w / size)
        let scale = 1 / Float(size * size)
        var dx = [Float](repeating: 0, count: shape.reduce(1, *))
        for plane in 0..<nc {
            for oh in 0..<ho {
                for ow in 0..<wo {
                    let g = gradient.data[(plane * ho + oh) * wo + ow] * scale
                    for i in 0..<size {
                        for j in 0..<size { dx[plane * h * w + (oh * size + i) * w + ow * size + j] += g }
                    }
                }
            }
        }
        return Tensor(shape: shape, data: dx)
    }
}
