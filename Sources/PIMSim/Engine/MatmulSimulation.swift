import Foundation

/// One matmul `Y = W·X` simulated on a chip, from random or given operands.
public struct MatmulSimulation: Sendable {
    /// The operands: integers on the chip's grids, or real values for the front end.
    public enum Operands: Sendable {
        case integer(weights: [Int32], inputs: [Int32])
        case real(weights: [Double], inputs: [Double], frontEnd: RealValuedFrontEnd)
    }

    public var mapping: LayerMapping
    public var m: Int, k: Int, n: Int
    public var operands: Operands
    public var seed: UInt64
    public var chipSeed: UInt64
    public var threads: Int

    public init(mapping: LayerMapping, m: Int, k: Int, n: Int, operands: Operands, seed: UInt64 = 0, chipSeed: UInt64 = 0, threads: Int = 1) {
        self.mapping = mapping
        (self.m, self.k, self.n) = (m, k, n)
        self.operands = operands
        self.seed = seed
        self.chipSeed = chipSeed
        self.threads = threads
    }

    /// Uniform random integer operands: weights on the encoding's grid, inputs on 0…2^b − 1,
    /// drawn from `seed` (the same seed gives the same operands on any machine).
    public static func randomOperands(mapping: LayerMapping, m: Int, k: Int, n: Int, seed: UInt64) -> Operands {
        let d = mapping.decomposition, grid = d.weightRange
        let stream = RandomStream(seed: seed, purpose: .workload, layer: 1)
        let span = UInt64(grid.count)
        let weights = (0..<(m * k)).map { i in Int32(grid.lowerBound + Int(stream.uniform(UInt64(i)) * Double(span))) }
        let top = Double(1 << d.inputBits)
        let inputs = (0..<(k * n)).map { i in Int32(stream.uniform(UInt64(1) << 40 + UInt64(i)) * top) }
        return .integer(weights: weights, inputs: inputs)
    }

    /// The result in real units (integer-product units for integer operands) and its report.
    public struct Outcome: Sendable {
        public var output: [Double]
        public var exact: [Double]
        public var report: MatmulReport
    }

    /// Runs the simulation.
    /// - Throws: ``OperandRangeError`` for integer operands off the grids, ``MappingError``.
    public func run() throws -> Outcome {
        let start = DispatchTime.now().uptimeNanoseconds
        let integerWeights: [Int32], integerInputs: [Int32]
        var quantized: RealValuedFrontEnd.Quantized?
        var frontEnd: RealValuedFrontEnd?
        var exact: [Double]
        switch operands {
        case let .integer(weights, inputs):
            (integerWeights, integerInputs) = (weights, inputs)
            exact = BLAS.multiply(weights.map(Double.init), inputs.map(Double.init), m: m, n: n, k: k)
        case let .real(weights, inputs, options):
            let q = options.quantize(weights: weights, inputs: inputs, m: m, k: k, n: n,
                                     weightBits: mapping.decomposition.weightBits, inputBits: mapping.decomposition.inputBits)
            (integerWeights, integerInputs) = (q.weights, q.inputs)
            quantized = q
            frontEnd = options
            exact = BLAS.multiply(weights, inputs, m: m, n: n, k: k)
        }
        var layer = try ProgrammedLayer(mapping: mapping, weights: integerWeights, outputs: m, fanIn: k, chipSeed: chipSeed)
        if mapping.adc.range.policy == .calibrated {
            layer = try layer.calibratingRange(inputs: integerInputs, columns: n)
        }
        let result = try layer.run(inputs: integerInputs, columns: n, options: RunOptions(noiseSeed: seed, threads: threads))
        var output = result.output
        if let quantized, let frontEnd { output = frontEnd.dequantize(output, quantized, m: m, n: n) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let report = MatmulReport(layer: layer, result: result, exact: exact, output: output, m: m, k: k, n: n, seed: seed,
                                  signedInputs: integerInputs.contains { $0 < 0 }, seconds: seconds)
        return Outcome(output: output, exact: exact, report: report)
    }
}
