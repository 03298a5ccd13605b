import Foundation
import PIMQAT
import Testing

/// `pimctl map`: a trained network's placement and cost, in the table and in JSON.
@Suite("pimctl map", .serialized)
struct MapCommandTests {
    /// The small CNN's one chip layer on CAP-RAM at W4A4: conv2 is 144 × 32 over 14 × 14
    /// pixels, so 2 row groups × 2 column tiles of 16 outputs (4 lines each) = 4 pages on one
    /// macro, 196 · 2 · 32 · 4 = 50,176 conversions at 5.1875 pJ, and 4 pages × 196 vectors ×
    /// 2 rounds = 1,568 cycles at 70 MHz.
    @Test func smallCNNOnCapRAMIsPlacedAndPriced() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let qat = try PimctlRunner.run(["train", "--model", "small-cnn", "--epochs", "1", "--train-limit", "64", "--test-limit", "32",
                                        "--wbits", "4", "--abits", "4", "--out", "\(dir)/qat.safetensors"])
        #expect(qat.status == 0, "\(qat.stderr)")
        let result = try PimctlRunner.run(["map", "--chip", "cap-ram", "--model", "\(dir)/qat.safetensors", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let cost = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let layers = try #require(cost["layers"] as? [[String: Any]])
        #expect(layers.count == 1 && layers[0]["name"] as? String == "conv2")
        let placement = try #require(layers[0]["placement"] as? [String: Any])
        #expect(placement["pages"] as? Int == 4 && placement["row_groups"] as? Int == 2 && placement["column_tiles"] as? Int == 2)
        #expect(placement["conversions"] as? Int == 50_176)
        #expect(layers[0]["cycles"] as? Double == 1568)
        let energy = try #require(cost["energy_j"] as? Double)
        #expect(abs(energy - 50_176 * 5.1875e-12) < 1e-15)
        #expect(cost["resident"] as? Bool == true)
        #expect((cost["off_chip"] as? [String]) == ["conv1", "fc"])
        let table = try PimctlRunner.run(["map", "--chip", "cap-ram", "--model", "\(dir)/qat.safetensors", "--svg", "\(dir)/cost.svg"])
        #expect(table.status == 0 && table.stdout.contains("conv2") && table.stdout.contains("not modelled"), "\(table.stdout)")
        let svg = try String(contentsOfFile: "\(dir)/cost.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains(">conv2<") && svg.contains("260.3 nJ (100 %)"), "\(svg)")
        let bad = try PimctlRunner.run(["map", "--model", "\(dir)/qat.safetensors", "--macros", "0"])
        #expect(bad.status != 0 && bad.stderr.contains("--macros must be 1…1048576"))
        let missing = try PimctlRunner.run(["map", "--model", "/nonexistent/m.safetensors"])
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent/m.safetensors: no such checkpoint"), "\(missing.stderr)")
    }

    /// A zoo network maps without training: ResNet-20 for CIFAR-10 at W4A4 puts its 18 inner
    /// convolutions on CAP-RAM in 158 pages (the 160 of `LayerCostTests` less the first
    /// convolution and the classifier, which stay digital); a precision the chip lacks is one
    /// error line.
    @Test func zooNetworksMapWithoutACheckpoint() throws {
        let result = try PimctlRunner.run(["map", "--chip", "cap-ram", "--model", "resnet20", "--data", "cifar10", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let cost = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let layers = try #require(cost["layers"] as? [[String: Any]])
        #expect(layers.count == 18)
        #expect(layers.compactMap { ($0["placement"] as? [String: Any])?["pages"] as? Int }.reduce(0, +) == 158)
        #expect(cost["arrays_to_hold_all"] as? Int == 20)
        let bad = try PimctlRunner.run(["map", "--chip", "cap-ram", "--model", "resnet20", "--wbits", "6"])
        #expect(bad.status == 1 && bad.stderr.contains("cannot run 6-bit weights"), "\(bad.stderr)")
        #expect(bad.stderr.split(separator: "\n").count == 1)
    }
}

/// A precision plan through every command that takes one: trained into a checkpoint, read
/// back by evaluate, simulate and map, replaced by another plan there, and refused with one
/// positioned line when it does not fit.
@Suite("Precision plans on the command line", .serialized)
struct PrecisionPlanCommandTests {
    @Test func planTravelsWithTheCheckpoint() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "layers:\n  conv2: {weight_bits: 2, input_bits: 3}\n".write(toFile: "\(dir)/plan.yaml", atomically: true, encoding: .utf8)
        let trained = try PimctlRunner.run(["train-qat", "--chip", "cap-ram", "--model", "small-cnn", "--epochs", "1", "--train-limit", "64",
                                            "--test-limit", "32", "--plan", "\(dir)/plan.yaml", "--out", "\(dir)/pim.safetensors"])
        #expect(trained.status == 0, "\(trained.stderr)")
        // map reads the checkpoint's plan: 2 weight slices × 1 input cycle, half the W4A4 conversions.
        let mapped = try PimctlRunner.run(["map", "--chip", "cap-ram", "--model", "\(dir)/pim.safetensors", "--json"])
        #expect(mapped.status == 0, "\(mapped.stderr)")
        let cost = try #require(try JSONSerialization.jsonObject(with: Data(mapped.stdout.utf8)) as? [String: Any])
        let layer = try #require((cost["layers"] as? [[String: Any]])?.first)
        #expect(layer["input_bits"] as? Int == 3 && layer["weight_bits"] as? Int == 2)
        #expect((layer["placement"] as? [String: Any])?["conversions"] as? Int == 25_088)
        let simulated = try PimctlRunner.run(["simulate", "network", "--chip", "cap-ram", "--model", "\(dir)/pim.safetensors", "--test-limit", "16", "--json"])
        #expect(simulated.status == 0, "\(simulated.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(simulated.stdout.utf8)) as? [String: Any])
        let plan = try #require((report["plan"] as? [String: Any])?["layers"] as? [[String: Any]])
        #expect(plan.count == 1 && plan[0]["layer"] as? String == "conv2" && plan[0]["weight_bits"] as? Int == 2)
        #expect(((report["cost"] as? [String: Any])?["energy_j"] as? Double).map { abs($0 - 25_088 * 5.1875e-12) < 1e-15 } == true)
        // Another plan in its place requantizes the same weights.
        try "layers:\n  conv2: {weight_bits: 4, input_bits: 4}\n".write(toFile: "\(dir)/w4.yaml", atomically: true, encoding: .utf8)
        let replaced = try PimctlRunner.run(["map", "--chip", "cap-ram", "--model", "\(dir)/pim.safetensors", "--plan", "\(dir)/w4.yaml", "--json"])
        let other = try #require(try JSONSerialization.jsonObject(with: Data(replaced.stdout.utf8)) as? [String: Any])
        #expect(((other["layers"] as? [[String: Any]])?.first?["placement"] as? [String: Any])?["conversions"] as? Int == 50_176)
        let evaluated = try PimctlRunner.run(["evaluate", "--model", "\(dir)/pim.safetensors", "--plan", "\(dir)/w4.yaml", "--test-limit", "16"])
        #expect(evaluated.status == 0, "\(evaluated.stderr)")
        // Bad plans: one line naming the file, line and layer.
        try "layers:\n  conv3: {weight_bits: 2}\n".write(toFile: "\(dir)/bad.yaml", atomically: true, encoding: .utf8)
        for command in [["map", "--chip", "cap-ram", "--model", "small-cnn"], ["evaluate", "--model", "\(dir)/pim.safetensors"],
                        ["simulate", "network", "--chip", "cap-ram", "--model", "\(dir)/pim.safetensors"],
                        ["train", "--model", "small-cnn", "--wbits", "4", "--abits", "4", "--epochs", "1", "--train-limit", "8"]] {
            let bad = try PimctlRunner.run(command + ["--plan", "\(dir)/bad.yaml"])
            #expect(bad.status == 1 && bad.stderr == "pimctl: error: \(dir)/bad.yaml:2:10: layers.conv3: the network has no layer 'conv3' (did you mean 'conv1'?)\n",
                    "\(command): \(bad.stderr)")
        }
        try "layers:\n  conv2: {mode: fast}\n".write(toFile: "\(dir)/mode.yaml", atomically: true, encoding: .utf8)
        let mode = try PimctlRunner.run(["map", "--chip", "cap-ram", "--model", "small-cnn", "--plan", "\(dir)/mode.yaml"])
        #expect(mode.status == 1 && mode.stderr.hasPrefix("pimctl: error: \(dir)/mode.yaml:2:10: layers.conv2: chip 'cap-ram' has no mode 'fast'"), "\(mode.stderr)")
        let float = try PimctlRunner.run(["train", "--model", "small-cnn", "--plan", "\(dir)/plan.yaml"])
        #expect(float.status != 0 && float.stderr.contains("--plan needs a quantized network"), "\(float.stderr)")
    }
}

/// A PyTorch-exported ONNX network through the commands: imported, evaluated, trained through
/// CAP-RAM, deployed and placed; a bad file is one line.
@Suite("ONNX models on the command line", .serialized)
struct ONNXCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/Fixtures/onnx"

    @Test func onnxNetworkTrainsThroughTheChipAndDeploys() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let onnx = "\(Self.fixtures)/lenet5.onnx"
        let imported = try PimctlRunner.run(["import", onnx, "--out", "\(dir)/lenet5.safetensors", "--json"])
        #expect(imported.status == 0, "\(imported.stderr)")
        // The file and its checkpoint evaluate alike.
        let direct = try PimctlRunner.run(["evaluate", "--model", onnx, "--test-limit", "32", "--json"])
        let native = try PimctlRunner.run(["evaluate", "--model", "\(dir)/lenet5.safetensors", "--test-limit", "32", "--json"])
        #expect(direct.status == 0 && native.status == 0, "\(direct.stderr) \(native.stderr)")
        func accuracy(_ text: String) throws -> Double? { try (JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])?["accuracy"] as? Double }
        #expect(try accuracy(direct.stdout) != nil && accuracy(direct.stdout) == accuracy(native.stdout))
        // The network's own input normalisation, kept in its checkpoint and its export.
        let trained = try PimctlRunner.run(["train-qat", "--chip", "cap-ram", "--model", onnx, "--epochs", "1", "--train-limit", "64",
                                            "--test-limit", "16", "--input-mean", "0.5", "--input-std", "0.4", "--out", "\(dir)/pim.safetensors"])
        #expect(trained.status == 0, "\(trained.stderr)")
        // On the chip: conv2, the one convolution that reads a PACT's levels (through max pooling);
        // conv1 takes the image, and the fully connected layers stay digital.
        let simulated = try PimctlRunner.run(["simulate", "network", "--chip", "cap-ram", "--model", "\(dir)/pim.safetensors", "--test-limit", "16", "--json"])
        #expect(simulated.status == 0, "\(simulated.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(simulated.stdout.utf8)) as? [String: Any])
        #expect((report["layers"] as? [[String: Any]])?.compactMap { $0["layer"] as? String } == ["conv2"])
        let mapped = try PimctlRunner.run(["map", "--chip", "cap-ram", "--model", "\(dir)/pim.safetensors"])
        #expect(mapped.status == 0 && mapped.stdout.contains("conv2"), "\(mapped.stderr)")
        // Exported, the network reads back with the same integer products, on the chip too.
        let exported = try PimctlRunner.run(["export", "--model", "\(dir)/pim.safetensors", "--out", "\(dir)/pim.onnx"])
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(try ONNXImport.load("\(dir)/pim.onnx").inputNormalization == InputNormalization(mean: [0.5], std: [0.4]))
        let again = try PimctlRunner.run(["simulate", "network", "--chip", "cap-ram", "--model", "\(dir)/pim.onnx", "--test-limit", "16", "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        let reread = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect(reread["digitalAccuracy"] as? Double == report["digitalAccuracy"] as? Double)
        #expect((reread["layers"] as? [[String: Any]])?.compactMap { $0["layer"] as? String } == ["conv2"])
        let half = try PimctlRunner.run(["evaluate", "--model", "\(dir)/pim.onnx", "--input-mean", "0.5"])
        #expect(half.status != 0 && half.stderr.contains("give both --input-mean and --input-std"), "\(half.stderr)")
        let wrong = try PimctlRunner.run(["evaluate", "--model", "\(dir)/pim.onnx", "--input-mean", "0.5,0.4", "--input-std", "0.3,0.3"])
        #expect(wrong.status == 1 && wrong.stderr == "pimctl: error: input normalisation of 2 channels for images of 1\n", "\(wrong.stderr)")
        // map and report take the file too: the float network at --wbits/--abits, and the
        // reproduction chain starting from the file's weights.
        let placed = try PimctlRunner.run(["map", "--chip", "cap-ram", "--model", onnx, "--wbits", "4", "--abits", "4"])
        #expect(placed.status == 0 && placed.stdout.contains("conv2  150×16×100"), "\(placed.stderr)")
        let reproduced = try PimctlRunner.run(["report", "--model", onnx, "--train-limit", "128", "--test-limit", "32", "--epochs", "1", "--pim-epochs", "1",
                                           "--chip-seeds", "1", "--bn-calibrate", "1", "--schemes", "chip", "--out-dir", "\(dir)/report"])
        #expect(reproduced.status == 0 && FileManager.default.fileExists(atPath: "\(dir)/report/report.json"), "\(reproduced.stderr)")
        // A checkpoint whose graph was edited is one error naming the field.
        try Data("not onnx".utf8).write(to: URL(fileURLWithPath: "\(dir)/bad.onnx"))
        let bad = try PimctlRunner.run(["evaluate", "--model", "\(dir)/bad.onnx"])
        #expect(bad.status == 1 && bad.stderr.hasPrefix("pimctl: error: \(dir)/bad.onnx: not an ONNX model") && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
    }
}

/// `pimctl map` for every network of the zoo on every shipped chip, at the precision the chip
/// takes: a table, JSON with placed layers and an SVG.
@Suite("pimctl map: the zoo on every chip", .serialized)
struct MapEveryChipTests {
    @Test(arguments: PresetEndToEndTests.presets)
    func everyZooNetworkMaps(chip: String) throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bits = try #require(PresetEndToEndTests.precisions[chip])
        for model in ["small-cnn", "resnet20", "resnet32", "resnet44", "resnet56"] {
            let result = try PimctlRunner.run(["map", "--chip", chip, "--model", model, "--wbits", String(bits.weights), "--abits", String(bits.activations),
                                               "--json", "--svg", "\(dir)/\(model).svg"])
            #expect(result.status == 0, "\(chip) \(model): \(result.stderr)")
            let cost = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let layers = try #require(cost["layers"] as? [[String: Any]])
            let depth = model == "small-cnn" ? 3 : Int(model.dropFirst(6))!
            #expect(layers.count == depth - 2, "\(chip) \(model)")
            #expect(layers.allSatisfy { (($0["placement"] as? [String: Any])?["conversions"] as? Int ?? 0) > 0 }, "\(chip) \(model)")
            let svg = try String(contentsOfFile: "\(dir)/\(model).svg", encoding: .utf8)
            #expect(svg.hasPrefix("<svg"), "\(chip) \(model)")
        }
        let table = try PimctlRunner.run(["map", "--chip", chip, "--model", "resnet20", "--wbits", String(bits.weights), "--abits", String(bits.activations)])
        #expect(table.status == 0 && table.stdout.contains("layer3.2.conv2") && table.stdout.contains("totals"), "\(chip): \(table.stderr)")
    }
}
