import Foundation
import Testing

@Suite("pimctl chips")
struct ChipsCommandTests {
    @Test func validateAcceptsEveryPreset() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(PimctlRunner.packageRoot)/chips")
            .filter { $0.hasSuffix(".yaml") }.map { "chips/\($0)" }
        let result = try PimctlRunner.run(["chips", "validate"] + files)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("ok  chips/cap-ram.yaml (cap-ram)"))
    }

    @Test func showGivesTheDerivedPeakThroughputOfCAPRAM() throws {
        let result = try PimctlRunner.run(["chips", "show", "cap-ram", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let derived = try #require(json["derived"] as? [String: Any])
        #expect(derived["peak_throughput_ops_per_s"] as? Double == 573.44e9)
        let chip = try #require(json["chip"] as? [String: Any])
        #expect((chip["meta"] as? [String: Any])?["id"] as? String == "cap-ram")
    }

    @Test func showPrintsModesForPeople() throws {
        let result = try PimctlRunner.run(["chips", "show", "chips/cap-ram.yaml"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("573.44 GOPS"))
        #expect(result.stdout.contains("Mode twos_complement (default)"))
        #expect(result.stdout.contains("30.48"))  // LSB = 1920 / 63 MAC units
    }

    @Test func compareShowsPresetsSideBySide() throws {
        let result = try PimctlRunner.run(["chips", "compare", "cap-ram", "jia-jssc2020", "wang-vlsi2022", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        #expect(rows.compactMap { $0["id"] as? String } == ["cap-ram", "jia-jssc2020", "wang-vlsi2022"])
        #expect(rows[0]["peak_throughput_ops_per_s"] as? Double == 573.44e9)
        #expect(rows[1]["reported_efficiency_ops_per_j"] as? Double == 192e12)
        #expect(rows[2]["efficiency_ops_per_j"] == nil && rows[2]["adc_bits"] as? Int == 8)
        let table = try PimctlRunner.run(["chips", "compare", "cap-ram", "wang-vlsi2022"])
        #expect(table.status == 0 && table.stdout.contains("not modelled") && table.stdout.contains("573.4 GOPS"), "\(table.stdout)")
        let unknown = try PimctlRunner.run(["chips", "compare", "cap-ram", "no-such-chip"])
        #expect(unknown.status == 1 && unknown.stderr.contains("unknown chip 'no-such-chip'"), "\(unknown.stderr)")
    }

    @Test func listNamesThePresets() throws {
        let result = try PimctlRunner.run(["chips", "list", "--json"])
        #expect(result.status == 0)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        let ids = Set(rows.compactMap { $0["id"] as? String })
        #expect(ids.isSuperset(of: ["cap-ram", "ideal"]))
    }

    @Test func presetsAreFoundFromAnyWorkingDirectory() throws {
        let result = try PimctlRunner.run(["chips", "show", "cap-ram"], in: NSTemporaryDirectory())
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func badChipFileGivesOneLineAndNonZeroExit() throws {
        let directory = NSTemporaryDirectory() + "pimctl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var text = try String(contentsOfFile: "\(PimctlRunner.packageRoot)/chips/cap-ram.yaml", encoding: .utf8)
        text = text.replacingOccurrences(of: "  count: {value: 32,", with: "  count: {value: -32,")
        let path = "\(directory)/bad.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let lineNumber = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("value: -32") }! + 1

        let result = try PimctlRunner.run(["chips", "validate", "chips/cap-ram.yaml", path])
        #expect(result.status == 1)
        #expect(result.stdout.contains("ok  chips/cap-ram.yaml"))
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("pimctl: error: \(path):\(lineNumber):18: adc.count: must be at least 1") == true, "\(result.stderr)")

        let show = try PimctlRunner.run(["chips", "show", path])
        #expect(show.status == 1)
        #expect(show.stdout.isEmpty)
        #expect(show.stderr.split(separator: "\n").count == 1)
    }

    @Test func unknownChipSuggestsTheNearestPreset() throws {
        let result = try PimctlRunner.run(["chips", "show", "cap-rma"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("unknown chip 'cap-rma' (did you mean 'cap-ram'?)"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func unsupportedInputBitsAreRejected() throws {
        let result = try PimctlRunner.run(["chips", "show", "cap-ram", "--input-bits", "12"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--input-bits 12"))
        #expect(result.stdout.isEmpty)
    }

    @Test func validateWithoutFilesIsAUsageError() throws {
        let result = try PimctlRunner.run(["chips", "validate"])
        #expect(result.status != 0)
    }

    @Test func helpCarriesExamples() throws {
        for command in [["chips", "show"], ["chips", "validate"], ["bench"]] {
            let result = try PimctlRunner.run(command + ["--help"])
            #expect(result.status == 0)
            #expect(result.stdout.contains("Example"))
        }
    }
}

@Suite("pimctl bench")
struct BenchCommandTests {
    @Test func sgemmSuiteReportsARate() throws {
        let result = try PimctlRunner.run(["bench", "--suite", "sgemm", "--threads", "1", "--sgemm-size", "64", "--seconds", "0.01", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let rates = try #require(json["sgemm"] as? [[String: Any]])
        #expect(rates.count == 1)
        #expect((rates[0]["median_gflops"] as? Double ?? 0) > 0)
        #expect(["avx2", "portable"].contains(json["engine_kernels"] as? String ?? ""))
    }

    @Test func badThreadListIsRejected() throws {
        let result = try PimctlRunner.run(["bench", "--threads", "0,x"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--threads"))
    }

    @Test(arguments: [(["--seconds", "inf"], "--seconds"), (["--seconds", "nan"], "--seconds"),
                      (["--sgemm-size", "100000"], "--sgemm-size")])
    func impossibleMeasurementsAreRejected(_ flags: [String], _ named: String) throws {
        let result = try PimctlRunner.run(["bench", "--suite", "sgemm"] + flags)
        #expect(result.status != 0)
        #expect(result.stderr.contains(named), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}
