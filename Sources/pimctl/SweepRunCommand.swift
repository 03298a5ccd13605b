import ArgumentParser
import Foundation
import PIMExperiments
import PIMQAT

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
    @Option(help: "Refuse to run unless the spec's hash is this one (job scripts pass the hash they were written for).")
    var specHash: String?
    @Flag(help: "Print a JSON summary at the end.") var json = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard !(resume && overwrite) else { throw ValidationError("give --resume or --overwrite, not both") }
    }

    func run() throws {
        let spec = try SweepSpec(contentsOf: self.spec)
        if let specHash, specHash != spec.specHash {
            throw SweepError("\(self.spec): the spec changed since the job script was written (hash \(spec.specHash), the script's \(specHash)); write the script again, or restore the spec")
        }
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
