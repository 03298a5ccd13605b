import Foundation
import Testing
@testable import PIMSim

/// Derived-vs-reported checks of the published presets: each derived figure comes from the
/// chip file's parameters, each reported one from a different table or figure of the paper,
/// so agreement tests the file's numbers against the paper, not against themselves.
@Suite("Published chip presets")
struct PublishedChipTests {
    static func preset(_ id: String) throws -> ChipConfig {
        try ChipConfig(contentsOf: "\(packageRoot)/chips/\(id).yaml")
    }

    /// Jia et al. JSSC 2020, 1.2 V: the peak from the array, ADC count, clock and cycles per
    /// conversion (256 × 2304 × 2 × 100 MHz / 54) against Table II's 2.185 1b-TOPS.
    @Test func jiaPeakThroughputMatchesTableII() throws {
        let chip = try Self.preset("jia-jssc2020")
        let figures = chip.figures()
        #expect(abs(figures.peakThroughputOpsPerS / (256 * 2304 * 2 * 100e6 / 54) - 1) < 1e-12)
        let check = try #require(figures.checks.first { $0.name == "peak_throughput_ops_per_s" })
        #expect(abs(check.ratio - 1) < 0.001, "derived/reported \(check.ratio)")
    }

    /// Jia et al.: the efficiency from the per-block energies of one column operation (ADC
    /// 3.56 pJ, CIM array 20.4 pJ over 2304 rows) against Table II's 192 1b-TOPS/W.
    @Test func jiaEfficiencyFromBlockEnergiesMatchesTableII() throws {
        let chip = try Self.preset("jia-jssc2020")
        let figures = chip.figures()
        let energyPerOp = try #require(figures.energyPerOpJ)
        #expect(abs(energyPerOp - (3.56e-12 + 20.4e-12) / (2 * 2304)) < 1e-18)
        let check = try #require(figures.checks.first { $0.name == "energy_efficiency_ops_per_j" })
        #expect(abs(check.ratio - 1) < 0.005, "derived/reported \(check.ratio)")
    }

    /// Jia et al.: one conversion at 1-bit inputs and weights covers 2304 rows, so an 8-bit
    /// column conversion (2305 levels in 256 codes) has an LSB of 2304/255 MAC units.
    @Test func jiaConvertsAColumnOfOneBitProducts() throws {
        let chip = try Self.preset("jia-jssc2020")
        let mapping = try chip.mapping(inputBits: 1, weightBits: 1)
        #expect(mapping.decomposition.partialSumRange == 0...2304)
        let lsb = try #require(mapping.adc.lsb(reachable: mapping.decomposition.partialSumRange))
        #expect(abs(lsb - 2304.0 / 255) < 1e-9)
    }

    /// Wang et al. VLSI 2022 / JSSC 2023, 0.7 V: the peak from a 6.9 ns cycle (16 outputs × 64
    /// rows × 2 per cycle) against Table III's 0.3 TOPS, within the 1 % the cycle time's
    /// rounding leaves.
    @Test func wangPeakThroughputMatchesTableIII() throws {
        let chip = try Self.preset("wang-vlsi2022")
        let figures = chip.figures()
        #expect(abs(figures.peakThroughputOpsPerS / (16 * 64 * 2 * 145e6) - 1) < 1e-12)
        let check = try #require(figures.checks.first { $0.name == "peak_throughput_ops_per_s" })
        #expect(abs(check.ratio - 1) < 0.015, "derived/reported \(check.ratio)")
        // 8-bit weights in one compute unit: one conversion per output and input cycle.
        let mapping = try chip.mapping(inputBits: 8, weightBits: 8)
        #expect(mapping.decomposition.slices.count == 1 && mapping.decomposition.inputCycles == 1)
    }
}
