import Foundation
internal import CKernels

/// The ziggurat method for standard normal draws (Marsaglia & Tsang, J. Stat. Softw. 5(8),
/// 2000), with 128 layers, fed from counter-based bits.
///
/// A 32-bit word gives the layer (7 bits), the sign (1 bit) and a 24-bit uniform; 97.2 % of
/// draws (the mean over layers of x[i+1]/x[i]; the top layer never) end there with one
/// multiply and one comparison. The rest take the wedge or tail test with further words.
enum Ziggurat {
    static let layers = 128
    static let r = 3.442_619_855_899
    static let area = 9.912_563_035_262_17e-3

    /// Tables in memory that lives as long as the process: a struct of pointers, so the hot
    /// loop does no reference counting.
    struct Tables: @unchecked Sendable {
        /// x[i]: right edge of layer i (x[0] = the base width V/f(r)), x[128] = 0.
        let x: UnsafeMutablePointer<Double>
        /// x[i+1]/x[i]: a draw with u below it is inside the layer's rectangle core.
        let ratio: UnsafeMutablePointer<Double>
        /// f(x[i]) = exp(−x[i]²/2).
        let density: UnsafeMutablePointer<Double>
        /// The rectangle test in integers: for the 24-bit k = word >> 8,
        /// (k + 0.5)·2^-24 < ratio[i] ⇔ k < limit[i] = ⌈ratio[i]·2^24 − 0.5⌉ (both sides exact).
        let limit: UnsafeMutablePointer<Int32>
        /// The same tables for the vectorised kernel.
        let shared: UnsafeMutablePointer<PIMZigguratTables>

        init() {
            x = .allocate(capacity: layers + 1)
            ratio = .allocate(capacity: layers)
            density = .allocate(capacity: layers + 1)
            limit = .allocate(capacity: layers)
            x[0] = area / exp(-0.5 * r * r)
            x[1] = r
            for i in 2..<layers {
                x[i] = (-2 * log(area / x[i - 1] + exp(-0.5 * x[i - 1] * x[i - 1]))).squareRoot()
            }
            x[layers] = 0
            for i in 0..<layers { ratio[i] = x[i + 1] / x[i] }
            for i in 0...layers { density[i] = exp(-0.5 * x[i] * x[i]) }
            for i in 0..<layers { limit[i] = Int32((ratio[i] * 0x1p24 - 0.5).rounded(.up)) }
            shared = .allocate(capacity: 1)
            shared.initialize(to: PIMZigguratTables(x: x, density: density, limit: limit, r: r))
        }

        /// The rectangle-core draw of `word`, or nil when the wedge or tail test is needed.
        @inline(__always)
        func fast(_ word: UInt32) -> Double? {
            let layer = Int(word & 0x7F)
            let u = (Double(word >> 8) + 0.5) * 0x1p-24
            guard u < ratio[layer] else { return nil }
            // The sign bit is random: apply it without a branch the predictor would miss half the time.
            let sign = UInt64(word & 0x80) << 56
            return Double(bitPattern: (u * x[layer]).bitPattern ^ sign)
        }
    }

    static let tables = Tables()

    /// One full ziggurat step: `word` picks layer, sign and u; `extra` is the uniform of the
    /// wedge test, or the two 16-bit uniforms of the tail (Marsaglia's exponential method).
    static func draw(_ word: UInt32, _ extra: UInt32) -> Double? {
        let t = tables
        if let value = t.fast(word) { return value }
        let layer = Int(word & 0x7F)
        let negative = word & 0x80 != 0
        let u = (Double(word >> 8) + 0.5) * 0x1p-24
        if layer == 0 {
            let u1 = (Double(extra >> 16) + 0.5) * 0x1p-16, u2 = (Double(extra & 0xFFFF) + 0.5) * 0x1p-16
            let tail = -log(u1) / r
            guard -2 * log(u2) > tail * tail else { return nil }
            return negative ? -(r + tail) : r + tail
        }
        let candidate = u * t.x[layer]
        let v = (Double(extra) + 0.5) * 0x1p-32
        let f = t.density[layer + 1] + v * (t.density[layer] - t.density[layer + 1])
        guard f < exp(-0.5 * candidate * candidate) else { return nil }
        return negative ? -candidate : candidate
    }

    /// Finishes a draw whose first word (if any) failed the fast test: pairs it with a fresh
    /// extra word, then takes whole new pairs from `more(attempt)`, attempt = 1, 2, … Every
    /// word is used once, so attempts are independent.
    static func resolve(first: UInt32? = nil, _ more: (Int) -> (UInt32, UInt32, UInt32, UInt32)) -> Double {
        var attempt = 1
        while true {
            let (a, b, c, d) = more(attempt)
            if let first, attempt == 1 {
                if let value = draw(first, a) { return value }
                if let value = draw(b, c) { return value }
            } else {
                if let value = draw(a, b) { return value }
                if let value = draw(c, d) { return value }
            }
            attempt += 1
        }
    }
}
