import Foundation
@testable import PIMExperiments
import PIMQAT
import Testing

/// Sweep execution in process: records per run, shards that cover the grid, resume and the
/// refusal of a results file that exists.
struct SweepRunnerTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func spec(in directory: String) throws -> SweepSpec {
        let path = "\(directory)/spec.yaml"
        try """
            chip: \(packageRoot)/chips/cap-ram.yaml
            axes:
              adc.noise_sigma_lsb: [0, 0.5]
              scheme: [chip, bit-serial]
            workload: {matmul: 8x64x4, input_bits: 4, weight_bits: 4}
            seeds: [0, 1]
            chip_seeds: [0]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return try SweepSpec(contentsOf: path)
    }

    static func directory() throws -> String {
        let dir = NSTemporaryDirectory() + "sweep-runner-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func shardsCoverTheGridAndMatchOneRun() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try Self.spec(in: dir)
        var seen: [String] = []
        let whole = try SweepRunner(spec: spec, threads: 1, networks: "\(dir)/n").run(out: "\(dir)/all.jsonl") { done, total, id in
            #expect(done == seen.count + 1 && total == 8)
            seen.append(id)
        }
        #expect(whole.runs == 8 && whole.ran == 8 && whole.kept == 0 && seen.count == 8)
        var shardRecords: [SweepRecord] = []
        for index in 1...3 {
            let out = "\(dir)/s\(index).jsonl"
            let summary = try SweepRunner(spec: spec, threads: 2, networks: "\(dir)/n").run(out: out, shard: (index, 3))
            #expect(summary.ran == spec.tasks(shard: index, of: 3).count)
            shardRecords += try SweepLog.read(out)
        }
        let records = try SweepLog.read("\(dir)/all.jsonl")
        #expect(records.count == 8)
        // Every metric of every run the same, whatever the shard and thread count.
        let byID = Dictionary(uniqueKeysWithValues: shardRecords.map { ($0.id, $0.metrics) })
        for record in records { #expect(byID[record.id] == record.metrics, "\(record.id)") }
        #expect(records.allSatisfy { $0.metrics["sqnr_decibels"] != nil && $0.metrics["seconds"] == nil && $0.metrics["seed"] == nil })
    }

    @Test func anExistingFileIsRefusedResumedOrReplaced() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try Self.spec(in: dir)
        let out = "\(dir)/r.jsonl"
        _ = try SweepRunner(spec: spec, threads: 1, networks: "\(dir)/n").run(out: out, shard: (1, 2))
        let refused = #expect(throws: SweepError.self) { try SweepRunner(spec: spec, threads: 1, networks: "\(dir)/n").run(out: out) }
        #expect(refused?.description.contains("exists; give --resume") == true)
        let resumed = try SweepRunner(spec: spec, threads: 1, networks: "\(dir)/n").run(out: out, existing: .resume)
        #expect(resumed.kept == 4 && resumed.ran == 4)
        #expect(try SweepLog.read(out).count == 8)
        let replaced = try SweepRunner(spec: spec, threads: 1, networks: "\(dir)/n").run(out: out, shard: (2, 2), existing: .overwrite)
        #expect(replaced.kept == 0 && replaced.ran == 4)
        #expect(try SweepLog.read(out).count == 4)
    }
}
