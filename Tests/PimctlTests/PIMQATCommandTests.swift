import Foundation
import Testing

@Suite("pimctl train-qat, simulate --model and report", .serialized)
struct PIMQATCommandTests {
    static let small = ["--model", "small-cnn", "--data", "fashion-mnist", "--train-limit", "400", "--test-limit", "200",
                        "--batch-size", "50", "--lr", "0.02", "--augment", "none", "--threads", "1", "--seed", "3"]

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    static func lastRecord(_ text: String) throws -> [String: Any] {
        try #require(text.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
    }

    /// On the lossless chip, deploying a QAT or a PIM-QAT checkpoint gives
    /// exactly the accuracy `evaluate` gives, for the chip's own scheme and bit-serial.
    @Test func simulateOnTheIdealChipReproducesEvaluate() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let qat = try PimctlRunner.run(["train"] + Self.small + ["--epochs", "1", "--wbits", "4", "--abits", "4", "--out", "\(dir)/q.safetensors"])
        #expect(qat.status == 0, "\(qat.stderr)")
        let pim = try PimctlRunner.run(["train-qat", "--chip", "ideal", "--scheme", "bit-serial"] + Self.small
                                       + ["--epochs", "1", "--out", "\(dir)/p.safetensors", "--json"])
        #expect(pim.status == 0, "\(pim.stderr)")
        let trained = try Self.lastRecord(pim.stdout)["test_accuracy"] as? Double
        // Lossless: the PIM output's scale is the exact output's, in every layer.
        let ratios = try #require(try Self.lastRecord(pim.stdout)["pim_output_std_ratio"] as? [String: Double])
        #expect(ratios.keys.sorted() == ["conv2"] && ratios.values.allSatisfy { $0 == 1 }, "\(ratios)")
        for model in ["q", "p"] {
            let evaluation = try PimctlRunner.run(["evaluate", "--model", "\(dir)/\(model).safetensors", "--test-limit", "200", "--json", "--threads", "1"])
            #expect(evaluation.status == 0, "\(evaluation.stderr)")
            let digital = try #require(try Self.json(evaluation.stdout)["accuracy"] as? Double)
            if model == "p" { #expect(digital == trained) }
            for scheme in ["chip", "bit-serial"] {
                let simulated = try PimctlRunner.run(["simulate", "--chip", "ideal", "--model", "\(dir)/\(model).safetensors", "--scheme", scheme,
                                                      "--test-limit", "200", "--noise-seeds", "2", "--json", "--threads", "2"])
                #expect(simulated.status == 0, "\(simulated.stderr)")
                let report = try Self.json(simulated.stdout)
                #expect(report["accuracy_mean"] as? Double == digital, "\(model) \(scheme)")
                #expect(report["accuracy_std"] as? Double == 0)
                #expect(report["digital_accuracy"] as? Double == digital)
            }
        }
    }

    /// `calibrate-bn` saves what `simulate --bn-calibrate` does on the fly: deploying the
    /// saved statistics on the same instance gives the same accuracy.
    @Test func calibrateBNSavesWhatSimulateCalibrates() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let qat = try PimctlRunner.run(["train"] + Self.small + ["--epochs", "1", "--wbits", "4", "--abits", "4", "--out", "\(dir)/q.safetensors"])
        #expect(qat.status == 0, "\(qat.stderr)")
        let calibrated = try PimctlRunner.run(["calibrate-bn", "--chip", "cap-ram", "--model", "\(dir)/q.safetensors", "--batches", "3",
                                               "--chip-seed", "4", "--out", "\(dir)/c.safetensors", "--json"])
        #expect(calibrated.status == 0, "\(calibrated.stderr)")
        #expect(try Self.json(calibrated.stdout)["batches"] as? Int == 3)
        /// Accuracy and loss of the one run.
        func outcome(_ arguments: [String]) throws -> [Double] {
            let result = try PimctlRunner.run(["simulate", "--chip", "cap-ram", "--test-limit", "100", "--chip-seed", "4", "--json"] + arguments)
            #expect(result.status == 0, "\(result.stderr)")
            let run = try #require((try Self.json(result.stdout)["runs"] as? [[String: Any]])?.first)
            return [try #require(run["accuracy"] as? Double), try #require(run["loss"] as? Double)]
        }
        let onTheFly = try outcome(["--model", "\(dir)/q.safetensors", "--bn-calibrate", "3"])
        let saved = try outcome(["--model", "\(dir)/c.safetensors"])
        #expect(onTheFly == saved)
        #expect(try outcome(["--model", "\(dir)/q.safetensors"])[1] != saved[1])
    }

