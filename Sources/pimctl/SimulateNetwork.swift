import ArgumentParser
import Foundation
import PIMQAT

/// The options of a network workload: a trained network deployed on chip instances.
struct NetworkSimulationOptions: ParsableArguments {
    @Option(help: "Checkpoint (safetensors) of a QAT or PIM-QAT network to deploy on the chip.")
    var model: String?

    @Option(help: "Dataset (default: the checkpoint's).") var data: DatasetName?
    @Option(help: "Directory with the dataset's files.") var dataDir: String?
    @Option(help: "Use only the first N test examples.") var testLimit: Int?
    @Option(help: "Precision plan (YAML) in place of the checkpoint's: the same weights requantized layer by layer.") var plan: String?
    @Option(help: "Chip instances (static draws) to evaluate, seeds 0…N−1, from --chip-seed on.") var chipSeeds = 1
    @Option(help: "Temporal-noise seeds per chip instance, from --seed on.") var noiseSeeds = 1
    @Option(help: "BN calibration batches of training data per chip instance (0 = none; 100 is a good start).")
    var bnCalibrate = 0
    @Option(help: "Batch size of BN calibration.") var calibrationBatchSize = 128
    @OptionGroup var normalization: InputNormalizationOptions
    @Flag(help: "Ideal PIM at chip precision: decomposition and ADC codes only (no noise, static errors, mismatch or curve).")
    var idealPim = false

    func validate() throws {
        guard chipSeeds >= 1, noiseSeeds >= 1 else { throw ValidationError("--chip-seeds and --noise-seeds must be at least 1") }
        if let problem = ChipDeployment.runCountProblem(chipSeeds: chipSeeds, noiseSeeds: noiseSeeds) { throw ValidationError(problem) }
        guard bnCalibrate >= 0 else { throw ValidationError("--bn-calibrate must be 0 (off) or a number of batches") }
        guard calibrationBatchSize >= 1 else { throw ValidationError("--calibration-batch-size must be positive") }
        if let testLimit, testLimit < 1 { throw ValidationError("--test-limit must be positive") }
    }
}

/// The outcome of `simulate network`.
struct NetworkSimulationReport: Encodable {
    var checkpoint: String
    var architecture: String
    var chip: String
    var scheme: String
    var mode: String
    /// The per-layer precisions over the uniform ones (the checkpoint's, or --plan's); nil = uniform.
    var plan: PrecisionPlan?
    var dataset: String
    var examples: Int
    var nonIdealities: NonIdealities
    var bnCalibrationBatches: Int
    /// The same network with exact integer products.
    var digitalAccuracy: Double
    var accuracyMean: Double
    var accuracyStd: Double
    var runs: [ChipDeployment.Run]
    /// Per PIM layer, over the first run (first chip instance, first noise seed).
    var layers: [PIMLayerReport]
    /// One inference's placement, time and energy on the chip (`pimctl map`); nil, with the
    /// reason, when a layer cannot be placed.
    var cost: NetworkCost?
    var costProblem: String?
    var seconds: Double
}

