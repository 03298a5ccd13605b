import Foundation

/// A Slurm job-array script that runs a sweep spec as `shards` array tasks, one shard each.
///
/// Every path in the script is absolute (the binary, the spec, the results, the logs, the
/// working directory), so every node runs the same files; the nodes must see them on a
/// shared file system, and the script checks that first. Each task resumes its shard's
/// results file, so resubmitting a task (or the whole array), or Slurm requeueing one after
/// a node failure, loses and repeats nothing. The task's exit code is pimctl's, so Slurm marks
/// a task that fails FAILED.
public struct SlurmScript: Sendable {
    /// The spec's absolute path.
    public var spec: String
    /// The spec's hash at writing time: a task refuses to run a spec edited since.
    public var specHash: String
    public var pointCount: Int
    public var runCount: Int
    public var shards: Int
    /// Absolute path prefix of the results: `PREFIX.shardI.jsonl`, logs `PREFIX.shardI.log`,
    /// merged `PREFIX.jsonl`.
    public var prefix: String
    /// The pimctl binary every task runs (absolute).
    public var executable: String
    /// The tasks' working directory (absolute).
    public var directory: String
    /// Worker threads per task (`--cpus-per-task`).
    public var threads: Int
    /// Wall-time limit per task, in Slurm's syntax (`MM`, `HH:MM:SS`, `D-HH`, …).
    public var time: String
    /// Memory per task in Slurm's syntax (`512M`, `4G`); nil leaves the cluster's default.
    public var memory: String?
    /// At most this many tasks at once (`--array=1-N%L`); nil for no limit.
    public var maxRunning: Int?
    public var partition: String?
    public var account: String?
    public var jobName: String

    public init(spec: String, specHash: String, pointCount: Int, runCount: Int, shards: Int, prefix: String,
                executable: String, directory: String, threads: Int, time: String, memory: String?,
                maxRunning: Int?, partition: String?, account: String?, jobName: String) {
        self.spec = spec
        self.specHash = specHash
        self.pointCount = pointCount
        self.runCount = runCount
        self.shards = shards
        self.prefix = prefix
        self.executable = executable
        self.directory = directory
        self.threads = threads
        self.time = time
        self.memory = memory
        self.maxRunning = maxRunning
        self.partition = partition
        self.account = account
        self.jobName = jobName
    }

    /// The results file of shard `index` (1-based).
    public func shardFile(_ index: Int) -> String { "\(prefix).shard\(index).jsonl" }

    /// The merged results file.
    public var mergedFile: String { "\(prefix).jsonl" }

    /// The command (bash) that joins the shards after the array has finished.
    public var mergeCommand: String {
        let shardFiles = shards == 1 ? Self.quoted(shardFile(1)) : "\(Self.quoted(prefix)).shard{1..\(shards)}.jsonl"
        return [Self.quoted(executable), "sweep", "merge", Self.quoted(mergedFile), shardFiles, "--spec", Self.quoted(spec)].joined(separator: " ")
    }

    /// The first problem with the settings, if any: more shards than runs (tasks with nothing
    /// to do), relative paths (they would differ between nodes), and values an `#SBATCH` line
    /// cannot hold (whitespace, `#`).
    public var problem: String? {
        guard shards >= 1, threads >= 1 else { return "--shards and --threads must be positive" }
        guard shards <= runCount else { return "--shards \(shards) is more than the spec's \(runCount) runs" }
        if let maxRunning, maxRunning < 1 { return "--max-running must be at least 1" }
        for (name, path) in [("spec", spec), ("results prefix", prefix), ("pimctl binary", executable), ("working directory", directory)] {
            guard path.hasPrefix("/") else { return "the \(name) path \(path) is not absolute" }
        }
        let directives: [(String, String?)] = [("results prefix", prefix), ("working directory", directory), ("time", time), ("memory", memory),
                                               ("partition", partition), ("account", account), ("job name", jobName)]
        for case let (name, value?) in directives {
            if value.isEmpty { return "the \(name) is empty" }
            if value.contains(where: { $0.isWhitespace || $0 == "#" }) { return "the \(name) '\(value)' holds whitespace or '#', which an #SBATCH line cannot" }
        }
        return nil
    }

    /// The script's text.
    public var text: String {
        let array = "1-\(shards)" + (maxRunning.map { "%\($0)" } ?? "")
        var directives = [
            "--job-name=\(jobName)",
            "--array=\(array)",
            "--ntasks=1",
            "--cpus-per-task=\(threads)",
            "--time=\(time)",
        ]
        if let memory { directives.append("--mem=\(memory)") }
        if let partition { directives.append("--partition=\(partition)") }
        if let account { directives.append("--account=\(account)") }
        directives += [
            "--chdir=\(directory)",
            "--output=\(prefix).shard%a.log",
            "--open-mode=append",
            "--requeue",
        ]
        let q = Self.quoted
        return """
            #!/bin/bash
            # pimctl sweep: \(pointCount) points, \(runCount) runs of \(spec) (spec \(specHash)) in \(shards) shards.
            #   submit:      sbatch THIS_SCRIPT
            #   resubmit:    sbatch --array=3,5 THIS_SCRIPT   (failed or cancelled tasks; finished runs are kept)
            #   afterwards:  \(mergeCommand)
            # Every node must see the paths below (a shared file system). Each task resumes its
            # shard's results file, so a resubmitted or requeued task only runs what is missing.
            \(directives.map { "#SBATCH \($0)" }.joined(separator: "\n"))
            set -euo pipefail
            pimctl=\(q(executable))
            spec=\(q(spec))
            for file in "$pimctl" "$spec"; do
              if [ ! -r "$file" ]; then
                echo "pimctl sweep: $file cannot be read on $(hostname); the binary and the spec must be on a file system every node sees" >&2
                exit 66
              fi
            done
            task="${SLURM_ARRAY_TASK_ID:?run this script with sbatch: it is a Slurm job array}"
            echo "pimctl sweep: shard ${task}/\(shards), job ${SLURM_ARRAY_JOB_ID:-?}_${task} on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
            exec "$pimctl" sweep run "$spec" --shard "${task}/\(shards)" --threads \(threads) --resume \\
                --spec-hash \(specHash) --out \(q(prefix)).shard"${task}".jsonl

            """
    }

    /// `text` in single quotes for a POSIX shell (unless it needs none).
    static func quoted(_ text: String) -> String {
        if !text.isEmpty, text.allSatisfy({ $0.isLetter || $0.isNumber || "/._-+=:@%,".contains($0) }) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
