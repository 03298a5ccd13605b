import Foundation

/// DoReFa-style weight quantization to the b-bit two's-complement grid.
///
/// Forward: w̃ = tanh(W) / n with n = max|tanh(W)| (or, with a ``clip`` c, n = min(max|tanh(W)|,
/// c · rms(tanh(W)))), integer q = clamp(round_half_even(w̃ · 2^(b−1)), −2^(b−1), 2^(b−1) − 1),
/// quantized weight w_q = q / 2^(b−1), optionally times the detached
/// rescale 1/(√fan · std(w_q)) that keeps a well-initialised net's float scale: fan = C_out·k²
/// for convolutions, the fan-in for the classifier (which has no BN after it,
/// so its scale is the logits' scale).
/// Backward (straight-through): the rounding passes the gradient unchanged; tanh and the
/// normalisation are differentiated with n and the rescale held constant; weights the clip
/// cut (|tanh(W)| > n) get no gradient.
///
/// With a ``fixedScale`` s the grid is fixed instead (the weights of an imported quantized
/// network, whose file gives the scale): q = clamp(round_half_even(W / s), lowest, 2^(b−1) − 1),
/// w_q = q · s, and the gradient passes straight through inside the grid, 0 where it clamps.
public struct WeightQuantizer: Sendable, Hashable, Codable {
    public var bits: Int
    public var rescale: Bool
    /// Clamps to −(2^(b−1) − 1)…2^(b−1) − 1, leaving out −2^(b−1): for chips whose weight
    /// encoding is symmetric (ternary signed digits, differential pairs).
    public var symmetric: Bool
    /// Normalise by at most this many RMS of tanh(W) instead of its maximum (> 0; nil = the
    /// maximum, plain DoReFa): the integers spread over more of the grid, and the few larger
    /// weights clip to its ends.
    public var clip: Float?
    /// The real value of one integer step of a fixed grid (> 0, finite); nil = DoReFa's grid,
    /// derived from the weights at every pass. ``rescale`` and ``clip`` do not apply to it.
    public var fixedScale: Float?

    public init(bits: Int, rescale: Bool = true, symmetric: Bool = false, clip: Float? = nil, fixedScale: Float? = nil) {
        self.bits = bits
        self.rescale = rescale
        self.symmetric = symmetric
        self.clip = clip
        self.fixedScale = fixedScale
        precondition(problem == nil, "WeightQuantizer: \(problem!)")
    }

    /// What makes a decoded quantizer unusable (bits outside 2…16, a clip or fixed scale not
    /// positive and finite), or nil.
    public var problem: String? {
        guard (2...16).contains(bits) else { return "\(bits) weight bits are outside 2…16" }
        for (name, value) in [("clip", clip), ("scale", fixedScale)] {
            if let value, !(value > 0 && value.isFinite) { return "a \(name) of \(value) is not a positive number" }
        }
        return nil
    }

    /// The most negative and the most positive integer of the grid.
    public var integerRange: ClosedRange<Int32> {
        let half = Int32(1) << (bits - 1)
        return (symmetric ? 1 - half : -half)...(half - 1)
    }

    /// The result of quantizing one weight tensor.
    public struct Quantized: Sendable {
        /// Integers on the grid −2^(b−1)…2^(b−1)−1, as the PIM array holds them.
        public var integers: [Int32]
        /// Real weight = integer × scale.
        public var scale: Float
        /// The quantized real weights (integers × scale).
        public var values: [Float]
        /// ∂w_q/∂W per element (straight-through through the rounding).
        public var derivative: [Float]
    }

    /// Quantizes `weights`; `fan` sets the rescale (see the type's description).
    public func quantize(_ weights: [Float], fan: Int) -> Quantized {
        if let scale = fixedScale { return quantize(weights, scale: scale) }
        let half = Float(1 << (bits - 1))
        let t = weights.map { tanh($0) }
        var normaliser = max(t.map(abs).max() ?? 0, 1e-12)
        if let clip, !t.isEmpty {
            let rms = Float((t.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(t.count)).squareRoot())
            normaliser = min(normaliser, max(clip * rms, 1e-12))
        }
        let lowest = symmetric ? 1 - half : -half
        let integers = t.map { Int32(roundedHalfEven(min(max($0 / normaliser * half, lowest), half - 1))) }
        var scale = 1 / half
        if rescale {
            let values = integers.map { Float($0) * scale }
            let mean = values.reduce(0, +) / Float(max(1, values.count))
            let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(max(1, values.count))).squareRoot()
            if std > 0 { scale /= (Float(fan).squareRoot() * std) }
        }
        // d(w_q)/dW = scale·half · d(w̃)/dW = scale·half · (1 − tanh²W) / n, zero where clipped.
        let factor = scale * half / normaliser
        return Quantized(integers: integers, scale: scale, values: integers.map { Float($0) * scale },
                         derivative: t.map { abs($0) > normaliser ? 0 : factor * (1 - $0 * $0) })
    }

    /// The weights on the fixed grid of step `scale`.
    private func quantize(_ weights: [Float], scale: Float) -> Quantized {
        let range = integerRange
        let (low, high) = (Float(range.lowerBound), Float(range.upperBound))
        let steps = weights.map { $0 / scale }
        let integers = steps.map { Int32(roundedHalfEven(min(max($0, low), high))) }
        return Quantized(integers: integers, scale: scale, values: integers.map { Float($0) * scale },
                         derivative: steps.map { $0 < low || $0 > high ? 0 : 1 })
    }
}
