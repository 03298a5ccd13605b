import Foundation

/// Everything that defines a training run; stored in each checkpoint so that `--resume`
/// continues the same run.
public struct TrainingSettings: Sendable, Codable, Equatable {
    public var model: String
    public var dataset: DatasetName
    public var dataDirectory: String?
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var momentum: Double
    public var weightDecay: Double
    public var nesterov: Bool
    public var schedule: LearningRateSchedule
    public var augmentation: Augmentation
    public var seed: UInt64
    public var trainLimit: Int?
    public var testLimit: Int?
    /// Conventional QAT precisions; nil = float.
    public var quantization: Quantization?
    /// PIM-QAT: the chip and how the network trains through it; nil = digital training.
    public var pim: PIMSettings?
    /// The checkpoint whose tensors initialise the model (float or QAT, of the same architecture).
    public var initialization: String?
    /// Every PACT clip level α (activation units, > 0) is set to this at the start of the run,
    /// after ``initialization``; nil keeps the architecture's initial α (8, or 10 before the
    /// classifier) or the initialising checkpoint's. Lower values spread the integer input
    /// levels over more of a PIM array's range at the cost of clipping more activations.
    public var pactAlpha: Double?
    /// The PACT clip levels stay where the run starts them (``pactAlpha``, the initialising
    /// checkpoint's or the architecture's) instead of being learned; nil or false = learned.
    public var pactAlphaFrozen: Bool?
    /// Warm-up of a `warmup-cosine` schedule, in epochs (fractional; rounded to whole steps);
    /// nil = none.
    public var warmupEpochs: Double?
    /// Gradient clipping: the largest L2 norm of all trainable gradients together; nil = none.
    public var maxGradientNorm: Double?
    /// The structure of a user's network (imported from ONNX); nil for the zoo's `model`.
    public var graph: GraphSpec?
    /// The network's own input normalisation in place of the dataset's; nil = the dataset's.
    public var inputNormalization: InputNormalization?

    /// The network the settings build: the user's ``graph`` named `model`, or the zoo's `model`.
    public var architecture: ModelArchitecture? {
        graph.map { .graph($0, name: model) } ?? ModelArchitecture(name: model)
    }

    public init(model: String, dataset: DatasetName, dataDirectory: String?, epochs: Int, batchSize: Int, learningRate: Double,
                momentum: Double, weightDecay: Double, nesterov: Bool, schedule: LearningRateSchedule, augmentation: Augmentation,
                seed: UInt64, trainLimit: Int?, testLimit: Int?, quantization: Quantization? = nil, pim: PIMSettings? = nil,
                initialization: String? = nil, pactAlpha: Double? = nil, pactAlphaFrozen: Bool? = nil,
                warmupEpochs: Double? = nil, maxGradientNorm: Double? = nil) {
        (self.model, self.dataset, self.dataDirectory, self.epochs, self.batchSize) = (model, dataset, dataDirectory, epochs, batchSize)
        (self.learningRate, self.momentum, self.weightDecay, self.nesterov) = (learningRate, momentum, weightDecay, nesterov)
        (self.schedule, self.augmentation, self.seed, self.trainLimit, self.testLimit) = (schedule, augmentation, seed, trainLimit, testLimit)
        self.quantization = quantization
        self.pim = pim
        self.initialization = initialization
        self.pactAlpha = pactAlpha
        self.pactAlphaFrozen = pactAlphaFrozen
        self.warmupEpochs = warmupEpochs
        self.maxGradientNorm = maxGradientNorm
    }

