import Foundation
@testable import PIMExperiments
import PIMQAT
import Testing
@testable import pimctl

/// A matmul sweep records the report's numbers under the keys `simulate --json` writes for the
/// same report, with their exact values.
struct SweepMetricNamesTests {
    @Test func sweepMetricNamesAreTheSimulateJSONKeys() throws {
        let chip = try ChipConfig(contentsOf: "\(PimctlRunner.packageRoot)/chips/cap-ram.yaml")
        let mapping = try chip.mapping(scheme: .chip, mode: nil, inputBits: 4, weightBits: 4)
        let operands = try MatmulSimulation.randomOperands(mapping: mapping, m: 4, k: 16, n: 4, seed: 0)
        let report = try MatmulSimulation(mapping: mapping, m: 4, k: 16, n: 4, operands: operands, seed: 0, chipSeed: 0, threads: 1)
            .run().report
        let excluded: Set<String> = ["seconds", "seed", "chip_seed"]
        let metrics = try SweepRunner.numericFields(of: report, excluding: excluded)
        let written = try JSONSerialization.jsonObject(with: Data(Terminal.json(report).utf8)) as? [String: Any] ?? [:]
        // The report has no Boolean fields: every JSON number is a metric (0 may read as a Bool here).
        let numeric = written.filter { !excluded.contains($0.key) && $0.value is NSNumber }
        #expect(Set(metrics.keys) == Set(numeric.keys), "\(metrics.keys.sorted()) vs \(numeric.keys.sorted())")
        #expect(metrics.count >= 18)
        // Exact values, not rounded by the JSON round trip.
        #expect(metrics["clip_rate_high"] == report.clipRateHigh)
        #expect(metrics["conversion_error_sigma_lsb"] == report.conversionErrorSigmaLSB)
        #expect(metrics["lsb_mac_units"] == report.lsbMACUnits)
        #expect(metrics["conversions"] == Double(report.conversions))
        #expect(metrics["latency_s"] == report.latencyS)
    }
}
