import ArgumentParser
import Foundation
import PIMExperiments
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
        let runner = SweepRunner(spec: spec, threads: threads, networks: out + ".networks")
        let bar = ProgressBar(label: "sweep")
        let summary = try runner.run(out: out, shard: shard.map { ($0.index, $0.count) },
                                     existing: resume ? .resume : overwrite ? .overwrite : .refuse) { done, total, id in
            bar.update(done, of: total, detail: id)
        }
        bar.finish()
        if json {
            print(try Terminal.json(summary))
        } else {
            print("\(self.spec): \(summary.points) points, \(summary.runs) runs\(shard.map { " in shard \($0)" } ?? ""); ran \(summary.ran), kept \(summary.kept) → \(out)")
        }
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
