import ArgumentParser
import Foundation
import PIMQAT

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reproduce PIM-QAT's claims on a chip: the table of pim-qat.md §6 per scheme, plus ablations.",
        discussion: """
            Trains what it needs into --out-dir (float → conventional QAT → PIM-QAT per scheme,
            each initialised from the one before; finished runs are reused and unfinished ones
            resumed when the command is run again), deploys each network on chip instances
            with temporal noise, and writes report.md and report.json there. Accuracies on the
            chip are mean ± std over --chip-seeds × --noise-seeds.

            Columns: float; digital QAT; QAT on chip (the failure case); PIM-QAT on the ideal
            PIM at chip precision; PIM-QAT on the chip; + BN calibration; + adjusted precision
            (trained at --adjust-precision, auto by default, with the chip's noise injected
            unless --no-noise-injection, then BN calibration). --pim-pact-alpha restarts the
            PACT clip levels of every PIM-QAT run (a lower α spreads the integer inputs over
            more of the array's range). --pim and --pim-adjusted put networks trained
            elsewhere (e.g. by several train-qat runs) into a scheme's columns instead; the
            report lists every network it deployed and how it was trained.

            Examples:
              pimctl report
              pimctl report --chip cap-ram --model resnet20 --schemes chip,bit-serial --epochs 8 --pim-epochs 2 --out-dir r20-report
              pimctl report --qat resnet20-w4a4.safetensors --model resnet20 --ablations
              pimctl report --qat resnet20-w4a4.safetensors --model resnet20 --schemes chip --pim-lr 0.03 --pim-pact-alpha 3 --adjust-precision 6
              pimctl report --float resnet20-float.safetensors --qat resnet20-w4a4.safetensors --model resnet20 --schemes bit-serial \
                  --pim bit-serial=pim-bs.safetensors --pim-adjusted bit-serial=pim-bs-6bit.safetensors --test-limit 2000
            """)

    @Option(help: "Chip: a preset id or a YAML file.") var chip = "cap-ram"
    @Option(help: "Model: resnet20, resnet32, resnet44, resnet56, small-cnn.") var model = "small-cnn"
    @Option(help: "Dataset: fashion-mnist, mnist, cifar10, cifar100.") var data: DatasetName = .fashionMNIST
    @Option(help: "Directory with the dataset's files.") var dataDir: String?
    @Option(help: "Comma-separated schemes: chip, native, differential, bit-serial.") var schemes = "chip,bit-serial"
    @Option(help: "Epochs of the float and of the QAT run.") var epochs = 3
    @Option(help: "Epochs of each PIM-QAT run (fine-tuning the QAT network).") var pimEpochs = 2
    @Option(help: "Learning rate of the float and QAT runs (cosine schedule).") var lr = 0.05
    @Option(help: "Learning rate of the PIM-QAT runs (cosine schedule).") var pimLr = 0.01
    @Option(help: "PACT clip level α every PIM-QAT run starts from (default: the QAT network's).") var pimPactAlpha: Double?
    @Option(help: "The PIM-QAT runs normalise their weights by at most K × rms(tanh W) (train-qat --weight-clip; default: DoReFa's maximum).")
    var pimWeightClip: Double?
    @Option(help: "Training ADC precision of the '+ adjusted precision' networks: auto (from the chip's noise, whole bits), exact (the noise-equivalent step, between whole bits) or bits.")
    var adjustPrecision: PrecisionAdjustment = .auto
    @Option(help: "Batch size.") var batchSize = 128
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
        "Reuse this PIM-QAT checkpoint for a scheme's '+ adjusted precision' column instead of training one (repeatable).", valueName: "scheme=file"))
    var adjustedCheckpoints: [String] = []
    @Option(help: "Chip instances per deployment.") var chipSeeds = 2
    @Option(help: "Noise seeds per chip instance.") var noiseSeeds = 2
    @Option(help: "BN calibration batches per chip instance.") var bnCalibrate = 20
    @Flag(name: .customLong("noise-injection"), inversion: .prefixedNo,
          help: "Inject the chip's temporal noise while training the adjusted-precision networks.")
    var trainingNoise = true
    @Flag(help: "Also train and deploy the rescaling ablations (none, forward, backward).") var ablations = false
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
        guard !(try schemeList).isEmpty else { throw ValidationError("--schemes names no scheme") }
        _ = try givenNetworks(pimCheckpoints, option: "--pim")
        _ = try givenNetworks(adjustedCheckpoints, option: "--pim-adjusted")
        guard epochs >= 1, pimEpochs >= 1, batchSize >= 1, threads >= 1, chipSeeds >= 1, noiseSeeds >= 1 else {
            throw ValidationError("--epochs, --pim-epochs, --batch-size, --threads, --chip-seeds and --noise-seeds must be positive")
        }
        guard lr > 0, pimLr > 0 else { throw ValidationError("--lr and --pim-lr must be positive") }
        if let pimPactAlpha, !(pimPactAlpha > 0 && pimPactAlpha.isFinite) { throw ValidationError("--pim-pact-alpha must be a positive number") }
        if let pimWeightClip, !(pimWeightClip > 0 && pimWeightClip.isFinite) { throw ValidationError("--pim-weight-clip must be a positive number") }
        if case .none = adjustPrecision { throw ValidationError("--adjust-precision: give auto, exact or a number of bits (the chip's own precision is the 'PIM-QAT' columns)") }
        guard bnCalibrate >= 1 else { throw ValidationError("--bn-calibrate must be at least 1 batch") }
        guard (2...8).contains(wbits), (1...8).contains(abits) else { throw ValidationError("--wbits must be 2…8 and --abits 1…8") }
        if let trainLimit, trainLimit < 1 { throw ValidationError("--train-limit must be positive") }
        if let testLimit, testLimit < 1 { throw ValidationError("--test-limit must be positive") }
        guard ModelArchitecture(name: model) != nil else {
            throw ValidationError("--model '\(model)' is not one of resnet20, resnet32, resnet44, resnet56, small-cnn")
        }
    }

    func run() throws {
        let start = Date()
        BLAS.threadCount = threads
        let (chipConfig, _) = try ChipCatalog.standard().load(chip)
        // Given networks are checked before anything is written.
        let givenPIM = try checkedNetworks(pimCheckpoints, option: "--pim", chip: chipConfig)
        let givenAdjusted = try checkedNetworks(adjustedCheckpoints, option: "--pim-adjusted", chip: chipConfig)
        do {
            try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        } catch {
            throw CommandLineError("\(outDir): cannot create the report directory (\((error as NSError).localizedDescription))")
        }
        let test = try data.load(train: false, directory: dataDir).prefix(testLimit)
        let train = try data.load(train: true, directory: dataDir).prefix(trainLimit)
        let quantization = Quantization(weightBits: wbits, activationBits: abits)
        let pimQuantization = Quantization(weightBits: wbits, activationBits: abits, weightClip: pimWeightClip)

        let floatPath = try float ?? trained("float", settings(quantization: nil, pim: nil, initialization: nil, epochs: epochs, lr: lr))
        let qatPath = try qat ?? trained("qat", settings(quantization: quantization, pim: nil, initialization: floatPath, epochs: epochs, lr: lr))
        let floatAccuracy = Trainer.evaluate(try TrainingRun.model(from: floatPath).model, on: test).accuracy
        let qatAccuracy = Trainer.evaluate(try TrainingRun.model(from: qatPath).model, on: test).accuracy

        var rows: [ReportRow] = []
        var ablationRows: [AblationRow] = []
        for scheme in try schemeList {
            let tag = scheme.rawValue
            func pimRun(_ name: String, precision: PrecisionAdjustment, rescale: Rescale, noise: Bool) throws -> String {
                let pim = PIMSettings(chip: chip, scheme: scheme, precision: precision, rescale: rescale, trainingNoise: noise)
                return try trained(name, settings(quantization: pimQuantization, pim: pim, initialization: qatPath, epochs: pimEpochs, lr: pimLr,
                                                  pactAlpha: pimPactAlpha))
            }
            let precisionTag = switch adjustPrecision {
            case let .bits(b): "-\(b)bit"
            case .exact: "-exact"
            case .none, .auto: ""
            }
            let adjustedName = "pimqat-\(tag)-adjusted" + precisionTag + (trainingNoise ? "-noise" : "")
            let plainNetwork = try givenPIM[scheme]
                ?? network(at: try pimRun("pimqat-\(tag)", precision: .none, rescale: .both, noise: false))
            let adjustedNetwork = try givenAdjusted[scheme]
                ?? network(at: try pimRun(adjustedName, precision: adjustPrecision, rescale: .both, noise: trainingNoise))
            let (plain, adjusted) = (plainNetwork.checkpoint, adjustedNetwork.checkpoint)
            TrainingLoop(destination: "", linesToStandardError: json).say("deploying on \(chipConfig.meta.id) (scheme \(tag))…")
            let qatOnChip = try deploy(qatPath, chip: chipConfig, scheme: scheme, stages: .all, calibrate: false, train: train, test: test)
            let pimIdeal = try deploy(plain, chip: chipConfig, scheme: scheme, stages: NonIdealities.none, calibrate: false, train: train, test: test)
            let pimChip = try deploy(plain, chip: chipConfig, scheme: scheme, stages: .all, calibrate: false, train: train, test: test)
            let pimCalibrated = try deploy(plain, chip: chipConfig, scheme: scheme, stages: .all, calibrate: true, train: train, test: test)
            let adjustedChip = try deploy(adjusted, chip: chipConfig, scheme: scheme, stages: .all, calibrate: false, train: train, test: test)
            let adjustedCalibrated = try deploy(adjusted, chip: chipConfig, scheme: scheme, stages: .all, calibrate: true, train: train, test: test)
            rows.append(ReportRow(scheme: tag, float: floatAccuracy, digitalQAT: qatAccuracy, qatOnChip: qatOnChip, pimQATIdeal: pimIdeal,
                                  pimQATChip: pimChip, bnCalibration: pimCalibrated, adjustedPrecision: adjustedCalibrated,
                                  pimQATNetwork: plainNetwork, adjustedNetwork: adjustedNetwork))
            let noiseNote = trainingNoise ? ", training noise" : ""
            ablationRows.append(AblationRow(scheme: tag, variant: plainNetwork.given ? "given (--pim)" : "rescale both, chip precision",
                                            chip: pimChip, calibrated: pimCalibrated))
            ablationRows.append(AblationRow(scheme: tag, variant: adjustedNetwork.given ? "given (--pim-adjusted)" : "rescale both, adjusted precision\(noiseNote)",
                                            chip: adjustedChip, calibrated: adjustedCalibrated))
            if ablations {
                for rescale in [Rescale.backward, .forward, .none] {
                    let path = try pimRun("\(adjustedName)-rescale-\(rescale.rawValue)", precision: adjustPrecision, rescale: rescale, noise: trainingNoise)
                    ablationRows.append(AblationRow(
                        scheme: tag, variant: "rescale \(rescale.rawValue), adjusted precision\(noiseNote)",
                        chip: try deploy(path, chip: chipConfig, scheme: scheme, stages: .all, calibrate: false, train: train, test: test),
                        calibrated: try deploy(path, chip: chipConfig, scheme: scheme, stages: .all, calibrate: true, train: train, test: test)))
                }
            }
        }
        let report = ReproductionReport(
            chip: chipConfig.meta.id, model: model, dataset: data.rawValue, trainExamples: train.count, testExamples: test.count,
            weightBits: wbits, activationBits: abits, chipSeeds: chipSeeds, noiseSeeds: noiseSeeds, bnCalibrationBatches: bnCalibrate,
            trainingNoise: trainingNoise, adjustedPrecision: adjustPrecision.description, pimPactAlpha: pimPactAlpha, pimWeightClip: pimWeightClip, rows: rows, ablations: ablationRows, seconds: Date().timeIntervalSince(start))
        let markdown = report.markdown
        try write(markdown, to: "\(outDir)/report.md")
        try write(try Terminal.json(report) + "\n", to: "\(outDir)/report.json")
        print(json ? try Terminal.json(report) : markdown)
    }

    func settings(quantization: Quantization?, pim: PIMSettings?, initialization: String?, epochs: Int, lr: Double,
                  pactAlpha: Double? = nil) -> TrainingSettings {
        TrainingSettings(model: model, dataset: data, dataDirectory: dataDir, epochs: epochs, batchSize: batchSize, learningRate: lr,
                         momentum: 0.9, weightDecay: quantization == nil ? 5e-4 : 4e-5, nesterov: true, schedule: .cosine,
                         augmentation: .cropFlip, seed: seed, trainLimit: trainLimit, testLimit: testLimit,
                         quantization: quantization, pim: pim, initialization: initialization, pactAlpha: pactAlpha)
    }

    /// The checkpoint `<out-dir>/<name>.safetensors` of a finished run with these settings:
    /// reused if finished, resumed if not, trained if absent.
    func trained(_ name: String, _ settings: TrainingSettings) throws -> String {
        let path = "\(outDir)/\(name).safetensors"
        let run: TrainingRun
        if FileManager.default.fileExists(atPath: path) {
            run = try TrainingRun(resuming: path)
            guard run.settings == settings else {
                throw CommandLineError("\(path) was trained with other settings; use another --out-dir or remove it")
            }
            if run.completedEpochs >= settings.epochs { return path }
        } else {
            run = try TrainingRun(settings: settings)
        }
        try TrainingLoop(destination: path, resumed: run.completedEpochs > 0, label: "[\(name)] ", linesToStandardError: json).run(run)
        return path
    }

    /// The networks `option` gives, each checked with ``given(_:option:scheme:chip:)``, in --schemes order.
    func checkedNetworks(_ values: [String], option: String, chip chipConfig: ChipConfig) throws -> [Scheme: ReportNetwork] {
        let paths = try givenNetworks(values, option: option)
        var networks: [Scheme: ReportNetwork] = [:]
        for scheme in try schemeList {
            if let path = paths[scheme] { networks[scheme] = try given(path, option: option, scheme: scheme, chip: chipConfig) }
        }
        return networks
    }

    /// A PIM-QAT checkpoint given with `option` for `scheme`, checked against this report: a
    /// train-qat checkpoint of --model at --wbits/--abits, trained for `scheme` on this chip.
    func given(_ path: String, option: String, scheme: Scheme, chip chipConfig: ChipConfig) throws -> ReportNetwork {
        let loaded = try TrainingRun.model(from: path)
        guard let settings = loaded.settings, let pim = settings.pim, let target = loaded.target else {
            throw CommandLineError("\(path): not a PIM-QAT checkpoint (\(option) takes one that train-qat wrote)")
        }
        guard pim.scheme == scheme else {
            throw CommandLineError("\(path): trained for the \(pim.scheme.rawValue) scheme, given for \(scheme.rawValue) (\(option))")
        }
        guard settings.model == model else { throw CommandLineError("\(path): a \(settings.model) network, and --model is \(model) (\(option))") }
        guard let q = settings.quantization, q.weightBits == wbits, q.activationBits == abits else {
            throw CommandLineError("\(path): not a W\(wbits)/A\(abits) network (\(option); see --wbits, --abits)")
        }
        guard target.chip.meta.id == chipConfig.meta.id else {
            throw CommandLineError("\(path): trained on chip '\(pim.chip)', not on \(chipConfig.meta.id) (\(option))")
        }
        return network(path, loaded, given: true)
    }

    /// How the PIM-QAT network at `path` (trained by this report) was trained, from its checkpoint.
    func network(at path: String) throws -> ReportNetwork {
        network(path, try TrainingRun.model(from: path), given: false)
    }

    func network(_ path: String, _ loaded: TrainingRun.LoadedModel, given: Bool) -> ReportNetwork {
        ReportNetwork(checkpoint: path, given: given, epochs: loaded.completedEpochs,
                      trainingBits: loaded.target?.trainingBits,
                      trainingNoise: loaded.settings?.pim?.trainingNoise, pactAlpha: loaded.settings?.pactAlpha,
                      weightClip: loaded.settings?.quantization?.weightClip, initialization: loaded.settings?.initialization)
    }

    /// Accuracy of a checkpoint deployed on the chip with `scheme` (its own rescaling if it is a
    /// PIM-QAT network, none otherwise).
    func deploy(_ path: String, chip chipConfig: ChipConfig, scheme: Scheme, stages: NonIdealities, calibrate: Bool,
                train: Dataset, test: Dataset) throws -> ChipAccuracy {
        let (loaded, target, _, _) = try DeployedModel.load(path, chip: chipConfig, chipName: chip, scheme: scheme, mode: nil)
        let deployment = ChipDeployment(model: loaded.model, target: target)
        deployment.nonIdealities = stages
        if calibrate || deployment.needsRangeCalibration {
            deployment.calibrationData = train
            deployment.calibrationBatches = calibrate ? bnCalibrate : 0
            deployment.calibrationBatchSize = batchSize
        }
        // Without any stochastic stage one run says everything.
        let deterministic = stages == NonIdealities.none
        return deployment.evaluate(test, chipSeeds: (0..<UInt64(deterministic ? 1 : chipSeeds)).map { $0 },
                                   noiseSeeds: (0..<UInt64(deterministic ? 1 : noiseSeeds)).map { seed &+ $0 })
    }

    /// Writes `text` atomically (a temporary file renamed into place).
    func write(_ text: String, to path: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CommandLineError("\(path): cannot write (\((error as NSError).localizedDescription))")
        }
    }
}

