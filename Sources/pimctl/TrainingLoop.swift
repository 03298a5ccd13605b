import ArgumentParser
import Foundation
import PIMQAT

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