    /// What makes these settings unusable (they may come from an edited checkpoint), or nil.
    public var problem: String? {
        if epochs < 1 || batchSize < 1 { return "epochs and batch size must be positive" }
        if (trainLimit ?? 1) < 1 || (testLimit ?? 1) < 1 { return "train and test limits must be positive" }
        if !(learningRate > 0 && learningRate.isFinite) || !(momentum >= 0 && momentum < 1) || !(weightDecay >= 0 && weightDecay.isFinite) {
            return "the learning rate must be positive, the momentum in [0, 1) and the weight decay ≥ 0"
        }
        if let q = quantization {
            if !(2...16).contains(q.weightBits) || !(2...16).contains(q.edgeWeightBits) || !(1...16).contains(q.activationBits) {
                return "\(q.weightBits)-bit weights / \(q.activationBits)-bit activations are not supported"
            }
            if let clip = q.weightClip, !(clip > 0 && clip.isFinite) { return "the weight clip \(clip) is not a positive number" }
            if let problem = q.plan?.problem { return "precision plan: \(problem)" }
        }
        if let graph, graph.parameterCount == nil {
            return "the network's graph has a hyperparameter out of range or more than \(GraphSpec.maximumParameters) parameters"
        }
        if let alpha = pactAlpha, !(alpha > 0 && alpha.isFinite) { return "the PACT α \(alpha) is not a positive number" }
        if let warmup = warmupEpochs, !(warmup >= 0 && warmup <= Double(epochs)) { return "the warm-up of \(warmup) epochs is not within 0…\(epochs) epochs" }
        if let norm = maxGradientNorm, !(norm > 0 && norm.isFinite) { return "the gradient clipping norm \(norm) is not a positive number" }
        return nil
    }
}

extension TrainingSettings {
    /// The optimiser settings in one line: "batch 64, lr 0.05 warmup-cosine (warm-up 0.2 epochs),
    /// Nesterov momentum 0.9, weight decay 5e-4, augmentation flip".
    public var recipeSummary: String {
        var schedulePart = "\(schedule.rawValue)"
        if schedule == .warmupCosine, let warmup = warmupEpochs { schedulePart += " (warm-up \(Format.number(warmup)) epochs)" }
        var parts = ["batch \(batchSize)", "lr \(Format.number(learningRate)) \(schedulePart)",
                     "\(nesterov ? "Nesterov momentum" : "momentum") \(Format.number(momentum))", "weight decay \(Format.number(weightDecay))",
                     "augmentation \(augmentation.rawValue)"]
        if let maxGradientNorm { parts.append("gradient norm ≤ \(Format.number(maxGradientNorm))") }
        if let pactAlpha { parts.append("PACT α from \(Format.number(pactAlpha))") }
        if let clip = quantization?.weightClip { parts.append("weight clip \(Format.number(clip)) × rms(tanh W)") }
        if pim?.trainingNoise == true { parts.append("chip noise injected") }
        return parts.joined(separator: ", ")
    }
}

/// A PACT α the run cannot use (not positive, or a network without quantized activations).
public struct PACTAlphaError: Error, Sendable, UserInputError {
    public var description: String
}

/// A model name that is not one of the architectures this tool builds.
public struct UnknownModelError: Error, Sendable, UserInputError {
    public var description: String
}

/// A model, its data and its trainer, started fresh or resumed from a checkpoint.
public final class TrainingRun {
    public let settings: TrainingSettings
    public let architecture: ModelArchitecture
    public let model: Graph
    public let trainer: Trainer
    public let train: Dataset
    public let test: Dataset
    /// The chip the network trains through (PIM-QAT runs only).
    public let target: PIMTarget?
    /// Epochs already completed.
    public private(set) var completedEpochs = 0

