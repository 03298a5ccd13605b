import ArgumentParser
import Foundation
import PIMQAT

extension Chips {
    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print chips side by side: geometry, precision, ADC, noise, derived and reported throughput and efficiency, reported accuracy.",
            discussion: """
                Derived figures come from each file's parameters (as `chips show` explains them); \
                reported ones are the paper's, each in the chip's own operations (2 per MAC of its \
                operands). A dash marks a figure the file does not give.

                Examples:
                  pimctl chips compare cap-ram jia-jssc2020 wang-vlsi2022
                  pimctl chips compare cap-ram chips/my-chip.yaml --json
                """)

        @Argument(help: "Chips: preset ids or YAML files.") var chips: [String]
        @Flag(help: "Print JSON (one record per chip) instead of a table.") var json = false

        func validate() throws {
            guard chips.count >= 2 else { throw ValidationError("give at least two chips to compare") }
        }

        func run() throws {
            let catalog = ChipCatalog.standard()
            let summaries = try chips.map { ChipSummary(try catalog.load($0).0) }
            if json {
                print(try Terminal.json(summaries))
                return
            }
            func bits(_ list: [Int]) -> String {
                guard let low = list.min(), let high = list.max() else { return "–" }
                return list.count == high - low + 1 ? (low == high ? "\(low)" : "\(low)–\(high)") : list.map(String.init).joined(separator: ",")
            }
            func figure(_ value: Double?, _ unit: String) -> String { value.map { Format.si($0, unit) } ?? "–" }
            let rows: [(String, (ChipSummary) -> String)] = [
                ("year", { $0.year.map(String.init) ?? "–" }),
                ("node", { $0.nodeNm.map { "\(Format.number($0)) nm" } ?? "–" }),
                ("supply", { $0.supplyV.map { "\(Format.number($0)) V" } ?? "–" }),
                ("memory / domain", { "\($0.memory) / \($0.domain)" }),
                ("array", { "\($0.rows) × \($0.cols), \($0.inputsPerConversion) per conversion" }),
                ("input bits", { "\(bits($0.inputBits)) \($0.inputEncoding), \($0.inputBitsPerCycle) per cycle" }),
                ("weight bits", { "\(bits($0.weightBits)), \($0.encodings.joined(separator: ", "))" }),
                ("ADC", { "\($0.adcCount) × " + ($0.adcBits.map { "\($0)-bit " } ?? "lossless ") + $0.adcType }),
                ("noise", { "\(Format.number($0.noiseSigmaLSB)) LSB" }),
                ("clock", { Format.si($0.clockHz, "Hz") }),
                ("peak (derived)", { Format.si($0.peakThroughputOpsPerS, "OPS") }),
                ("peak (reported)", { figure($0.reportedPeakThroughputOpsPerS, "OPS") }),
                ("efficiency (derived)", { $0.efficiencyOpsPerJ.map { Format.si($0, "OPS/W") } ?? "not modelled" }),
                ("efficiency (reported)", { figure($0.reportedEfficiencyOpsPerJ, "OPS/W") }),
                ("accuracy (reported)", { s in
                    s.reportedAccuracy.isEmpty ? "–" : s.reportedAccuracy.map { "\($0.dataset) \(Format.percent($0.top1))" }.joined(separator: "; ")
                }),
                ("project defaults", { "\($0.defaultedFields) field(s)" }),
            ]
            print(Format.table([""] + summaries.map(\.id), rows.map { name, value in [name] + summaries.map(value) }, indent: ""))
        }
    }
}
