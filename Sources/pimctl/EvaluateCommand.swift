import ArgumentParser
import Foundation
import PIMQAT

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy of a checkpoint on a dataset's test split.",
        discussion: """
            A checkpoint of pimctl train runs digitally. A checkpoint of pimctl train-qat runs as \
            its per-epoch test did: through its chip's decomposition and converter at the training \
            precision (--adjust-precision), with no transfer curve, mismatch or static errors, and \
            with temporal noise only if it was trained with --noise-injection. For the chip \
            itself (its own precision, static errors, chip instances, BN calibration) use \
            pimctl simulate network. With --json the record names the path: "digital", or the \
            chip, scheme, training ADC and rescaling, with training_bits and training_noise.

            Examples:
              pimctl evaluate --model small.safetensors --data fashion-mnist
              pimctl evaluate --model resnet20.safetensors --data fashion-mnist \\
                  --test-limit 1000 --json
              pimctl simulate network --chip cap-ram --model pim-r20.safetensors \\
                  --chip-seeds 2 --bn-calibrate 20
            """)

    @Option(help: "Checkpoint (safetensors) written by pimctl train or train-qat.") var model: String
    @Option(help: "Dataset (default: the checkpoint's).") var data: DatasetName?
    @Option(help: "Directory with the dataset's files.") var dataDir: String?
    @Option(help: "Use only the first N test examples.") var testLimit: Int?
    @Option(help: "Precision plan (YAML) in place of the checkpoint's: the same weights requantized layer by layer.") var plan: String?
    @Option(help: "OpenBLAS threads.") var threads = 2
    @OptionGroup var normalization: InputNormalizationOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        BLAS.threadCount = max(1, threads)
        let loaded = try TrainingRun.model(from: model, plan: plan.map { path throws(ConfigError) in try PrecisionPlan(contentsOf: path) })
        let dataset = data ?? loaded.settings?.dataset ?? .fashionMNIST
        let test = try dataset.load(train: false, directory: dataDir ?? loaded.settings?.dataDirectory, limit: testLimit)
            .normalized(by: try normalization.given() ?? loaded.inputNormalization)
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
