import Foundation
import PIMSim

/// A checkpoint in a report's directory that another run wrote, or a given network that does
/// not fit the report.
public struct ReportError: Error, Sendable, UserInputError {
    public var description: String
}

/// Runs a ``ReproductionPlan``: trains what it needs into the plan's directory (a finished
/// run with the same settings is reused, an unfinished one resumed), deploys every network
/// on the chip and assembles the ``ReproductionReport``.
public final class ReproductionRunner {
    public let plan: ReproductionPlan
    public let chip: ChipConfig
    /// Trains `run` to its last epoch, writing the checkpoint `path` after every epoch; the
    /// caller shows progress. `label` names the run ("float", "pimqat-chip", …).
    public var train: (_ label: String, _ run: TrainingRun, _ path: String) throws -> Void = { _, run, path in
        while run.completedEpochs < run.settings.epochs {
            let result = try run.trainNextEpoch()
            try run.checkpoint(testAccuracy: result.test.accuracy).write(to: path)
        }
    }
    /// A line of progress ("deploying on cap-ram (scheme chip)…").
    public var say: (String) -> Void = { _ in }

    public init(plan: ReproductionPlan, chip: ChipConfig) throws {
        if let problem = plan.problem { throw ReportError(description: problem) }
        self.plan = plan
        self.chip = chip
    }

