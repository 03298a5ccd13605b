/// Pushes real-valued matrices through a chip: float weights are programmed
/// to the weight grid, float inputs pass the DAC, and the output optionally passes an output
/// ADC with a bound and a resolution.
public struct RealValuedFrontEnd: Sendable, Hashable, Codable {
    public enum WeightScaling: String, Sendable, Hashable, Codable, CaseIterable {
        /// One abs-max scale for the whole matrix.
        case perTensor = "per-tensor"
        /// One abs-max scale per output row (per output channel).
        case perRow = "per-row"
    }

    public var weightScaling: WeightScaling
    /// Fixed DAC bound: inputs are scaled by bound/(2^b − 1) and clipped to ±bound; `nil` =
    /// abs-max per input vector (column of X).
    public var inputBound: Double?
    /// Output ADC: resolution and bound (±bound, signed, round half to even, clipped); `nil` = none.
    public var outputBits: Int?
    public var outputBound: Double?

    public init(weightScaling: WeightScaling = .perRow, inputBound: Double? = nil, outputBits: Int? = nil, outputBound: Double? = nil) {
        self.weightScaling = weightScaling
        self.inputBound = inputBound
        self.outputBits = outputBits
        self.outputBound = outputBound
    }

    /// Integer operands and the scales that turn the integer product back into real units.
    public struct Quantized: Sendable {
        public var weights: [Int32]
        public var inputs: [Int32]
        /// Per output row m and input column n: Y_real ≈ Y_int[m, n] · weightScale[m] · inputScale[n].
        public var weightScales: [Double]
        public var inputScales: [Double]
    }

    /// Quantizes `W` (M×K) to the symmetric b_w-bit grid ±(2^(b_w−1) − 1) — representable in every
    /// encoding — and `X` (K×N) to the levels ±`inputTop` (``Decomposition/symmetricInputTop``:
    /// 2^b_x − 1 on an unsigned DAC, whose signs run as two passes; 2^(b_x−1) − 1 on a signed one).
    /// Rounding is half to even.
    public func quantize(weights: [Double], inputs: [Double], m: Int, k: Int, n: Int, weightBits: Int, inputTop: Int) -> Quantized {
        let wTop = Double((1 << (weightBits - 1)) - 1), xTop = Double(max(1, inputTop))
        var weightScales = [Double](repeating: 1, count: m)
        if weightScaling == .perTensor {
            let scale = (weights.map(abs).max() ?? 0) / max(wTop, 1)
            weightScales = [Double](repeating: scale > 0 ? scale : 1, count: m)
        } else {
            for row in 0..<m {
                let scale = (weights[(row * k)..<((row + 1) * k)].map(abs).max() ?? 0) / max(wTop, 1)
                weightScales[row] = scale > 0 ? scale : 1
            }
        }
        var inputScales = [Double](repeating: 1, count: n)
        for column in 0..<n {
            let bound = inputBound ?? (0..<k).map { abs(inputs[$0 * n + column]) }.max() ?? 0
            inputScales[column] = bound > 0 ? bound / xTop : 1
        }
        let q = (0..<(m * k)).map { i in
            Int32(min(max((weights[i] / weightScales[i / k]).rounded(.toNearestOrEven), -wTop), wTop))
        }
        let x = (0..<(k * n)).map { i in
            Int32(min(max((inputs[i] / inputScales[i % n]).rounded(.toNearestOrEven), -xTop), xTop))
        }
        return Quantized(weights: q, inputs: x, weightScales: weightScales, inputScales: inputScales)
    }

    /// Real-valued outputs from the integer product, through the output ADC if one is set.
    public func dequantize(_ product: [Double], _ quantized: Quantized, m: Int, n: Int) -> [Double] {
        var y = (0..<(m * n)).map { i in product[i] * quantized.weightScales[i / n] * quantized.inputScales[i % n] }
        if let bits = outputBits, let bound = outputBound, bits >= 2, bound > 0 {
            let top = Double((1 << (bits - 1)) - 1), lsb = bound / top
            y = y.map { min(max(($0 / lsb).rounded(.toNearestOrEven), -top), top) * lsb }
        }
        return y
    }
}
