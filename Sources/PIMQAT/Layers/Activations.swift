/// max(0, x), element-wise.
public final class ReLU: Layer {
    private var output: Tensor = Tensor(zeros: [0])

    public init() {}

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        var y = input
        y.data.withUnsafeMutableBufferPointer { y in
            for i in 0..<y.count { y[i] = max(y[i], 0) }
        }
        output = y
        return y
    }

    /// The gradient passes where the output is positive.
    public func backward(_ gradient: Tensor) -> Tensor {
        var dx = gradient
        dx.data.withUnsafeMutableBufferPointer { dx in
            output.data.withUnsafeBufferPointer { y in
                for i in 0..<dx.count { dx[i] = y[i] > 0 ? dx[i] : 0 }  // a select, not a branch on random signs
            }
        }
        return dx
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
