import Foundation
import Testing

/// Every preset in `chips/` runs the commands a user starts with: `chips show`, `simulate
/// matmul` with every scheme it can map (and a clear refusal for those it cannot), PIM-QAT
/// training on a small configuration and `simulate network` of the result.
@Suite("Presets end to end", .serialized)
struct PresetEndToEndTests {
    /// The weight and activation bits each preset's modes support for a small CNN's QAT.
    static let precisions: [String: (weights: Int, activations: Int)] = [
        "cap-ram": (4, 4), "ideal": (4, 4), "jia-jssc2020": (4, 4), "wang-vlsi2022": (8, 7),
        "sinangil-jssc2021": (4, 4), "hermes-jssc2022": (4, 7), "cr-cim-jssc2024": (4, 4),
        "neurram-nature2022": (4, 7),
    ]

    static var presets: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "\(PimctlRunner.packageRoot)/chips"))?
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted() ?? []
    }

    @Test func everyPresetHasATestedPrecision() {
        #expect(Self.presets.count >= 8)
        for id in Self.presets { #expect(Self.precisions[id] != nil, "give \(id) its precisions in PresetEndToEndTests") }
    }

    @Test(arguments: presets)
    func presetRunsShowSimulateTrainAndDeploy(id: String) throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let show = try PimctlRunner.run(["chips", "show", id, "--json"])
        #expect(show.status == 0, "\(id): \(show.stderr)")
        var ran = 0
        for scheme in ["chip", "native", "differential", "bit-serial"] {
            let result = try PimctlRunner.run(["simulate", "matmul", "--chip", id, "--matmul", "8x96x4", "--scheme", scheme, "--json"])
            if result.status == 0 {
                ran += 1
                let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
                #expect((report["conversions"] as? Int ?? 0) > 0, "\(id) \(scheme)")
            } else {
                #expect(result.status == 1 && result.stderr.contains("cannot run"), "\(id) \(scheme): \(result.stderr)")
            }
        }
        #expect(ran >= 1, "\(id): no scheme runs")
        // Every mode of the chip runs its own decomposition.
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        let modes = ((shown["derived"] as? [String: Any])?["modes"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(!modes.isEmpty, "\(id)")
        for mode in modes {
            let result = try PimctlRunner.run(["simulate", "matmul", "--chip", id, "--mode", mode, "--matmul", "8x96x4", "--json"])
            #expect(result.status == 0, "\(id) mode \(mode): \(result.stderr)")
        }
        let bits = try #require(Self.precisions[id])
        let qat = try PimctlRunner.run(["train", "--model", "small-cnn", "--epochs", "1", "--train-limit", "128", "--test-limit", "64",
                                        "--wbits", String(bits.weights), "--abits", String(bits.activations), "--out", "\(dir)/qat.safetensors"])
        #expect(qat.status == 0, "\(id): \(qat.stderr)")
        // No --wbits/--abits: train-qat keeps the --init network's precision (W8/A7 for wang-vlsi2022,
        // whose signed 8-bit input words leave 7 bits to an unsigned activation).
        let pim = try PimctlRunner.run(["train-qat", "--chip", id, "--init", "\(dir)/qat.safetensors", "--epochs", "1",
                                        "--train-limit", "64", "--test-limit", "64", "--out", "\(dir)/pim.safetensors"])
        #expect(pim.status == 0, "\(id): \(pim.stderr)")
        let deployed = try PimctlRunner.run(["simulate", "network", "--chip", id, "--model", "\(dir)/pim.safetensors",
                                             "--test-limit", "64", "--json"])
        #expect(deployed.status == 0, "\(id): \(deployed.stderr)")
        let record = try #require(try JSONSerialization.jsonObject(with: Data(deployed.stdout.utf8)) as? [String: Any])
        #expect((record["accuracy_mean"] as? Double).map { (0...1).contains($0) } == true, "\(id)")
        // The same run places the network: every chip layer has pages and conversions.
        let cost = try #require(record["cost"] as? [String: Any], "\(id): \(record["cost_problem"] ?? "no cost")")
        let layers = try #require(cost["layers"] as? [[String: Any]])
        #expect(!layers.isEmpty && layers.allSatisfy {
            (($0["placement"] as? [String: Any])?["conversions"] as? Int ?? 0) > 0 && ($0["latency_s"] as? Double ?? 0) > 0
        }, "\(id)")
    }
}