    /// A fresh run; `initialize: false` skips ``TrainingSettings/initialization`` (resuming).
    /// `chip` is the chip a PIM-QAT run trains through when it is not the one its settings
    /// name (a sweep point's chip with fields overridden).
    public init(settings: TrainingSettings, initialize: Bool = true, chip: ChipConfig? = nil) throws {
        guard let architecture = settings.architecture else {
            throw UnknownModelError(description: "unknown model '\(settings.model)' (resnet20, resnet32, resnet44, resnet56, small-cnn, or an ONNX file)")
        }
        self.settings = settings
        self.architecture = architecture
        train = try settings.dataset.load(train: true, directory: settings.dataDirectory, limit: settings.trainLimit)
            .normalized(by: settings.inputNormalization)
        test = try settings.dataset.load(train: false, directory: settings.dataDirectory, limit: settings.testLimit)
            .normalized(by: settings.inputNormalization)
        do {
            model = try architecture.build(channels: train.channels, size: train.size, classes: train.classes, seed: settings.seed,
                                           quantization: settings.quantization)
        } catch let error as GraphError {
            throw UnknownModelError(description: "\(settings.model) does not fit \(settings.dataset.rawValue) (\(train.channels)×\(train.size)×\(train.size) images, \(train.classes) classes): \(error.description)")
        }
        let batches = Batches(dataset: train, batchSize: settings.batchSize, augmentation: settings.augmentation, seed: settings.seed)
        let warmupSteps = Int((settings.warmupEpochs ?? 0) * Double(batches.batchesPerEpoch) + 0.5)
        trainer = Trainer(model: model, batches: batches,
                          epochs: settings.epochs, learningRate: settings.learningRate, momentum: settings.momentum,
                          weightDecay: settings.weightDecay, nesterov: settings.nesterov, schedule: settings.schedule,
                          warmupSteps: warmupSteps, maxGradientNorm: settings.maxGradientNorm)
        if let pim = settings.pim {
            let target = try TrainingRun.attach(pim, to: model, chip: chip, plan: settings.quantization?.plan)
            try target.checkTrainable()
            self.target = target
            target.trainingNoiseSeed = settings.seed
            trainer.beforeStep = { [unowned target] in target.step = $0 }
        } else {
            target = nil
        }
        if initialize, let path = settings.initialization {
            try TrainingRun.checkpoint(at: path).restore(into: model, file: path, partial: true)
        }
        let activations = model.allLayers.compactMap { $0 as? PACT }
        if initialize, let alpha = settings.pactAlpha {
            guard alpha > 0, alpha.isFinite, !activations.isEmpty else {
                throw PACTAlphaError(description: "a PACT α of \(alpha) needs a quantized network and a positive, finite value")
            }
            for activation in activations { activation.alpha.value.data[0] = Float(alpha) }
        }
        if settings.pactAlphaFrozen == true {
            guard !activations.isEmpty else { throw PACTAlphaError(description: "frozen PACT clip levels need a quantized network") }
            for activation in activations { activation.alpha.trainable = false }
        }
    }

    /// Attaches a PIM target to `model`: `chip`, or the chip `settings` names (a preset id or a file).
    /// A mapping error about a layer `plan` names is positioned at its entry.
    static func attach(_ settings: PIMSettings, to model: Graph, chip: ChipConfig?, plan: PrecisionPlan?) throws -> PIMTarget {
        let chip = try chip ?? ChipCatalog.standard().load(settings.chip).chip
        do {
            return try PIMTarget(chip: chip, settings: settings, model: model)
        } catch {
            throw plan?.positioned(error) ?? error
        }
    }

    /// Resumes from a checkpoint written by ``checkpoint()``: its settings, weights, BN
    /// statistics, momentum and epoch count.
    public convenience init(resuming path: String) throws {
        let checkpoint = try Checkpoint(contentsOf: path)
        guard let text = checkpoint.metadata["training"], let settings = try? JSONDecoder().decode(TrainingSettings.self, from: Data(text.utf8)) else {
            throw CheckpointError(path, "__metadata__.training", "missing or unreadable: not a training checkpoint")
        }
        if let problem = settings.problem { throw CheckpointError(path, "__metadata__.training", problem) }
        try self.init(settings: settings, initialize: false)
        try checkpoint.restore(into: model, optimizer: trainer.optimizer, file: path)
        guard let epochs = checkpoint.metadata["epoch"].flatMap(Int.init), let step = checkpoint.metadata["step"].flatMap(Int.init) else {
            throw CheckpointError(path, "__metadata__.epoch", "missing: the checkpoint cannot resume training")
        }
        completedEpochs = epochs
        trainer.resume(atStep: step)
    }

    /// Trains the next epoch and evaluates on the test split.
    public func trainNextEpoch(progress: (Int, Int, Double, Double) -> Void = { _, _, _, _ in }) throws -> (train: Evaluation, test: Evaluation) {
        let trainResult = try trainer.trainEpoch(completedEpochs, progress: progress)
        completedEpochs += 1
        return (trainResult, Trainer.evaluate(model, on: test))
    }

