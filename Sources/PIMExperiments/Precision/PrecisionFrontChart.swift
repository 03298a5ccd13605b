import Foundation
import PIMSim

/// A precision search's accuracy–energy plane as SVG: the predicted front (grey line), the
/// fine-tuned candidates on the validation examples (mean ± std over chip instances as error
/// bars), the uniform plan as a square and the chosen plan ringed.
public struct PrecisionFrontChart: Sendable {
    public var result: PrecisionSearchResult
    public var title: String

    public init(result: PrecisionSearchResult, title: String) {
        self.result = result
        self.title = title
    }

    public var svg: String {
        let width = 720.0, height = 440.0, left = 70.0, right = 90.0, top = 40.0, bottom = 76.0
        let candidates = result.state.candidates.filter { $0.validation != nil }
        let energies = result.front.map(\.energyJ) + candidates.map(\.energyJ)
        let accuracies = result.front.map(\.predictedAccuracy)
            + candidates.flatMap { [$0.validation!.mean - $0.validation!.std, $0.validation!.mean + $0.validation!.std] }
        guard let eLow = energies.min(), let eHigh = energies.max(), let aLow = accuracies.min(), let aHigh = accuracies.max() else {
            return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"200\" height=\"40\"><text x=\"10\" y=\"20\">nothing measured</text></svg>"
        }
        // Energies in nJ, accuracies in %, each axis the data's span and 5 % more on both sides.
        func span(_ low: Double, _ high: Double) -> (Double, Double) {
            let pad = high > low ? (high - low) * 0.05 : max(abs(low) * 0.05, 0.5)
            return (low - pad, high + pad)
        }
        let (xLow, xHigh) = span(eLow * 1e9, eHigh * 1e9), (yLow, yHigh) = span(aLow * 100, aHigh * 100)
        let xTicks = SweepPlot.ticks(xLow, xHigh), yTicks = SweepPlot.ticks(yLow, yHigh)
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ joules: Double) -> Double { left + (joules * 1e9 - xLow) / (xHigh - xLow) * plotW }
        func py(_ accuracy: Double) -> Double { top + (1 - (accuracy * 100 - yLow) / (yHigh - yLow)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"10\" y=\"20\" font-size=\"14\">\(SweepPlot.escape(title))</text>",
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#999\"/>",
        ]
        for tick in xTicks {
            let x = left + (tick - xLow) / (xHigh - xLow) * plotW
            out.append("<line x1=\"\(f(x))\" y1=\"\(f(top + plotH))\" x2=\"\(f(x))\" y2=\"\(f(top + plotH + 5))\" stroke=\"#999\"/>")
            out.append("<text x=\"\(f(x))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(SweepPlot.format(tick))</text>")
        }
        for tick in yTicks {
            let y = top + (1 - (tick - yLow) / (yHigh - yLow)) * plotH
            out.append("<line x1=\"\(f(left - 5))\" y1=\"\(f(y))\" x2=\"\(f(left))\" y2=\"\(f(y))\" stroke=\"#999\"/>")
            out.append("<text x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(SweepPlot.format(tick))</text>")
        }
        out.append("<text x=\"\(f(left + plotW / 2))\" y=\"\(f(top + plotH + 34))\" text-anchor=\"middle\">energy per inference (nJ)</text>")
        out.append("<text x=\"16\" y=\"\(f(top + plotH / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(f(top + plotH / 2)))\">validation accuracy on chip (%)</text>")
        let line = result.front.map { "\(f(px($0.energyJ))),\(f(py($0.predictedAccuracy)))" }.joined(separator: " ")
        out.append("<polyline points=\"\(line)\" fill=\"none\" stroke=\"#bbbbbb\" stroke-width=\"2\"/>")
        for point in result.front {
            out.append("<circle cx=\"\(f(px(point.energyJ)))\" cy=\"\(f(py(point.predictedAccuracy)))\" r=\"2.5\" fill=\"#bbbbbb\"/>")
        }
        for candidate in candidates {
            let x = px(candidate.energyJ), v = candidate.validation!
            let colour = candidate.label == "uniform" ? "#4477aa" : "#cc6677"
            out.append("<line x1=\"\(f(x))\" y1=\"\(f(py(v.mean - v.std)))\" x2=\"\(f(x))\" y2=\"\(f(py(v.mean + v.std)))\" stroke=\"\(colour)\"/>")
            if candidate.label == "uniform" {
                out.append("<rect x=\"\(f(x - 5))\" y=\"\(f(py(v.mean) - 5))\" width=\"10\" height=\"10\" fill=\"\(colour)\"/>")
            } else {
                out.append("<circle cx=\"\(f(x))\" cy=\"\(f(py(v.mean)))\" r=\"5\" fill=\"\(colour)\"/>")
            }
            if candidate.label == result.state.chosen {
                out.append("<circle cx=\"\(f(x))\" cy=\"\(f(py(v.mean)))\" r=\"9\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>")
            }
            out.append("<text x=\"\(f(x + 8))\" y=\"\(f(py(v.mean) - 8))\">\(SweepPlot.escape(candidate.label))</text>")
        }
        out.append("<text x=\"10\" y=\"\(f(height - 22))\" fill=\"#555\">\(SweepPlot.escape("grey: the front predicted from single-layer sensitivities (before fine-tuning)"))</text>")
        out.append("<text x=\"10\" y=\"\(f(height - 6))\" fill=\"#555\">\(SweepPlot.escape("blue square: uniform; red: plans fine-tuned alike (± std over chip instances); ring: chosen"))</text>")
        out.append("</svg>")
        return out.joined(separator: "\n")
    }
}
