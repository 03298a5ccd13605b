import ArgumentParser
import Foundation
import PIMQAT

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
        if options.plan != nil, options.wbits == nil { throw ValidationError("--plan needs a quantized network (--wbits and --abits)") }
        if options.weightClip != nil, options.wbits == nil { throw ValidationError("--weight-clip needs a quantized network (--wbits and --abits)") }
    }

    func run() throws {
        BLAS.threadCount = options.threads
        let run = try options.resume.map { try TrainingRun(resuming: $0) }
            ?? TrainingRun(settings: try options.settings(recipe: options.recipe(quantized: options.wbits != nil, pim: false), defaultBits: nil))
        try options.train(run)
    }
}