/// One scheme's line of the pim-qat.md §6 table.
struct ReportRow: Encodable {
    var scheme: String
    var float: Double
    var digitalQAT: Double
    var qatOnChip: ChipAccuracy
    var pimQATIdeal: ChipAccuracy
    var pimQATChip: ChipAccuracy
    var bnCalibration: ChipAccuracy
    var adjustedPrecision: ChipAccuracy
    /// The networks of the 'PIM-QAT' columns and of the '+ adjusted precision' column.
    var pimQATNetwork: ReportNetwork
    var adjustedNetwork: ReportNetwork
}

/// A PIM-QAT network a report deployed, trained by the report or given (--pim, --pim-adjusted),
/// with what its checkpoint says about its training.
struct ReportNetwork: Encodable {
    var checkpoint: String
    /// Given on the command line rather than trained by this report.
    var given: Bool
    /// Epochs of its (last) run; the training ADC's resolution in bits; the chip's noise
    /// injected; the PACT α and weight clip the run started from; its initialisation.
    var epochs: Int?
    var trainingBits: Double?
    var trainingNoise: Bool?
    var pactAlpha: Double?
    var weightClip: Double?
    var initialization: String?

    var summary: String {
        var parts = [given ? "given" : "trained by this report"]
        if let epochs { parts.append(epochs == 1 ? "1 epoch" : "\(epochs) epochs") }
        if let trainingBits { parts.append("\(Format.bits(trainingBits)) training ADC") }
        if trainingNoise == true { parts.append("chip noise injected") }
        if let pactAlpha { parts.append("PACT α from \(Format.number(pactAlpha, digits: 3))") }
        if let weightClip { parts.append("weight clip \(Format.number(weightClip, digits: 3)) × rms(tanh W)") }
        if let initialization { parts.append("initialised from `\(initialization)`") }
        return "`\(checkpoint)` (" + parts.joined(separator: ", ") + ")"
    }
}