    /// Sorted keys: the same run writes the same bytes.
    static let settingsEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// A checkpoint of the run as it stands (weights, BN statistics, momentum, settings, epoch).
    public func checkpoint(testAccuracy: Double? = nil) throws -> Checkpoint {
        var metadata: [String: String] = [
            "architecture": architecture.description,
            "dataset": settings.dataset.rawValue,
            "channels": String(train.channels), "size": String(train.size), "classes": String(train.classes),
            "epoch": String(completedEpochs), "step": String(trainer.step),
            "training": String(decoding: try TrainingRun.settingsEncoder.encode(settings), as: UTF8.self),
            "weight_bits": settings.quantization.map { String($0.weightBits) } ?? "32",
            "activation_bits": settings.quantization.map { String($0.activationBits) } ?? "32",
        ]
        if let clip = settings.quantization?.weightClip { metadata["weight_clip"] = String(clip) }
        if let graph = settings.graph { metadata["graph"] = String(decoding: try TrainingRun.settingsEncoder.encode(graph), as: UTF8.self) }
        if let plan = settings.quantization?.plan {
            metadata["precision_plan"] = String(decoding: try TrainingRun.settingsEncoder.encode(plan), as: UTF8.self)
        }
        if let normalization = settings.inputNormalization { metadata.merge(normalization.metadata) { $1 } }
        if let testAccuracy { metadata["test_accuracy"] = String(testAccuracy) }
        return Checkpoint(model: model, metadata: metadata, optimizer: trainer.optimizer)
    }

    /// A model loaded for evaluation from any checkpoint this tool wrote.
    public struct LoadedModel {
        public var model: Graph
        public var settings: TrainingSettings?
        public var architecture: ModelArchitecture
        /// The precisions it was built with (the checkpoint's, its plan replaced by one given); nil = float.
        public var quantization: Quantization?
        public var channels: Int, size: Int, classes: Int
        /// Epochs its run had completed when the checkpoint was written (nil: not recorded).
        public var completedEpochs: Int?
        /// The attached chip: the one given, else a PIM-QAT checkpoint's own (in its training phase).
        public var target: PIMTarget?
        /// The network's own input normalisation (nil: its dataset's); a command's
        /// `--input-mean/--input-std` replace it.
        public var inputNormalization: InputNormalization?
    }

