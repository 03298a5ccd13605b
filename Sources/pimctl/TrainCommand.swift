import ArgumentParser
import Foundation
import PIMQAT

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a network (float) with SGD; a checkpoint after every epoch.",
        discussion: """
            Datasets: fashion-mnist (the Debian package dataset-fashion-mnist), mnist,
            cifar10, cifar100 (binary files from --data-dir). Models: resnet20, resnet32,
            resnet44, resnet56 (CIFAR-style, 16/32/64 channels), small-cnn.
            Runs are deterministic for a seed; --resume continues a checkpoint's run with the
            same result as an uninterrupted one.

            Examples:
              pimctl train --model small-cnn --data fashion-mnist --epochs 2 --train-limit 5000 --out small.safetensors
              pimctl train --model resnet20 --data fashion-mnist --epochs 30 --out resnet20.safetensors
              pimctl train --model resnet20 --wbits 4 --abits 4 --epochs 30 --out resnet20-w4a4.safetensors
              pimctl train --resume resnet20.safetensors
            """)

    @Option(help: "Model: resnet20, resnet32, resnet44, resnet56, small-cnn (default small-cnn).")
    var model: String?

    @Option(help: "Dataset: fashion-mnist, mnist, cifar10, cifar100 (default fashion-mnist).")
    var data: DatasetName?

    @Option(help: "Directory with the dataset's files (default: the Debian package's for Fashion-MNIST).")
    var dataDir: String?

    @Option(help: "Epochs (default 10).") var epochs: Int?
    @Option(help: "Batch size (default 128).") var batchSize: Int?
    @Option(help: "Base learning rate (default 0.1).") var lr: Double?
    @Option(help: "SGD momentum (default 0.9).") var momentum: Double?
    @Option(help: "Weight decay on weights, not on biases, BN or PACT α (default 5e-4).") var weightDecay: Double?
    @Flag(help: "Nesterov momentum.") var nesterov = false
    @Option(help: "Learning-rate schedule: multistep (×0.1 at 50 % and 75 %, the default), cosine, constant.")
    var schedule: LearningRateSchedule?
    @Option(help: "Augmentation: none, crop, crop+flip (default crop+flip).") var augment: Augmentation?
    @Option(help: "Seed of initialisation, shuffling and augmentation (default 0).") var seed: UInt64?
    @Option(help: "Use only the first N training examples.") var trainLimit: Int?
    @Option(help: "Use only the first N test examples.") var testLimit: Int?
    @Option(help: "OpenBLAS threads.") var threads = 2
    @Option(help: "Conventional QAT: weight bits (DoReFa; first conv and classifier 8-bit). Give with --abits.")
    var wbits: Int?
    @Option(help: "Conventional QAT: activation bits (PACT).")
    var abits: Int?

    @Option(help: "Checkpoint to write after every epoch (safetensors).")
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
        if nesterov { given.append("--nesterov") }
        if schedule != nil { given.append("--schedule") }
        if augment != nil { given.append("--augment") }
        if seed != nil { given.append("--seed") }
        if trainLimit != nil { given.append("--train-limit") }
        if testLimit != nil { given.append("--test-limit") }
        if wbits != nil { given.append("--wbits") }
        if abits != nil { given.append("--abits") }
        return given
    }

    func validate() throws {
        guard resume != nil || out != nil else { throw ValidationError("give --out CHECKPOINT (or --resume CHECKPOINT)") }
        if resume != nil, let first = runOptionsGiven.first {
            throw ValidationError("\(first) cannot change a resumed run: its settings come from the checkpoint")
        }
        guard (epochs ?? 1) >= 1, (batchSize ?? 1) >= 1, threads >= 1 else { throw ValidationError("--epochs, --batch-size and --threads must be positive") }
        guard (lr ?? 1) > 0, (momentum ?? 0) >= 0, (momentum ?? 0) < 1, (weightDecay ?? 0) >= 0 else {
            throw ValidationError("--lr must be positive, --momentum in [0, 1), --weight-decay ≥ 0")
        }
        if let trainLimit, trainLimit < 1 { throw ValidationError("--train-limit must be positive") }
        if let testLimit, testLimit < 1 { throw ValidationError("--test-limit must be positive") }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be positive") }
        guard (wbits == nil) == (abits == nil) else { throw ValidationError("give both --wbits and --abits, or neither") }
        if let wbits, !(2...8).contains(wbits) { throw ValidationError("--wbits must be 2…8") }
        if let abits, !(1...8).contains(abits) { throw ValidationError("--abits must be 1…8") }
    }

    func run() throws {
        BLAS.threadCount = threads
        let run: TrainingRun
        if let resume {
            run = try TrainingRun(resuming: resume)
        } else {
            let model = self.model ?? "small-cnn"
            guard ModelArchitecture(name: model) != nil else {
                throw ValidationError("--model '\(model)' is not one of resnet20, resnet32, resnet44, resnet56, small-cnn")
            }
            run = try TrainingRun(settings: TrainingSettings(
                model: model, dataset: data ?? .fashionMNIST, dataDirectory: dataDir, epochs: epochs ?? 10, batchSize: batchSize ?? 128,
                learningRate: lr ?? 0.1, momentum: momentum ?? 0.9, weightDecay: weightDecay ?? 5e-4, nesterov: nesterov,
                schedule: schedule ?? .multistep, augmentation: augment ?? .cropFlip, seed: seed ?? 0,
                trainLimit: trainLimit, testLimit: testLimit,
                quantization: wbits.map { Quantization(weightBits: $0, activationBits: abits!) }))
        }
        let destination = out ?? resume!
        let settings = run.settings
        if !json {
            let precision = settings.quantization.map { "W\($0.weightBits)/A\($0.activationBits) QAT" } ?? "float"
            print("\(settings.model) (\(precision)) on \(settings.dataset.rawValue): \(run.train.count) training, \(run.test.count) test examples; epochs \(run.completedEpochs + 1)…\(settings.epochs)")
            Terminal.flush()
        }
        let last = min(settings.epochs, stopAfter ?? settings.epochs)
        while run.completedEpochs < last {
            let epoch = run.completedEpochs + 1
            let start = Date()
            let bar = ProgressBar(label: "epoch \(epoch)/\(settings.epochs)")
            let train: Evaluation, test: Evaluation
            do {
                (train, test) = try run.trainNextEpoch { batch, batches, loss, accuracy in
                    bar.update(batch, of: batches, detail: "loss \(Format.number(loss, digits: 4)) acc \(Format.percent(accuracy))")
                }
            } catch let error as TrainingDivergedError {
                bar.finish()
                let lastGood = run.completedEpochs > 0 || resume != nil
                    ? "last good checkpoint: \(destination) (epoch \(run.completedEpochs))" : "no checkpoint was written yet"
                throw CommandLineError("\(error.description); \(lastGood)")
            }
            bar.finish()
            let seconds = Date().timeIntervalSince(start)
            try run.checkpoint(testAccuracy: test.accuracy).write(to: destination)
            if json {
                struct Record: Encodable { var epoch: Int; var trainLoss, trainAccuracy, testLoss, testAccuracy, seconds: Double; var checkpoint: String }
                let record = Record(epoch: epoch, trainLoss: train.loss, trainAccuracy: train.accuracy, testLoss: test.loss,
                                    testAccuracy: test.accuracy, seconds: seconds, checkpoint: destination)
                print(try Terminal.json(record).replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "  ", with: " "))
                Terminal.flush()
            } else {
                defer { Terminal.flush() }
                print("epoch \(epoch)/\(settings.epochs): train loss \(Format.number(train.loss, digits: 4)), acc \(Format.percent(train.accuracy)); test loss \(Format.number(test.loss, digits: 4)), acc \(Format.percent(test.accuracy)); \(Format.number(seconds, digits: 3)) s")
            }
        }
    }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy of a checkpoint on a dataset's test split.",
        discussion: """
            Examples:
              pimctl evaluate --model small.safetensors --data fashion-mnist
              pimctl evaluate --model resnet20.safetensors --data fashion-mnist --test-limit 1000 --json
            """)

    @Option(help: "Checkpoint (safetensors) written by pimctl train.") var model: String
    @Option(help: "Dataset (default: the checkpoint's).") var data: DatasetName?
    @Option(help: "Directory with the dataset's files.") var dataDir: String?
    @Option(help: "Use only the first N test examples.") var testLimit: Int?
    @Option(help: "OpenBLAS threads.") var threads = 2
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        BLAS.threadCount = max(1, threads)
        let loaded = try TrainingRun.model(from: model)
        let dataset = data ?? loaded.settings?.dataset ?? .fashionMNIST
        let test = try dataset.load(train: false, directory: dataDir ?? loaded.settings?.dataDirectory).prefix(testLimit)
        guard test.channels == loaded.channels, test.size == loaded.size, test.classes == loaded.classes else {
            throw CommandLineError("\(model) expects \(loaded.channels)×\(loaded.size)×\(loaded.size) images and \(loaded.classes) classes; \(dataset.rawValue) has \(test.channels)×\(test.size)×\(test.size) and \(test.classes)")
        }
        let result = Trainer.evaluate(loaded.model, on: test)
        if json {
            print(try Terminal.json(result))
        } else {
            print("\(loaded.architecture) on \(dataset.rawValue) (\(result.examples) test examples): accuracy \(Format.percent(result.accuracy)), loss \(Format.number(result.loss, digits: 4))")
        }
    }
}

extension DatasetName: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension Augmentation: ExpressibleByArgument {}
