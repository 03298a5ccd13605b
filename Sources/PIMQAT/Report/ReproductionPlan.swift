import Foundation
import PIMSim

/// What a PIM-QAT reproduction report trains and deploys: a model, a dataset, a chip and its
/// schemes. The networks chain: float → conventional QAT (from the float one) → PIM-QAT per
/// scheme (from the QAT one), at the chip's own precision and, as a twin, at the adjusted
/// precision. Every optimiser setting the plan leaves nil comes from ``TrainingRecipe``.
public struct ReproductionPlan: Sendable {
    /// The chip as the user named it (a preset id or a YAML file).
    public var chip: String
    public var model: ModelArchitecture
    public var dataset: DatasetName
    public var dataDirectory: String?
    public var schemes: [Scheme]
    /// Epochs of the float and of the QAT run.
    public var epochs = 3
    /// Epochs of each PIM-QAT run.
    public var pimEpochs = 2
    /// Rates of the float and QAT runs, and of the PIM-QAT runs; nil = the recipe's.
    public var learningRate: Double?
    public var pimLearningRate: Double?
    /// nil = the recipe's batch for the model.
    public var batchSize: Int?
    public var weightBits = 4
    public var activationBits = 4
    public var trainLimit: Int?
    public var testLimit: Int?
    /// The PIM-QAT runs' PACT α, weight clip and noise injection; nil = the recipe's (2, 2, on).
    public var pimPactAlpha: Double?
    public var pimWeightClip: Double?
    public var trainingNoise: Bool?
    /// The training precision of the adjusted-precision twins.
    public var adjustPrecision: PrecisionAdjustment = .auto
    public var chipSeeds = 3
    public var noiseSeeds = 1
    public var bnCalibrationBatches = 20
    public var seed: UInt64 = 0
    /// Also trains and deploys the ablations: each rescaling, no noise injection, and the
    /// QAT network's own clip levels and weight grid.
    public var ablations = false
    /// Checkpoints to use instead of training the float, QAT, PIM-QAT and adjusted networks.
    public var float: String?
    public var qat: String?
    public var givenPIM: [Scheme: String] = [:]
    public var givenAdjusted: [Scheme: String] = [:]
    /// Where checkpoints, report.md and report.json go.
    public var outDirectory: String
    /// The network's own input normalisation (nil: the dataset's).
    public var inputNormalization: InputNormalization?

    public init(chip: String, model: ModelArchitecture, dataset: DatasetName, schemes: [Scheme], outDirectory: String) {
        self.chip = chip
        self.model = model
        self.dataset = dataset
        self.schemes = schemes
        self.outDirectory = outDirectory
    }

    /// What makes the plan unusable, or nil.
    public var problem: String? {
        if schemes.isEmpty { return "no scheme to report" }
        if epochs < 1 || pimEpochs < 1 || (batchSize ?? 1) < 1 || chipSeeds < 1 || noiseSeeds < 1 || bnCalibrationBatches < 1 {
            return "epochs, batch size, chip seeds, noise seeds and BN calibration batches must be positive"
        }
        if let batchSize, batchSize > TrainingRecipe.maximumBatchSize { return "the batch size is above the \(TrainingRecipe.maximumBatchSize) a run takes" }
        if let problem = ChipDeployment.runCountProblem(chipSeeds: chipSeeds, noiseSeeds: noiseSeeds) { return problem }
        for rate in [learningRate, pimLearningRate].compactMap(\.self) where !(rate > 0 && rate.isFinite) {
            return "learning rates must be positive"
        }
        if !(2...8).contains(weightBits) || !(1...8).contains(activationBits) { return "weights must have 2…8 bits and activations 1…8" }
        if (trainLimit ?? 1) < 1 || (testLimit ?? 1) < 1 { return "train and test limits must be positive" }
        if let alpha = pimPactAlpha, !(alpha > 0 && alpha.isFinite) { return "the PACT α must be a positive number" }
        if let clip = pimWeightClip, !(clip > 0 && clip.isFinite) { return "the weight clip must be a positive number" }
        if case .none = adjustPrecision { return "the adjusted-precision twins need auto, exact or a number of bits (the chip's own precision is the PIM-QAT network)" }
        return nil
    }

    /// The recipe of a run of this plan.
    func recipe(quantized: Bool, pim: Bool, fineTuning: Bool) -> TrainingRecipe {
        var recipe = TrainingRecipe.standard(model: model, dataset: dataset, epochs: pim ? pimEpochs : epochs, quantized: quantized,
                                             pim: pim, fineTuning: fineTuning)
        if let batchSize {
            recipe.learningRate = recipe.learningRate(batchSize: batchSize)
            recipe.batchSize = batchSize
        }
        if let rate = pim ? pimLearningRate : learningRate { recipe.learningRate = rate }
        if pim {
            if let pimPactAlpha { recipe.pactAlpha = pimPactAlpha }
            if let pimWeightClip { recipe.weightClip = pimWeightClip }
            if let trainingNoise { recipe.trainingNoise = trainingNoise }
        }
        return recipe
    }

    /// The settings of one of the plan's runs.
    /// A user's network (``ModelArchitecture/graph(_:name:)``) carries its structure, and its
    /// float run starts from the ONNX file's weights when the network is named by one.
    func settings(_ recipe: TrainingRecipe, quantization: Quantization?, pim: PIMSettings?, initialization: String?) -> TrainingSettings {
        let file = model.graphSpec != nil && model.description.hasSuffix(".onnx") ? model.description : nil
        var settings = recipe.settings(model: model.description, dataset: dataset, dataDirectory: dataDirectory, epochs: pim == nil ? epochs : pimEpochs,
                                       seed: seed, trainLimit: trainLimit, testLimit: testLimit, quantization: quantization, pim: pim,
                                       initialization: initialization ?? file)
        settings.graph = model.graphSpec
        settings.inputNormalization = inputNormalization
        return settings
    }
}
