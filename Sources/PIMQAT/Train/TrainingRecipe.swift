/// The settings a training run takes where its command line says nothing: what a careful
/// practitioner would use for the model, the data and the kind of run. Every value here was
/// measured on the zoo (BENCHMARKS.md has the table of models × data sizes × seeds).
///
/// - SGD with Nesterov momentum 0.9 and a `warmup-cosine` schedule: a linear warm-up over the
///   first tenth of the run (at most one epoch), then cosine annealing to zero, both per step,
///   so short runs on small data end at a small rate instead of jumping between epochs.
/// - The rate follows the batch (linear scaling): 0.1 × batch / 128 from scratch, half of
///   that when fine-tuning a checkpoint (`--init`); the small CNN trains at batch 64
///   (its 1 568-input classifier diverges at 0.1 with batch 128 on small data), the ResNets
///   at 128.
/// - Gradient clipping at an L2 norm of 5 (all parameters together): the small CNN's first
///   steps otherwise spike on small data; the ResNets' gradients stay below it.
/// - Weight decay 5e-4 for float networks, 4e-5 for quantized ones (on weights only).
/// - Augmentation by dataset: none for MNIST (a mirrored digit is another symbol), a random
///   horizontal flip for Fashion-MNIST (garments are mirror-symmetric; padded crops slow short
///   runs without helping), random crop and flip for CIFAR.
/// - PIM-QAT (``pim``) adds what makes a network use the chip's converter: PACT clip levels
///   restarted at α = 2 (a BN-normalised activation's ±2σ), weights normalised at 2 × rms(tanh W)
///   instead of DoReFa's maximum, and the chip's temporal noise injected in training.
public struct TrainingRecipe: Sendable, Equatable {
    public var batchSize: Int
    /// The base rate at ``batchSize``; ``learningRate(batchSize:)`` scales it to another batch.
    public var learningRate: Double
    public var momentum: Double = 0.9
    public var nesterov: Bool = true
    public var weightDecay: Double
    public var schedule: LearningRateSchedule = .warmupCosine
    /// Warm-up, in epochs: a tenth of the run, at most one epoch.
    public var warmupEpochs: Double
    public var augmentation: Augmentation
    public var maxGradientNorm: Double? = 5
    /// PIM-QAT only: the PACT α every activation restarts at, the weight clip (× rms(tanh W))
    /// and whether the chip's temporal noise is injected; nil / false for digital runs.
    public var pactAlpha: Double?
    public var weightClip: Double?
    public var trainingNoise: Bool = false

    /// The recipe for `model` on `dataset` for a run of `epochs` epochs: `quantized` for QAT,
    /// `pim` for PIM-QAT, `fineTuning` when the run starts from another network's tensors.
    public static func standard(model: ModelArchitecture, dataset: DatasetName, epochs: Int, quantized: Bool, pim: Bool,
                                fineTuning: Bool) -> TrainingRecipe {
        let batchSize = switch model {
        case .smallCNN, .graph: 64
        case .resnet: 128
        }
        let augmentation: Augmentation = switch dataset {
        case .mnist: .none
        case .fashionMNIST: .flip
        case .cifar10, .cifar100: .cropFlip
        }
        var recipe = TrainingRecipe(
            batchSize: batchSize, learningRate: 0.1 * Double(batchSize) / 128 * (fineTuning ? 0.5 : 1),
            weightDecay: quantized || pim ? 4e-5 : 5e-4, warmupEpochs: min(1, Double(epochs) / 10), augmentation: augmentation)
        if pim {
            recipe.pactAlpha = 2
            recipe.weightClip = 2
            recipe.trainingNoise = true
        }
        return recipe
    }

    /// The largest batch a run takes: linear rate scaling stops being a sensible default well
    /// before it, and a batch's activations must fit in memory.
    public static let maximumBatchSize = 4096

    /// The recipe's rate scaled linearly to `batchSize`.
    public func learningRate(batchSize: Int) -> Double {
        learningRate * Double(batchSize) / Double(self.batchSize)
    }
}

extension TrainingRecipe {
    /// The settings of a fresh run that takes every optimiser setting from this recipe: the
    /// rate at the recipe's batch, its schedule and warm-up, augmentation, clipping and weight
    /// decay; with `quantization`, the recipe's weight clip where it sets none, and its PACT α.
    /// The PIM settings are taken as given (their training noise is the caller's to choose,
    /// e.g. from ``trainingNoise``).
    public func settings(model: String, dataset: DatasetName, dataDirectory: String?, epochs: Int, seed: UInt64,
                         trainLimit: Int?, testLimit: Int?, quantization: Quantization?, pim: PIMSettings?,
                         initialization: String?) -> TrainingSettings {
        var quantization = quantization
        if quantization != nil, quantization?.weightClip == nil { quantization?.weightClip = weightClip }
        return TrainingSettings(
            model: model, dataset: dataset, dataDirectory: dataDirectory, epochs: epochs, batchSize: batchSize,
            learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov, schedule: schedule,
            augmentation: augmentation, seed: seed, trainLimit: trainLimit, testLimit: testLimit, quantization: quantization,
            pim: pim, initialization: initialization, pactAlpha: quantization != nil ? pactAlpha : nil,
            warmupEpochs: schedule == .warmupCosine ? warmupEpochs : nil, maxGradientNorm: maxGradientNorm)
    }
}

extension TrainingRun {
    /// A PIM-QAT run that fine-tunes the quantized network at `initial` through `chip` with
    /// the standard recipe (its training noise unless `trainingNoise` says otherwise), at the
    /// network's own precision (its precision plan replaced by `plan` when one is given), on `dataset`.
    public static func fineTuning(from initial: String, chip: ChipConfig, pim: PIMSettings, trainingNoise: Bool?, dataset: DatasetName,
                                  dataDirectory: String? = nil, epochs: Int, learningRate: Double?, seed: UInt64,
                                  trainLimit: Int?, testLimit: Int?, plan: PrecisionPlan? = nil) throws -> TrainingRun {
        let start = try TrainingRun.model(from: initial)
        guard let quantization = start.settings?.quantization else {
            throw CheckpointError(initial, "__metadata__.weight_bits", "not a quantized network: PIM-QAT starts from a QAT checkpoint")
        }
        let recipe = TrainingRecipe.standard(model: start.architecture, dataset: dataset, epochs: epochs, quantized: true, pim: true,
                                             fineTuning: true)
        var pim = pim
        pim.trainingNoise = trainingNoise ?? recipe.trainingNoise
        var settings = recipe.settings(model: start.architecture.description, dataset: dataset, dataDirectory: dataDirectory,
                                       epochs: epochs, seed: seed, trainLimit: trainLimit, testLimit: testLimit,
                                       quantization: Quantization(weightBits: quantization.weightBits, activationBits: quantization.activationBits,
                                                                  plan: plan ?? quantization.plan),
                                       pim: pim, initialization: initial)
        if let learningRate { settings.learningRate = learningRate }
        settings.graph = start.architecture.graphSpec
        settings.inputNormalization = start.inputNormalization
        return try TrainingRun(settings: settings, chip: chip)
    }
}