/// One variant of the ablations: on the chip, without and with BN calibration.
struct AblationRow: Encodable {
    var scheme: String
    var variant: String
    var chip: ChipAccuracy
    var calibrated: ChipAccuracy
}

struct ReproductionReport: Encodable {
    var chip: String
    var model: String
    var dataset: String
    var trainExamples: Int
    var testExamples: Int
    var weightBits: Int
    var activationBits: Int
    var chipSeeds: Int
    var noiseSeeds: Int
    var bnCalibrationBatches: Int
    /// Whether the adjusted-precision networks trained with the chip's noise injected.
    var trainingNoise: Bool
    /// Training precision of the adjusted-precision networks: "auto", "exact" or a number of bits.
    var adjustedPrecision: String
    /// The PACT α the PIM-QAT runs started from; nil: the QAT network's.
    var pimPactAlpha: Double?
    /// The weight clip (× rms(tanh W)) of the PIM-QAT runs; nil: DoReFa's maximum.
    var pimWeightClip: Double?
    var rows: [ReportRow]
    var ablations: [AblationRow]
    var seconds: Double

    static func cell(_ accuracy: ChipAccuracy) -> String {
        accuracy.runs.count > 1
            ? "\(Format.number(accuracy.mean * 100, digits: 3)) ± \(Format.number(accuracy.std * 100, digits: 2))"
            : Format.number(accuracy.mean * 100, digits: 3)
    }

