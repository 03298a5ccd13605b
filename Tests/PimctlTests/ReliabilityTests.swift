import Foundation
import Testing
import func PIMSim.readToEnd

/// Bad input and hostile sizes: one error line naming the place, exit status 1, nothing
/// half-written; never a trap, a heap corruption, an allocation of gigabytes or a hang.
@Suite("reliability")
struct ReliabilityTests {
    static let capRAM = "\(PimctlRunner.packageRoot)/chips/cap-ram.yaml"

    /// CAP-RAM's file with one text replaced, written into `directory`.
    static func chip(_ directory: String, replacing old: String, with new: String) throws -> String {
        try chip(directory, replacing: [(old, new)])
    }

    static func chip(_ directory: String, replacing pairs: [(String, String)]) throws -> String {
        var text = try String(contentsOfFile: capRAM, encoding: .utf8)
        for (old, new) in pairs {
            #expect(text.contains(old), "cap-ram.yaml no longer contains \(old)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        let path = "\(directory)/chip.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A refusal: a non-zero exit status below 128 and one error line containing `fragment`
    /// (a flag refused by the argument parser — status 64 — is followed by the usage lines).
    static func expectRefused(_ result: PimctlRunner.Result, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect((1..<128).contains(result.status), "status \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(result.status == 64 || lines.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(lines.first?.contains(fragment) == true, "\(result.stderr)", sourceLocation: sourceLocation)
    }

    @Test func sizesBeyondTheLimitAreRefusedOnLoading() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (old, new, place) in [
            ("rows: {value: 128,", "rows: {value: 9223372036854775807,", "array.rows"),
            ("inputs_per_conversion: {value: 128,", "inputs_per_conversion: {value: 9223372036854775807,", "array.inputs_per_conversion"),
            ("count: {value: 32,", "count: {value: 2097152,", "adc.count"),
        ] {
            let path = try Self.chip(dir, replacing: old, with: new)
            for command in [["chips", "validate", path], ["chips", "show", path], ["simulate", "--chip", path, "--matmul", "8x64x8"]] {
                Self.expectRefused(try PimctlRunner.run(command), place)
            }
        }
    }

    @Test func nonPhysicalNoiseIsRefusedAndTheLargestAllowedConvertsInBounds() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let old = "noise_sigma_lsb: {value: 0.35,"
        for value in ["1e40", "1e30", "2e7"] {
            let path = try Self.chip(dir, replacing: old, with: "noise_sigma_lsb: {value: \(value),")
            Self.expectRefused(try PimctlRunner.run(["chips", "validate", path]), "adc.noise_sigma_lsb")
        }
        // At the limit (2^24 LSB) every conversion clips; each still lands in one code.
        let path = try Self.chip(dir, replacing: old, with: "noise_sigma_lsb: {value: 16777216,")
        for mode in ["ternary", "twos_complement"] {
            let result = try PimctlRunner.run(["simulate", "--chip", path, "--mode", mode, "--matmul", "16x256x8", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try SimulateCommandTests.json(result)
            let histogram = try #require(report["code_histogram"] as? [Int])
            #expect(histogram.reduce(0, +) == report["conversions"] as? Int)
        }
    }

    @Test func aWideADCWhoseTablesCannotFitIsRefused() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try Self.chip(dir, replacing: [("bits: {value: 7, source: \"JSSC21: 7-bit", "bits: {value: 24, source: \"JSSC21: 7-bit"),
                                                  ("      bits: 7\n", "      bits: 24\n")])
        Self.expectRefused(try PimctlRunner.run(["simulate", "--chip", path, "--mode", "ternary", "--matmul", "16x64x8"]), "code tables")
        // Without static errors the converter keeps no tables and runs.
        let plain = try PimctlRunner.run(["simulate", "--chip", path, "--mode", "ternary", "--matmul", "16x64x8", "--no-static-errors"])
        #expect(plain.status == 0, "\(plain.stderr)")
    }

    @Test func emptyAndHugeMatmulsAreRefusedBeforeAllocating() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SimulateCommandTests.npy([], rows: 16, columns: 0, descr: "<i4").write(to: URL(fileURLWithPath: "\(dir)/w.npy"))
        try SimulateCommandTests.npy([], rows: 0, columns: 8, descr: "<i4").write(to: URL(fileURLWithPath: "\(dir)/x.npy"))
        Self.expectRefused(try PimctlRunner.run(["simulate", "--chip", "cap-ram", "--weights", "\(dir)/w.npy", "--inputs", "\(dir)/x.npy"]),
                           "every dimension of a matmul must be at least 1")
        // 46 000 × 46 000 weights take tens of gigabytes: refused with the estimate.
        Self.expectRefused(try PimctlRunner.run(["simulate", "--chip", "cap-ram", "--matmul", "46000x46000x1"]), "is available")
        Self.expectRefused(try PimctlRunner.run(["simulate", "--chip", "cap-ram", "--matmul", "50000x50000x1"]), "beyond the 2^31")
    }

    @Test func runCountsAndSweepSizesAreBoundedBeforeWork() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        Self.expectRefused(try PimctlRunner.run(["simulate", "--model", "absent.safetensors", "--noise-seeds", "1000000000"]), "10000 runs")
        Self.expectRefused(try PimctlRunner.run(["train", "--model", "small-cnn", "--batch-size", "1000000000"]), "above the 4096")
        // Nine axes of ten values: 10^9 points, refused by counting.
        let axes = (1...9).map { "  axis\($0): [\((0..<10).map(String.init).joined(separator: ", "))]" }.joined(separator: "\n")
        try "chip: cap-ram\naxes:\n\(axes)\nworkload: {matmul: 8x64x8}\n".write(toFile: "\(dir)/huge.yaml", atomically: true, encoding: .utf8)
        Self.expectRefused(try PimctlRunner.run(["sweep", "run", "huge.yaml", "--out", "huge.jsonl"], in: dir), "more than the 10000 a sweep takes")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/huge.jsonl"))
    }

