/// max(0, x), element-wise.
public final class ReLU: Layer {
    private var output: Tensor = Tensor(zeros: [0])

    public init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        let count = input.count
        let y = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            input.data.withUnsafeBufferPointer { x in
                guard let base = out.baseAddress else { return }
                let out = UnsafeSendablePointer(base)
                parallelRanges(count) { range in for i in range { out.pointer[i] = max(x[i], 0) } }
            }
            initialized = count
        }
        output = Tensor(shape: input.shape, data: y)
        return output
    }

    /// The gradient passes where the output is positive (and finite).
    public func backward(_ gradient: Tensor) -> Tensor {
        let count = gradient.count
        let dx = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            gradient.data.withUnsafeBufferPointer { g in
                output.data.withUnsafeBufferPointer { y in
                    GradientMask.pass(g, where: y, above: 0, below: .infinity, into: out)
                }
            }
            initialized = count
        }
        return Tensor(shape: gradient.shape, data: dx)
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

/// min(max(x, low), high), element-wise (ONNX's Clip; ReLU6 is low 0, high 6). The gradient
/// passes strictly inside (low, high).
public final class Clip: Layer {
    public let low: Float, high: Float
    private var input: Tensor = Tensor(zeros: [0])

    public init(low: Float, high: Float) {
        precondition(low <= high, "Clip: \(low) > \(high)")
        (self.low, self.high) = (low, high)
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        self.input = input
        return Tensor(shape: input.shape, data: input.data.map { min(max($0, low), high) })
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let count = gradient.count
        let dx = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            gradient.data.withUnsafeBufferPointer { g in
                input.data.withUnsafeBufferPointer { x in GradientMask.pass(g, where: x, above: low, below: high, into: out) }
            }
            initialized = count
        }
        return Tensor(shape: gradient.shape, data: dx)
    }
}

/// A learned offset per channel (dimension 1) of an N × C or N × C × H × W tensor: a
/// convolution's or a matrix product's bias.
public final class Bias: Layer {
    public let channels: Int
    public let bias: Parameter

    /// `parameterName` is the offsets' full name (`conv1.bias`).
    public init(_ channels: Int, parameterName: String) {
        self.channels = channels
        bias = Parameter(name: parameterName, value: Tensor(zeros: [channels]), decays: false)
    }

    public var parameters: [Parameter] { [bias] }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.rank >= 2 && input.shape[1] == channels, "Bias: input \(input.shape), expected N×\(channels)×…")
        let plane = input.count / max(1, input.shape[0] * channels)
        var y = input.data
        var i = 0
        for _ in 0..<input.shape[0] {
            for c in 0..<channels {
                let offset = bias.value.data[c]
                for _ in 0..<plane { y[i] += offset; i += 1 }
            }
        }
        return Tensor(shape: input.shape, data: y)
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let plane = gradient.count / max(1, gradient.shape[0] * channels)
        var i = 0
        for _ in 0..<gradient.shape[0] {
            for c in 0..<channels {
                var sum: Float = 0
                for _ in 0..<plane { sum += gradient.data[i]; i += 1 }
                bias.gradient.data[c] += sum
            }
        }
        return gradient
    }
}
