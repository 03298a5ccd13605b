import ArgumentParser
import Foundation
import PIMQAT

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Parameter sweeps over chip configurations: run (sharded, resumable), merge, Slurm scripts.",
        discussion: """
            A spec (YAML) names a base chip, axes over any chip field (by dotted path) or run \
            setting (scheme, mode, input_bits, weight_bits, model), a workload (a random matmul or a \
            checkpoint on a dataset) and seeds. Results are JSON Lines, one record per point, \
            chip seed and seed, with provenance. See `pimctl sweep run --help`.

            Examples:
              pimctl sweep run adc.yaml --out adc.jsonl
              pimctl sweep run adc.yaml --out adc.jsonl --resume
              pimctl sweep run adc.yaml --shard 2/8 --out adc.2.jsonl
              pimctl sweep merge adc.jsonl adc.1.jsonl adc.2.jsonl
              pimctl sweep slurm adc.yaml --shards 8
              pimctl sweep plot adc.jsonl --x adc.noise_sigma_lsb --y sqnr_decibels \\
                  --group scheme --out adc.svg
            """,
        subcommands: [SweepRun.self, SweepMerge.self, SweepSlurm.self, SweepPlotCommand.self],
        defaultSubcommand: SweepRun.self)
}

/// `i/N`: shard i (1-based) of N.
struct Shard: ExpressibleByArgument, CustomStringConvertible {
    var index: Int
    var count: Int

    init?(argument: String) {
        let parts = argument.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) else { return nil }
        (index, count) = (parts[0], parts[1])
    }

    var description: String { "\(index)/\(count)" }
}

