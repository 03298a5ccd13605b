import Foundation
import PIMQAT
import Testing

/// The directions of PIM-QAT's claims on a small subset, end to end through `pimctl`
/// (a release build when scripts/test provides one).
@Suite("PIM-QAT claims on a small subset", .serialized)
struct PIMQATClaimsTests {
    static func run(_ arguments: [String], in directory: String) throws -> PimctlRunner.Result {
        try PimctlRunner.run(arguments, in: directory, executable: PimctlRunner.release)
    }

    static func json(_ result: PimctlRunner.Result) throws -> [String: Any] {
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    static func mean(_ value: Any?) throws -> Double {
        try #require((value as? [String: Any])?["mean"] as? Double)
    }

    @Test func pimQATBeatsConventionalQATOnTheChipAndBNCalibrationBehaves() throws {
        let dir = try TrainCommandTests.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let report = try Self.json(try Self.run(["report", "--train-limit", "3000", "--test-limit", "500", "--epochs", "2", "--pim-epochs", "2",
                                                 "--schemes", "chip", "--chip-seeds", "1", "--noise-seeds", "2", "--bn-calibrate", "10",
                                                 "--out-dir", "report", "--threads", "2", "--json"], in: dir))
        let row = try #require((report["rows"] as? [[String: Any]])?.first)
        let digital = try #require(row["digital_qat"] as? Double)
        let qatOnChip = try Self.mean(row["qat_on_chip"])
        let adjusted = try Self.mean(row["adjusted_calibrated"])
        let calibrated = try Self.mean(row["pim_qat_calibrated"]), uncalibrated = try Self.mean(row["pim_qat_chip"])
        #expect(digital > 0.5, "the QAT network learned (digital \(digital))")
        // Conventional QAT fails on the chip; PIM-QAT (+ BN calibration + adjusted precision) recovers most of it.
        #expect(qatOnChip < digital - 0.2, "QAT on chip \(qatOnChip) vs digital \(digital)")
        #expect(adjusted > qatOnChip + 0.2, "PIM-QAT \(adjusted) vs QAT on chip \(qatOnChip)")
        #expect(calibrated > uncalibrated, "BN calibration on the chip: \(calibrated) vs \(uncalibrated)")
        #expect(FileManager.default.fileExists(atPath: "\(dir)/report/report.md"))
        #expect(report["adjusted_precision"] as? String == "auto")
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.count == 3 && checks.allSatisfy { $0["holds"] is Bool && $0["measured"] is String }, "\(checks)")
        #expect((report["training"] as? [String: Any])?["pim_qat"] as? String != nil)

        // The report's own PIM-QAT networks given back (--pim, --pim-adjusted): nothing is
        // trained, every column reproduces, and the report says how each network was trained.
        let reusedArguments = ["report", "--float", "report/float.safetensors", "--qat", "report/qat.safetensors",
                               "--pim", "chip=report/pimqat-chip.safetensors", "--pim-adjusted", "chip=report/pimqat-chip-adjusted-auto.safetensors",
                               "--train-limit", "3000", "--test-limit", "500", "--schemes", "chip", "--chip-seeds", "1", "--noise-seeds", "2",
                               "--bn-calibrate", "10", "--threads", "2", "--json"]
        let reused = try Self.json(try Self.run(reusedArguments + ["--out-dir", "reused"], in: dir))
        let reusedRow = try #require((reused["rows"] as? [[String: Any]])?.first)
        for column in ["qat_on_chip", "qat_on_chip_calibrated", "pim_qat_ideal", "pim_qat_chip", "pim_qat_calibrated", "adjusted_calibrated"] {
            #expect(try Self.mean(reusedRow[column]) == Self.mean(row[column]), "\(column)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(dir)/reused").sorted() == ["report.json", "report.md"])
        let givenNetwork = try #require(reusedRow["adjusted_network"] as? [String: Any])
        #expect(givenNetwork["given"] as? Bool == true && givenNetwork["training_noise"] as? Bool == true)
        #expect(givenNetwork["training_bits"] as? Int == 5 && givenNetwork["epochs"] as? Int == 2, "\(givenNetwork)")
        #expect((row["pim_qat_network"] as? [String: Any])?["given"] as? Bool == false)
        #expect((row["pim_qat_network"] as? [String: Any])?["training_bits"] as? Int == 6)
        let markdown = try String(contentsOfFile: "\(dir)/reused/report.md", encoding: .utf8)
        #expect(markdown.contains("adjusted precision `report/pimqat-chip-adjusted-auto.safetensors` (given, 2 epochs, 5-bit training ADC, chip noise injected"),
                "\(markdown)")
        // A network of another scheme, or a conventional-QAT one, is refused before anything is written.
        for (scheme, given, message) in [("chip", "report/qat.safetensors", "not a PIM-QAT checkpoint"),
                                         ("bit-serial", "report/pimqat-chip.safetensors", "trained for the chip scheme, given for bit-serial")] {
            let refused = try Self.run(["report", "--qat", "report/qat.safetensors", "--schemes", scheme, "--pim", "\(scheme)=\(given)",
                                        "--out-dir", "refused"], in: dir)
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/refused"))
        }

        // The same networks reused, PIM-QAT restarted from another α at an explicit precision:
        // every PIM-QAT checkpoint starts there, and the report says so.
        let restarted = try Self.json(try Self.run(["report", "--float", "report/float.safetensors", "--qat", "report/qat.safetensors",
                                                    "--train-limit", "500", "--test-limit", "200", "--pim-epochs", "1", "--pim-lr", "1e-4",
                                                    "--schemes", "chip", "--chip-seeds", "1", "--noise-seeds", "1", "--bn-calibrate", "2",
                                                    "--pim-pact-alpha", "2", "--pim-weight-clip", "3", "--adjust-precision", "5",
                                                    "--out-dir", "alpha", "--threads", "2", "--json"], in: dir))
        #expect(restarted["adjusted_precision"] as? String == "5")
        let pimRecipe = try #require((restarted["training"] as? [String: Any])?["pim_qat"] as? String)
        #expect(pimRecipe.contains("PACT α from 2") && pimRecipe.contains("weight clip 3"), "\(pimRecipe)")
        for name in ["pimqat-chip", "pimqat-chip-adjusted-5bit"] {
            let checkpoint = try Checkpoint(contentsOf: "\(dir)/alpha/\(name).safetensors")
            let alphas = checkpoint.tensors.filter { $0.key.hasSuffix(".alpha") && !$0.key.hasPrefix("optimizer.") }.map { $0.value.data[0] }
            #expect(!alphas.isEmpty && alphas.allSatisfy { abs($0 - 2) < 0.05 }, "\(name): \(alphas)")
            #expect(checkpoint.metadata["weight_clip"] == "3.0", "\(name)")
        }

        // BN calibration does not hurt on the ideal chip, and repairs a strongly compressive transfer curve.
        let ideal = try String(contentsOfFile: "\(PimctlRunner.packageRoot)/chips/ideal.yaml", encoding: .utf8)
        let curved = ideal.replacingOccurrences(of: "  id: ideal", with: "  id: curved")
            .replacingOccurrences(of: "  transfer: {model: linear}", with: "  transfer: {model: rational, gain: 1, a: 5000}")
        #expect(curved.contains("rational"))
        try curved.write(toFile: "\(dir)/curved.yaml", atomically: true, encoding: .utf8)
        func accuracy(chip: String, calibrate: Int, testLimit: Int = 500) throws -> Double {
            let result = try Self.json(try Self.run(["simulate", "--chip", chip, "--model", "report/qat.safetensors", "--test-limit", String(testLimit),
                                                     "--bn-calibrate", String(calibrate), "--json", "--threads", "2"], in: dir))
            return try #require(result["accuracy_mean"] as? Double)
        }
        let idealChip = "\(PimctlRunner.packageRoot)/chips/ideal.yaml"
        #expect(try accuracy(chip: idealChip, calibrate: 0) == digital)
        // On 2 000 test images: this two-epoch network's accuracy moves by ±1 pp between
        // calibrations on 500 (a few images), which says nothing about calibration.
        let idealPlain = try accuracy(chip: idealChip, calibrate: 0, testLimit: 2000)
        let idealCalibrated = try accuracy(chip: idealChip, calibrate: 10, testLimit: 2000)
        #expect(idealCalibrated >= idealPlain - 0.002, "ideal chip: \(idealCalibrated) calibrated vs \(idealPlain)")
        let curvedPlain = try accuracy(chip: "curved.yaml", calibrate: 0)
        let curvedCalibrated = try accuracy(chip: "curved.yaml", calibrate: 10)
        #expect(curvedPlain < digital - 0.1, "the curve hurts: \(curvedPlain) vs \(digital)")
        #expect(curvedCalibrated > curvedPlain + 0.1, "curved chip: \(curvedCalibrated) calibrated vs \(curvedPlain)")

        // Accuracy-vs-noise suites (`pimctl check`): the ideal point equals digital; accuracy
        // does not rise with noise beyond seed error; PIM-QAT degrades less than QAT.
        let idealCheck = try Self.run(["check", "--chip", "ideal", "--model", "report/qat.safetensors", "--noise", "0", "--max-drop", "0",
                                       "--test-limit", "500", "--json", "--junit", "ideal.xml"], in: dir)
        let idealReport = try Self.json(idealCheck)
        #expect(idealReport["passed"] as? Bool == true)
        let idealLevel = try #require((idealReport["levels"] as? [[String: Any]])?.first)
        #expect(try Self.mean(idealLevel["accuracy"]) == digital)
        #expect(try String(contentsOfFile: "\(dir)/ideal.xml", encoding: .utf8).contains("failures=\"0\""))
        func levels(_ model: String) throws -> [(mean: Double, std: Double, drop: Double)] {
            let result = try Self.run(["check", "--chip", "cap-ram", "--model", model, "--noise", "0,0.5,1.5", "--max-drop", "100",
                                       "--test-limit", "500", "--noise-seeds", "3", "--json"], in: dir)
            return try #require(try Self.json(result)["levels"] as? [[String: Any]]).map { level in
                let accuracy = try #require(level["accuracy"] as? [String: Any])
                return (try #require(accuracy["mean"] as? Double), try #require(accuracy["std"] as? Double),
                        try #require(level["drop_percentage_points"] as? Double))
            }
        }
        let qatLevels = try levels("report/qat.safetensors")
        let pimLevels = try levels("report/pimqat-chip-adjusted-auto.safetensors")
        for series in [qatLevels, pimLevels] {
            for (lower, higher) in zip(series, series.dropFirst()) {
                #expect(higher.mean <= lower.mean + 2 * max(lower.std, higher.std) + 0.01, "accuracy rose with noise: \(series)")
            }
        }
        for (q, p) in zip(qatLevels, pimLevels) { #expect(p.drop < q.drop, "PIM-QAT drop \(p.drop) pp vs QAT \(q.drop) pp") }
        let failing = try Self.run(["check", "--chip", "cap-ram", "--model", "report/qat.safetensors", "--noise", "1", "--max-drop", "1",
                                    "--test-limit", "200", "--junit", "failing.xml"], in: dir)
        #expect(failing.status == 1)
        #expect(failing.stderr.contains("check failed at noise σ = 1 LSB"), "\(failing.stderr)")
        #expect(try String(contentsOfFile: "\(dir)/failing.xml", encoding: .utf8).contains("<failure message="))
    }
}
