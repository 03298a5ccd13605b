import ArgumentParser
import Foundation
import PIMQAT

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce PIM-QAT's claims on a chip: float, QAT and PIM-QAT networks per scheme, deployed on chip instances.",
        discussion: """
            Trains what it needs into --out-dir: float → conventional QAT (from the float \
            network) → PIM-QAT per scheme (from the QAT network), at the chip's own precision \
            and, as a twin, at --adjust-precision. Finished runs are reused and unfinished ones \
            resumed when the command runs again. Every setting not given comes from the \
            training recipe (see pimctl train --help); PIM-QAT restarts the PACT clip levels at \
            α = 2, clips the weights at 2 × rms(tanh W) and injects the chip's temporal noise. \
            Each network is then deployed on --chip-seeds chip instances × --noise-seeds noise \
            seeds; report.md and report.json land in --out-dir.

            Columns: float; digital QAT; QAT on chip, without and with BN calibration (the \
            failure case); PIM-QAT on the ideal PIM at chip precision; PIM-QAT on the chip, \
            without and with BN calibration. Below the table: the checks of the claims (float \
            within 1 pp of digital QAT or above, QAT on chip ≥ 20 pp below it, PIM-QAT + BN \
            calibration within 2 pp of it), the adjusted-precision twin's outcome, the networks, \
            and the command of the same report on all the data. --ablations adds the recipe \
            with one technique changed (each rescaling, no noise injection, the QAT network's \
            clip levels and weight grid). --pim and --pim-adjusted put networks trained \
            elsewhere into a scheme's columns.

            Examples:
              pimctl report
              pimctl report --model small-cnn --train-limit 10000 --test-limit 2000 \\
                  --pim-epochs 3 --out-dir demo
              pimctl report --model resnet20 --schemes chip,bit-serial --epochs 10 \\
                  --pim-epochs 5 --out-dir r20-report
              pimctl report --qat resnet20-w4a4.safetensors --model resnet20 --ablations
              pimctl report --float r20.safetensors --qat r20-w4a4.safetensors \\
                  --model resnet20 --schemes bit-serial \\
                  --pim bit-serial=pim-bs.safetensors --test-limit 2000
            """)

    @Option(help: "Chip: a preset id or a YAML file.") var chip = "cap-ram"
    @Option(help: "Model: resnet20, resnet32, resnet44, resnet56, small-cnn, or an ONNX file (its weights the float network's start).") var model = "small-cnn"
    @OptionGroup var normalization: InputNormalizationOptions
    @Option(help: "Dataset: fashion-mnist, mnist, cifar10, cifar100.") var data: DatasetName = .fashionMNIST
    @Option(help: "Directory with the dataset's files.") var dataDir: String?
    @Option(help: "Comma-separated schemes: chip, native, differential, bit-serial.") var schemes = "chip,bit-serial"
    @Option(help: "Epochs of the float and of the QAT run.") var epochs = 3
    @Option(help: "Epochs of each PIM-QAT run (fine-tuning the QAT network).") var pimEpochs = 2
    @Option(help: "Learning rate of the float and QAT runs (default: the recipe's).") var lr: Double?
    @Option(help: "Learning rate of the PIM-QAT runs (default: the recipe's for fine-tuning).") var pimLr: Double?
    @Option(help: "PACT clip level α every PIM-QAT run starts from (default 2).") var pimPactAlpha: Double?
    @Option(help: "The PIM-QAT runs normalise their weights by at most K × rms(tanh W) (default 2).")
    var pimWeightClip: Double?
    @Flag(name: .customLong("noise-injection"), inversion: .prefixedNo,
          help: "Inject the chip's temporal noise while training the PIM-QAT networks (default on).")
    var trainingNoise: Bool?
    @Option(help: "Training ADC precision of the adjusted-precision twins: auto (from the chip's noise, whole bits), exact (the noise-equivalent step, between whole bits) or bits.")
    var adjustPrecision: PrecisionAdjustment = .auto
    @Option(help: "Batch size (default: the recipe's for the model).") var batchSize: Int?
    @Option(help: "Weight bits.") var wbits = 4
    @Option(help: "Activation bits.") var abits = 4
    @Option(help: "Use only the first N training examples.") var trainLimit: Int?
    @Option(help: "Use only the first N test examples.") var testLimit: Int?
    @Option(help: "Reuse this float checkpoint instead of training one.") var float: String?
    @Option(help: "Reuse this conventional-QAT checkpoint instead of training one.") var qat: String?
    @Option(name: .customLong("pim"), help: ArgumentHelp(
        "Reuse this PIM-QAT checkpoint for a scheme's 'PIM-QAT' columns instead of training one (repeatable).", valueName: "scheme=file"))
    var pimCheckpoints: [String] = []
    @Option(name: .customLong("pim-adjusted"), help: ArgumentHelp(
        "Reuse this PIM-QAT checkpoint as a scheme's adjusted-precision twin instead of training one (repeatable).", valueName: "scheme=file"))
    var adjustedCheckpoints: [String] = []
    @Option(help: "Chip instances per deployment.") var chipSeeds = 3
    @Option(help: "Noise seeds per chip instance.") var noiseSeeds = 1
    @Option(help: "BN calibration batches per chip instance.") var bnCalibrate = 20
    @Flag(help: "Also train and deploy the ablations (each rescaling, no noise injection, the QAT network's grid).") var ablations = false
    @Option(help: "Directory for checkpoints, report.md and report.json.") var outDir = "pimqat-report"
    @Option(help: "Seed of initialisation, shuffling and noise.") var seed: UInt64 = 0
    @Option(help: "Worker threads (results do not depend on it).") var threads = 2
    @Flag(help: "Print the report as JSON instead of Markdown.") var json = false

    var schemeList: [Scheme] {
        get throws {
            try schemes.split(separator: ",").map { name in
                guard let scheme = Scheme(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--schemes: '\(name)' is not one of chip, native, differential, bit-serial")
                }
                return scheme
            }
        }
    }

    /// `--pim` or `--pim-adjusted` as scheme → checkpoint; each scheme at most once, and one of --schemes.
    func givenNetworks(_ values: [String], option: String) throws -> [Scheme: String] {
        let schemes = try schemeList
        var given: [Scheme: String] = [:]
        for value in values {
            guard let equals = value.firstIndex(of: "="), !value[value.index(after: equals)...].isEmpty else {
                throw ValidationError("\(option) '\(value)': give scheme=file, e.g. bit-serial=pim.safetensors")
            }
            let name = value[..<equals].trimmingCharacters(in: .whitespaces)
            guard let scheme = Scheme(rawValue: name) else {
                throw ValidationError("\(option) '\(value)': '\(name)' is not one of chip, native, differential, bit-serial")
            }
            guard schemes.contains(scheme) else { throw ValidationError("\(option) '\(value)': \(name) is not one of --schemes (\(schemes.map(\.rawValue).joined(separator: ",")))") }
            guard given[scheme] == nil else { throw ValidationError("\(option) gives two networks for \(name)") }
            given[scheme] = String(value[value.index(after: equals)...])
        }
        return given
    }

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be positive") }
        if let pimPactAlpha, !(pimPactAlpha > 0 && pimPactAlpha.isFinite) { throw ValidationError("--pim-pact-alpha must be a positive number") }
        if let pimWeightClip, !(pimWeightClip > 0 && pimWeightClip.isFinite) { throw ValidationError("--pim-weight-clip must be a positive number") }
        if case .none = adjustPrecision {
            throw ValidationError("--adjust-precision: give auto, exact or a number of bits (the chip's own precision is the PIM-QAT network)")
        }
        _ = try plan()
    }

    /// The plan the flags describe.
    func plan() throws -> ReproductionPlan {
        let architecture: ModelArchitecture, fileNormalization: InputNormalization?
        if model.hasSuffix(".onnx") {
            let imported = try ONNXImport.load(model)
            (architecture, fileNormalization) = (.graph(imported.spec, name: model), imported.inputNormalization)
        } else {
            guard let zoo = ModelArchitecture(name: model) else {
                throw ValidationError("--model '\(model)' is not one of resnet20, resnet32, resnet44, resnet56, small-cnn, or an .onnx file")
            }
            (architecture, fileNormalization) = (zoo, nil)
        }
        var plan = ReproductionPlan(chip: chip, model: architecture, dataset: data, schemes: try schemeList, outDirectory: outDir)
        plan.inputNormalization = try normalization.given() ?? fileNormalization
        plan.dataDirectory = dataDir
        (plan.epochs, plan.pimEpochs, plan.learningRate, plan.pimLearningRate, plan.batchSize) = (epochs, pimEpochs, lr, pimLr, batchSize)
        (plan.weightBits, plan.activationBits, plan.trainLimit, plan.testLimit) = (wbits, abits, trainLimit, testLimit)
        (plan.pimPactAlpha, plan.pimWeightClip, plan.trainingNoise, plan.adjustPrecision) = (pimPactAlpha, pimWeightClip, trainingNoise, adjustPrecision)
        (plan.chipSeeds, plan.noiseSeeds, plan.bnCalibrationBatches, plan.seed, plan.ablations) = (chipSeeds, noiseSeeds, bnCalibrate, seed, ablations)
        (plan.float, plan.qat) = (float, qat)
        plan.givenPIM = try givenNetworks(pimCheckpoints, option: "--pim")
        plan.givenAdjusted = try givenNetworks(adjustedCheckpoints, option: "--pim-adjusted")
        if let problem = plan.problem { throw ValidationError(problem) }
        return plan
    }

    /// This command on every training and test image: the same flags without the limits.
    var fullSizeCommand: String? {
        guard trainLimit != nil || testLimit != nil else { return nil }
        var words = ["pimctl", "report"]
        var skip = false
        for word in CommandLine.arguments.dropFirst(2) {
            if skip { skip = false; continue }
            if word == "--train-limit" || word == "--test-limit" || word == "--out-dir" { skip = true; continue }
            if word.hasPrefix("--train-limit=") || word.hasPrefix("--test-limit=") || word.hasPrefix("--out-dir=") { continue }
            words.append(word.contains(" ") ? "'\(word)'" : word)
        }
        return (words + ["--out-dir", "\(outDir)-full"]).joined(separator: " ")
    }

    func run() throws {
        BLAS.threadCount = threads
        let (chipConfig, _) = try ChipCatalog.standard().load(chip)
        let runner = try ReproductionRunner(plan: try plan(), chip: chipConfig)
        let json = self.json
        runner.train = { label, run, path in
            try TrainingLoop(destination: path, resumed: run.completedEpochs > 0, label: "[\(label)] ", linesToStandardError: json).run(run)
        }
        runner.say = { TrainingLoop(destination: nil, linesToStandardError: json).say($0) }
        var report = try runner.run()
        report.fullSizeCommand = fullSizeCommand
        let markdown = report.markdown
        try write(markdown, to: "\(outDir)/report.md")
        try write(try Terminal.json(report) + "\n", to: "\(outDir)/report.json")
        print(json ? try Terminal.json(report) : markdown)
    }

    /// Writes `text` in one step (``OutputFile``).
    func write(_ text: String, to path: String) throws {
        try OutputFile.write(Data(text.utf8), to: path)
    }
}
