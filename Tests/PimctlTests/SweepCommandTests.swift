import Foundation
import Testing

@Suite("pimctl sweep", .serialized)
struct SweepCommandTests {
    static let spec = """
        chip: cap-ram
        axes:
          adc.noise_sigma_lsb: [0, 0.5, 1]
          scheme: [chip, bit-serial]
        workload: {matmul: 48x384x48, input_bits: 4, weight_bits: 4}
        seeds: [0, 1]
        chip_seeds: [0, 3]
        """

    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// Killed (SIGKILL) at several points and resumed, a sweep ends with the records of an
    /// uninterrupted run; shards merged equal the unsharded run.
    @Test func killedResumedAndShardedRunsGiveTheSameResults() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.spec.write(toFile: "\(dir)/spec.yaml", atomically: true, encoding: .utf8)
        let straight = try PimctlRunner.run(["sweep", "run", "spec.yaml", "--out", "straight.jsonl"], in: dir)
        #expect(straight.status == 0, "\(straight.stderr)")
        let reference = try Self.lines("\(dir)/straight.jsonl")
        #expect(reference.count == 24)

        // Kill the run after growing delays; resume each time.
        var kills = 0
        for delay in [0.4, 0.8, 0.6, 1.0, 0.5] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: PimctlRunner.executable)
            process.arguments = ["sweep", "run", "spec.yaml", "--out", "killed.jsonl", "--resume"]
            process.currentDirectoryURL = URL(fileURLWithPath: dir)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                kills += 1
            }
            process.waitUntilExit()
        }
        #expect(kills >= 1, "no run was interrupted; make the workload larger")
        let finished = try PimctlRunner.run(["sweep", "run", "spec.yaml", "--out", "killed.jsonl", "--resume"], in: dir)
        #expect(finished.status == 0, "\(finished.stderr)")
        let merged = try PimctlRunner.run(["sweep", "merge", "merged.jsonl", "killed.jsonl"], in: dir)
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(try Self.lines("\(dir)/merged.jsonl") == reference)
        #expect(try Self.lines("\(dir)/killed.jsonl").count == 24, "no record lost or duplicated")

        // Three shards, merged.
        for i in 1...3 {
            let shard = try PimctlRunner.run(["sweep", "run", "spec.yaml", "--shard", "\(i)/3", "--out", "s\(i).jsonl"], in: dir)
            #expect(shard.status == 0, "\(shard.stderr)")
            #expect(try Self.lines("\(dir)/s\(i).jsonl").count == 8)
        }
        let joined = try PimctlRunner.run(["sweep", "merge", "joined.jsonl", "s2.jsonl", "s1.jsonl", "s3.jsonl"], in: dir)
        #expect(joined.status == 0, "\(joined.stderr)")
        #expect(try Self.lines("\(dir)/joined.jsonl") == reference)

        // A shard of another spec is refused.
        try Self.spec.replacingOccurrences(of: "seeds: [0, 1]", with: "seeds: [0, 2]").write(toFile: "\(dir)/other.yaml", atomically: true, encoding: .utf8)
        let other = try PimctlRunner.run(["sweep", "run", "other.yaml", "--shard", "1/3", "--out", "o1.jsonl"], in: dir)
        #expect(other.status == 0, "\(other.stderr)")
        let refused = try PimctlRunner.run(["sweep", "merge", "bad.jsonl", "s1.jsonl", "o1.jsonl"], in: dir)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("different specs"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/bad.jsonl"))
        // Resuming into another spec's file is refused too.
        let mixed = try PimctlRunner.run(["sweep", "run", "other.yaml", "--out", "straight.jsonl", "--resume"], in: dir)
        #expect(mixed.status == 1)
        #expect(mixed.stderr.contains("comes from another spec"), "\(mixed.stderr)")
    }

    @Test(arguments: [
        ("axes:\n  adc.noise_sigma_lsbb: [0, 1]", "spec.yaml:3:26: axes.adc.noise_sigma_lsbb: not a field of the chip"),
        ("axes:\n  adc.bits: []", "spec.yaml:3:13: axes.adc.bits: the axis has no values"),
        ("axes:\n  adc.noise_sigma_lsb: [0, -1]", "spec.yaml:3:28: axes.adc.noise_sigma_lsb: -1 is not accepted for the chip"),
        ("axes:\n  scheme: [chip, diagonal]", "spec.yaml:3:18: axes.scheme: 'diagonal' is not one of"),
        ("axes:\n  weight_bits: [4, 6]", "axes: point 1 (weight_bits=6) cannot run"),
        ("seed: [1]", "spec.yaml:2:1: seed: unknown field 'seed' (did you mean 'seeds'?)"),
    ])
    func badSpecsFailBeforeAnyWork(extra: String, message: String) throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = "chip: cap-ram\n\(extra)\nworkload: {matmul: 8x128x8}\n"
        try lines.write(toFile: "\(dir)/spec.yaml", atomically: true, encoding: .utf8)
        let result = try PimctlRunner.run(["sweep", "run", "spec.yaml", "--out", "o.jsonl"], in: dir)
        #expect(result.status == 1)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/o.jsonl"))
    }

    /// The SVG shows what the table shows (its markers carry the same means), and it renders:
    /// rsvg-convert (Debian's librsvg2-bin) turns it into a PNG of the plot's size.
    @Test func plotsShowTheTableAndRender() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.spec.replacingOccurrences(of: "48x384x48", with: "16x256x8").write(toFile: "\(dir)/spec.yaml", atomically: true, encoding: .utf8)
        let run = try PimctlRunner.run(["sweep", "run", "spec.yaml", "--out", "r.jsonl"], in: dir)
        #expect(run.status == 0, "\(run.stderr)")
        let plot = try PimctlRunner.run(["sweep", "plot", "r.jsonl", "--x", "adc.noise_sigma_lsb", "--y", "sqnr_decibels", "--group", "scheme",
                                         "--out", "p.svg", "--json"], in: dir)
        #expect(plot.status == 0, "\(plot.stderr)")
        let series = try #require(try JSONSerialization.jsonObject(with: Data(plot.stdout.utf8)) as? [[String: Any]])
        #expect(series.map { $0["group"] as? String } == ["chip", "bit-serial"])
        let svg = try String(contentsOfFile: "\(dir)/p.svg", encoding: .utf8)
        let markers = svg.components(separatedBy: "data-mean=\"").dropFirst().compactMap { Double($0.prefix { $0 != "\"" }) }
        var expected: [Double] = []
        for s in series {
            for point in try #require(s["points"] as? [[String: Any]]) {
                expected.append(try #require(point["mean"] as? Double))
                #expect(point["count"] as? Int == 4, "2 seeds × 2 chip seeds per point")
            }
        }
        #expect(markers.count == expected.count)
        for (marker, mean) in zip(markers, expected) { #expect(abs(marker - mean) <= 1e-9 * max(1, abs(mean)), "marker \(marker) for \(mean)") }
        #expect(svg.contains("adc.noise_sigma_lsb (LSB)") && svg.contains("sqnr_decibels (dB)"))
        // Noise lowers the SQNR: the table's first row beats its last, for each scheme.
        for s in series {
            let means = try #require(s["points"] as? [[String: Any]]).compactMap { $0["mean"] as? Double }
            #expect(means.first! > means.last!)
        }
        let render = Process()
        render.executableURL = URL(fileURLWithPath: "/usr/bin/rsvg-convert")
        render.arguments = ["\(dir)/p.svg", "-o", "\(dir)/p.png"]
        try render.run()
        render.waitUntilExit()
        #expect(render.terminationStatus == 0)
        let png = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/p.png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }, height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == 720 && height == 440)

        // Another axis that varies must be grouped or fixed.
        let mixed = try PimctlRunner.run(["sweep", "plot", "r.jsonl", "--x", "adc.noise_sigma_lsb", "--y", "sqnr_decibels"], in: dir)
        #expect(mixed.status == 1)
        #expect(mixed.stderr.contains("axis 'scheme' takes 2 values"), "\(mixed.stderr)")
        let fixed = try PimctlRunner.run(["sweep", "plot", "r.jsonl", "--x", "adc.noise_sigma_lsb", "--y", "sqnr_decibels", "--where", "scheme=chip"], in: dir)
        #expect(fixed.status == 0, "\(fixed.stderr)")
    }

    /// A train_qat workload trains one network per point from a checkpoint (adjusted precision
    /// `auto` one bit coarser than the chip's own 6-bit training ADC on CAP-RAM), evaluates it
    /// on every chip instance, and caches it beside the records: run again, the cached networks
    /// give the same records.
    @Test func trainQATWorkloadTrainsPerPointAndCachesTheNetworks() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let qat = try PimctlRunner.run(["train", "--wbits", "4", "--abits", "4", "--train-limit", "600", "--test-limit", "100", "--epochs", "1",
                                        "--out", "q.safetensors"], in: dir, executable: PimctlRunner.release)
        #expect(qat.status == 0, "\(qat.stderr)")
        let spec = """
            chip: cap-ram
            axes:
              adjust_precision: [none, auto]
            workload:
              train_qat: {init: q.safetensors, epochs: 1, train_limit: 300}
              test_limit: 200
              bn_calibrate: 2
            chip_seeds: [0, 1]
            """
        try spec.write(toFile: "\(dir)/spec.yaml", atomically: true, encoding: .utf8)
        func sweep(_ arguments: [String]) throws {
            let result = try PimctlRunner.run(["sweep"] + arguments, in: dir, executable: PimctlRunner.release)
            #expect(result.status == 0, "\(result.stderr)")
        }
        try sweep(["run", "spec.yaml", "--out", "r.jsonl"])
        let records = try Self.lines("\(dir)/r.jsonl").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(records.count == 4)
        for record in records {
            let metrics = try #require(record["metrics"] as? [String: Any])
            let precision = (record["values"] as? [String: Any])?["adjust_precision"] as? String
            #expect(metrics["training_bits"] as? Int == (precision == "auto" ? 5 : 6), "\(record)")
            let accuracy = try #require(metrics["accuracy"] as? Double)
            #expect(accuracy > 0.2 && accuracy <= 1, "\(record)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/r.jsonl.networks").sorted() == ["p0.safetensors", "p1.safetensors"])
        let first = try Self.lines("\(dir)/r.jsonl")
        func written() throws -> Date? { try FileManager.default.attributesOfItem(atPath: "\(dir)/r.jsonl.networks/p0.safetensors")[.modificationDate] as? Date }
        let trained = try written()
        try FileManager.default.removeItem(atPath: "\(dir)/r.jsonl")
        try sweep(["run", "spec.yaml", "--out", "r.jsonl"])
        #expect(Set(try Self.lines("\(dir)/r.jsonl")) == Set(first), "the cached networks give the same records")
        #expect(try written() == trained, "the cached network is reused, not trained again")
    }

    @Test func slurmScriptRunsEveryShardWithResume() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.spec.write(toFile: "\(dir)/spec.yaml", atomically: true, encoding: .utf8)
        let result = try PimctlRunner.run(["sweep", "slurm", "spec.yaml", "--shards", "4"], in: dir)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("#SBATCH --array=1-4\n"))
        #expect(result.stdout.contains("#SBATCH --requeue"))
        #expect(result.stdout.contains("#SBATCH --output=\(dir)/spec.shard%a.log"))
        #expect(result.stdout.contains("sweep run \"$spec\" --shard \"${task}/4\""))
        #expect(result.stdout.contains("spec=\(dir)/spec.yaml"))
        #expect(result.stdout.contains("--resume"))
        #expect(result.stdout.contains("6 points, 24 runs"))
        let limited = try PimctlRunner.run(["sweep", "slurm", "spec.yaml", "--shards", "4", "--max-running", "2", "--mem", "2G",
                                            "--out", "results/r"], in: dir)
        #expect(limited.status == 0, "\(limited.stderr)")
        #expect(limited.stdout.contains("#SBATCH --array=1-4%2\n"))
        #expect(limited.stdout.contains("#SBATCH --mem=2G"))
        #expect(FileManager.default.fileExists(atPath: "\(dir)/results"), "the results directory is created for Slurm's logs")
        #expect(limited.stdout.contains("sweep merge \(dir)/results/r.jsonl \(dir)/results/r.shard{1..4}.jsonl --spec \(dir)/spec.yaml"))
        let bad = try PimctlRunner.run(["sweep", "slurm", "spec.yaml", "--shards", "4", "--time", "1 day"], in: dir)
        #expect(bad.status != 0 && bad.stderr.contains("whitespace"))
        let tooMany = try PimctlRunner.run(["sweep", "slurm", "spec.yaml", "--shards", "25"], in: dir)
        #expect(tooMany.status != 0 && tooMany.stderr.contains("--shards 25 is more than the spec's 24 runs"))
        // With more shards than runs (GNU parallel takes any count), an empty shard leaves its
        // empty file, so merging every shard's file is not refused.
        let empty = try PimctlRunner.run(["sweep", "run", "spec.yaml", "--shard", "30/30", "--out", "empty.jsonl"], in: dir)
        #expect(empty.status == 0, "\(empty.stderr)")
        #expect(FileManager.default.contents(atPath: "\(dir)/empty.jsonl") == Data())
        let changed = try PimctlRunner.run(["sweep", "run", "spec.yaml", "--out", "x.jsonl", "--spec-hash", "0000"], in: dir)
        #expect(changed.status != 0 && changed.stderr.contains("the spec changed since the job script was written"))
    }
}
