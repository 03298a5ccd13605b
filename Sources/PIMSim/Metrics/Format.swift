import Foundation

/// Number and table formatting for people (JSON output never goes through here).
package enum Format {
    /// A value with an SI prefix and unit: `573.44 GOPS`, `20.26 fJ`, `70 MHz`.
    package static func si(_ value: Double, _ unit: String, digits: Int = 4) -> String {
        guard value.isFinite, value != 0 else { return "\(value) \(unit)" }
        let prefixes: [(Double, String)] = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, ""),
                                            (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"), (1e-18, "a")]
        let magnitude = abs(value)
        let (scale, prefix) = prefixes.first { magnitude >= $0.0 * 0.9995 } ?? prefixes.last!
        return "\(number(value / scale, digits: digits)) \(prefix)\(unit)"
    }

    /// A number with at most `digits` significant digits and no trailing zeros.
    package static func number(_ value: Double, digits: Int = 4) -> String {
        guard value.isFinite else { return "\(value)" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        let magnitude = value == 0 ? 0 : Int(floor(log10(abs(value))))
        let decimals = max(0, digits - 1 - magnitude)
        var text = String(format: "%.\(decimals)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// A converter resolution: "5-bit", or "5.36-bit" between whole bits.
    package static func bits(_ bits: Double) -> String { "\(number(bits, digits: 3))-bit" }

    package static func percent(_ fraction: Double) -> String { "\(number(fraction * 100, digits: 3)) %" }

    /// A left-aligned text table with a header row.
    package static func table(_ header: [String], _ rows: [[String]], indent: String = "  ") -> String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            let padded = cells.enumerated().map { index, cell in
                index == cells.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }
            return indent + padded.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
