import Foundation
import PIMSim

/// Sweep results reduced to lines: one per group, a mean and a sample standard deviation over
/// the records (seeds, chip seeds) at each x.
public struct SweepSeries: Sendable, Codable {
    public struct Point: Sendable, Codable {
        public var x: Double
        /// The x value as written in the spec (text axes are plotted at their positions).
        public var label: String
        public var mean: Double
        public var std: Double
        public var count: Int
    }

    public var group: String
    public var points: [Point]

    /// Groups `records` by `group` (an axis, or none), then by `x` (an axis), averaging `y`
    /// (a metric, or an axis). Every other axis must be constant, or `filters` must fix it.
    /// - Throws: ``SweepError`` naming a missing field or an axis that still varies.
    public static func reduce(_ records: [SweepRecord], x: String, y: String, group: String?,
                              filters: [String: String] = [:]) throws -> [SweepSeries] {
        let selected = records.filter { record in filters.allSatisfy { record.values[$0.key]?.description == $0.value } }
        guard !selected.isEmpty else { throw SweepError("no record matches\(filters.isEmpty ? "" : " the filters")") }
        guard selected.allSatisfy({ $0.values[x] != nil }) else {
            throw SweepError("'\(x)' is not an axis of these results (axes: \(selected[0].values.keys.sorted().joined(separator: ", ")))")
        }
        if let group, !selected.allSatisfy({ $0.values[group] != nil }) {
            throw SweepError("'\(group)' is not an axis of these results (axes: \(selected[0].values.keys.sorted().joined(separator: ", ")))")
        }
        for axis in selected[0].values.keys where axis != x && axis != group {
            let distinct = Set(selected.compactMap { $0.values[axis]?.description })
            if distinct.count > 1 {
                throw SweepError("axis '\(axis)' takes \(distinct.count) values here; give it as --group, or fix one with --where \(axis)=VALUE")
            }
        }
        func value(_ record: SweepRecord) throws -> Double {
            if let metric = record.metrics[y] { return metric }
            if let numeric = record.values[y]?.numeric { return numeric }
            throw SweepError("'\(y)' is not a metric of record \(record.id) (metrics: \(record.metrics.keys.sorted().joined(separator: ", ")))")
        }
        // x positions: numbers as they are; text values at 0, 1, 2… in first-seen order.
        let xValues = selected.map { $0.values[x]! }
        let numericX = xValues.allSatisfy { $0.numeric != nil }
        var textOrder: [String] = []
        for v in xValues where !textOrder.contains(v.description) { textOrder.append(v.description) }
        var groups: [String] = []
        for record in selected {
            let name = group.map { record.values[$0]!.description } ?? y
            if !groups.contains(name) { groups.append(name) }
        }
        return try groups.map { name in
            let members = selected.filter { record in (group.map { record.values[$0]!.description } ?? y) == name }
            var byX: [String: (x: Double, values: [Double])] = [:]
            for record in members {
                let v = record.values[x]!
                let position = numericX ? v.numeric! : Double(textOrder.firstIndex(of: v.description)!)
                byX[v.description, default: (position, [])].values.append(try value(record))
            }
            let points = byX.map { label, entry in
                let mean = entry.values.reduce(0, +) / Double(entry.values.count)
                let variance = entry.values.count > 1
                    ? entry.values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(entry.values.count - 1) : 0
                return Point(x: entry.x, label: label, mean: mean, std: variance.squareRoot(), count: entry.values.count)
            }.sorted { $0.x < $1.x }
            return SweepSeries(group: name, points: points)
        }
    }
}

/// An SVG line plot of sweep series: mean lines, ± std bands, axes with ticks and labelled
/// units, a legend. Self-contained (no scripts or external fonts).
public struct SweepPlot: Sendable {
    public var series: [SweepSeries]
    public var xLabel: String
    public var yLabel: String
    public var title: String
    public var width = 720.0, height = 440.0

    public init(series: [SweepSeries], xLabel: String, yLabel: String, title: String) {
        self.series = series
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.title = title
    }

    /// The axis label of a field or metric, with its unit from the naming conventions.
    public static func label(_ name: String) -> String {
        let unit: String? = switch true {
        case name.hasSuffix("_lsb"): "LSB"
        case name.hasSuffix("_rel"): "relative"
        case name.hasSuffix("_decibels") || name.hasSuffix("_db"): "dB"
        case name.hasSuffix("_j"): "J"
        case name.hasSuffix("_s"): "s"
        case name.hasSuffix("_hz"): "Hz"
        case name.hasSuffix("bits"): "bits"
        case name.contains("accuracy"), name.contains("clip_rate"): "fraction"
        default: nil
        }
        return unit.map { "\(name) (\($0))" } ?? name
    }

