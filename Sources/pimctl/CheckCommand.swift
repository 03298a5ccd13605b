import ArgumentParser
import Foundation
import PIMExperiments
import PIMQAT

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pass or fail a network against a chip's noise grid: accuracy drop against its digital accuracy.",
        discussion: """
            For each temporal-noise level (the chip's adc.noise_sigma_lsb set to it; every other \
            stage as in the chip file), the network is deployed on --chip-seeds instances × \
            --noise-seeds seeds; the drop is digital accuracy − mean accuracy, in percentage \
            points. The check fails (exit status 1) if any level drops more than --max-drop. \
            --junit writes one test case per level for CI systems.

            Examples:
              pimctl check --chip cap-ram --model pim.safetensors \\
                  --noise 0,0.25,0.5,1 --max-drop 1.0
              pimctl check --chip cap-ram --model pim.safetensors --noise 0,0.35 \\
                  --max-drop 2 --bn-calibrate 20 --junit check.xml
            """)

    @Option(help: "Chip: a preset id or a YAML file.") var chip = "cap-ram"
    @Option(help: "Checkpoint (safetensors) of a QAT or PIM-QAT network.") var model: String
    @Option(help: "Dataset (default: the checkpoint's).") var data: DatasetName?
    @Option(help: "Directory with the dataset's files.") var dataDir: String?
    @Option(help: "Comma-separated temporal-noise levels, σ in LSB.") var noise: String
    @Option(help: "Largest allowed accuracy drop, percentage points.") var maxDrop: Double
    @Option(help: "Decomposition (default: the checkpoint's, or chip).") var scheme: Scheme?
    @Option(help: "Use only the first N test examples.") var testLimit: Int?
    @Option(help: "Chip instances per level.") var chipSeeds = 1
    @Option(help: "Noise seeds per instance.") var noiseSeeds = 2
    @Option(help: "BN calibration batches per instance (0 = none).") var bnCalibrate = 0
    @Option(help: "Worker threads.") var threads = 2
    @Option(help: "Write a JUnit XML report here.") var junit: String?
    @Flag(help: "Print JSON.") var json = false

    var levels: [Double] {
        get throws {
            let values = noise.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ ($0 ?? -1) >= 0 && $0!.isFinite }) else {
                throw ValidationError("--noise '\(noise)': expected non-negative numbers separated by commas")
            }
            return values.map { $0! }
        }
    }

    func validate() throws {
        _ = try levels
        guard maxDrop >= 0, maxDrop.isFinite else { throw ValidationError("--max-drop must be a non-negative number of percentage points") }
        guard chipSeeds >= 1, noiseSeeds >= 1, bnCalibrate >= 0, threads >= 1 else {
            throw ValidationError("--chip-seeds, --noise-seeds and --threads must be positive, --bn-calibrate ≥ 0")
        }
        if let testLimit, testLimit < 1 { throw ValidationError("--test-limit must be positive") }
        if let problem = ChipDeployment.runCountProblem(chipSeeds: chipSeeds, noiseSeeds: noiseSeeds) { throw ValidationError(problem) }
    }

    struct Level: Encodable {
        var noiseSigmaLSB: Double
        var accuracy: ChipAccuracy
        var dropPercentagePoints: Double
        var passed: Bool
    }

    func run() throws {
        BLAS.threadCount = threads
        let (_, chipPath) = try ChipCatalog.standard().load(chip)
        guard let chipText = try? String(contentsOfFile: chipPath, encoding: .utf8) else { throw CommandLineError("\(chipPath): cannot be read") }
        var results: [Level] = []
        var digital: Double?
        var examples = 0
        let bar = ProgressBar(label: "noise levels")
        for (i, sigma) in try levels.enumerated() {
            let chipConfig = try SweepSpec.chip(chipText, file: chipPath, overrides: [("adc.noise_sigma_lsb", .number(sigma))])
            let (loaded, target, _, _) = try DeployedModel.load(model, chip: chipConfig, chipName: chip, scheme: scheme, mode: nil)
            let dataset = data ?? loaded.settings?.dataset ?? .fashionMNIST
            let directory = dataDir ?? loaded.settings?.dataDirectory
            let test = try DeployedModel.data(for: loaded, path: model, dataset: dataset, directory: directory, train: false, limit: testLimit)
            examples = test.count
            let deployment = ChipDeployment(model: loaded.model, target: target)
            if bnCalibrate > 0 || deployment.needsRangeCalibration {
                deployment.calibrationData = try DeployedModel.data(for: loaded, path: model, dataset: dataset, directory: directory, train: true)
                deployment.calibrationBatches = bnCalibrate
            }
            if digital == nil { digital = deployment.evaluateDigitally(test).accuracy }
            let accuracy = deployment.evaluate(test, chipSeeds: (0..<UInt64(chipSeeds)).map { $0 }, noiseSeeds: (0..<UInt64(noiseSeeds)).map { $0 })
            let drop = (digital! - accuracy.mean) * 100
            results.append(Level(noiseSigmaLSB: sigma, accuracy: accuracy, dropPercentagePoints: drop, passed: drop <= maxDrop))
            bar.update(i + 1, of: try levels.count, detail: "σ \(sigma): \(Format.percent(accuracy.mean))")
        }
        bar.finish()
        let failed = results.filter { !$0.passed }
        if let junit { try writeJUnit(results, digital: digital!, examples: examples, to: junit) }
        if json {
            struct Report: Encodable { var chip: String; var model: String; var digitalAccuracy: Double; var maxDropPercentagePoints: Double; var passed: Bool; var levels: [Level] }
            print(try Terminal.json(Report(chip: chip, model: model, digitalAccuracy: digital!, maxDropPercentagePoints: maxDrop, passed: failed.isEmpty, levels: results)))
        } else {
            print("\(model) on \(chip): digital accuracy \(Format.percent(digital!)); \(examples) test examples, \(chipSeeds) instance(s) × \(noiseSeeds) noise seed(s) per level")
            print(Format.table(["noise σ (LSB)", "accuracy", "± std", "drop (pp)", "max (pp)", "result"], results.map { level in
                [Format.number(level.noiseSigmaLSB, digits: 3), Format.percent(level.accuracy.mean), Format.percent(level.accuracy.std),
                 Format.number(level.dropPercentagePoints, digits: 3), Format.number(maxDrop, digits: 3), level.passed ? "pass" : "FAIL"]
            }))
        }
        if !failed.isEmpty {
            Terminal.error("check failed at noise σ = \(failed.map { Format.number($0.noiseSigmaLSB, digits: 3) }.joined(separator: ", ")) LSB (drop above \(Format.number(maxDrop, digits: 3)) pp)")
            throw ExitCode.failure
        }
    }

    func writeJUnit(_ results: [Level], digital: Double, examples: Int, to path: String) throws {
        func escape(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        let failures = results.filter { !$0.passed }.count
        var xml = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                   "<testsuites tests=\"\(results.count)\" failures=\"\(failures)\">",
                   "  <testsuite name=\"pimctl check \(escape(chip))\" tests=\"\(results.count)\" failures=\"\(failures)\">",
                   "    <properties><property name=\"model\" value=\"\(escape(model))\"/><property name=\"digital_accuracy\" value=\"\(digital)\"/><property name=\"test_examples\" value=\"\(examples)\"/></properties>"]
        for level in results {
            let name = "noise_sigma_lsb=\(level.noiseSigmaLSB)"
            let summary = "accuracy \(level.accuracy.mean) ± \(level.accuracy.std), drop \(level.dropPercentagePoints) pp (max \(maxDrop))"
            if level.passed {
                xml.append("    <testcase classname=\"\(escape(model))\" name=\"\(name)\"><system-out>\(escape(summary))</system-out></testcase>")
            } else {
                xml.append("    <testcase classname=\"\(escape(model))\" name=\"\(name)\"><failure message=\"\(escape(summary))\"/></testcase>")
            }
        }
        xml += ["  </testsuite>", "</testsuites>", ""]
        try OutputFile.write(Data(xml.joined(separator: "\n").utf8), to: path)
    }
}
