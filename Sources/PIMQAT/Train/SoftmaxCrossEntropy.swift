import Foundation

/// Mean softmax cross-entropy over a batch of logits (N × classes) and integer labels.
public enum SoftmaxCrossEntropy {
    public struct Result {
        /// Mean loss over the batch (natural log).
        public var loss: Double
        /// ∂loss/∂logits: (softmax − one-hot) / N.
        public var gradient: Tensor
        /// Samples whose largest logit is the label.
        public var correct: Int
    }

    public static func evaluate(logits: Tensor, labels: [Int]) -> Result {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count, "SoftmaxCrossEntropy: \(logits.shape) for \(labels.count) labels")
        let (n, classes) = (logits.shape[0], logits.shape[1])
        var gradient = [Float](repeating: 0, count: logits.count)
        var loss = 0.0, correct = 0
        for row in 0..<n {
            let z = logits.data[(row * classes)..<((row + 1) * classes)].map(Double.init)
            let top = z.max()!
            let exps = z.map { exp($0 - top) }
            let total = exps.reduce(0, +)
            loss -= (z[labels[row]] - top) - log(total)
            if z.firstIndex(of: top) == labels[row] { correct += 1 }
            for k in 0..<classes {
                gradient[row * classes + k] = Float((exps[k] / total - (k == labels[row] ? 1 : 0)) / Double(n))
            }
        }
        return Result(loss: loss / Double(n), gradient: Tensor(shape: logits.shape, data: gradient), correct: correct)
    }
}
