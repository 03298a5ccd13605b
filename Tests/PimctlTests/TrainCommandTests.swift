import Foundation
import PIMQAT
import Testing

@Suite("pimctl train and evaluate", .serialized)
struct TrainCommandTests {
    static let small = ["--model", "small-cnn", "--data", "fashion-mnist", "--train-limit", "600", "--test-limit", "300",
                        "--batch-size", "50", "--lr", "0.02", "--augment", "crop", "--threads", "1", "--seed", "5"]

    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "pimctl-train-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func smallCNNLearnsWellAboveChanceAndEvaluatesTheSame() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try PimctlRunner.run(["train"] + Self.small + ["--epochs", "3", "--schedule", "constant", "--out", "\(dir)/m.safetensors", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let records = result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(records.count == 3)
        let accuracy = try #require(records.last?["test_accuracy"] as? Double)
        #expect(accuracy > 0.5, "test accuracy \(accuracy) (chance 0.1)")

        let evaluation = try PimctlRunner.run(["evaluate", "--model", "\(dir)/m.safetensors", "--test-limit", "300", "--json", "--threads", "1"])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        let evaluated = try #require(try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as? [String: Any])
        #expect(evaluated["accuracy"] as? Double == accuracy)
        #expect(evaluated["path"] as? String == "digital" && evaluated["training_bits"] == nil)
    }

    /// The default recipe trains the small CNN stably on little data (3 000 training images,
    /// 2 epochs, one seed): well above 80 %, and without --out nothing is written.
    @Test func theDefaultRecipeTrainsStablyOnSmallData() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try PimctlRunner.run(["train", "--model", "small-cnn", "--data", "fashion-mnist", "--train-limit", "3000",
                                           "--test-limit", "1000", "--epochs", "2", "--seed", "1", "--json"],
                                          in: dir, executable: PimctlRunner.release)
        #expect(result.status == 0, "\(result.stderr)")
        let records = result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let accuracy = try #require(records.last?["test_accuracy"] as? Double)
        #expect(accuracy >= 0.8, "test accuracy \(accuracy)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "no checkpoint without --out")
    }

    @Test func fourBitQATLearnsAndReloads() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try PimctlRunner.run(["train"] + Self.small + ["--epochs", "3", "--schedule", "constant", "--wbits", "4", "--abits", "4",
                                                                    "--out", "\(dir)/q.safetensors", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let last = try #require(result.stdout.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let accuracy = try #require(last["test_accuracy"] as? Double)
        #expect(accuracy > 0.4, "W4/A4 test accuracy \(accuracy) (chance 0.1)")
        let evaluation = try PimctlRunner.run(["evaluate", "--model", "\(dir)/q.safetensors", "--test-limit", "300", "--json", "--threads", "1"])
        let evaluated = try #require(try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as? [String: Any])
        #expect(evaluated["accuracy"] as? Double == accuracy)
    }

    /// --weight-clip is saved with the network and applied again when it is loaded: evaluate
    /// reproduces the training's test accuracy; it changes the run (against the plain one).
    @Test func weightClipTrainsAndReloads() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = Self.small + ["--epochs", "1", "--wbits", "4", "--abits", "4", "--json"]
        func accuracy(_ result: PimctlRunner.Result) throws -> Double {
            let last = try #require(result.stdout.split(separator: "\n").last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
            return try #require(last["test_accuracy"] as? Double)
        }
        let clipped = try PimctlRunner.run(["train"] + run + ["--weight-clip", "2", "--out", "\(dir)/c.safetensors"])
        #expect(clipped.status == 0, "\(clipped.stderr)")
        let plain = try PimctlRunner.run(["train"] + run + ["--out", "\(dir)/p.safetensors"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let checkpoint = try Checkpoint(contentsOf: "\(dir)/c.safetensors")
        #expect(checkpoint.metadata["weight_clip"] == "2.0")
        #expect(try Checkpoint(contentsOf: "\(dir)/p.safetensors").metadata["weight_clip"] == nil)
        #expect(try accuracy(clipped) != accuracy(plain))
        let evaluation = try PimctlRunner.run(["evaluate", "--model", "\(dir)/c.safetensors", "--test-limit", "300", "--json", "--threads", "1"])
        let evaluated = try #require(try JSONSerialization.jsonObject(with: Data(evaluation.stdout.utf8)) as? [String: Any])
        #expect(evaluated["accuracy"] as? Double == (try accuracy(clipped)))
        // An edited checkpoint whose settings cannot run is refused in one line, not trapped on.
        var edited = checkpoint
        let training = try #require(edited.metadata["training"])
        #expect(training.contains("\"weightClip\":2"))
        edited.metadata["training"] = training.replacingOccurrences(of: "\"weightClip\":2", with: "\"weightClip\":-1")
        try edited.write(to: "\(dir)/edited.safetensors")
        let resumed = try PimctlRunner.run(["train", "--resume", "\(dir)/edited.safetensors"])
        #expect(resumed.status != 0)
        #expect(resumed.stderr == "pimctl: error: \(dir)/edited.safetensors: __metadata__.training: the weight clip -1.0 is not a positive number\n", "\(resumed.stderr)")
    }

    /// Two epochs in one go and one epoch plus a resumed one give the same checkpoint.
    @Test func resumingGivesTheUninterruptedResult() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let straight = try PimctlRunner.run(["train"] + Self.small + ["--epochs", "2", "--out", "\(dir)/straight.safetensors"])
        #expect(straight.status == 0, "\(straight.stderr)")
        // The first epoch of a 2-epoch run, stopped: train with --epochs 2 but keep only epoch 1's checkpoint.
        let first = try PimctlRunner.run(["train"] + Self.small + ["--epochs", "2", "--out", "\(dir)/first.safetensors", "--stop-after", "1"])
        #expect(first.status == 0, "\(first.stderr)")
        let resumed = try PimctlRunner.run(["train", "--resume", "\(dir)/first.safetensors", "--out", "\(dir)/resumed.safetensors", "--threads", "1"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/straight.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/resumed.safetensors"))
        #expect(a == b)
    }

    @Test func theThreadCountDoesNotChangeTheResult() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = Self.small.filter { $0 != "--threads" && $0 != "1" } + ["--epochs", "1"]
        for threads in ["1", "2"] {
            let result = try PimctlRunner.run(["train"] + base + ["--threads", threads, "--out", "\(dir)/t\(threads).safetensors"])
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/t1.safetensors")) == Data(contentsOf: URL(fileURLWithPath: "\(dir)/t2.safetensors")))
    }

    @Test func divergenceStopsWithTheStepAndLayer() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try PimctlRunner.run(["train", "--model", "small-cnn", "--train-limit", "200", "--test-limit", "50", "--batch-size", "50",
                                           "--threads", "1", "--epochs", "2", "--lr", "1e30", "--out", "\(dir)/d.safetensors"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("training diverged at step"), "\(result.stderr)")
        #expect(result.stderr.contains("no checkpoint was written"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/d.safetensors"))
    }

    /// Every PACT clip level α saved in a checkpoint (not the optimizer's momentum for it).
    static func clipLevels(_ path: String) throws -> [Float] {
        try Checkpoint(contentsOf: path).tensors.filter { $0.key.hasSuffix(".alpha") && !$0.key.hasPrefix("optimizer.") }.map { $0.value.data[0] }
    }

    /// --pact-alpha sets every PACT clip level at the start, after --init (which would give 8).
    @Test func pactAlphaSetsEveryClipLevel() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let qat = Self.small + ["--epochs", "1", "--wbits", "4", "--abits", "4", "--train-limit", "100", "--lr", "1e-4"]
        let first = try PimctlRunner.run(["train"] + qat + ["--out", "\(dir)/a.safetensors"])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try PimctlRunner.run(["train"] + qat + ["--init", "\(dir)/a.safetensors", "--pact-alpha", "2.5", "--out", "\(dir)/b.safetensors"])
        #expect(second.status == 0, "\(second.stderr)")
        let before = try Self.clipLevels("\(dir)/a.safetensors"), after = try Self.clipLevels("\(dir)/b.safetensors")
        #expect(before.count >= 2 && before.count == after.count)
        #expect(before.allSatisfy { abs($0 - 8) < 0.5 || abs($0 - 10) < 0.5 }, "\(before)")
        #expect(after.allSatisfy { abs($0 - 2.5) < 0.05 }, "\(after)")
    }

    /// --freeze-pact-alpha keeps every clip level where --pact-alpha put it; without it the
    /// same run moves them (so the check can fail).
    @Test func freezePactAlphaKeepsTheClipLevels() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = Self.small + ["--epochs", "1", "--wbits", "4", "--abits", "4", "--train-limit", "200", "--lr", "0.1", "--pact-alpha", "1.5"]
        let learned = try PimctlRunner.run(["train"] + run + ["--out", "\(dir)/learned.safetensors"])
        #expect(learned.status == 0, "\(learned.stderr)")
        let frozen = try PimctlRunner.run(["train"] + run + ["--freeze-pact-alpha", "--out", "\(dir)/frozen.safetensors"])
        #expect(frozen.status == 0, "\(frozen.stderr)")
        let moved = try Self.clipLevels("\(dir)/learned.safetensors"), kept = try Self.clipLevels("\(dir)/frozen.safetensors")
        #expect(kept.count >= 2 && kept.allSatisfy { $0 == 1.5 }, "\(kept)")
        #expect(moved.contains { $0 != 1.5 }, "\(moved)")
        let checkpoint = try Checkpoint(contentsOf: "\(dir)/frozen.safetensors")
        #expect(checkpoint.metadata["training"]?.contains("\"pactAlphaFrozen\":true") == true)
    }

    @Test func badInputsGiveOneLine() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: "\(dir)/bad.safetensors"))
        let cases: [([String], String)] = [
            (["evaluate", "--model", "\(dir)/bad.safetensors"], "\(dir)/bad.safetensors: header:"),
            (["evaluate", "--model", "\(dir)/missing.safetensors"], "cannot be read"),
            (["train", "--resume", "\(dir)/bad.safetensors"], "\(dir)/bad.safetensors: header:"),
            (["train", "--model", "resnet21", "--out", "\(dir)/x.safetensors"], "resnet21"),
            (["train", "--data", "cifar10", "--out", "\(dir)/x.safetensors"], "--data-dir"),
            (["train", "--data", "mnist", "--data-dir", dir, "--out", "\(dir)/x.safetensors"], "cannot be read"),
            (["train", "--epochs", "0", "--out", "\(dir)/x.safetensors"], "must be positive"),
            (["train", "--wbits", "4", "--out", "\(dir)/x.safetensors"], "give both --wbits and --abits"),
            (["train", "--resume", "\(dir)/bad.safetensors", "--epochs", "20"], "--epochs cannot change a resumed run"),
            (["train", "--wbits", "4", "--abits", "4", "--pact-alpha", "0", "--out", "\(dir)/x.safetensors"], "--pact-alpha must be a positive number"),
            (["train", "--wbits", "4", "--abits", "4", "--pact-alpha", "inf", "--out", "\(dir)/x.safetensors"], "--pact-alpha must be a positive number"),
            (["train", "--pact-alpha", "3", "--out", "\(dir)/x.safetensors"], "--pact-alpha needs a quantized network"),
            (["train-qat", "--resume", "\(dir)/bad.safetensors", "--pact-alpha", "3"], "--pact-alpha cannot change a resumed run"),
            (["train", "--freeze-pact-alpha", "--out", "\(dir)/x.safetensors"], "--freeze-pact-alpha needs a quantized network"),
            (["train", "--weight-clip", "2", "--out", "\(dir)/x.safetensors"], "--weight-clip needs a quantized network"),
            (["train", "--wbits", "4", "--abits", "4", "--weight-clip", "0", "--out", "\(dir)/x.safetensors"], "--weight-clip must be a positive number"),
            (["train-qat", "--weight-clip", "nan", "--out", "\(dir)/x.safetensors"], "--weight-clip must be a positive number"),
            (["train-qat", "--resume", "\(dir)/bad.safetensors", "--freeze-pact-alpha"], "--freeze-pact-alpha cannot change a resumed run"),
        ]
        for (arguments, message) in cases {
            let result = try PimctlRunner.run(arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/x.safetensors"))
    }
}
