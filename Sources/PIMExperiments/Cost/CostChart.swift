import Foundation
import PIMSim

/// Per-layer bars of one inference's latency and energy (``NetworkCost``) as SVG: one row per
/// layer, latency on the left, energy on the right (when the chip file prices any), the
/// longest bar the largest layer, each label the value and its share of the total.
public struct CostChart: Sendable {
    public var cost: NetworkCost
    public var title: String

    public init(cost: NetworkCost, title: String) {
        self.cost = cost
        self.title = title
    }

    public var svg: String {
        let layers = cost.layers
        let nameWidth = Double(max(6, layers.map(\.name.count).max() ?? 0)) * 7 + 20
        let barWidth = 260.0, rowHeight = 22.0, top = 56.0
        let panels: [(title: String, values: [Double], unit: String)] = [("latency", layers.map(\.latencyS), "s")]
            + (cost.energyJ > 0 ? [("energy", layers.map(\.placement.energyJ), "J")] : [])
        let width = nameWidth + Double(panels.count) * (barWidth + 130) + 10
        let height = top + Double(layers.count) * rowHeight + 40
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"10\" y=\"20\" font-size=\"14\">\(SweepPlot.escape(title))</text>",
        ]
        for (index, panel) in panels.enumerated() {
            let x0 = nameWidth + Double(index) * (barWidth + 130)
            let total = panel.values.reduce(0, +), largest = panel.values.max() ?? 0
            out.append("<text x=\"\(f(x0))\" y=\"\(f(top - 12))\">\(panel.title) per inference: \(SweepPlot.escape(Format.si(total, panel.unit)))</text>")
            for (row, value) in panel.values.enumerated() {
                let y = top + Double(row) * rowHeight
                let length = largest > 0 ? value / largest * barWidth : 0
                out.append("<rect x=\"\(f(x0))\" y=\"\(f(y))\" width=\"\(f(length))\" height=\"\(f(rowHeight - 6))\" fill=\"\(index == 0 ? "#4477aa" : "#cc6677")\"/>")
                let share = total > 0 ? " (\(Format.percent(value / total)))" : ""
                out.append("<text x=\"\(f(x0 + length + 4))\" y=\"\(f(y + rowHeight - 10))\">\(SweepPlot.escape(Format.si(value, panel.unit) + share))</text>")
            }
        }
        for (row, layer) in layers.enumerated() {
            out.append("<text x=\"10\" y=\"\(f(top + Double(row) * rowHeight + rowHeight - 10))\">\(SweepPlot.escape(layer.name))</text>")
        }
        out.append("<text x=\"10\" y=\"\(f(height - 14))\" fill=\"#555\">\(SweepPlot.escape("\(cost.chip), layer by layer on \(cost.arrays) array(s); energy from the chip file's figures only"))</text>")
        out.append("</svg>")
        return out.joined(separator: "\n")
    }
}
