import Foundation
import Testing
@testable import PIMSim

/// Weights whose bit cells are combined in the analog domain before one conversion (binary
/// capacitors, a C-2C ladder): one slice per weight, and a static ratio error per output row
/// and bit position.
@Suite("Analog weight recombination")
struct AnalogRecombinationTests {
    static func chip(ratioMismatch: Double) throws -> ChipConfig {
        try ChipConfig(yaml: """
            meta: {id: analog-bits, title: Analog bits}
            memory: {type: sram, bits_per_device: 1}
            array: {rows: 16, cols: 64, inputs_per_conversion: 16}
            inputs: {supported_bits: [4], dac: {type: pulse_count, bits: 4}, bits_per_cycle: all}
            weights: {supported_bits: [4], encodings: [twos_complement], bits_per_cell: 1, recombine: analog, bit_ratio_mismatch_rel: \(ratioMismatch)}
            adc: {type: ideal, count: 4, signed: true}
            timing: {clock_hz: 1.0e8}
            """, file: "analog-bits.yaml")
    }

    /// Rows of weights 1, 2, 4, −8 (one bit each) and 3 = 1 + 2: each single-bit weight is
    /// off by its bit position's δ with σ as configured, the sign bit counts negative, and a
    /// two-bit weight is the sum of its bits' analog weights in the same row.
    @Test func eachBitPositionCarriesItsOwnRatioError() throws {
        let sigma = 0.02
        let chip = try Self.chip(ratioMismatch: sigma)
        let mapping = try chip.mapping(inputBits: 4, weightBits: 4)
        #expect(mapping.decomposition.slices.count == 1 && mapping.decomposition.conversionsPerGroup == 1)
        let rows = 2000
        let pattern: [Int32] = [1, 2, 4, -8, 3]
        let weights = (0..<rows).flatMap { _ in pattern }
        let layer = try ProgrammedLayer(mapping: mapping, weights: weights, outputs: rows, fanIn: pattern.count, chipSeed: 11)
        let cells = layer.matrices[0]
        for (column, weight) in pattern.prefix(4).enumerated() {
            let errors = (0..<rows).map { Double(cells[$0 * pattern.count + column]) / Double(weight) - 1 }
            let mean = errors.reduce(0, +) / Double(rows)
            let sd = (errors.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rows - 1)).squareRoot()
            #expect(abs(mean) < 4 * sigma / Double(rows).squareRoot(), "weight \(weight): mean \(mean)")
            #expect(abs(sd / sigma - 1) < 0.1, "weight \(weight): σ \(sd)")
        }
        for row in 0..<rows {
            let base = row * pattern.count
            #expect(abs(cells[base + 4] - (cells[base] + cells[base + 1])) < 1e-5)
        }
        // Another chip instance draws other ratios; switching static cell errors off restores exact digits.
        let other = try ProgrammedLayer(mapping: mapping, weights: weights, outputs: rows, fanIn: pattern.count, chipSeed: 12)
        #expect(other.matrices[0] != cells)
        let exact = try ProgrammedLayer(mapping: chip.mapping(inputBits: 4, weightBits: 4, nonIdealities: .none),
                                        weights: weights, outputs: rows, fanIn: pattern.count, chipSeed: 11)
        #expect(exact.matrices[0] == weights.map(Float.init))
    }

    @Test func analogRecombinationNeedsAWidthAndMismatchNeedsAnalogRecombination() {
        let wholeCells = """
            meta: {id: a, title: A}
            memory: {type: sram}
            array: {rows: 16, cols: 64, inputs_per_conversion: 16}
            inputs: {supported_bits: [4], dac: {type: pulse_count, bits: 4}, bits_per_cycle: all}
            weights: {supported_bits: [4], encodings: [twos_complement], bits_per_cell: all, recombine: analog}
            adc: {type: ideal, count: 4, signed: true}
            timing: {clock_hz: 1.0e8}
            """
        let error = #expect(throws: ConfigError.self) { try ChipConfig(yaml: wholeCells, file: "a.yaml") }
        #expect(error?.description.hasPrefix("a.yaml:5:") == true && error?.description.contains("weights.bits_per_cell") == true, "\(String(describing: error))")
        let digital = wholeCells.replacingOccurrences(of: "bits_per_cell: all, recombine: analog", with: "bits_per_cell: 1, bit_ratio_mismatch_rel: 0.01")
        let second = #expect(throws: ConfigError.self) { try ChipConfig(yaml: digital, file: "a.yaml") }
        #expect(second?.description.contains("weights.bit_ratio_mismatch_rel: bit-ratio mismatch needs recombine: analog") == true, "\(String(describing: second))")
    }
}
