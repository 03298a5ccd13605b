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
