import Foundation
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
