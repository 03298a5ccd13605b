import Foundation
@testable import PIMExperiments
import Testing

/// The predicted front of a precision search on a hand-worked case.
@Suite("Precision search front")
struct PrecisionFrontTests {
    static func option(_ w: Int, _ energy: Double, _ delta: Double) -> PrecisionSearch.LayerOption {
        .init(precision: LayerPrecision(weightBits: w, inputBits: 4), energyJ: energy, delta: delta)
    }

    /// Layer a: (1 J, −0.10), (2 J, −0.02), (3 J, 0) on its hull at rates 0.08 and 0.02 per J;
    /// (4 J, −0.01) is dearer and worse than (3 J, 0), and (2 J, −0.05) worse at the same energy.
    /// Layer b: (1 J, −0.05), (2 J, −0.045), (3 J, 0): the middle one lies below the chord, so
    /// b's hull is one step at 0.025 per J. The steps in order of accuracy per joule are a's
    /// first (0.08), b's (0.025), a's second (0.02): four plans.
    @Test func handWorkedFront() {
        let options: [String: [PrecisionSearch.LayerOption]] = [
            "a": [Self.option(8, 4, -0.01), Self.option(2, 1, -0.10), Self.option(4, 3, 0), Self.option(3, 2, -0.02), Self.option(5, 2, -0.05)],
            "b": [Self.option(2, 1, -0.05), Self.option(3, 2, -0.045), Self.option(4, 3, 0)],
        ]
        let front = PrecisionSearch.front(layers: ["a", "b"], options: options, fixedEnergyJ: 0.5, start: 0.9)
        #expect(front.map(\.energyJ) == [2.5, 3.5, 5.5, 6.5])
        let expected = [0.75, 0.83, 0.88, 0.9]
        #expect(zip(front.map(\.predictedAccuracy), expected).allSatisfy { abs($0 - $1) < 1e-12 }, "\(front.map(\.predictedAccuracy))")
        #expect(front.map { $0.layers["a"]!.weightBits } == [2, 3, 3, 4])
        #expect(front.map { $0.layers["b"]!.weightBits } == [2, 2, 4, 4])
        // A layer with no option leaves no plan.
        #expect(PrecisionSearch.front(layers: ["a", "c"], options: options, fixedEnergyJ: 0, start: 0.9).isEmpty)
    }
}
