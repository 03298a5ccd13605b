import Foundation

/// A matmul shape the simulator cannot run (a user-given size), as one line.
public struct MatmulShapeError: Error, Sendable, UserInputError {
    public var description: String
}

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

    /// The most elements one operand or the result may have: 2^31.
    public static let maximumElements = 1 << 31

    /// Refuses a shape with an empty dimension, or an operand or result beyond
    /// ``maximumElements``.
    /// - Throws: ``MatmulShapeError``.
    public static func checkShape(m: Int, k: Int, n: Int) throws(MatmulShapeError) {
        guard m >= 1, k >= 1, n >= 1 else {
            throw MatmulShapeError(description: "\(m)×\(k)×\(n): every dimension of a matmul must be at least 1")
        }
        for (name, a, b) in [("W (M×K)", m, k), ("X (K×N)", k, n), ("Y (M×N)", m, n)] {
            let (elements, overflow) = a.multipliedReportingOverflow(by: b)
            guard !overflow, elements <= maximumElements else {
                throw MatmulShapeError(description: "\(m)×\(k)×\(n): \(name) would have \(a)·\(b) elements, beyond the 2^31 this simulator supports")
            }
        }
    }

    /// An upper bound of a simulation's peak memory, in bytes: per weight the integer and
    /// double copies and one float per conversion matrix; per input the integer, double and
    /// float copies; per output the exact and simulated results with their working copies
    /// (4 doubles); plus 64 MB of blocks, tables and runtime. `matrices` is the conversion
    /// matrices per output (at most 2 × weight bits). For 4096×4096×4096 on CAP-RAM (4
    /// matrices) it gives 1.34 GB; the measured peak is 0.68 GB.
    public static func estimatedBytes(m: Int, k: Int, n: Int, matrices: Int) -> Double {
        let (m, k, n) = (Double(m), Double(k), Double(n))
        return m * k * (12 + 4 * Double(matrices)) + k * n * 16 + m * n * 32 + 64e6
    }

    /// Refuses an `m`×`k`×`n` matmul on `mapping` that cannot fit in the memory available.
    /// - Throws: ``MemoryBudgetError`` with the estimate and the available memory.
    public static func checkMemory(mapping: LayerMapping, m: Int, k: Int, n: Int) throws(MemoryBudgetError) {
        let d = mapping.decomposition
        let bytes = estimatedBytes(m: m, k: k, n: n, matrices: d.slices.count * d.conversionsPerSlice)
        try MemoryBudget.check(bytes, for: "a \(m)×\(k)×\(n) matmul")
    }

    /// Uniform random integer operands: weights on the encoding's grid, inputs on 0…2^b − 1 for
    /// an unsigned DAC and on the whole signed range of a signed one, drawn from `seed` (the same seed gives the same operands on any machine).
    /// - Throws: ``MatmulShapeError``, or ``MemoryBudgetError`` when the simulation cannot fit in memory.
    public static func randomOperands(mapping: LayerMapping, m: Int, k: Int, n: Int, seed: UInt64) throws -> Operands {
        try checkShape(m: m, k: k, n: n)
        try checkMemory(mapping: mapping, m: m, k: k, n: n)
        let d = mapping.decomposition, grid = d.weightRange
        let stream = RandomStream(seed: seed, purpose: .workload, layer: 1)
        let span = UInt64(grid.count)
        let weights = (0..<(m * k)).map { i in Int32(grid.lowerBound + Int(stream.uniform(UInt64(i)) * Double(span))) }
        let levels = d.inputEncoding == .unsigned ? 0...d.maxUnsignedInput : d.inputRange
        let inputSpan = Double(levels.count)
        let inputs = (0..<(k * n)).map { i in
            Int32(levels.lowerBound + Int(stream.uniform(UInt64(1) << 40 + UInt64(i)) * inputSpan))
        }
        return .integer(weights: weights, inputs: inputs)
    }

    /// The result in real units (integer-product units for integer operands) and its report.
    public struct Outcome: Sendable {
        public var output: [Double]
        public var exact: [Double]
        public var report: MatmulReport
    }

    /// Runs the simulation.
    /// - Throws: ``ProgrammingError`` for weights off the grid or a mapping that cannot run
    ///   exactly, ``OperandRangeError`` for inputs off the DAC's grid,
    ///   ``MatmulShapeError``, ``MemoryBudgetError``.
    public func run() throws -> Outcome {
        let start = DispatchTime.now().uptimeNanoseconds
        try Self.checkShape(m: m, k: k, n: n)
        try Self.checkMemory(mapping: mapping, m: m, k: k, n: n)
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
                                     weightBits: mapping.decomposition.weightBits, inputTop: mapping.decomposition.symmetricInputTop)
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
                                  passes: mapping.decomposition.inputPasses(lowest: Int(integerInputs.min() ?? 0)), seconds: seconds)
        return Outcome(output: output, exact: exact, report: report)
    }
}