    /// A PIM-QAT run stopped after one epoch and resumed writes the uninterrupted run's bytes.
    @Test func trainQATResumesBitIdentically() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let options = ["train-qat", "--chip", "cap-ram", "--adjust-precision", "auto", "--noise-injection"] + Self.small + ["--epochs", "2"]
        let straight = try PimctlRunner.run(options + ["--out", "\(dir)/straight.safetensors"])
        #expect(straight.status == 0, "\(straight.stderr)")
        let first = try PimctlRunner.run(options + ["--out", "\(dir)/first.safetensors", "--stop-after", "1"])
        #expect(first.status == 0, "\(first.stderr)")
        let resumed = try PimctlRunner.run(["train-qat", "--resume", "\(dir)/first.safetensors", "--out", "\(dir)/resumed.safetensors", "--threads", "2"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/straight.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/resumed.safetensors"))
        #expect(a == b)
        #expect(straight.stdout.contains("5-bit training ADC"))
        // The coarse converter changes the output scale; the epoch line says by how much.
        #expect(straight.stdout.contains("PIM output std / exact output std over the epoch: "), "\(straight.stdout)")
        // `evaluate` runs the checkpoint as its per-epoch test did, and says so.
        let evaluation = try PimctlRunner.run(["evaluate", "--model", "\(dir)/straight.safetensors", "--test-limit", "50", "--threads", "1"])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        #expect(evaluation.stdout.contains("(50 test examples, through cap-ram (scheme chip, 5-bit training ADC, rescale both) with training noise): accuracy "),
                "\(evaluation.stdout)")
        let record = try Self.json(try PimctlRunner.run(["evaluate", "--model", "\(dir)/straight.safetensors", "--test-limit", "50", "--threads", "1", "--json"]).stdout)
        #expect(record["path"] as? String == "cap-ram (scheme chip, 5-bit training ADC, rescale both)", "\(record)")
        #expect(record["training_bits"] as? Double == 5 && record["training_noise"] as? Bool == true && record["examples"] as? Int == 50)
    }

