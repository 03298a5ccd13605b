import ArgumentParser
import Foundation
import PIMQAT

/// The options that define a training run, shared by `train` and `train-qat`.
struct TrainingOptions: ParsableArguments {
    @Option(help: "Model: resnet20, resnet32, resnet44, resnet56, small-cnn (default small-cnn).")
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
    @Option(help: "Weight bits (DoReFa; first conv and classifier 8-bit). Give with --abits.")
    var wbits: Int?
    @Option(help: "Activation bits (PACT).")
    var abits: Int?
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
        let name = model ?? "small-cnn"
        guard let architecture = ModelArchitecture(name: name) else {
            throw ValidationError("--model '\(name)' is not one of resnet20, resnet32, resnet44, resnet56, small-cnn")
        }
        return TrainingRecipe.standard(model: architecture, dataset: data ?? .fashionMNIST, epochs: epochs ?? 10, quantized: quantized,
                                       pim: pim, fineTuning: initFrom != nil)
    }

    /// The settings of a fresh run: what the command line gives, the rest from `recipe`. Without
    /// --wbits the network is float unless `defaultBits` fills in 4-bit weights and activations.
    func settings(recipe: TrainingRecipe, defaultBits: Bool, pim: PIMSettings? = nil) -> TrainingSettings {
        let quantization = (wbits ?? (defaultBits ? 4 : nil)).map {
            Quantization(weightBits: $0, activationBits: abits ?? 4, weightClip: weightClip)
        }
        var settings = recipe.settings(model: model ?? "small-cnn", dataset: data ?? .fashionMNIST, dataDirectory: dataDir,
                                       epochs: epochs ?? 10, seed: seed ?? 0, trainLimit: trainLimit, testLimit: testLimit,
                                       quantization: quantization, pim: pim, initialization: initFrom)
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

/// Epochs of a run with a progress bar and a line (or JSON record) per epoch, and a
/// checkpoint after each.
struct TrainingLoop {
    /// The checkpoint written after every epoch; nil = none.
    var destination: String?
    var json = false
    /// Whether the run continues a checkpoint (for the message after a divergence).
    var resumed = false
    /// Prefix of every line (a report names which of its runs is training).
    var label = ""
    /// Writes the per-epoch lines to standard error (when standard output carries JSON).
    var linesToStandardError = false

    func say(_ line: String) {
        if linesToStandardError {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        } else {
            print(line)
            Terminal.flush()
        }
    }

    func run(_ run: TrainingRun, stopAfter: Int? = nil) throws {
        let settings = run.settings
        if !json {
            let precision = settings.quantization.map { "W\($0.weightBits)/A\($0.activationBits) QAT" } ?? "float"
            let through = run.target.map { " through " + $0.trainingPath } ?? ""
            say("\(label)\(settings.model) (\(precision))\(through) on \(settings.dataset.rawValue): \(run.train.count) training, \(run.test.count) test examples; epochs \(run.completedEpochs + 1)…\(settings.epochs)\(destination == nil ? " (no --out: the network is not saved)" : "")")
            say("\(label)  \(settings.recipeSummary)")
        }
        let last = min(settings.epochs, stopAfter ?? settings.epochs)
        while run.completedEpochs < last {
            let epoch = run.completedEpochs + 1
            let start = Date()
            let bar = ProgressBar(label: "\(label)epoch \(epoch)/\(settings.epochs)")
            let train: Evaluation, test: Evaluation
            do {
                (train, test) = try run.trainNextEpoch { batch, batches, loss, accuracy in
                    bar.update(batch, of: batches, detail: "loss \(Format.number(loss, digits: 4)) acc \(Format.percent(accuracy))")
                }
            } catch let error as TrainingDivergedError {
                bar.finish()
                let lastGood = destination != nil && (run.completedEpochs > 0 || resumed)
                    ? "last good checkpoint: \(destination!) (epoch \(run.completedEpochs))" : "no checkpoint was written"
                throw CommandLineError("\(error.description); \(lastGood)")
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(start)
            if let destination { try run.checkpoint(testAccuracy: test.accuracy).write(to: destination) }
            // σ̂/σ_y per PIM layer over the epoch's training steps.
            let ratios = (run.target?.layers ?? []).compactMap { layer in layer.takeMeanRatio().map { (layer.name, $0) } }
            if json {
                struct Record: Encodable {
                    var epoch: Int; var trainLoss, trainAccuracy, testLoss, testAccuracy, seconds: Double; var checkpoint: String?
                    var pimOutputStdRatio: [String: Double]?
                }
                let record = Record(epoch: epoch, trainLoss: train.loss, trainAccuracy: train.accuracy, testLoss: test.loss,
                                    testAccuracy: test.accuracy, seconds: seconds, checkpoint: destination,
                                    pimOutputStdRatio: ratios.isEmpty ? nil : Dictionary(uniqueKeysWithValues: ratios))
                print(try Terminal.json(record).replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "  ", with: " "))
                Terminal.flush()
            } else {
                say("\(label)epoch \(epoch)/\(settings.epochs): train loss \(Format.number(train.loss, digits: 4)), acc \(Format.percent(train.accuracy)); test loss \(Format.number(test.loss, digits: 4)), acc \(Format.percent(test.accuracy)); \(Format.number(seconds, digits: 3)) s")
                if let low = ratios.min(by: { $0.1 < $1.1 }), let high = ratios.max(by: { $0.1 < $1.1 }) {
                    let lowText = "\(Format.number(low.1, digits: 3)) (\(low.0))"
                    let range = ratios.count == 1 ? lowText : "\(lowText) … \(Format.number(high.1, digits: 3)) (\(high.0))"
                    say("\(label)  PIM output std / exact output std over the epoch: \(range)")
                }
            }
        }
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a network (float, or conventional QAT) with SGD; a checkpoint after every epoch.",
        discussion: """
            Datasets: fashion-mnist (the Debian package dataset-fashion-mnist), mnist, \
            cifar10, cifar100 (binary files from --data-dir). Models: resnet20, resnet32, \
            resnet44, resnet56 (CIFAR-style, 16/32/64 channels), small-cnn. \
            Runs are deterministic for a seed; --resume continues a checkpoint's run with the \
            same result as an uninterrupted one.

            Examples:
              pimctl train --model small-cnn --data fashion-mnist --epochs 2 \\
                  --train-limit 5000 --out small.safetensors
              pimctl train --model resnet20 --data fashion-mnist --epochs 30 \\
                  --out resnet20.safetensors
              pimctl train --model resnet20 --wbits 4 --abits 4 --epochs 30 \\
                  --out resnet20-w4a4.safetensors
              pimctl train --resume resnet20.safetensors
            """)

    @OptionGroup var options: TrainingOptions

    func validate() throws {
        if options.pactAlpha != nil, options.wbits == nil { throw ValidationError("--pact-alpha needs a quantized network (--wbits and --abits)") }
        if options.freezePactAlpha, options.wbits == nil { throw ValidationError("--freeze-pact-alpha needs a quantized network (--wbits and --abits)") }
        if options.weightClip != nil, options.wbits == nil { throw ValidationError("--weight-clip needs a quantized network (--wbits and --abits)") }
    }

    func run() throws {
        BLAS.threadCount = options.threads
        let run = try options.resume.map { try TrainingRun(resuming: $0) }
            ?? TrainingRun(settings: options.settings(recipe: options.recipe(quantized: options.wbits != nil, pim: false), defaultBits: false))
        try options.train(run)
    }
}

struct TrainQAT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-qat",
        abstract: "PIM-QAT: train a quantized network through a chip model's decomposition and ADC.",
        discussion: """
            Every convolution after the first runs through the chip's decomposition with an \
            ideal ADC at the training precision over the chip's full-scale range (the first \
            convolution and the classifier stay digital unless --classifier-on-chip); the \
            backward pass is the digital integer layer's (straight through), with the \
            rescaling of --rescale. Per-epoch test accuracy is measured the same way; deploy \
            the checkpoint on the real chip model with `pimctl simulate --model`.

            Examples:
              pimctl train-qat --chip cap-ram --scheme bit-serial --model small-cnn \\
                  --epochs 2 --train-limit 5000 --out pim.safetensors
              pimctl train-qat --chip cap-ram --model resnet20 \\
                  --init resnet20-w4a4.safetensors --epochs 5 --out pim-r20.safetensors
              pimctl train-qat --chip cap-ram --model resnet20 \\
                  --init resnet20-w4a4.safetensors --epochs 5 --adjust-precision auto \\
                  --bn-calibrate 100 --out pim-r20-auto.safetensors
              pimctl train-qat --resume pim-r20.safetensors
            """)

    @OptionGroup var options: TrainingOptions

    @Option(help: "Chip: a preset id or a YAML file (default cap-ram).") var chip: String?
    @Option(help: "Decomposition: chip (the chip's own), native, differential, bit-serial (default chip).") var scheme: Scheme?
    @Option(help: "The chip's operating mode (default: its default mode).") var mode: String?
    @Option(help: "Rescaling: none, forward, backward, both (default both).") var rescale: Rescale?
    @Option(help: "Training ADC precision: none (the chip's), auto (from the chip's noise, whole bits), exact (the noise-equivalent step itself, between whole bits), or bits (default none).")
    var adjustPrecision: PrecisionAdjustment?
    @Flag(name: .customLong("noise-injection"), inversion: .prefixedNo,
          help: "Inject the chip's temporal noise during training (default on).") var trainingNoise: Bool?
    @Option(help: "After training, deploy on chip instance --chip-seed and report test accuracy without and with BN calibration on K batches.")
    var bnCalibrate: Int?
    @Option(help: "Chip instance for --bn-calibrate.") var chipSeed: UInt64 = 0
    @Flag(help: "Zero the gradient of outputs with a clipped partial sum.") var zeroClippedGradients = false
    @Flag(help: "Run the classifier on the chip too.") var classifierOnChip = false

    func validate() throws {
        if let bnCalibrate, bnCalibrate < 1 { throw ValidationError("--bn-calibrate must be at least 1 batch") }
        if options.resume != nil {
            let given = [(chip != nil, "--chip"), (scheme != nil, "--scheme"), (mode != nil, "--mode"), (rescale != nil, "--rescale"),
                         (adjustPrecision != nil, "--adjust-precision"), (trainingNoise != nil, "--noise-injection"),
                         (zeroClippedGradients, "--zero-clipped-gradients"), (classifierOnChip, "--classifier-on-chip")].first { $0.0 }
            if let given { throw ValidationError("\(given.1) cannot change a resumed run: its settings come from the checkpoint") }
        }
    }

    func run() throws {
        BLAS.threadCount = options.threads
        let run: TrainingRun
        if let resume = options.resume {
            run = try TrainingRun(resuming: resume)
            guard run.settings.pim != nil else { throw CommandLineError("\(resume) is not a PIM-QAT checkpoint; continue it with pimctl train --resume") }
        } else {
            let recipe = try options.recipe(quantized: true, pim: true)
            let pim = PIMSettings(chip: chip ?? "cap-ram", scheme: scheme ?? .chip, mode: mode, precision: adjustPrecision ?? .none,
                                  rescale: rescale ?? .both, trainingNoise: trainingNoise ?? recipe.trainingNoise,
                                  zeroClippedGradients: zeroClippedGradients, classifierOnChip: classifierOnChip)
            run = try TrainingRun(settings: options.settings(recipe: recipe, defaultBits: true, pim: pim))
        }
        try options.train(run)
        guard let bnCalibrate, let target = run.target, run.completedEpochs == run.settings.epochs else { return }
        // Deployment on one chip instance, before and after BN calibration.
        let deployment = ChipDeployment(model: run.model, target: target)
        let noiseSeed = run.settings.seed
        deployment.calibrationData = run.train
        let plain = deployment.evaluate(run.test, chipSeed: chipSeed, noiseSeed: noiseSeed)
        deployment.calibrationBatches = bnCalibrate
        deployment.calibrationBatchSize = run.settings.batchSize
        let calibrated = deployment.evaluate(run.test, chipSeed: chipSeed, noiseSeed: noiseSeed)
        if options.json {
            struct Record: Encodable { var chipSeed: UInt64; var noiseSeed: UInt64; var chipAccuracy: Double; var calibratedAccuracy: Double; var calibrationBatches: Int }
            print(try Terminal.json(Record(chipSeed: chipSeed, noiseSeed: noiseSeed, chipAccuracy: plain.accuracy, calibratedAccuracy: calibrated.accuracy,
                                           calibrationBatches: calibrated.calibrationBatches)).replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "  ", with: " "))
        } else {
            print("on \(target.chip.meta.id) instance \(chipSeed) (all non-idealities, noise seed \(noiseSeed)): test accuracy \(Format.percent(plain.accuracy)); after BN calibration on \(calibrated.calibrationBatches) batches \(Format.percent(calibrated.accuracy))")
        }
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy of a checkpoint on a dataset's test split.",
        discussion: """
            A checkpoint of pimctl train runs digitally. A checkpoint of pimctl train-qat runs as \
            its per-epoch test did: through its chip's decomposition and converter at the training \
            precision (--adjust-precision), with no transfer curve, mismatch or static errors, and \
            with temporal noise only if it was trained with --noise-injection. For the chip \
            itself (its own precision, static errors, chip instances, BN calibration) use \
            pimctl simulate --model. With --json the record names the path: "digital", or the \
            chip, scheme, training ADC and rescaling, with training_bits and training_noise.

            Examples:
              pimctl evaluate --model small.safetensors --data fashion-mnist
              pimctl evaluate --model resnet20.safetensors --data fashion-mnist \\
                  --test-limit 1000 --json
              pimctl simulate --chip cap-ram --model pim-r20.safetensors \\
                  --chip-seeds 2 --bn-calibrate 20
            """)

    @Option(help: "Checkpoint (safetensors) written by pimctl train or train-qat.") var model: String
    @Option(help: "Dataset (default: the checkpoint's).") var data: DatasetName?
    @Option(help: "Directory with the dataset's files.") var dataDir: String?
    @Option(help: "Use only the first N test examples.") var testLimit: Int?
    @Option(help: "OpenBLAS threads.") var threads = 2
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        BLAS.threadCount = max(1, threads)
        let loaded = try TrainingRun.model(from: model)
        let dataset = data ?? loaded.settings?.dataset ?? .fashionMNIST
        let test = try dataset.load(train: false, directory: dataDir ?? loaded.settings?.dataDirectory, limit: testLimit)
        guard test.channels == loaded.channels, test.size == loaded.size, test.classes == loaded.classes else {
            throw CommandLineError("\(model) expects \(loaded.channels)×\(loaded.size)×\(loaded.size) images and \(loaded.classes) classes; \(dataset.rawValue) has \(test.channels)×\(test.size)×\(test.size) and \(test.classes)")
        }
        let result = Trainer.evaluate(loaded.model, on: test)
        if json {
            print(try Terminal.json(EvaluateRecord(model: model, architecture: loaded.architecture.description, dataset: dataset.rawValue,
                                                   accuracy: result.accuracy, loss: result.loss, examples: result.examples,
                                                   path: loaded.target?.trainingPath ?? "digital", trainingBits: loaded.target?.trainingBits,
                                                   trainingNoise: loaded.target?.settings.trainingNoise)))
        } else {
            let through = loaded.target.map { ", through \($0.trainingPath) \($0.settings.trainingNoise ? "with" : "without") training noise" } ?? ""
            print("\(loaded.architecture) on \(dataset.rawValue) (\(result.examples) test examples\(through)): accuracy \(Format.percent(result.accuracy)), loss \(Format.number(result.loss, digits: 4))")
        }
    }
}

/// `pimctl evaluate --json`: the accuracy and the path the network ran (`digital`, or its
/// training path through the chip, with the training converter's bits and whether the chip's
/// noise was injected).
struct EvaluateRecord: Encodable {
    var model: String
    var architecture: String
    var dataset: String
    var accuracy: Double
    var loss: Double
    var examples: Int
    var path: String
    var trainingBits: Double?
    var trainingNoise: Bool?
}

extension PIMTarget {
    /// How a PIM-QAT network's layers compute in training (and in `evaluate`): "CHIP (scheme S,
    /// N-bit training ADC, rescale R)", N fractional for `--adjust-precision exact`; "lossless"
    /// when the chip's converter is.
    var trainingPath: String {
        let bits = trainingBits.map(Format.bits) ?? "lossless"
        return "\(settings.chip) (scheme \(settings.scheme.rawValue), \(bits) training ADC, rescale \(settings.rescale.rawValue))"
    }
}

extension DatasetName: ExpressibleByArgument {}
extension Rescale: ExpressibleByArgument {}
extension PrecisionAdjustment: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension Augmentation: ExpressibleByArgument {}
