/// Stochastic gradient descent with momentum (optionally Nesterov) and weight decay on the
/// parameters that decay, in PyTorch's convention:
/// g ← ∇ + λ·w;  v ← μ·v + g;  w ← w − lr·(Nesterov ? g + μ·v : v). Parameters that are not
/// ``Parameter/trainable`` are left alone.
public final class SGD {
    public var learningRate: Double
    public let momentum: Double
    public let weightDecay: Double
    public let nesterov: Bool
    public let parameters: [Parameter]
    /// Momentum buffers, one per parameter (saved in checkpoints to resume exactly).
    public var velocities: [Tensor]

    public init(parameters: [Parameter], learningRate: Double, momentum: Double = 0.9, weightDecay: Double = 0, nesterov: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        velocities = parameters.map { Tensor(zeros: $0.value.shape) }
    }

    public func step() {
        let lr = Float(learningRate), mu = Float(momentum)
        for (index, parameter) in parameters.enumerated() where parameter.trainable {
            let decay = parameter.decays ? Float(weightDecay) : 0
            parameter.value.data.withUnsafeMutableBufferPointer { w in
                parameter.gradient.data.withUnsafeBufferPointer { grad in
                    velocities[index].data.withUnsafeMutableBufferPointer { v in
                        for i in 0..<w.count {
                            let g = grad[i] + decay * w[i]
                            v[i] = mu * v[i] + g
                            w[i] -= lr * (nesterov ? g + mu * v[i] : v[i])
                        }
                    }
                }
            }
        }
    }

    /// Scales every trainable gradient by min(1, `norm` / ‖g‖), ‖g‖ the L2 norm of all of
    /// them together (summed in parameter order, in double precision); returns ‖g‖.
    @discardableResult
    public func clipGradients(norm: Double) -> Double {
        var squares = 0.0
        for parameter in parameters where parameter.trainable {
            parameter.gradient.data.withUnsafeBufferPointer { g in
                for value in g { squares += Double(value) * Double(value) }
            }
        }
        let total = squares.squareRoot()
        guard total > norm, total.isFinite else { return total }
        let scale = Float(norm / total)
        for parameter in parameters where parameter.trainable {
            parameter.gradient.data.withUnsafeMutableBufferPointer { g in
                for i in g.indices { g[i] *= scale }
            }
        }
        return total
    }

    public func zeroGradients() { parameters.forEach { $0.zeroGradient() } }
}
