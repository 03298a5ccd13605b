import ArgumentParser
import Foundation
import PIMQAT

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
            the checkpoint on the real chip model with `pimctl simulate network`. Without \
            --wbits/--abits the network keeps the precision (and precision plan) of the --init \
            checkpoint (4-bit weights and activations without --init); --plan sets layers' \
            bits, mode and scheme one by one.

            Examples:
              pimctl train-qat --chip cap-ram --scheme bit-serial --model small-cnn \\
                  --epochs 2 --train-limit 5000 --out pim.safetensors
              pimctl train-qat --chip cap-ram --model resnet20 \\
                  --init resnet20-w4a4.safetensors --epochs 5 --out pim-r20.safetensors
              pimctl train-qat --chip cap-ram --model resnet20 \\
                  --init resnet20-w4a4.safetensors --epochs 5 --adjust-precision auto \\
                  --bn-calibrate 100 --out pim-r20-auto.safetensors
              pimctl train-qat --chip cap-ram --model resnet20 \\
                  --init resnet20-w4a4.safetensors --plan plan.yaml --epochs 2 --out planned.safetensors
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
            var bits = (weights: 4, activations: 4)
            var plan: PrecisionPlan?
            if options.wbits == nil, let initial = options.initFrom,
               let own = try TrainingRun.model(from: initial).settings?.quantization {
                (bits, plan) = ((own.weightBits, own.activationBits), own.plan)
            }
            run = try TrainingRun(settings: options.settings(recipe: recipe, defaultBits: bits, defaultPlan: plan, pim: pim))
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