struct SweepRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a sweep spec (or one shard of it), appending one JSON line per finished run.",
        discussion: """
            Spec:
              chip: cap-ram
              axes:
                adc.noise_sigma_lsb: [0, 0.25, 0.5, 1]
                modes.twos_complement.adc.bits: [4, 5, 6, 7]
                scheme: [chip, bit-serial]
              workload: {matmul: 256x512x128, input_bits: 4, weight_bits: 4}
              seeds: [0, 1, 2]
              chip_seeds: [0]

            Every point is checked before any work starts. With --resume, records already in \
            --out are kept and their runs skipped (a line cut off by a kill is dropped); the \
            finished file is the same whatever the interruptions. --shard i/N runs every N-th \
            run starting at the i-th, so N processes (a Slurm job array, GNU parallel) cover \
            the grid between them; `pimctl sweep merge` joins their files. \
            Metrics per record: the matmul's conversion and output statistics (as \
            `simulate --json`), or the network's accuracy and loss.
            """)

    @Argument(help: "The sweep spec (YAML).") var spec: String
    @Option(help: "Results file (JSON Lines).") var out: String
    @Flag(help: "Keep the records already in --out and skip their runs.") var resume = false
    @Flag(help: "Start --out afresh if it exists (notebooks re-run their sweeps this way).") var overwrite = false
    @Option(help: "Run only shard i of N (i/N, 1-based).") var shard: Shard?
    @Option(help: "Worker threads per run (results do not depend on it).") var threads = 1
    @Flag(help: "Print a JSON summary at the end.") var json = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard !(resume && overwrite) else { throw ValidationError("give --resume or --overwrite, not both") }
    }

    func run() throws {
        let spec = try SweepSpec(contentsOf: self.spec)
        if FileManager.default.fileExists(atPath: out) {
            if overwrite {
                do { try FileManager.default.removeItem(atPath: out) } catch {
                    throw CommandLineError("\(out): cannot be replaced (\((error as NSError).localizedDescription))")
                }
            } else if !resume {
                throw CommandLineError("\(out) exists; give --resume to continue it, --overwrite to start afresh, or another --out")
            }
        }
        let existing = try SweepLog.read(out, unfinished: .cut)
        if let foreign = existing.first(where: { $0.provenance.specHash != spec.specHash }) {
            throw CommandLineError("\(out): record \(foreign.id) comes from another spec (\(foreign.provenance.specHash), this one is \(spec.specHash))")
        }
        let done = Set(existing.map(\.id))
        let tasks = (shard.map { spec.tasks(shard: $0.index, of: $0.count) } ?? spec.tasks).filter { !done.contains($0.id) }
        let revision = Self.gitRevision(near: self.spec)
        let runner = try SweepRunner(spec: spec, threads: threads, networks: out + ".networks")
        let bar = ProgressBar(label: "sweep")
        for (position, task) in tasks.enumerated() {
            let metrics = try runner.metrics(for: task)
            let values = Dictionary(spec.point(task.point).map { ($0.path, $0.value) }, uniquingKeysWith: { a, _ in a })
            let provenance = SweepProvenance(specHash: spec.specHash, chipHash: runner.chipHash(point: task.point),
                                             toolVersion: ToolVersion.current, gitRevision: revision)
            try SweepLog.append(SweepRecord(task: task, values: values, metrics: metrics, provenance: provenance), to: out)
            bar.update(position + 1, of: tasks.count, detail: task.id)
        }
        bar.finish()
        struct Summary: Encodable { var spec: String; var specHash: String; var points: Int; var runs: Int; var ran: Int; var kept: Int; var out: String }
        let total = shard.map { spec.tasks(shard: $0.index, of: $0.count).count } ?? spec.tasks.count
        let summary = Summary(spec: self.spec, specHash: spec.specHash, points: spec.pointCount, runs: total, ran: tasks.count,
                              kept: existing.count, out: out)
        if json {
            print(try Terminal.json(summary))
        } else {
            print("\(self.spec): \(spec.pointCount) points, \(total) runs\(shard.map { " in shard \($0)" } ?? ""); ran \(tasks.count), kept \(existing.count) → \(out)")
        }
    }

    /// `git rev-parse HEAD` in the spec's directory, if that is a git checkout.
    static func gitRevision(near path: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let directory = (path as NSString).deletingLastPathComponent
        process.arguments = ["git", "-C", directory.isEmpty ? "." : directory, "rev-parse", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}

/// Runs the tasks of one spec: chips built once per point, networks loaded once per point.
final class SweepRunner {
    let spec: SweepSpec
    let threads: Int
    private var chips: [Int: ChipConfig] = [:]
    private var datasets: [String: Dataset] = [:]
    /// Digital accuracy per (checkpoint, test split): the same for every seed and chip.
    private var digitalAccuracy: [String: Double] = [:]

    /// A dataset split for a model, loaded once per sweep (and checked against the model).
    func dataset(_ name: DatasetName, train: Bool, limit: Int?, for loaded: TrainingRun.LoadedModel, path: String) throws -> Dataset {
        let key = "\(name.rawValue)/\(train)/\(limit.map(String.init) ?? "all")"
        if let cached = datasets[key], cached.channels == loaded.channels, cached.size == loaded.size, cached.classes == loaded.classes {
            return cached
        }
        let data = try DeployedModel.data(for: loaded, path: path, dataset: name, directory: nil, train: train, limit: limit)
        datasets[key] = data
        return data
    }

    /// Where a training workload keeps each point's trained network (`p<point>.safetensors`),
    /// so the point's other runs, resumed runs and other shards reuse it.
    let networks: String
    private var trained: [Int: String] = [:]

    init(spec: SweepSpec, threads: Int, networks: String) throws {
        self.spec = spec
        self.threads = threads
        self.networks = networks
    }

    /// The training precision of a point (its `adjust_precision` axis; none without one).
    func precision(at point: Int) throws -> PrecisionAdjustment {
        guard let value = spec.setting("adjust_precision", at: point) else { return .none }
        guard let parsed = PrecisionAdjustment(argument: value.description) else {
            throw CommandLineError("\(spec.file): adjust_precision '\(value)' is not none, auto, exact or bits")
        }
        return parsed
    }

    /// The network of a training point: trained once (written when finished) and then reused.
    func trainedNetwork(_ workload: SweepSpec.TrainingWorkload, point: Int, chip: ChipConfig) throws -> String {
        if let path = trained[point] { return path }
        let path = "\(networks)/p\(point).safetensors"
        if !FileManager.default.fileExists(atPath: path) {
            guard let dataset = DatasetName(rawValue: workload.data) else {
                throw CommandLineError("\(spec.file): workload.data '\(workload.data)' is not a dataset")
            }
            let settings = spec.settings(for: point)
            let precision = try precision(at: point)
            var noise: Bool?
            if case let .bool(value)? = spec.setting("noise_injection", at: point) { noise = value }
            BLAS.threadCount = threads
            let run = try TrainingRun.fineTuning(
                from: workload.initial, chip: chip, pim: PIMSettings(chip: spec.chipName, scheme: settings.scheme, mode: settings.mode, precision: precision),
                trainingNoise: noise, dataset: dataset, epochs: workload.epochs, learningRate: workload.learningRate, seed: workload.seed,
                trainLimit: workload.trainLimit, testLimit: workload.testLimit)
            while run.completedEpochs < run.settings.epochs { _ = try run.trainNextEpoch() }
            do {
                try FileManager.default.createDirectory(atPath: networks, withIntermediateDirectories: true)
            } catch {
                throw CommandLineError("\(networks): cannot create the directory (\((error as NSError).localizedDescription))")
            }
            try run.checkpoint().write(to: path)
        }
        trained[point] = path
        return path
    }

    func chip(_ point: Int) throws -> ChipConfig {
        if let chip = chips[point] { return chip }
        let chip = try spec.chip(for: point)
        chips[point] = chip
        return chip
    }

    /// `clipRateHigh` → `clip_rate_high`, `lsbMACUnits` → `lsb_mac_units`.
    static func snakeCase(_ name: String) -> String {
        var out = ""
        let chars = Array(name)
        for (i, c) in chars.enumerated() {
            if c.isUppercase {
                let previousLower = i > 0 && chars[i - 1].isLowercase
                let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase && i > 0 && chars[i - 1].isUppercase
                if i > 0 && (previousLower || nextLower) { out.append("_") }
                out.append(Character(c.lowercased()))
            } else {
                out.append(c)
            }
        }
        return out
    }

    func chipHash(point: Int) -> String {
        let overrides = spec.point(point).filter { !SweepSpec.settingAxes.contains($0.path) }.map { "\($0.path)=\($0.value)" }
        return fnv1aHex(Array((spec.chipText + "\n" + overrides.joined(separator: "\n")).utf8))
    }

    func metrics(for task: SweepTask) throws -> [String: Double] {
        let chip = try chip(task.point)
        let settings = spec.settings(for: task.point)
        switch spec.workload {
        case let .matmul(m, k, n, _, _):
            let mapping = try chip.mapping(scheme: settings.scheme, mode: settings.mode, inputBits: settings.inputBits, weightBits: settings.weightBits)
            let simulation = MatmulSimulation(mapping: mapping, m: m, k: k, n: n,
                                              operands: try MatmulSimulation.randomOperands(mapping: mapping, m: m, k: k, n: n, seed: task.seed),
                                              seed: task.seed, chipSeed: task.chipSeed, threads: threads)
            let report = try simulation.run().report
            // The report's numeric fields (snake_case, as `simulate --json` names them), without the wall time.
            var metrics: [String: Double] = [:]
            for child in Mirror(reflecting: report).children {
                guard let label = child.label, label != "seconds" else { continue }
                let number: Double? = switch child.value {
                case let v as Double: v
                case let v as Int: Double(v)
                case let v as Double?: v
                case let v as Int?: v.map(Double.init)
                default: nil
                }
                if let number, number.isFinite { metrics[Self.snakeCase(label)] = number }
            }
            return metrics
        case let .network(_, data, testLimit, bnCalibrate):
            return try deployed(spec.model(for: task.point)!, data: data, testLimit: testLimit, bnCalibrate: bnCalibrate, chip: chip, task: task)
        case let .training(workload):
            let model = try trainedNetwork(workload, point: task.point, chip: chip)
            var metrics = try deployed(model, data: workload.data, testLimit: workload.testLimit, bnCalibrate: workload.bnCalibrate,
                                       chip: chip, task: task)
            let mapping = try chip.mapping(scheme: settings.scheme, mode: settings.mode, inputBits: settings.inputBits, weightBits: settings.weightBits)
            if let bits = try precision(at: task.point).trainingConverter(for: mapping.adc).resolutionBits { metrics["training_bits"] = bits }
            return metrics
        }
    }

    /// A checkpoint's accuracy on a point's chip instance and noise seed, beside its digital accuracy.
    func deployed(_ model: String, data: String, testLimit: Int?, bnCalibrate: Int, chip: ChipConfig, task: SweepTask) throws -> [String: Double] {
        let settings = spec.settings(for: task.point)
        guard let dataset = DatasetName(rawValue: data) else { throw CommandLineError("\(spec.file): workload.data '\(data)' is not a dataset") }
        BLAS.threadCount = threads
        let (loaded, target, _, _) = try DeployedModel.load(model, chip: chip, chipName: spec.chipPath, scheme: settings.scheme, mode: settings.mode)
        let test = try self.dataset(dataset, train: false, limit: testLimit, for: loaded, path: model)
        let deployment = ChipDeployment(model: loaded.model, target: target)
        if bnCalibrate > 0 || deployment.needsRangeCalibration {
            deployment.calibrationData = try self.dataset(dataset, train: true, limit: nil, for: loaded, path: model)
            deployment.calibrationBatches = bnCalibrate
        }
        let run = deployment.evaluate(test, chipSeed: task.chipSeed, noiseSeed: task.seed)
        // The chip and scheme decide the weight grid (symmetric for some encodings).
        let key = "\(model)|\(chipHash(point: task.point))|\(settings.scheme.rawValue)|\(data)|\(testLimit.map(String.init) ?? "all")"
        let digital = digitalAccuracy[key] ?? deployment.evaluateDigitally(test).accuracy
        digitalAccuracy[key] = digital
        return ["accuracy": run.accuracy, "loss": run.loss, "digital_accuracy": digital]
    }
}


struct SweepMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Join the results files of one spec's shards into one, each run once, in grid order.",
        discussion: """
            Refuses files from different specs, records that disagree, a shard whose last \
            line was cut off, and missing runs: with --spec every run of the spec must be \
            there; without it, every grid index up to the highest one read.

            Example:
              pimctl sweep merge all.jsonl shard1.jsonl shard2.jsonl shard3.jsonl --spec adc.yaml
            """)

    @Argument(help: "The merged file to write.") var out: String
    @Argument(help: "Results files of the shards.") var shards: [String]
    @Option(help: "The spec the shards ran: every one of its runs must be there.") var spec: String?
    @Flag(help: "Write the runs that are there even if some are missing (a warning names how many).")
    var allowIncomplete = false

    func validate() throws {
        guard !shards.isEmpty else { throw ValidationError("give the shards' results files after the output file") }
        if shards.contains(out) { throw ValidationError("the output file cannot be one of the shards") }
    }

    func run() throws {
        let expected = try spec.map { try SweepSpec(contentsOf: $0) }
        let (records, missing) = try SweepLog.merge(shards, spec: expected, allowIncomplete: allowIncomplete)
        if !missing.isEmpty { Terminal.warning("\(missing.count) run(s) missing, first \(missing[0])") }
        try SweepLog.write(records, to: out)
        print("\(records.count) records from \(shards.count) file(s) → \(out)")
    }
}