    var markdown: String {
        var lines = [
            "PIM-QAT on \(chip): \(model), W\(weightBits)/A\(activationBits), \(dataset) (\(trainExamples) training, \(testExamples) test examples)",
            "",
            "Test accuracy, %; on the chip: mean ± std over \(chipSeeds) chip instances × \(noiseSeeds) noise seeds; BN calibration on \(bnCalibrationBatches) batches; adjusted precision (\(adjustedPrecision == "auto" ? "auto" : "\(adjustedPrecision) bits")) trained \(trainingNoise ? "with" : "without") the chip's noise injected\(pimPactAlpha.map { "; PIM-QAT runs started from PACT α = \(Format.number($0, digits: 3))" } ?? "")\(pimWeightClip.map { "; PIM-QAT weights clipped at \(Format.number($0, digits: 3)) × rms(tanh W)" } ?? "").",
            "",
            "| scheme | float | digital QAT | QAT on chip | PIM-QAT ideal | PIM-QAT chip | + BN calibration | + adjusted precision |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows {
            lines.append("| \(r.scheme) | \(Format.number(r.float * 100, digits: 3)) | \(Format.number(r.digitalQAT * 100, digits: 3)) | \(Self.cell(r.qatOnChip)) | \(Self.cell(r.pimQATIdeal)) | \(Self.cell(r.pimQATChip)) | \(Self.cell(r.bnCalibration)) | \(Self.cell(r.adjustedPrecision)) |")
        }
        lines += ["", "Networks:", ""]
        for r in rows {
            lines.append("- \(r.scheme): PIM-QAT \(r.pimQATNetwork.summary); adjusted precision \(r.adjustedNetwork.summary)")
        }
        lines += ["", "Ablations (PIM-QAT networks on the chip, without and with BN calibration):", "",
                  "| scheme | variant | chip | chip + BN calibration |", "|---|---|---|---|"]
        for a in ablations {
            lines.append("| \(a.scheme) | \(a.variant) | \(Self.cell(a.chip)) | \(Self.cell(a.calibrated)) |")
        }
        lines += ["", "Wall time: \(Format.number(seconds, digits: 3)) s."]
        return lines.joined(separator: "\n")
    }
}
