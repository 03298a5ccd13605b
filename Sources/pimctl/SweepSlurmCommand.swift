import ArgumentParser
import Foundation
import PIMExperiments
import PIMQAT

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
