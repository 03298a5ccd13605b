import ArgumentParser
import Foundation
import PIMQAT

/// The options that define a training run, shared by `train` and `train-qat`.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Model: resnet20, resnet32, resnet44, resnet56, small-cnn, or an ONNX file (its weights the start unless --init; default small-cnn).")
    var model: String?

    @Option(help: "Dataset: fashion-mnist, mnist, cifar10, cifar100 (default fashion-mnist).")
    var data: DatasetName?

    @Option(help: "Directory with the dataset's files (default: the Debian package's for Fashion-MNIST).")
    var dataDir: String?

    @Option(help: "Epochs (default 10).") var epochs: Int?
    @Option(help: "Batch size (default 64 for small-cnn, 128 for the ResNets).") var batchSize: Int?
    @Option(help: "Base learning rate (default 0.1 × batch size / 128; half that with --init).") var lr: Double?
    @Option(help: "SGD momentum (default 0.9).") var momentum: Double?
    @Option(help: "Weight decay on weights, not on biases, BN or PACT α (default 5e-4 for float networks, 4e-5 for quantized ones).") var weightDecay: Double?
    @Flag(inversion: .prefixedNo, help: "Nesterov momentum (default on).") var nesterov: Bool?
    @Option(help: "Learning-rate schedule: warmup-cosine (linear warm-up, then cosine to zero, per step; the default), multistep (×0.1 at 50 % and 75 % of the epochs), cosine (per epoch), constant.")
    var schedule: LearningRateSchedule?
    @Option(help: "Warm-up of the warmup-cosine schedule, in epochs (fractional; default a tenth of the run, at most 1).") var warmup: Double?
    @Option(help: "Clip the gradient to this L2 norm (all trainable parameters together; default 5).") var clipGradNorm: Double?
    @Option(help: "Augmentation: none, flip, crop, crop+flip (default: flip for fashion-mnist, none for mnist, crop+flip for CIFAR).") var augment: Augmentation?
    @Option(help: "Seed of initialisation, shuffling, augmentation and training noise (default 0).") var seed: UInt64?
    @Option(help: "Use only the first N training examples.") var trainLimit: Int?
    @Option(help: "Use only the first N test examples.") var testLimit: Int?
    @Option(help: "Worker threads (results do not depend on it).") var threads = 2
    @OptionGroup var normalization: InputNormalizationOptions
    @Option(help: "Weight bits (DoReFa; first conv and classifier 8-bit). Give with --abits.")
    var wbits: Int?
    @Option(help: "Activation bits (PACT).")
    var abits: Int?
    @Option(help: "Precision plan (YAML: layer name → weight_bits, input_bits, mode, scheme) over the uniform --wbits/--abits; stored in the checkpoint.")
    var plan: String?
    @Option(help: "Set every PACT clip level α to this at the start (after --init; default: 2 for train-qat; for train 8, 10 before the classifier, or the --init checkpoint's).")
    var pactAlpha: Double?
    @Option(help: "Normalise the b_w-bit weights by at most K × the RMS of tanh(W) instead of its maximum (DoReFa), clipping the few larger ones: the integers use more of the grid (default: 2 for train-qat, DoReFa's maximum for train).")
    var weightClip: Double?
    @Flag(help: "Keep every PACT clip level α where the run starts it (--pact-alpha, --init's or the default) instead of learning it.")
    var freezePactAlpha = false
    @Option(name: .customLong("init"), help: "Initialise from this checkpoint's tensors (e.g. a float or QAT run of the same model).")
    var initFrom: String?

    @Option(help: "Checkpoint to write after every epoch (safetensors; without it nothing is saved).")
    var out: String?

    @Option(help: "Continue the run saved in this checkpoint (its settings; writes back to it unless --out).")
    var resume: String?

    @Option(help: "Stop after this many epochs of the run (it can be resumed later).")
    var stopAfter: Int?

    @Flag(help: "Print one JSON record per epoch.")
    var json = false

    /// The options that define a run: a resumed run takes them all from its checkpoint.
    var runOptionsGiven: [String] {
        var given: [String] = []
        if model != nil { given.append("--model") }
        if data != nil { given.append("--data") }
        if dataDir != nil { given.append("--data-dir") }
        if epochs != nil { given.append("--epochs") }
        if batchSize != nil { given.append("--batch-size") }
        if lr != nil { given.append("--lr") }
        if momentum != nil { given.append("--momentum") }
        if weightDecay != nil { given.append("--weight-decay") }
        if nesterov != nil { given.append("--nesterov") }
        if schedule != nil { given.append("--schedule") }
        if augment != nil { given.append("--augment") }
        if warmup != nil { given.append("--warmup") }
        if clipGradNorm != nil { given.append("--clip-grad-norm") }
        if seed != nil { given.append("--seed") }
        if trainLimit != nil { given.append("--train-limit") }
        if testLimit != nil { given.append("--test-limit") }
        if wbits != nil { given.append("--wbits") }
        if abits != nil { given.append("--abits") }
        if plan != nil { given.append("--plan") }
        if initFrom != nil { given.append("--init") }
        if pactAlpha != nil { given.append("--pact-alpha") }
        if freezePactAlpha { given.append("--freeze-pact-alpha") }
        if weightClip != nil { given.append("--weight-clip") }
        return given
    }

    func validate() throws {
        if resume != nil, let first = runOptionsGiven.first {
            throw ValidationError("\(first) cannot change a resumed run: its settings come from the checkpoint")
        }
        guard (epochs ?? 1) >= 1, (batchSize ?? 1) >= 1, threads >= 1 else { throw ValidationError("--epochs, --batch-size and --threads must be positive") }
        if let batchSize, batchSize > TrainingRecipe.maximumBatchSize {
            throw ValidationError("--batch-size \(batchSize) is above the \(TrainingRecipe.maximumBatchSize) a run takes")
        }
        guard (lr ?? 1) > 0, (momentum ?? 0) >= 0, (momentum ?? 0) < 1, (weightDecay ?? 0) >= 0 else {
            throw ValidationError("--lr must be positive, --momentum in [0, 1), --weight-decay ≥ 0")
        }
        if let trainLimit, trainLimit < 1 { throw ValidationError("--train-limit must be positive") }
        if let testLimit, testLimit < 1 { throw ValidationError("--test-limit must be positive") }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be positive") }
        guard (wbits == nil) == (abits == nil) else { throw ValidationError("give both --wbits and --abits, or neither") }
        if let wbits, !(2...8).contains(wbits) { throw ValidationError("--wbits must be 2…8") }
        if let abits, !(1...8).contains(abits) { throw ValidationError("--abits must be 1…8") }
        if let pactAlpha, !(pactAlpha > 0 && pactAlpha.isFinite) { throw ValidationError("--pact-alpha must be a positive number") }
        if let weightClip, !(weightClip > 0 && weightClip.isFinite) { throw ValidationError("--weight-clip must be a positive number") }
        if let warmup {
            guard warmup >= 0, warmup <= Double(epochs ?? 10) else { throw ValidationError("--warmup must be within 0…--epochs epochs") }
            if let schedule, schedule != .warmupCosine { throw ValidationError("--warmup applies to the warmup-cosine schedule only") }
        }
        if let clipGradNorm, !(clipGradNorm > 0 && clipGradNorm.isFinite) { throw ValidationError("--clip-grad-norm must be a positive number") }
    }

    /// The recipe for what the command line leaves open (``TrainingRecipe``).
    func recipe(quantized: Bool, pim: Bool) throws -> TrainingRecipe {
        return TrainingRecipe.standard(model: try architecture(), dataset: data ?? .fashionMNIST, epochs: epochs ?? 10, quantized: quantized,
                                       pim: pim, fineTuning: initFrom != nil)
    }

    /// The network --model names: a zoo name, or an ONNX file's structure.
    func architecture() throws -> ModelArchitecture { try network().architecture }

    /// The network --model names, with the input normalisation an ONNX file's metadata gives.
    func network() throws -> (architecture: ModelArchitecture, normalization: InputNormalization?) {
        let name = model ?? "small-cnn"
        if name.hasSuffix(".onnx") {
            let imported = try ONNXImport.load(name)
            return (.graph(imported.spec, name: name), imported.inputNormalization)
        }
        guard let architecture = ModelArchitecture(name: name) else {
            throw ValidationError("--model '\(name)' is not one of resnet20, resnet32, resnet44, resnet56, small-cnn, or an .onnx file")
        }
        return (architecture, nil)
    }

    /// The settings of a fresh run: what the command line gives, the rest from `recipe`. Without
    /// --wbits/--abits the network is float unless `defaultBits` gives the precision; without
    /// --plan it takes `defaultPlan`.
    func settings(recipe: TrainingRecipe, defaultBits: (weights: Int, activations: Int)?, defaultPlan: PrecisionPlan? = nil,
                  pim: PIMSettings? = nil) throws -> TrainingSettings {
        let (architecture, fileNormalization) = try network()
        let bits = wbits.map { ($0, abits ?? 4) } ?? defaultBits
        let plan = try plan.map { path throws(ConfigError) in try PrecisionPlan(contentsOf: path) } ?? defaultPlan
        let quantization = bits.map { Quantization(weightBits: $0.0, activationBits: $0.1, weightClip: weightClip, plan: plan) }
        var settings = recipe.settings(model: model ?? "small-cnn", dataset: data ?? .fashionMNIST, dataDirectory: dataDir,
                                       epochs: epochs ?? 10, seed: seed ?? 0, trainLimit: trainLimit, testLimit: testLimit,
                                       quantization: quantization, pim: pim, initialization: initFrom)
        // An ONNX model starts from its own weights unless --init says otherwise.
        if let graph = architecture.graphSpec {
            settings.graph = graph
            settings.initialization = initFrom ?? model
        }
        // The inputs as the flags say, else as the model file or the starting checkpoint does.
        settings.inputNormalization = try normalization.given()
            ?? fileNormalization
            ?? (initFrom.map { try TrainingRun.model(from: $0).inputNormalization } ?? nil)
        if let batchSize { settings.batchSize = batchSize }
        settings.learningRate = lr ?? recipe.learningRate(batchSize: settings.batchSize)
        if let momentum { settings.momentum = momentum }
        if let weightDecay { settings.weightDecay = weightDecay }
        if let nesterov { settings.nesterov = nesterov }
        if let schedule {
            settings.schedule = schedule
            if schedule != .warmupCosine { settings.warmupEpochs = nil }
        }
        if let warmup { settings.warmupEpochs = warmup }
        if let augment { settings.augmentation = augment }
        if let clipGradNorm { settings.maxGradientNorm = clipGradNorm }
        if let pactAlpha { settings.pactAlpha = pactAlpha }
        if freezePactAlpha { settings.pactAlphaFrozen = true }
        return settings
    }

    /// Trains `run` to its last epoch (or --stop-after), writing the checkpoint after each epoch.
    func train(_ run: TrainingRun) throws {
        try TrainingLoop(destination: out ?? resume, json: json, resumed: resume != nil).run(run, stopAfter: stopAfter)
    }
}