struct SweepSlurm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Print a Slurm job-array script that runs a spec as N shards, then the merge command.",
        discussion: """
            Example:
              pimctl sweep slurm adc.yaml --shards 8 > adc.sbatch && sbatch adc.sbatch
            """)

    @Argument(help: "The sweep spec (YAML).") var spec: String
    @Option(help: "Number of shards (array tasks).") var shards: Int
    @Option(help: "Prefix of the shards' results files.") var out: String?
    @Option(help: "Threads per task.") var threads = 1
    @Option(help: "Time limit per task (Slurm syntax).") var time = "04:00:00"

    func validate() throws {
        guard shards >= 1, threads >= 1 else { throw ValidationError("--shards and --threads must be positive") }
    }

    func run() throws {
        let spec = try SweepSpec(contentsOf: self.spec)
        let prefix = out ?? ((self.spec as NSString).deletingPathExtension)
        let executable = currentExecutable
        let shardFiles = (1...shards).map { "\(prefix).shard\($0).jsonl" }.joined(separator: " ")
        print("""
            #!/bin/bash
            # \(spec.pointCount) points, \(spec.tasks.count) runs of \(self.spec) (spec \(spec.specHash)) in \(shards) shards.
            # Resubmitting resumes: finished runs are kept. Afterwards:
            #   \(executable) sweep merge \(prefix).jsonl \(shardFiles) --spec \(self.spec)
            #SBATCH --job-name=pimctl-sweep
            #SBATCH --array=1-\(shards)
            #SBATCH --cpus-per-task=\(threads)
            #SBATCH --time=\(time)
            #SBATCH --output=\(prefix).shard%a.log
            set -euo pipefail
            exec \(executable) sweep run \(self.spec) --shard "${SLURM_ARRAY_TASK_ID}/\(shards)" --threads \(threads) --resume --out "\(prefix).shard${SLURM_ARRAY_TASK_ID}.jsonl"
            """)
    }
}

