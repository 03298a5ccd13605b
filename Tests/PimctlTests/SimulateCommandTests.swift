import Foundation
import Testing

@Suite("pimctl simulate")
struct SimulateCommandTests {
    static func json(_ result: PimctlRunner.Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    static func temporaryDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "pimctl-sim-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// A little-endian .npy file as NumPy writes it.
    static func npy(_ values: [Float], rows: Int, columns: Int, descr: String = "<f4") -> Data {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(rows), \(columns)), }"
        header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)]
        bytes += Array(header.utf8)
        if descr == "<i4" {
            for v in values { withUnsafeBytes(of: Int32(v).littleEndian) { bytes += $0 } }
        } else {
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        }
        return Data(bytes)
    }

    @Test func capRAMReportCountsConversionsOfItsOwnDecomposition() throws {
        let result = try PimctlRunner.run(["simulate", "matmul", "--chip", "cap-ram", "--matmul", "16x256x8", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try Self.json(result)
        // 2 groups × 1 input cycle × 4 weight slices per output, 16 × 8 outputs.
        #expect(report["conversions"] as? Int == 16 * 8 * 2 * 4)
        #expect(report["mode"] as? String == "twos_complement")
        #expect(abs((report["lsb_mac_units"] as? Double ?? 0) - 1920.0 / 63) < 1e-9)
        #expect((report["sqnr_decibels"] as? Double ?? 0) > 0)
        #expect(report["energy_j"] as? Double != nil)
    }

    @Test func idealChipIsExactForEveryScheme() throws {
        for scheme in ["chip", "native", "differential", "bit-serial"] {
            let result = try PimctlRunner.run(["simulate", "matmul", "--chip", "ideal", "--matmul", "8x300x5", "--scheme", scheme, "--json"])
            #expect(result.status == 0, "\(scheme): \(result.stderr)")
            let report = try Self.json(result)
            #expect(report["output_error_sigma"] as? Double == 0, "\(scheme)")
            #expect(report["sqnr_decibels"] == nil)
        }
    }

    @Test func givenIntegerOperandsAreUsedAndTheResultIsWritten() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.npy([1, -2, 3, 4, 5, -6], rows: 2, columns: 3, descr: "<i4").write(to: URL(fileURLWithPath: "\(directory)/w.npy"))
        try Self.npy([1, 2, 3, 4, 5, 6], rows: 3, columns: 2, descr: "<i4").write(to: URL(fileURLWithPath: "\(directory)/x.npy"))
        let result = try PimctlRunner.run(["simulate", "--chip", "ideal", "--weights", "\(directory)/w.npy", "--inputs", "\(directory)/x.npy",
                                           "--out", "\(directory)/y.npy", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/y.npy"))
        // W·X = [[1−6+15, 2−8+18], [4+15−30, 8+20−36]] = [[10, 12], [−11, −8]], float64 after a 128-byte header.
        let values = (0..<4).map { i in data.subdata(in: (data.count - 32 + 8 * i)..<(data.count - 24 + 8 * i)).withUnsafeBytes { Double(bitPattern: UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) } }
        #expect(values == [10, 12, -11, -8])
    }

    @Test func floatOperandsGoThroughTheFrontEnd() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.npy([0.5, -0.25, 0.125, 1], rows: 2, columns: 2).write(to: URL(fileURLWithPath: "\(directory)/w.npy"))
        try Self.npy([0.3, 0.6, -0.9, 0.2], rows: 2, columns: 2).write(to: URL(fileURLWithPath: "\(directory)/x.npy"))
        let result = try PimctlRunner.run(["simulate", "--chip", "ideal", "--weights", "\(directory)/w.npy", "--inputs", "\(directory)/x.npy",
                                           "--input-bits", "8", "--weight-bits", "8", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try Self.json(result)
        #expect((report["sqnr_decibels"] as? Double ?? 0) > 35)  // 8-bit grids on a lossless chip
    }

    @Test func badInputsGiveOneLineAndNoOutputFile() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bad = "\(directory)/bad.npy", good = "\(directory)/x.npy"
        try Data("not numpy".utf8).write(to: URL(fileURLWithPath: bad))
        try Self.npy([1, 2, 3, 4], rows: 2, columns: 2, descr: "<i4").write(to: URL(fileURLWithPath: good))
        let cases: [([String], String)] = [
            (["--weights", bad, "--inputs", good], "\(bad): magic: not a .npy file"),
            (["--weights", good, "--inputs", good, "--matmul", "3x3x3"], "does not match the files"),
            (["--weights", good], "give both --weights and --inputs"),
            (["--matmul", "4x4"], "is not a matmul shape"),
            (["--matmul", "4x4x4", "--weight-bits", "6"], "6-bit weights"),
            (["--matmul", "4x4x4", "--chip", "nonexistent-chip"], "unknown chip"),
            (["--matmul", "4x4x4", "--scheme", "sideways"], "sideways"),
            (["--matmul", "4x4x4", "--out", "\(directory)/missing/dir/y.npy"], "missing/dir does not exist"),
        ]
        for (arguments, message) in cases {
            let result = try PimctlRunner.run(["simulate"] + arguments)
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(arguments)")
        }
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/missing"))
        // Integer weights off the grid are user errors too.
        try Self.npy([100, 0, 0, 0], rows: 2, columns: 2, descr: "<i4").write(to: URL(fileURLWithPath: "\(directory)/w.npy"))
        let offGrid = try PimctlRunner.run(["simulate", "--weights", "\(directory)/w.npy", "--inputs", good])
        #expect(offGrid.status == 1)
        #expect(offGrid.stderr.contains("weight 100 at row 0, column 0 is outside"))
    }

    /// `simulate` without a subcommand runs the matmul (or, with --model, the network) with
    /// the same flags; each subcommand refuses what belongs to the other.
    @Test func theShorthandRunsTheSameMatmulAndSubcommandsKeepToTheirWorkload() throws {
        let flags = ["--chip", "cap-ram", "--matmul", "16x128x8", "--seed", "4", "--chip-seed", "1", "--json"]
        var shorthand = try Self.json(try PimctlRunner.run(["simulate"] + flags))
        var explicit = try Self.json(try PimctlRunner.run(["simulate", "matmul"] + flags))
        shorthand["seconds"] = nil
        explicit["seconds"] = nil
        #expect(NSDictionary(dictionary: shorthand).isEqual(to: explicit) && shorthand.count > 20)
        let noModel = try PimctlRunner.run(["simulate", "network", "--chip", "cap-ram"])
        #expect(noModel.status == 64 && noModel.stderr.contains("give --model CHECKPOINT"), "\(noModel.stderr)")
        let noShape = try PimctlRunner.run(["simulate", "matmul", "--chip", "cap-ram"])
        #expect(noShape.status == 64 && noShape.stderr.contains("give --matmul MxKxN, --weights and --inputs\n"), "\(noShape.stderr)")
        let both = try PimctlRunner.run(["simulate", "--model", "m.safetensors", "--weights", "W.npy", "--inputs", "X.npy"])
        #expect(both.status == 64 && both.stderr.contains("--weights is for a matrix workload, not with --model"), "\(both.stderr)")
    }

    @Test func sameSeedsGiveTheSameReportForOneAndTwoThreads() throws {
        let arguments = ["simulate", "--chip", "cap-ram", "--matmul", "32x256x64", "--seed", "3", "--chip-seed", "2", "--json"]
        let one = try Self.json(try PimctlRunner.run(arguments + ["--threads", "1"]))
        let two = try Self.json(try PimctlRunner.run(arguments + ["--threads", "2"]))
        #expect(one["output_error_sigma"] as? Double == two["output_error_sigma"] as? Double)
        #expect(one["code_histogram"] as? [Int] == two["code_histogram"] as? [Int])
    }
}
