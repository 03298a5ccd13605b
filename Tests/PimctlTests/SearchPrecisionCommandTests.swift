import Foundation
import Testing

/// `pimctl search-precision` on a tiny configuration: the small CNN with its classifier on
/// CAP-RAM (two chip layers), a few held-out images. The numbers mean nothing at this size;
/// the invariants do: the predicted front is a concave staircase, the uniform plan is measured
/// alike, the choice obeys the goal, the plan file reads back, a rerun resumes to the same
/// result and a fresh rerun recomputes it identically.
@Suite("pimctl search-precision", .serialized)
struct SearchPrecisionCommandTests {
    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func searchFindsAFrontAndResumes() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let trained = try PimctlRunner.run(["train-qat", "--chip", "cap-ram", "--model", "small-cnn", "--epochs", "1", "--train-limit", "128",
                                            "--test-limit", "16", "--classifier-on-chip", "--out", "\(dir)/pim.safetensors"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let arguments = ["search-precision", "--chip", "cap-ram", "--model", "\(dir)/pim.safetensors", "--weight-bits", "2,8", "--input-bits", "3,6",
                         "--validation", "32", "--fine-tune-examples", "64", "--candidates", "2", "--chip-seeds", "2", "--test-limit", "32",
                         "--max-drop", "50", "--out", "\(dir)/plan.yaml", "--svg", "\(dir)/front.svg", "--json"]
        let first = try PimctlRunner.run(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        let result = try Self.json(first.stdout)
        #expect(result["layers"] as? [String] == ["conv2", "fc"])
        let state = try #require(result["state"] as? [String: Any])
        // conv2 (W4/A4): weights 2 and 8, inputs 3 and 6; fc (W8/A4): weights 2, inputs 3 and 6.
        let sensitivities = try #require(state["sensitivities"] as? [[String: Any]])
        #expect(sensitivities.count == 7)
        // The front (its construction is checked by hand in PrecisionFrontTests): energies and
        // predicted accuracies both rise, at a falling rate.
        let front = try #require(result["front"] as? [[String: Any]])
        let points = front.map { ($0["energy_j"] as! Double, $0["predicted_accuracy"] as! Double) }
        #expect(!points.isEmpty)
        for i in 1..<points.count { #expect(points[i].0 > points[i - 1].0 && points[i].1 > points[i - 1].1, "\(points)") }
        for i in stride(from: 2, to: points.count, by: 1) {
            let before = (points[i - 1].1 - points[i - 2].1) / (points[i - 1].0 - points[i - 2].0)
            let after = (points[i].1 - points[i - 1].1) / (points[i].0 - points[i - 1].0)
            #expect(after <= before * (1 + 1e-9), "\(points)")
        }
        // The uniform plan first; every candidate fine-tuned and measured; the chosen within the
        // drop of the uniform one and no dearer than it (it may be the uniform plan itself).
        let candidates = try #require(state["candidates"] as? [[String: Any]])
        #expect(candidates.first?["label"] as? String == "uniform")
        #expect(candidates.allSatisfy { ($0["validation"] as? [String: Any])?["examples"] as? Int == 32 })
        let chosenLabel = try #require(state["chosen"] as? String)
        let chosen = try #require(candidates.first { $0["label"] as? String == chosenLabel })
        let uniformAccuracy = try #require((candidates[0]["validation"] as? [String: Any])?["mean"] as? Double)
        #expect(((chosen["validation"] as? [String: Any])?["mean"] as! Double) >= uniformAccuracy - 0.5)
        #expect((chosen["energy_j"] as! Double) <= (candidates[0]["energy_j"] as! Double))
        #expect((chosen["test"] as? [String: Any])?["examples"] as? Int == 32 && (candidates[0]["test"] as? [String: Any]) != nil)
        // The plan names both layers and runs through map at the chosen energy.
        let plan = try String(contentsOfFile: "\(dir)/plan.yaml", encoding: .utf8)
        #expect(plan.contains("\n  conv2: {weight_bits: ") && plan.contains("\n  fc: {weight_bits: "), "\(plan)")
        let mapped = try PimctlRunner.run(["map", "--chip", "cap-ram", "--model", "\(dir)/pim.safetensors", "--plan", "\(dir)/plan.yaml", "--json"])
        #expect(mapped.status == 0, "\(mapped.stderr)")
        #expect(try Self.json(mapped.stdout)["energy_j"] as? Double == chosen["energy_j"] as? Double)
        let svg = try String(contentsOfFile: "\(dir)/front.svg", encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains(">uniform<"))

        // The same command resumes the finished state; --fresh recomputes it bit for bit.
        let resumed = try PimctlRunner.run(arguments)
        #expect(resumed.status == 0 && resumed.stdout == first.stdout)
        let fresh = try PimctlRunner.run(arguments + ["--fresh"])
        #expect(fresh.status == 0 && fresh.stdout == first.stdout)
        // Another setting with the same work directory is refused, with nothing written.
        try FileManager.default.removeItem(atPath: "\(dir)/plan.yaml")
        let other = try PimctlRunner.run(arguments.map { $0 == "2,8" ? "2" : $0 })
        #expect(other.status == 1 && other.stderr.contains("search.json holds a search with other settings"), "\(other.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/plan.yaml"))
        let both = try PimctlRunner.run(arguments + ["--energy-budget", "1e-6"])
        #expect(both.status != 0 && both.stderr.contains("give --max-drop or --energy-budget, not both"))
        let badBits = try PimctlRunner.run(arguments.map { $0 == "2,8" ? "2,x" : $0 })
        #expect(badBits.status != 0 && badBits.stderr.contains("--weight-bits takes comma-separated whole numbers"))
    }
}