struct SweepPlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Plot sweep results: a metric against an axis, mean ± std over seeds, one line per group (SVG), and the same as a Markdown table.",
        discussion: """
            Every other axis must be constant in the plotted records: group by it, or fix it \
            with --where AXIS=VALUE (repeatable).

            Examples:
              pimctl sweep plot adc.jsonl --x adc.noise_sigma_lsb --y sqnr_decibels \\
                  --group scheme --out sqnr.svg
              pimctl sweep plot adc.jsonl --x modes.twos_complement.adc.bits \\
                  --y effective_bits --where scheme=chip --out enob.svg
            """)

    @Argument(help: "Results (JSON Lines) of `pimctl sweep run` or `sweep merge`.") var results: String
    @Option(help: "The axis on the x axis.") var x: String
    @Option(help: "The metric (or axis) on the y axis.") var y: String
    @Option(help: "An axis whose values become separate lines.") var group: String?
    @Option(name: .customLong("where"), help: "Keep only records whose AXIS has VALUE (AXIS=VALUE).") var filters: [String] = []
    @Option(help: "SVG file to write (default: only the table is printed).") var out: String?
    @Option(help: "Plot title.") var title: String?
    @Flag(help: "Print the series as JSON instead of the table.") var json = false

    func run() throws {
        var conditions: [String: String] = [:]
        for filter in filters {
            let parts = filter.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--where '\(filter)': expected AXIS=VALUE") }
            conditions[parts[0]] = parts[1]
        }
        let records = try SweepLog.read(results)
        guard !records.isEmpty else { throw CommandLineError("\(results): no records") }
        let series = try SweepSeries.reduce(records, x: x, y: y, group: group, filters: conditions)
        let plot = SweepPlot(series: series, xLabel: SweepPlot.label(x), yLabel: SweepPlot.label(y),
                             title: title ?? "\(y) vs \(x)\(group.map { " by \($0)" } ?? "")")
        if let out {
            try OutputFile.write(Data(plot.svg.utf8), to: out)
        }
        print(json ? try Terminal.json(series) : plot.markdown)
    }
}
