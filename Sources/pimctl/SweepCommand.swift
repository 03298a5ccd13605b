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
