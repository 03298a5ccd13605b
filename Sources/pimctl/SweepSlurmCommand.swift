import ArgumentParser
import Foundation
import PIMExperiments
import PIMQAT

struct SweepSlurm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Print a Slurm job-array script that runs a spec as N shards, then the merge command.",
        discussion: """
            Every path in the script is absolute (this pimctl binary, the spec, the results \
            and logs, the working directory), so the nodes must see them on a shared file \
            system; each task checks that first. The prefix's directory is created if \
            missing. Task I runs shard I/N with --resume into PREFIX.shardI.jsonl and logs \
            to PREFIX.shardI.log (appended on resubmission); --shards is at most the spec's \
            number of runs. \
            A task that fails exits non-zero, so Slurm marks it FAILED; resubmit it (or the \
            whole array) and only its missing runs run. Tasks killed by a node failure are \
            requeued and resume the same way. A task refuses a spec edited after the script \
            was written.

            Examples:
              pimctl sweep slurm adc.yaml --shards 8 > adc.sbatch
              sbatch adc.sbatch
              sbatch --array=3 adc.sbatch                 # resubmit task 3 after a failure
              pimctl sweep merge adc.jsonl adc.shard{1..8}.jsonl --spec adc.yaml
              pimctl sweep slurm adc.yaml --shards 64 --max-running 16 --time 00:30:00 --mem 2G \\
                  --partition short --out /scratch/me/adc > adc.sbatch
            """)

    @Argument(help: "The sweep spec (YAML).") var spec: String
    @Option(help: "Number of shards (array tasks).") var shards: Int
    @Option(help: "Prefix of the shards' results and log files (default: the spec's path without .yaml).") var out: String?
    @Option(help: "Threads per task (--cpus-per-task).") var threads = 1
    @Option(help: "Time limit per task (Slurm syntax: MM, HH:MM:SS, D-HH:MM).") var time = "04:00:00"
    @Option(help: "Memory per task (Slurm syntax: 512M, 4G; default: the cluster's).") var mem: String?
    @Option(help: "Run at most this many tasks at once (--array=1-N%L).") var maxRunning: Int?
    @Option(help: "Slurm partition.") var partition: String?
    @Option(help: "Slurm account.") var account: String?
    @Option(help: "Job name (default: pimctl-SPEC).") var jobName: String?

    func run() throws {
        let spec = try SweepSpec(contentsOf: self.spec)
        let specPath = Self.absolute(self.spec)
        let script = SlurmScript(
            spec: specPath, specHash: spec.specHash, pointCount: spec.pointCount, runCount: spec.tasks.count, shards: shards,
            prefix: Self.absolute(out ?? (self.spec as NSString).deletingPathExtension), executable: ToolVersion.executablePath,
            directory: FileManager.default.currentDirectoryPath, threads: threads, time: time, memory: mem,
            maxRunning: maxRunning, partition: partition, account: account,
            jobName: jobName ?? "pimctl-" + ((specPath as NSString).lastPathComponent as NSString).deletingPathExtension)
        if let problem = script.problem { throw ValidationError(problem) }
        // Slurm does not create the log's directory; a task without one fails before it starts.
        let directory = (script.prefix as NSString).deletingLastPathComponent
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw SweepError("\(directory): cannot create the results directory (\((error as NSError).localizedDescription))")
        }
        print(script.text, terminator: "")
    }

    /// `path` made absolute against the working directory, `.` and `..` resolved.
    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true))
            .standardizedFileURL.path
    }
}
