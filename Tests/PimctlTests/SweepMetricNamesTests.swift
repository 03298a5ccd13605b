import Foundation
import PIMQAT
import Testing
@testable import pimctl

/// A matmul sweep records the report's numbers from its fields (exact values; a JSON round
/// trip would round their last digits) under its own snake_case names: they must be the keys
/// `simulate --json` writes for the same report.
struct SweepMetricNamesTests {
    @Test func sweepMetricNamesAreTheSimulateJSONKeys() throws {
        let chip = try ChipConfig(contentsOf: "\(PimctlRunner.packageRoot)/chips/cap-ram.yaml")
        let mapping = try chip.mapping(scheme: .chip, mode: nil, inputBits: 4, weightBits: 4)
        let operands = try MatmulSimulation.randomOperands(mapping: mapping, m: 4, k: 16, n: 4, seed: 0)
        let report = try MatmulSimulation(mapping: mapping, m: 4, k: 16, n: 4, operands: operands, seed: 0, chipSeed: 0, threads: 1)
            .run().report
        let keys = Set((try JSONSerialization.jsonObject(with: Data(Terminal.json(report).utf8)) as? [String: Any] ?? [:]).keys)
        var checked = 0
        for child in Mirror(reflecting: report).children {
            let label = try #require(child.label)
            if let optional = child.value as? OptionalProtocolProbe, optional.isNil { continue }  // nil fields are not written
            #expect(keys.contains(SweepRunner.snakeCase(label)), "\(label) → \(SweepRunner.snakeCase(label)) is not among \(keys.sorted())")
            checked += 1
        }
        #expect(checked > 20 && checked == keys.count)
    }
}

/// Tells a nil optional inside `Any` apart.
private protocol OptionalProtocolProbe { var isNil: Bool { get } }
extension Optional: OptionalProtocolProbe { var isNil: Bool { self == nil } }
