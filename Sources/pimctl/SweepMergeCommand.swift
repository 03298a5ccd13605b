import ArgumentParser
import Foundation
import PIMExperiments
import PIMQAT

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