    /// Checks the given networks, trains and deploys; nothing but checkpoints is written.
    public func run() throws -> ReproductionReport {
        let start = Date()
        let givenPIM = try checked(plan.givenPIM, option: "--pim")
        let givenAdjusted = try checked(plan.givenAdjusted, option: "--pim-adjusted")
        do {
            try FileManager.default.createDirectory(atPath: plan.outDirectory, withIntermediateDirectories: true)
        } catch {
            throw ReportError(description: "\(plan.outDirectory): cannot create the report directory (\((error as NSError).localizedDescription))")
        }
        let test = try plan.dataset.load(train: false, directory: plan.dataDirectory, limit: plan.testLimit).normalized(by: plan.inputNormalization)
        let train = try plan.dataset.load(train: true, directory: plan.dataDirectory, limit: plan.trainLimit).normalized(by: plan.inputNormalization)
        let quantization = Quantization(weightBits: plan.weightBits, activationBits: plan.activationBits)

        let floatRecipe = plan.recipe(quantized: false, pim: false, fineTuning: false)
        let qatRecipe = plan.recipe(quantized: true, pim: false, fineTuning: true)
        let pimRecipe = plan.recipe(quantized: true, pim: true, fineTuning: true)
        let floatPath = try plan.float ?? trained("float", plan.settings(floatRecipe, quantization: nil, pim: nil, initialization: nil))
        let qatPath = try plan.qat ?? trained("qat", plan.settings(qatRecipe, quantization: quantization, pim: nil, initialization: floatPath))
        let floatAccuracy = Trainer.evaluate(try TrainingRun.model(from: floatPath).model, on: test).accuracy
        let qatAccuracy = Trainer.evaluate(try TrainingRun.model(from: qatPath).model, on: test).accuracy

        var rows: [ReproductionReport.Row] = []
        var ablations: [ReproductionReport.Ablation] = []
        for scheme in plan.schemes {
            let tag = scheme.rawValue
            /// A PIM-QAT run of this scheme from the QAT network: the plan's recipe, changed by `adjust`.
            func pimRun(_ name: String, precision: PrecisionAdjustment, rescale: Rescale = .both,
                        adjust: (inout TrainingRecipe) -> Void = { _ in }) throws -> String {
                var recipe = pimRecipe
                adjust(&recipe)
                let pim = PIMSettings(chip: plan.chip, scheme: scheme, precision: precision, rescale: rescale, trainingNoise: recipe.trainingNoise)
                return try trained(name, plan.settings(recipe, quantization: quantization, pim: pim, initialization: qatPath))
            }
            let plainNetwork = try givenPIM[scheme] ?? network(at: try pimRun("pimqat-\(tag)", precision: .none))
            let adjustedNetwork = try givenAdjusted[scheme]
                ?? network(at: try pimRun("pimqat-\(tag)-adjusted-\(plan.adjustPrecision.tag)", precision: plan.adjustPrecision))
            say("deploying on \(chip.meta.id) (scheme \(tag))…")
            let qatOnChip = try deploy(qatPath, scheme: scheme, stages: .all, calibrate: false, train: train, test: test)
            let qatCalibrated = try deploy(qatPath, scheme: scheme, stages: .all, calibrate: true, train: train, test: test)
            let ideal = try deploy(plainNetwork.checkpoint, scheme: scheme, stages: .none, calibrate: false, train: train, test: test)
            let onChip = try deploy(plainNetwork.checkpoint, scheme: scheme, stages: .all, calibrate: false, train: train, test: test)
            let calibrated = try deploy(plainNetwork.checkpoint, scheme: scheme, stages: .all, calibrate: true, train: train, test: test)
            let adjusted = try deploy(adjustedNetwork.checkpoint, scheme: scheme, stages: .all, calibrate: true, train: train, test: test)
            rows.append(ReproductionReport.Row(
                scheme: tag, float: floatAccuracy, digitalQAT: qatAccuracy, qatOnChip: qatOnChip, qatOnChipCalibrated: qatCalibrated,
                pimQATIdeal: ideal, pimQATChip: onChip, pimQATCalibrated: calibrated, adjustedCalibrated: adjusted,
                pimQATNetwork: plainNetwork, adjustedNetwork: adjustedNetwork,
                cost: try cost(plainNetwork.checkpoint, scheme: scheme)))
            guard plan.ablations else { continue }
            var variants: [(String, String)] = []
            for rescale in [Rescale.backward, .forward, .none] {
                variants.append(("rescale \(rescale.rawValue) (instead of both)",
                                 try pimRun("pimqat-\(tag)-rescale-\(rescale.rawValue)", precision: .none, rescale: rescale)))
            }
            variants.append(("no noise injection", try pimRun("pimqat-\(tag)-no-noise", precision: .none) { $0.trainingNoise = false }))
            variants.append(("the QAT network's clip levels and weight grid (no α restart, DoReFa maximum)",
                             try pimRun("pimqat-\(tag)-qat-grid", precision: .none) { $0.pactAlpha = nil; $0.weightClip = nil }))
            for (variant, path) in variants {
                ablations.append(ReproductionReport.Ablation(
                    scheme: tag, variant: variant,
                    chip: try deploy(path, scheme: scheme, stages: .all, calibrate: false, train: train, test: test),
                    calibrated: try deploy(path, scheme: scheme, stages: .all, calibrate: true, train: train, test: test)))
            }
        }
        var report = ReproductionReport(
            chip: chip.meta.id, model: plan.model.description, dataset: plan.dataset.rawValue, trainExamples: train.count,
            testExamples: test.count, weightBits: plan.weightBits, activationBits: plan.activationBits, epochs: plan.epochs,
            pimEpochs: plan.pimEpochs, seed: plan.seed, chipSeeds: plan.chipSeeds, noiseSeeds: plan.noiseSeeds,
            bnCalibrationBatches: plan.bnCalibrationBatches, adjustedPrecision: plan.adjustPrecision.description,
            training: ReproductionReport.Training(
                float: plan.float == nil ? plan.settings(floatRecipe, quantization: nil, pim: nil, initialization: nil).recipeSummary : nil,
                qat: plan.qat == nil ? plan.settings(qatRecipe, quantization: quantization, pim: nil, initialization: floatPath).recipeSummary : nil,
                pimQAT: plan.settings(pimRecipe, quantization: quantization, pim: PIMSettings(chip: plan.chip, trainingNoise: pimRecipe.trainingNoise),
                                      initialization: qatPath).recipeSummary),
            rows: rows, ablations: ablations, seconds: Date().timeIntervalSince(start))
        report.checks = report.evaluatedChecks()
        return report
    }

    /// The checkpoint `<out>/<name>.safetensors` of a finished run with these settings:
    /// reused if finished, resumed if not, trained if absent.
    func trained(_ name: String, _ settings: TrainingSettings) throws -> String {
        let path = "\(plan.outDirectory)/\(name).safetensors"
        let run: TrainingRun
        if FileManager.default.fileExists(atPath: path) {
            run = try TrainingRun(resuming: path)
            guard run.settings == settings else {
                throw ReportError(description: "\(path) was trained with other settings; use another --out-dir or remove it")
            }
            if run.completedEpochs >= settings.epochs { return path }
        } else {
            run = try TrainingRun(settings: settings)
        }
        try train(name, run, path)
        return path
    }

