import ArgumentParser
import Foundation
import PIMExperiments
import PIMQAT

struct SearchPrecision: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search-precision",
        abstract: "Search per-layer weight and input bits on a chip model: the accuracy–energy front, and the plan the goal picks.",
        discussion: """
            Starts from a trained uniform network (a QAT or PIM-QAT checkpoint). First every chip \
            layer alone is requantized to each other width of --weight-bits and --input-bits \
            and deployed on the chip model (all non-idealities, --chip-seeds instances): its \
            accuracy change on --validation held-out training examples (the last ones of the \
            training split; the test split is not used to choose). Those changes, added up, \
            predict a plan's accuracy; its energy per inference is the cost model's (pimctl \
            map). The plans on the predicted front are found exactly; --candidates of them and \
            the uniform network are fine-tuned with PIM-QAT for --fine-tune-epochs and \
            measured again. With --max-drop the chosen plan is the cheapest whose validation \
            accuracy is at most that many percentage points below the uniform network's \
            (fine-tuned alike); with --energy-budget the most accurate within it. The chosen \
            and the uniform plan are then measured on the test split.

            The plan goes to --out as YAML (for --plan of train-qat, simulate, map, evaluate); \
            every fine-tuned checkpoint and the search's state stay in --work-dir, and running \
            the same command again resumes an interrupted search.

            Examples:
              pimctl search-precision --chip cap-ram --model pim-r20.safetensors \\
                  --max-drop 1.0 --out r20-plan.yaml --svg r20-front.svg
              pimctl search-precision --chip cap-ram --model qat.safetensors \\
                  --energy-budget 5e-6 --weight-bits 2,3,4,5 --input-bits 3,4 --out plan.yaml
            """)

    @Option(help: "Chip: a preset id or a YAML file.") var chip = "cap-ram"
    @Option(help: "Checkpoint (safetensors) of a QAT or PIM-QAT network: the uniform plan the search starts from.") var model: String
    @Option(help: "Largest validation accuracy drop below the fine-tuned uniform network, in percentage points (default 1 without --energy-budget).")
    var maxDrop: Double?
    @Option(help: "Energy per inference the plan must not exceed, J (instead of --max-drop).") var energyBudget: Double?
    @Option(help: "Weight bits a layer may take, comma-separated (each keeps its own too).") var weightBits = "2,4,8"
    @Option(help: "Input (activation) bits a layer may take, comma-separated.") var inputBits = "2,3,4,6"
    @Option(help: "Dataset (default: the checkpoint's).") var data: DatasetName?
    @Option(help: "Directory with the dataset's files.") var dataDir: String?
    @Option(help: "Held-out examples (the last of the training split) every choice is measured on.") var validation = 1000
    @Option(help: "Training examples each candidate is fine-tuned on (the first N; default all before the held-out ones).")
    var fineTuneExamples: Int?
    @Option(help: "Epochs of PIM-QAT fine-tuning per candidate.") var fineTuneEpochs = 1
    @Option(help: "Plans from the predicted front to fine-tune and measure.") var candidates = 4
    @Option(help: "Chip instances (seeds 0…N−1) every accuracy is averaged over.") var chipSeeds = 2
    @Option(help: "BN calibration batches per chip instance before each measurement (0 = none).") var bnCalibrate = 0
    @Option(help: "Test examples for the final report of the chosen and the uniform plan.") var testLimit: Int?
    @Option(help: "Seed of fine-tuning and temporal noise.") var seed: UInt64 = 0
    @Option(help: "Worker threads (results do not depend on it).") var threads = 2
    @Option(help: "YAML file to write the chosen plan to.") var out: String
    @Option(help: "Directory for the search's state and fine-tuned checkpoints (default: --out with .search).") var workDir: String?
    @Option(help: "SVG file to write: the predicted front and the fine-tuned plans.") var svg: String?
    @Flag(help: "Start over, overwriting a saved state in --work-dir instead of resuming it.") var fresh = false
    @Flag(help: "Print JSON.") var json = false

    static func bits(_ text: String, _ flag: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw ValidationError("\(flag) takes comma-separated whole numbers, e.g. 2,4,8") }
        return values.map { $0! }
    }

    func spec() throws -> PrecisionSearchSpec {
        if maxDrop != nil && energyBudget != nil { throw ValidationError("give --max-drop or --energy-budget, not both") }
        let goal: PrecisionSearchSpec.Goal = energyBudget.map { .energyBudget($0) } ?? .maxDrop((maxDrop ?? 1) / 100)
        let dataset = try data ?? TrainingRun.model(from: model).settings?.dataset ?? .fashionMNIST
        let spec = PrecisionSearchSpec(
            checkpoint: model, chip: chip, dataset: dataset, dataDirectory: dataDir, weightBits: try Self.bits(weightBits, "--weight-bits"),
            inputBits: try Self.bits(inputBits, "--input-bits"), goal: goal, validationExamples: validation, fineTuneExamples: fineTuneExamples,
            fineTuneEpochs: fineTuneEpochs, candidates: candidates, chipSeeds: chipSeeds, bnCalibrate: bnCalibrate, testLimit: testLimit, seed: seed)
        if let problem = spec.problem { throw ValidationError(problem) }
        return spec
    }

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be positive") }
        _ = try Self.bits(weightBits, "--weight-bits")
        _ = try Self.bits(inputBits, "--input-bits")
    }

    func run() throws {
        if !FileManager.default.fileExists(atPath: model) { throw CommandLineError("\(model): no such checkpoint") }
        let spec = try spec()
        let (chipConfig, _) = try ChipCatalog.standard().load(chip)
        let search = try PrecisionSearch(spec: spec, chip: chipConfig, directory: workDir ?? "\(out).search", fresh: fresh)
        search.threads = threads
        var bar: ProgressBar?, phase = ""
        let result = try search.run { name, done, total, detail in
            if name != phase {
                bar?.finish()
                (bar, phase) = (ProgressBar(label: name), name)
            }
            bar?.update(done, of: total, detail: detail)
        }
        bar?.finish()
        if let chosen = result.chosen {
            let comment = ["precision plan for \(model) on \(chip), found by pimctl search-precision",
                           "energy per inference \(Format.si(chosen.energyJ, "J")), latency \(Format.si(chosen.latencyS, "s"))",
                           "validation accuracy on chip \(chosen.validation.map { "\(Format.percent($0.mean)) ± \(Format.percent($0.std))" } ?? "–")"
                               + (chosen.test.map { "; test \(Format.percent($0.mean)) ± \(Format.percent($0.std))" } ?? "")]
            try OutputFile.write(Data(result.plan(chosen.layers).yaml(comment: comment).utf8), to: out)
        }
        if let svg {
            let chart = PrecisionFrontChart(result: result, title: "\(chip): per-layer precision of \(model)")
            try OutputFile.write(Data(chart.svg.utf8), to: svg)
        }
        if json {
            print(try Terminal.json(result))
            return
        }
        print(Self.describe(result, spec: spec, out: out))
    }

    static func describe(_ result: PrecisionSearchResult, spec: PrecisionSearchSpec, out: String) -> String {
        let state = result.state
        var lines: [String] = []
        let goal: String
        switch spec.goal {
        case let .maxDrop(drop): goal = "cheapest plan within \(Format.number(drop * 100)) pp of the fine-tuned uniform network"
        case let .energyBudget(joules): goal = "most accurate plan within \(Format.si(joules, "J")) per inference"
        }
        lines.append("\(spec.checkpoint) on \(spec.chip): \(result.layers.count) chip layers; goal: \(goal)")
        if let start = state.start {
            lines.append("uniform, as trained: \(Format.percent(start.mean)) ± \(Format.percent(start.std)) on \(start.examples) validation examples over \(spec.chipSeeds) chip instance(s)")
        }
        lines.append("\(state.sensitivities.count) single-layer changes measured; \(result.front.count) plans on the predicted front, from \(result.front.first.map { Format.si($0.energyJ, "J") } ?? "–") to \(result.front.last.map { Format.si($0.energyJ, "J") } ?? "–")")
        lines.append("fine-tuned (\(spec.fineTuneEpochs) epoch(s) of PIM-QAT each):")
        lines.append(Format.table(["plan", "energy", "latency", "predicted", "validation", "test", ""], state.candidates.map { c in
            [c.label, Format.si(c.energyJ, "J"), Format.si(c.latencyS, "s"), Format.percent(c.predictedAccuracy),
             c.validation.map { "\(Format.percent($0.mean)) ± \(Format.percent($0.std))" } ?? "–",
             c.test.map { "\(Format.percent($0.mean)) ± \(Format.percent($0.std))" } ?? "",
             (c.label == state.chosen ? "chosen" : "") + (result.measuredFront.contains(c.label) ? (c.label == state.chosen ? ", on the front" : "on the front") : "")]
        }))
        if let chosen = result.chosen {
            let uniform = result.uniform
            lines.append("chosen plan, written to \(out):")
            lines.append(Format.table(["layer", "W bits", "A bits"], result.layers.map { name in
                let p = chosen.layers[name]!, u = uniform[name]!
                return [name, p.weightBits == u.weightBits ? String(p.weightBits) : "\(p.weightBits) (was \(u.weightBits))",
                        p.inputBits == u.inputBits ? String(p.inputBits) : "\(p.inputBits) (was \(u.inputBits))"]
            }))
            if let checkpoint = chosen.checkpoint { lines.append("its fine-tuned checkpoint: \(checkpoint)") }
        } else {
            lines.append("no fine-tuned plan meets the goal; nothing written to \(out)")
        }
        return lines.joined(separator: "\n")
    }
}
