import ArgumentParser
import Foundation
import PIMQAT

struct CalibrateBN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate-bn",
        abstract: "Recalibrate a network's BN statistics on one chip instance and save them.",
        discussion: """
            The network is programmed onto chip instance --chip-seed (static draws), K batches \
            of training data run through it with temporal noise, and every BN layer's running \
            mean and variance become the equal-weight average of those batches' statistics. \
            Weights, γ, β and α do not change. The checkpoint written records the chip, the \
            instance and K; deploy it on that instance with `pimctl simulate network --chip-seed`.

            Examples:
              pimctl calibrate-bn --chip cap-ram --model pim.safetensors \\
                  --batches 100 --out pim-chip0.safetensors
              pimctl calibrate-bn --chip cap-ram --model pim.safetensors \\
                  --chip-seed 3 --out pim-chip3.safetensors
            """)

    @Option(help: "Chip: a preset id or a YAML file.") var chip = "cap-ram"
    @Option(help: "Checkpoint (safetensors) of a QAT or PIM-QAT network.") var model: String
    @Option(help: "Decomposition (default: the checkpoint's, or chip).") var scheme: Scheme?
    @Option(help: "The chip's operating mode.") var mode: String?
    @Option(help: "Dataset whose training split calibrates (default: the checkpoint's).") var data: DatasetName?
    @Option(help: "Directory with the dataset's files.") var dataDir: String?
    @Option(help: "Calibration batches K (default: 100 or one epoch, whichever is smaller).") var batches: Int?
    @Option(help: "Batch size.") var batchSize = 128
    @Option(help: "Chip instance (seed of the static draws).") var chipSeed: UInt64 = 0
    @Option(help: "Worker threads.") var threads = 2
    @OptionGroup var normalization: InputNormalizationOptions
    @Option(help: "Checkpoint to write.") var out: String
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let batches, batches < 1 { throw ValidationError("--batches must be at least 1") }
        guard batchSize >= 1, threads >= 1 else { throw ValidationError("--batch-size and --threads must be positive") }
    }

    func run() throws {
        BLAS.threadCount = threads
        let (chipConfig, _) = try ChipCatalog.standard().load(chip)
        var (loaded, target, settings, _) = try DeployedModel.load(model, chip: chipConfig, chipName: chip, scheme: scheme, mode: mode)
        if let given = try normalization.given() { loaded.inputNormalization = given }
        let dataset = data ?? loaded.settings?.dataset ?? .fashionMNIST
        let train = try DeployedModel.data(for: loaded, path: model, dataset: dataset, directory: dataDir ?? loaded.settings?.dataDirectory, train: true)
        let deployment = ChipDeployment(model: loaded.model, target: target)
        deployment.calibrationData = train
        deployment.calibrationBatches = batches ?? BatchNormCalibration.defaultBatches(examples: train.count, batchSize: batchSize)
        deployment.calibrationBatchSize = batchSize
        let used = deployment.calibrate(chipSeed: chipSeed)
        struct Record: Codable { var chip: String; var scheme: String; var chipSeed: UInt64; var batches: Int; var batchSize: Int; var dataset: String }
        let record = Record(chip: chipConfig.meta.id, scheme: settings.scheme.rawValue, chipSeed: chipSeed, batches: used,
                            batchSize: batchSize, dataset: dataset.rawValue)
        var metadata = try TrainingRun.checkpoint(at: model).metadata
        if let normalization = loaded.inputNormalization { metadata.merge(normalization.metadata) { $1 } }
        // Sorted keys: the same calibration writes the same bytes.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        metadata["bn_calibration"] = String(decoding: try encoder.encode(record), as: UTF8.self)
        try Checkpoint(model: loaded.model, metadata: metadata).write(to: out)
        if json {
            print(try Terminal.json(record))
        } else {
            print("\(model): BN statistics calibrated on \(chipConfig.meta.id) instance \(chipSeed) (scheme \(settings.scheme.rawValue)) with \(used) batches of \(batchSize) \(dataset.rawValue) training images → \(out)")
        }
    }
}
