import Foundation

/// The learning-rate schedule. `multistep`, `cosine` and `constant` change the rate once per
/// epoch; `warmup-cosine` changes it every step.
public enum LearningRateSchedule: String, Sendable, Codable, CaseIterable {
    /// ×0.1 at 50 % and at 75 % of the epochs.
    case multistep
    /// lr · ½(1 + cos(π · epoch / epochs)), per epoch.
    case cosine
    case constant
    /// A linear ramp from lr/W to lr over the first W warm-up steps, then cosine annealing to
    /// zero over the remaining steps: lr · ½(1 + cos(π · (s − W) / (S − W))) at step s of S.
    case warmupCosine = "warmup-cosine"

    /// The rate of step `step` (0-based, counted over the whole run) of `epochs` epochs of
    /// `stepsPerEpoch` steps, with `warmupSteps` warm-up steps (used by `warmup-cosine` only).
    public func rate(base: Double, step: Int, stepsPerEpoch: Int, epochs: Int, warmupSteps: Int = 0) -> Double {
        let epoch = step / max(1, stepsPerEpoch)
        switch self {
        case .multistep:
            var rate = base
            if epoch >= epochs / 2 { rate *= 0.1 }
            if epoch >= epochs * 3 / 4 { rate *= 0.1 }
            return rate
        case .cosine:
            return base * 0.5 * (1 + cos(Double.pi * Double(epoch) / Double(max(1, epochs))))
        case .constant:
            return base
        case .warmupCosine:
            let total = max(1, stepsPerEpoch * epochs), warmup = min(max(0, warmupSteps), total - 1)
            if step < warmup { return base * Double(step + 1) / Double(warmup) }
            return base * 0.5 * (1 + cos(Double.pi * Double(step - warmup) / Double(total - warmup)))
        }
    }
}

/// Training that produced a non-finite value.
public struct TrainingDivergedError: Error, Sendable, UserInputError {
    public var description: String
}

/// Loss and accuracy over a dataset.
public struct Evaluation: Sendable, Codable {
    public var loss: Double
    public var accuracy: Double
    public var examples: Int
}

/// Runs epochs of SGD on a model.
public final class Trainer {
    public let model: Graph
    public let optimizer: SGD
    public let batches: Batches
    public let epochs: Int
    public let baseLearningRate: Double
    public let schedule: LearningRateSchedule
    /// Warm-up steps of a `warmup-cosine` schedule.
    public let warmupSteps: Int
    /// The largest L2 norm of all trainable gradients together; a step whose gradient is
    /// longer is scaled down to it before weight decay and momentum. nil = no clipping.
    public let maxGradientNorm: Double?
    /// Steps taken (across resumes).
    public private(set) var step = 0
    /// Runs before each training step's forward pass, with the step's number.
    public var beforeStep: (Int) -> Void = { _ in }

    public init(model: Graph, batches: Batches, epochs: Int, learningRate: Double, momentum: Double, weightDecay: Double,
                nesterov: Bool, schedule: LearningRateSchedule, warmupSteps: Int = 0, maxGradientNorm: Double? = nil) {
        self.model = model
        self.batches = batches
        self.epochs = epochs
        baseLearningRate = learningRate
        self.schedule = schedule
        self.warmupSteps = warmupSteps
        self.maxGradientNorm = maxGradientNorm
        optimizer = SGD(parameters: model.parameters, learningRate: learningRate, momentum: momentum,
                        weightDecay: weightDecay, nesterov: nesterov)
    }

    /// One epoch; `progress(batch, batches, running loss, running accuracy)` after each batch.
    /// - Throws: ``TrainingDivergedError`` naming the step and the first layer with a non-finite output.
    public func trainEpoch(_ epoch: Int, progress: (Int, Int, Double, Double) -> Void = { _, _, _, _ in }) throws -> Evaluation {
        let order = batches.order(epoch: epoch)
        var totalLoss = 0.0, correct = 0, seen = 0
        let count = batches.batchesPerEpoch
        for b in 0..<count {
            let indices = Array(order[(b * batches.batchSize)..<min(order.count, (b + 1) * batches.batchSize)])
            let (images, labels) = batches.batch(indices, epoch: epoch, train: true)
            optimizer.learningRate = schedule.rate(base: baseLearningRate, step: step, stepsPerEpoch: count, epochs: epochs,
                                                   warmupSteps: warmupSteps)
            optimizer.zeroGradients()
            beforeStep(step)
            let logits = model.forward(images, training: true)
            let result = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
            guard result.loss.isFinite else { throw diverged(images: images, epoch: epoch) }
            _ = model.backward(result.gradient)
            if let maxGradientNorm { optimizer.clipGradients(norm: maxGradientNorm) }
            optimizer.step()
            step += 1
            totalLoss += result.loss * Double(indices.count)
            correct += result.correct
            seen += indices.count
            progress(b + 1, count, totalLoss / Double(seen), Double(correct) / Double(seen))
        }
        return Evaluation(loss: totalLoss / Double(max(1, seen)), accuracy: Double(correct) / Double(max(1, seen)), examples: seen)
    }

    func diverged(images: Tensor, epoch: Int) -> TrainingDivergedError {
        var x = images
        for (index, layer) in model.layers.enumerated() {
            x = layer.forward(x, training: true)
            if x.data.contains(where: { !$0.isFinite }) {
                return TrainingDivergedError(description: "training diverged at step \(step + 1) (epoch \(epoch + 1)): layer \(index) (\(type(of: layer))) produced a non-finite value")
            }
        }
        return TrainingDivergedError(description: "training diverged at step \(step + 1) (epoch \(epoch + 1)): the loss is not finite")
    }

    /// Sets the step counter when resuming from a checkpoint.
    public func resume(atStep step: Int) { self.step = step }

    /// Loss and accuracy of `model` in evaluation mode (running BN statistics);
    /// `beforeBatch(first)` runs before each batch with the index of its first example.
    public static func evaluate(_ model: Graph, on dataset: Dataset, batchSize: Int = 256,
                                beforeBatch: (Int) -> Void = { _ in }) -> Evaluation {
        let batches = Batches(dataset: dataset, batchSize: batchSize, augmentation: .none, seed: 0)
        var totalLoss = 0.0, correct = 0
        for start in stride(from: 0, to: dataset.count, by: batchSize) {
            let indices = Array(start..<min(dataset.count, start + batchSize))
            let (images, labels) = batches.batch(indices, epoch: 0, train: false)
            beforeBatch(start)
            let result = SoftmaxCrossEntropy.evaluate(logits: model.forward(images, training: false), labels: labels)
            totalLoss += result.loss * Double(indices.count)
            correct += result.correct
        }
        return Evaluation(loss: totalLoss / Double(max(1, dataset.count)), accuracy: Double(correct) / Double(max(1, dataset.count)),
                          examples: dataset.count)
    }
}
