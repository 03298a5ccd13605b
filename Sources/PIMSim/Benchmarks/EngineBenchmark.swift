import Foundation

/// Times one PIM matmul on a chip, beside the GEMM work it stands on.
public struct EngineBenchmark: Sendable, Codable {
    public var chip: String
    public var scheme: String
    public var shape: String
    public var threads: Int
    public var noise: Bool
    /// Whether static ADC errors (and their calibration tables) were simulated.
    public var staticErrors: Bool
    public var seconds: Double
    public var conversions: Int
    public var conversionsPerS: Double
    /// FLOPs of the SGEMMs the engine runs: 2·M·K·N × input cycles × conversion matrices.
    public var gemmFLOPs: Double
    /// gemmFLOPs / seconds, 10⁹ per second.
    public var effectiveGFLOPS: Double

    /// Runs `m`×`k`×`n` with random 4-bit operands on `chip`, best of `repetitions`.
    public static func measure(chip: ChipConfig, scheme: Scheme = .chip, m: Int, k: Int, n: Int, inputBits: Int = 4,
                               weightBits: Int = 4, nonIdealities: NonIdealities = .all, threads: Int, blockColumns: Int? = nil,
                               repetitions: Int = 3) throws -> EngineBenchmark {
        let mapping = try chip.mapping(scheme: scheme, inputBits: inputBits, weightBits: weightBits, nonIdealities: nonIdealities)
        guard case let .integer(weights, inputs) = try MatmulSimulation.randomOperands(mapping: mapping, m: m, k: k, n: n, seed: 1) else {
            preconditionFailure("random operands are integers")
        }
        let layer = try ProgrammedLayer(mapping: mapping, weights: weights, outputs: m, fanIn: k, chipSeed: 1)
        var best = Double.infinity
        var conversions = 0
        for repetition in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            let result = try layer.run(inputs: inputs, columns: n,
                                       options: RunOptions(noiseSeed: UInt64(repetition), threads: threads, blockColumns: blockColumns, collectStatistics: false))
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            conversions = result.output.isEmpty ? 0 : m * n * mapping.decomposition.inputCycles * layer.matricesPerOutput
                * ((k + mapping.decomposition.inputsPerConversion - 1) / mapping.decomposition.inputsPerConversion)
        }
        let flops = 2 * Double(m) * Double(k) * Double(n) * Double(mapping.decomposition.inputCycles * layer.matricesPerOutput)
        return EngineBenchmark(chip: chip.meta.id, scheme: scheme.rawValue, shape: "\(m)x\(k)x\(n)", threads: threads,
                               noise: layer.adc.noiseSigma > 0, staticErrors: layer.adc.hasStaticErrors, seconds: best, conversions: conversions,
                               conversionsPerS: Double(conversions) / best, gemmFLOPs: flops, effectiveGFLOPS: flops / best / 1e9)
    }
}