    @Test(arguments: [
        (["train-qat", "--chip", "no-such-chip", "--out", "x.safetensors"], "unknown chip 'no-such-chip'"),
        (["train-qat", "--chip", "cap-ram", "--wbits", "6", "--abits", "4", "--out", "x.safetensors"], "cannot run 6-bit weights"),
        (["train-qat", "--chip", "cap-ram", "--adjust-precision", "0", "--out", "x.safetensors"], "--adjust-precision"),
        (["train-qat", "--chip", "cap-ram", "--adjust-precision", "1", "--scheme", "bit-serial", "--out", "x.safetensors"], "training precision 1 bits"),
        (["train-qat", "--resume", "x.safetensors", "--chip", "ideal"], "--chip cannot change a resumed run"),
        (["simulate", "--model", "missing.safetensors", "--matmul", "4x4x4"], "--matmul is for a matrix workload"),
        (["simulate", "--model", "/nonexistent/m.safetensors"], "/nonexistent/m.safetensors: file: cannot be read"),
        (["simulate", "--model", "m.safetensors", "--chip-seeds", "0"], "--chip-seeds and --noise-seeds must be at least 1"),
        (["report", "--schemes", "chip,bogus"], "'bogus' is not one of"),
        (["report", "--pim-pact-alpha", "0"], "--pim-pact-alpha must be a positive number"),
        (["report", "--pim-weight-clip", "inf"], "--pim-weight-clip must be a positive number"),
        (["report", "--adjust-precision", "none"], "--adjust-precision: give auto, exact or a number of bits"),
        (["report", "--adjust-precision", "seven"], "--adjust-precision"),
        (["report", "--pim", "chip"], "--pim 'chip': give scheme=file"),
        (["report", "--pim", "native=pim.safetensors"], "native is not one of --schemes (chip,bit-serial)"),
        (["report", "--pim-adjusted", "chip=a.safetensors", "--pim-adjusted", "chip=b.safetensors"], "--pim-adjusted gives two networks for chip"),
        (["report", "--pim", "chip=/nonexistent/pim.safetensors"], "/nonexistent/pim.safetensors: file: cannot be read"),
    ])
    func badInputGivesOneClearLine(arguments: [String], message: String) throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try PimctlRunner.run(arguments, in: dir)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").filter { $0.hasPrefix("Error") || $0.hasPrefix("pimctl: error") }.count == 1, "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "no output is left behind")
    }

    /// A float checkpoint has nothing to deploy; a PIM-QAT resume of a float run is refused.
    /// A chip whose ADC range is `calibrated`: `simulate --model` sets each layer's range from
    /// training data per chip instance (reported per layer); `train-qat` refuses it in one line.
    @Test func calibratedRangeChipsDeployButDoNotTrain() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try String(contentsOfFile: "\(PimctlRunner.packageRoot)/chips/cap-ram.yaml", encoding: .utf8)
            .replacingOccurrences(of: "range: {policy: fixed, min: 0, max: {value: 1920, source: \"JSSC21: pre-ADC range 0...1920 = 128 x 15\", status: stated}}",
                                  with: "range: {policy: calibrated, percentile: 99.9}")
        try text.write(toFile: "\(dir)/calibrated.yaml", atomically: true, encoding: .utf8)
        let qat = try PimctlRunner.run(["train", "--wbits", "4", "--abits", "4", "--epochs", "1", "--out", "qat.safetensors"] + Self.small, in: dir)
        #expect(qat.status == 0, "\(qat.stderr)")
        let simulated = try PimctlRunner.run(["simulate", "--chip", "calibrated.yaml", "--model", "qat.safetensors", "--test-limit", "100", "--json"], in: dir)
        #expect(simulated.status == 0, "\(simulated.stderr)")
        let layers = try #require(try Self.json(simulated.stdout)["layers"] as? [[String: Any]])
        let ranges = layers.compactMap { $0["adc_range"] as? [Double] }
        #expect(!ranges.isEmpty && ranges.count == layers.count)
        #expect(ranges.allSatisfy { $0[0] == 0 && $0[1] > 1 && $0[1] < 1920 }, "\(ranges)")
        let refused = try PimctlRunner.run(["train-qat", "--chip", "calibrated.yaml", "--out", "pim.safetensors"] + Self.small, in: dir)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("policy calibrated") && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/pim.safetensors"))
    }

    @Test func floatCheckpointsCannotRunOnAChip() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let float = try PimctlRunner.run(["train"] + Self.small + ["--epochs", "1", "--out", "\(dir)/f.safetensors"])
        #expect(float.status == 0, "\(float.stderr)")
        let simulated = try PimctlRunner.run(["simulate", "--chip", "cap-ram", "--model", "\(dir)/f.safetensors"])
        #expect(simulated.status == 1)
        #expect(simulated.stderr.contains("no quantized layer"), "\(simulated.stderr)")
        let resumed = try PimctlRunner.run(["train-qat", "--resume", "\(dir)/f.safetensors"])
        #expect(resumed.status == 1)
        #expect(resumed.stderr.contains("not a PIM-QAT checkpoint"), "\(resumed.stderr)")
        // A dataset whose images do not fit the network is one error line, never a trap.
        let qat = try PimctlRunner.run(["train"] + Self.small + ["--epochs", "1", "--wbits", "4", "--abits", "4", "--out", "\(dir)/q.safetensors"])
        #expect(qat.status == 0, "\(qat.stderr)")
        try Data(repeating: 0, count: 3073 * 3).write(to: URL(fileURLWithPath: "\(dir)/test_batch.bin"))
        for command in [["simulate", "--chip", "cap-ram"], ["check", "--chip", "cap-ram", "--noise", "0", "--max-drop", "1"]] {
            let mismatched = try PimctlRunner.run(command + ["--model", "\(dir)/q.safetensors", "--data", "cifar10", "--data-dir", dir])
            #expect(mismatched.status == 1)
            #expect(mismatched.stderr.contains("expects 1×28×28 images and 10 classes; cifar10 has 3×32×32"), "\(command[0]): \(mismatched.stderr)")
        }
    }
}