    @Test func anIncompleteOrCutOffShardSetIsNotMergedSilently() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "chip: cap-ram\naxes:\n  adc.noise_sigma_lsb: [0, 1]\nworkload: {matmul: 8x128x8}\nseeds: [0, 1]\n"
            .write(toFile: "\(dir)/spec.yaml", atomically: true, encoding: .utf8)
        for i in 1...2 {
            let shard = try PimctlRunner.run(["sweep", "run", "spec.yaml", "--shard", "\(i)/2", "--out", "s\(i).jsonl"], in: dir)
            #expect(shard.status == 0, "\(shard.stderr)")
        }
        let complete = try PimctlRunner.run(["sweep", "merge", "all.jsonl", "s1.jsonl", "s2.jsonl", "--spec", "spec.yaml"], in: dir)
        #expect(complete.status == 0, "\(complete.stderr)")
        // Shard 1 alone holds grid indices 0 and 2: index 1 is missing even without the spec.
        Self.expectRefused(try PimctlRunner.run(["sweep", "merge", "part.jsonl", "s1.jsonl"], in: dir), "1 run(s) missing")
        Self.expectRefused(try PimctlRunner.run(["sweep", "merge", "part.jsonl", "s1.jsonl", "--spec", "spec.yaml"], in: dir), "2 run(s) missing")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/part.jsonl"))
        let allowed = try PimctlRunner.run(["sweep", "merge", "part.jsonl", "s1.jsonl", "--spec", "spec.yaml", "--allow-incomplete"], in: dir)
        #expect(allowed.status == 0 && allowed.stderr.contains("warning: 2 run(s) missing"), "\(allowed.stderr)")
        // A cut-off last line (a shard killed mid-write) is refused, not dropped.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/s2.jsonl"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"id\": \"cut".utf8))
        try handle.close()
        Self.expectRefused(try PimctlRunner.run(["sweep", "merge", "cut.jsonl", "s1.jsonl", "s2.jsonl"], in: dir), "cut off")
    }

    @Test func outputsFollowLinksWriteDevicesInPlaceAndFailedWritesFail() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let simulate = ["simulate", "--chip", "ideal", "--matmul", "4x8x4"]
        // A symbolic link: the target gets the result, the link stays a link.
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/link.npy", withDestinationPath: "target.npy")
        let linked = try PimctlRunner.run(simulate + ["--out", "\(dir)/link.npy"])
        #expect(linked.status == 0, "\(linked.stderr)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/link.npy")) == "target.npy")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/target.npy")).starts(with: [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]))
        // A character device is written in place, not replaced by a file.
        let device = try PimctlRunner.run(simulate + ["--out", "/dev/null"])
        #expect(device.status == 0, "\(device.stderr)")
        let type = try FileManager.default.attributesOfItem(atPath: "/dev/null")[.type] as? FileAttributeType
        #expect(type == .typeCharacterSpecial)
        // A directory is refused.
        Self.expectRefused(try PimctlRunner.run(simulate + ["--out", dir]), "is a directory")
        // A failed write to a full device, through --out or standard output, is an error.
        Self.expectRefused(try PimctlRunner.run(simulate + ["--out", "/dev/full"]), "/dev/full: cannot be written")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PimctlRunner.executable)
        process.arguments = simulate + ["--json"]
        process.standardOutput = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let err = Pipe()
        process.standardError = err
        try process.run()
        let message = String(decoding: readToEnd(err.fileHandleForReading), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(message.contains("standard output: cannot be written"), "\(message)")
    }

    @Test func checkpointMetadataIsCheckedBeforeTheModelIsBuilt() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (key, value) in [("classes", "-3"), ("classes", "99999999999"), ("size", "100000"), ("channels", "0")] {
            var metadata = ["architecture": "small-cnn", "channels": "1", "size": "28", "classes": "10"]
            metadata[key] = value
            let json = try JSONSerialization.data(withJSONObject: ["__metadata__": metadata], options: [.sortedKeys])
            var bytes = Data()
            withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(json)
            try bytes.write(to: URL(fileURLWithPath: "\(dir)/bad.safetensors"))
            Self.expectRefused(try PimctlRunner.run(["evaluate", "--model", "\(dir)/bad.safetensors"]), "__metadata__.\(key)")
        }
    }

    /// IDX files of `count` images of `size`×`size` (zeros) and their labels, in `directory`.
    static func idx(_ directory: String, count: Int, size: Int, declaredCount: Int? = nil) throws {
        func header(_ type: UInt8, _ sizes: [Int]) -> [UInt8] {
            [0, 0, 8, type] + sizes.flatMap { s in (0..<4).map { UInt8(truncatingIfNeeded: s >> (8 * (3 - $0))) } }
        }
        let declared = declaredCount ?? count
        for split in ["train", "t10k"] {
            try Data(header(3, [declared, size, size]) + [UInt8](repeating: 0, count: count * size * size))
                .write(to: URL(fileURLWithPath: "\(directory)/\(split)-images-idx3-ubyte"))
            try Data(header(1, [declared]) + [UInt8](repeating: 0, count: count))
                .write(to: URL(fileURLWithPath: "\(directory)/\(split)-labels-idx1-ubyte"))
        }
    }

    @Test func emptyAndDegenerateDatasetsAreRefused() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let train = ["train", "--model", "small-cnn", "--data", "mnist", "--data-dir", dir, "--epochs", "1"]
        try Self.idx(dir, count: 0, size: 28)
        Self.expectRefused(try PimctlRunner.run(train), "holds no images")
        try Self.idx(dir, count: 4, size: 0)
        Self.expectRefused(try PimctlRunner.run(train), "0×0 pixels")
    }

    @Test func aLimitReadsOnlyTheItemsItKeepsFromAGzipFile() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The header declares 5 000 000 images (3.9 GB); the file holds 300 of them.
        try Self.idx(dir, count: 300, size: 28, declaredCount: 5_000_000)
        for split in ["train", "t10k"] {
            for kind in ["images-idx3", "labels-idx1"] {
                let gzip = Process()
                gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
                gzip.arguments = ["-f", "\(dir)/\(split)-\(kind)-ubyte"]
                try gzip.run()
                gzip.waitUntilExit()
                #expect(gzip.terminationStatus == 0)
            }
        }
        let limited = try PimctlRunner.run(["train", "--model", "small-cnn", "--data", "mnist", "--data-dir", dir, "--epochs", "1",
                                            "--train-limit", "200", "--test-limit", "100"])
        #expect(limited.status == 0, "\(limited.stderr)")
        // Without a limit the whole split is needed, and the file is short of it.
        Self.expectRefused(try PimctlRunner.run(["train", "--model", "small-cnn", "--data", "mnist", "--data-dir", dir, "--epochs", "1"]),
                           "need 3920000000 bytes")
    }
}