extension NetworkSimulationOptions {
    /// Deploys the network on `chip` and prints the accuracy and per-layer report.
    func run(on chip: ChipConfig, _ run: ChipRunOptions) throws {
        let start = Date()
        let path = model!
        BLAS.threadCount = run.threads
        let plan = try plan.map { path throws(ConfigError) in try PrecisionPlan(contentsOf: path) }
        var (loaded, target, settings, trained) = try DeployedModel.load(path, chip: chip, chipName: run.chip, scheme: run.scheme, mode: run.mode,
                                                                         plan: plan)
        if let given = try normalization.given() { loaded.inputNormalization = given }
        let dataset = data ?? loaded.settings?.dataset ?? .fashionMNIST
        let directory = dataDir ?? loaded.settings?.dataDirectory
        let test = try DeployedModel.data(for: loaded, path: path, dataset: dataset, directory: directory, train: false, limit: testLimit)
        var cost: NetworkCost?, costProblem: String?
        do {
            cost = try target.networkCost(model: loaded.model, channels: loaded.channels, size: loaded.size)
        } catch let error as PlacementError {
            costProblem = error.description
        }
        let deployment = ChipDeployment(model: loaded.model, target: target)
        deployment.nonIdealities = idealPim ? .none : run.nonIdealities
        if bnCalibrate > 0 || deployment.needsRangeCalibration {
            deployment.calibrationData = try DeployedModel.data(for: loaded, path: path, dataset: dataset, directory: directory, train: true)
            deployment.calibrationBatches = bnCalibrate
            deployment.calibrationBatchSize = calibrationBatchSize
        }
        let digital = deployment.evaluateDigitally(test)
        let total = chipSeeds * noiseSeeds
        let bar = ProgressBar(label: "chip runs")
        var done = 0
        let accuracy = deployment.evaluate(test, chipSeeds: (0..<UInt64(chipSeeds)).map { run.chipSeed &+ $0 },
                                           noiseSeeds: (0..<UInt64(noiseSeeds)).map { run.seed &+ $0 }) { run in
            done += 1
            bar.update(done, of: total, detail: "last \(Format.percent(run.accuracy))")
        }
        bar.finish()
        let (runs, layers, mean, std) = (accuracy.runs, accuracy.layers, accuracy.mean, accuracy.std)
        let mapping = target.layers[0].trainingMapping
        let report = NetworkSimulationReport(
            checkpoint: path, architecture: loaded.architecture.description, chip: chip.meta.id, scheme: settings.scheme.rawValue,
            mode: mapping.mode.name, plan: loaded.quantization?.plan, dataset: dataset.rawValue, examples: test.count, nonIdealities: deployment.nonIdealities,
            bnCalibrationBatches: runs.first?.calibrationBatches ?? 0, digitalAccuracy: digital.accuracy,
            accuracyMean: mean, accuracyStd: std, runs: runs, layers: layers, cost: cost, costProblem: costProblem,
            seconds: Date().timeIntervalSince(start))
        if run.json {
            print(try Terminal.json(report))
            return
        }
        let kind = trained ? "PIM-QAT" : "QAT"
        var lines = ["\(report.architecture) (\(kind) checkpoint \(path)) on \(report.chip), scheme \(report.scheme) (mode \(report.mode)); \(report.dataset), \(report.examples) test examples"]
        if let plan = report.plan { lines.append("precision plan: \(plan.summary)") }
        lines.append("digital (exact integer products): \(Format.percent(report.digitalAccuracy))")
        let calibration = report.bnCalibrationBatches > 0 ? "; BN calibrated on \(report.bnCalibrationBatches) batches per instance" : ""
        lines.append("on the chip model: \(Format.percent(mean)) ± \(Format.percent(std)) over \(chipSeeds) chip instance(s) × \(noiseSeeds) noise seed(s)\(calibration)")
        if let cost {
            let efficiency = cost.opsPerJ.map { ", \(Format.si($0, "OPS/W")) in W×A ops" } ?? ", energy not modelled"
            let energy = cost.energyJ > 0 ? "\(Format.si(cost.energyJ, "J")), " : ""
            lines.append("cost of one inference on the chip's layers: \(energy)\(Format.si(cost.latencyS, "s")) layer by layer\(efficiency) (pimctl map: per layer)")
        } else if let costProblem {
            lines.append("cost not placed: \(costProblem)")
        }
        lines.append("per layer (first instance and noise seed):")
        lines.append(Format.table(["layer", "conversions", "clip low", "clip high", "signal RMS (LSB)", "σ error (LSB)", "eff. bits", "SQNR (dB)"], layers.map { l in
            [l.layer, String(l.conversions), Format.percent(l.clipRateLow), Format.percent(l.clipRateHigh),
             l.partialSumRootMeanSquareLSB.map { Format.number($0, digits: 3) } ?? "–", Format.number(l.conversionErrorSigmaLSB, digits: 3), l.effectiveBits.map { Format.number($0, digits: 3) } ?? "exact",
             l.sqnrDecibels.map { Format.number($0, digits: 3) } ?? "exact"]
        }))
        print(lines.joined(separator: "\n"))
    }
}

struct SimulateNetwork: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Deploy a trained network on chip instances and report its accuracy beside the digital one.",
        discussion: """
            A QAT or PIM-QAT checkpoint (--model) is deployed on chip instances (--chip-seed, \
            --chip-seeds) with temporal noise (--seed, --noise-seeds), BN optionally \
            recalibrated on each (--bn-calibrate K): accuracy mean ± std beside the digital \
            accuracy, and per-layer clip rates, conversion error, effective bits, SQNR.

            Examples:
              pimctl simulate network --chip cap-ram --model pim.safetensors \\
                  --chip-seeds 3 --noise-seeds 3 --bn-calibrate 20
              pimctl simulate network --chip ideal --model qat.safetensors \\
                  --scheme bit-serial
              pimctl simulate network --chip cap-ram --model pim.safetensors \\
                  --plan plan.yaml --chip-seeds 3
            """)

    @OptionGroup(title: "Chip and run") var options: ChipRunOptions
    @OptionGroup(title: "Network") var network: NetworkSimulationOptions

    func validate() throws {
        guard network.model != nil else { throw ValidationError("give --model CHECKPOINT") }
    }

    func run() throws {
        try network.run(on: try ChipCatalog.standard().load(options.chip).0, options)
    }
}
