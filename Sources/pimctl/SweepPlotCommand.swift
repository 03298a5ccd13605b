import ArgumentParser
import Foundation
import PIMExperiments
import PIMQAT

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