    /// Given networks (scheme → checkpoint), each checked against the plan.
    func checked(_ paths: [Scheme: String], option: String) throws -> [Scheme: ReproductionReport.Network] {
        var networks: [Scheme: ReproductionReport.Network] = [:]
        for scheme in plan.schemes {
            guard let path = paths[scheme] else { continue }
            let loaded = try TrainingRun.model(from: path)
            guard let settings = loaded.settings, let pim = settings.pim, let target = loaded.target else {
                throw ReportError(description: "\(path): not a PIM-QAT checkpoint (\(option) takes one that train-qat wrote)")
            }
            guard pim.scheme == scheme else {
                throw ReportError(description: "\(path): trained for the \(pim.scheme.rawValue) scheme, given for \(scheme.rawValue) (\(option))")
            }
            guard settings.model == plan.model.description else {
                throw ReportError(description: "\(path): a \(settings.model) network, and --model is \(plan.model) (\(option))")
            }
            guard let q = settings.quantization, q.weightBits == plan.weightBits, q.activationBits == plan.activationBits else {
                throw ReportError(description: "\(path): not a W\(plan.weightBits)/A\(plan.activationBits) network (\(option); see --wbits, --abits)")
            }
            guard target.chip.meta.id == chip.meta.id else {
                throw ReportError(description: "\(path): trained on chip '\(pim.chip)', not on \(chip.meta.id) (\(option))")
            }
            networks[scheme] = network(path, loaded, given: true)
        }
        return networks
    }

    func network(at path: String) throws -> ReproductionReport.Network {
        network(path, try TrainingRun.model(from: path), given: false)
    }

    func network(_ path: String, _ loaded: TrainingRun.LoadedModel, given: Bool) -> ReproductionReport.Network {
        ReproductionReport.Network(
            checkpoint: path, given: given, epochs: loaded.completedEpochs, trainingBits: loaded.target?.trainingBits,
            trainingNoise: loaded.settings?.pim?.trainingNoise, pactAlpha: loaded.settings?.pactAlpha,
            weightClip: loaded.settings?.quantization?.weightClip, initialization: loaded.settings?.initialization)
    }

    /// One inference of a checkpoint on the chip's layers with `scheme`; nil when a layer
    /// cannot be placed.
    func cost(_ path: String, scheme: Scheme) throws -> NetworkCost? {
        let (loaded, target, _, _) = try DeployedModel.load(path, chip: chip, chipName: plan.chip, scheme: scheme, mode: nil)
        do {
            return try target.networkCost(model: loaded.model, channels: loaded.channels, size: loaded.size)
        } catch is PlacementError {
            return nil
        }
    }

    /// Accuracy of a checkpoint on the chip with `scheme` (its own rescaling if it is a
    /// PIM-QAT network, none otherwise), over the plan's chip instances × noise seeds.
    func deploy(_ path: String, scheme: Scheme, stages: NonIdealities, calibrate: Bool, train: Dataset, test: Dataset) throws -> ChipAccuracy {
        let (loaded, target, _, _) = try DeployedModel.load(path, chip: chip, chipName: plan.chip, scheme: scheme, mode: nil)
        let deployment = ChipDeployment(model: loaded.model, target: target)
        deployment.nonIdealities = stages
        if calibrate || deployment.needsRangeCalibration {
            deployment.calibrationData = train
            deployment.calibrationBatches = calibrate ? plan.bnCalibrationBatches : 0
            deployment.calibrationBatchSize = loaded.settings?.batchSize ?? 128
        }
        // Without any stochastic stage one run says everything.
        let deterministic = stages == NonIdealities.none
        return deployment.evaluate(test, chipSeeds: (0..<UInt64(deterministic ? 1 : plan.chipSeeds)).map { $0 },
                                   noiseSeeds: (0..<UInt64(deterministic ? 1 : plan.noiseSeeds)).map { plan.seed &+ $0 })
    }
}

extension PrecisionAdjustment {
    /// A file-name tag: `auto`, `exact`, `5bit`.
    var tag: String {
        switch self {
        case .none: "none"
        case .auto: "auto"
        case .exact: "exact"
        case let .bits(b): "\(b)bit"
        }
    }
}