    static let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]

    /// "Nice" tick values covering `low…high`.
    static func ticks(_ low: Double, _ high: Double, count: Int = 6) -> [Double] {
        guard high > low else { return [low] }
        let raw = (high - low) / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var ticks: [Double] = []
        var t = (low / step).rounded(.up) * step
        while t <= high + step * 1e-9 { ticks.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return ticks
    }

    static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 1e4 || abs(v) < 1e-3 { return String(format: "%.3g", v) }
        let text = String(format: "%.4f", v)
        return text.contains(".") ? String(text.reversed().drop { $0 == "0" }.drop { $0 == "." }.reversed()) : text
    }

    /// A group's name in the legend: checkpoint paths shown by file name without extension.
    static func legendLabel(_ group: String) -> String {
        guard group.hasSuffix(".safetensors") else { return group }
        return ((group as NSString).lastPathComponent as NSString).deletingPathExtension
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    public var svg: String {
        let all = series.flatMap(\.points)
        // The legend column is as wide as its longest label (about 7 px per character at 12 px).
        let legendWidth = Double(series.map { Self.legendLabel($0.group).count }.max() ?? 0) * 7
        let (left, right, top, bottom) = (80.0, max(120.0, 60 + legendWidth), 40.0, 60.0)
        let width = self.width + max(0, right - 170)
        let plotW = width - left - right, plotH = height - top - bottom
        var xLow = all.map(\.x).min() ?? 0, xHigh = all.map(\.x).max() ?? 1
        var yLow = all.map { $0.mean - $0.std }.min() ?? 0, yHigh = all.map { $0.mean + $0.std }.max() ?? 1
        if xHigh == xLow { xLow -= 0.5; xHigh += 0.5 }
        if yHigh == yLow { yLow -= 0.5; yHigh += 0.5 }
        let pad = (yHigh - yLow) * 0.05
        (yLow, yHigh) = (yLow - pad, yHigh + pad)
        func px(_ x: Double) -> Double { left + (x - xLow) / (xHigh - xLow) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - yLow) / (yHigh - yLow)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.2f", v) }
        var out = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(f(left + plotW / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(Self.escape(title))</text>",
        ]
        // Grid and ticks.
        let textX = series.first?.points.contains { Double($0.label) == nil } ?? false
        let xTicks: [(Double, String)] = textX
            ? (series.first?.points ?? []).map { ($0.x, $0.label) }
            : Self.ticks(xLow, xHigh).map { ($0, Self.format($0)) }
        for (x, label) in xTicks {
            out.append("<line x1=\"\(f(px(x)))\" y1=\"\(f(top))\" x2=\"\(f(px(x)))\" y2=\"\(f(top + plotH))\" stroke=\"#e5e5e5\"/>")
            out.append("<text x=\"\(f(px(x)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(Self.escape(label))</text>")
        }
        for y in Self.ticks(yLow, yHigh) {
            out.append("<line x1=\"\(f(left))\" y1=\"\(f(py(y)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(py(y)))\" stroke=\"#e5e5e5\"/>")
            out.append("<text x=\"\(f(left - 8))\" y=\"\(f(py(y) + 4))\" text-anchor=\"end\">\(Self.format(y))</text>")
        }
        out.append("<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"black\"/>")
        out.append("<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 16))\" text-anchor=\"middle\">\(Self.escape(xLabel))</text>")
        out.append("<text transform=\"translate(18 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))</text>")
        // Bands, lines and markers per series; data attributes carry the numbers.
        for (i, s) in series.enumerated() {
            let colour = Self.colours[i % Self.colours.count]
            let upper = s.points.map { "\(f(px($0.x))),\(f(py($0.mean + $0.std)))" }
            let lower = s.points.reversed().map { "\(f(px($0.x))),\(f(py($0.mean - $0.std)))" }
            out.append("<g class=\"series\" data-group=\"\(Self.escape(s.group))\">")
            if s.points.contains(where: { $0.std > 0 }) {
                out.append("<polygon points=\"\((upper + lower).joined(separator: " "))\" fill=\"\(colour)\" fill-opacity=\"0.18\" stroke=\"none\"/>")
            }
            out.append("<polyline points=\"\(s.points.map { "\(f(px($0.x))),\(f(py($0.mean)))" }.joined(separator: " "))\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>")
            for p in s.points {
                out.append("<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.mean)))\" r=\"3\" fill=\"\(colour)\" data-x=\"\(Self.escape(p.label))\" data-mean=\"\(p.mean)\" data-std=\"\(p.std)\"><title>\(Self.escape(s.group)) at \(Self.escape(p.label)): \(Self.format(p.mean)) ± \(Self.format(p.std)) (n = \(p.count))</title></circle>")
            }
            out.append("</g>")
            let ly = top + 10 + Double(i) * 20
            out.append("<line x1=\"\(f(left + plotW + 14))\" y1=\"\(f(ly))\" x2=\"\(f(left + plotW + 38))\" y2=\"\(f(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"/>")
            out.append("<text x=\"\(f(left + plotW + 44))\" y=\"\(f(ly + 4))\">\(Self.escape(Self.legendLabel(s.group)))</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// The same numbers as a Markdown table: one row per x, one column per group.
    public var markdown: String {
        var xs: [(Double, String)] = []
        for p in series.flatMap(\.points) where !xs.contains(where: { $0.1 == p.label }) { xs.append((p.x, p.label)) }
        xs.sort { $0.0 < $1.0 }
        var lines = ["| \(Self.escape(xLabel)) | " + series.map { "\($0.group): \(yLabel)" }.joined(separator: " | ") + " |",
                     "|---|" + series.map { _ in "---|" }.joined()]
        for (_, label) in xs {
            let cells = series.map { s in
                s.points.first { $0.label == label }.map { "\(Self.format($0.mean)) ± \(Self.format($0.std))" } ?? ""
            }
            lines.append("| \(label) | " + cells.joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n")
    }
}