    /// Loads a model for evaluation from any checkpoint this tool wrote; `pim` attaches a chip
    /// (and the PIM settings to run it with) before the tensors are restored. `plan` replaces
    /// the checkpoint's own precision plan (its uniform precision stays; a float checkpoint
    /// takes no plan).
    public static func model(from path: String, pim: (chip: ChipConfig, settings: PIMSettings)? = nil,
                             plan: PrecisionPlan? = nil) throws -> LoadedModel {
        let checkpoint = try checkpoint(at: path)
        let m = checkpoint.metadata
        let architecture: ModelArchitecture
        if let text = m["graph"] {
            guard let spec = try? JSONDecoder().decode(GraphSpec.self, from: Data(text.utf8)) else {
                throw CheckpointError(path, "__metadata__.graph", "is not a readable network graph")
            }
            architecture = .graph(spec, name: m["architecture"] ?? path)
        } else {
            guard let name = m["architecture"], let zoo = ModelArchitecture(name: name) else {
                throw CheckpointError(path, "__metadata__.architecture", "missing or unknown")
            }
            architecture = zoo
        }
        guard let channels = m["channels"].flatMap(Int.init), let size = m["size"].flatMap(Int.init), let classes = m["classes"].flatMap(Int.init) else {
            throw CheckpointError(path, "__metadata__", "channels, size and classes are required")
        }
        // The metadata decides what is built: check it against its ranges and the file's own
        // tensors before allocating anything.
        for (key, value, range) in [("channels", channels, ModelArchitecture.channelRange), ("size", size, ModelArchitecture.sizeRange),
                                    ("classes", classes, ModelArchitecture.classRange)] where !range.contains(value) {
            throw CheckpointError(path, "__metadata__.\(key)", "\(value) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        for (name, shape) in architecture.edgeWeightShapes(channels: channels, size: size, classes: classes).sorted(by: { $0.key < $1.key }) {
            guard let tensor = checkpoint.tensors[name] else { throw CheckpointError(path, name, "is missing") }
            guard tensor.shape == shape else {
                throw CheckpointError(path, "__metadata__", "channels \(channels), size \(size), classes \(classes) need \(name) of shape \(shape); the file's is \(tensor.shape)")
            }
        }
        var quantization: Quantization?
        if let w = m["weight_bits"].flatMap(Int.init), let a = m["activation_bits"].flatMap(Int.init), w < 32 || a < 32 {
            guard (2...16).contains(w), (1...16).contains(a) else {
                throw CheckpointError(path, "__metadata__.weight_bits", "\(w)-bit weights / \(a)-bit activations are not supported")
            }
            quantization = Quantization(weightBits: w, activationBits: a)
            if let text = m["weight_clip"] {
                guard let clip = Double(text), clip > 0, clip.isFinite else {
                    throw CheckpointError(path, "__metadata__.weight_clip", "'\(text)' is not a positive number")
                }
                quantization?.weightClip = clip
            }
            if let text = m["precision_plan"] {
                guard let own = try? JSONDecoder().decode(PrecisionPlan.self, from: Data(text.utf8)) else {
                    throw CheckpointError(path, "__metadata__.precision_plan", "is not a readable precision plan")
                }
                if let problem = own.problem { throw CheckpointError(path, "__metadata__.precision_plan", problem) }
                quantization?.plan = own
            }
        }
        if let plan {
            guard quantization != nil else {
                throw PrecisionPlanError(location: plan.locations[plan.layers[0].layer], layer: plan.layers[0].layer,
                                         message: "\(path) holds a float network; a precision plan applies to a quantized one (train it with --wbits/--abits)")
            }
            quantization?.plan = plan
        }
        let model: Graph
        do {
            model = try architecture.build(channels: channels, size: size, classes: classes, seed: 0, quantization: quantization)
        } catch let error as PrecisionPlanError {
            // A plan given here is the user's file; one from the metadata is the checkpoint's.
            if plan != nil { throw error }
            throw CheckpointError(path, "__metadata__.precision_plan", error.message)
        } catch let error as GraphError {
            throw CheckpointError(path, "__metadata__.graph", error.description)
        }
        let settings = m["training"].flatMap { try? JSONDecoder().decode(TrainingSettings.self, from: Data($0.utf8)) }
        var target: PIMTarget?
        if let pim {
            do {
                target = try PIMTarget(chip: pim.chip, settings: pim.settings, model: model)
            } catch {
                throw quantization?.plan?.positioned(error) ?? error
            }
        } else if let own = settings?.pim {
            target = try attach(own, to: model, chip: nil, plan: quantization?.plan)
        }
        let normalization = try InputNormalization(metadata: m, file: path)
        try checkpoint.restore(into: model, file: path)
        return LoadedModel(model: model, settings: settings, architecture: architecture, quantization: quantization, channels: channels, size: size,
                           classes: classes, completedEpochs: m["epoch"].flatMap(Int.init), target: target, inputNormalization: normalization)
    }

    /// The checkpoint at `path`, or the ONNX model there (`.onnx`) read as one.
    public static func checkpoint(at path: String) throws -> Checkpoint {
        path.hasSuffix(".onnx") ? try ONNXImport.load(path).checkpoint(name: path) : try Checkpoint(contentsOf: path)
    }

    /// The PIM settings stored in a checkpoint, if it is a PIM-QAT one (an ONNX model is not).
    public static func pimSettings(of path: String) throws -> PIMSettings? {
        let checkpoint = try checkpoint(at: path)
        return checkpoint.metadata["training"].flatMap { try? JSONDecoder().decode(TrainingSettings.self, from: Data($0.utf8)) }?.pim
    }
}
