/// The straight-through masks of clipping activations (ReLU, PACT), eight lanes at a time.
enum GradientMask {
    /// out[i] = g[i] where lower < x[i] < upper, else 0 (a NaN x passes nothing), split over
    /// the training threads (element-wise, so the split never changes a result).
    static func pass(_ g: UnsafeBufferPointer<Float>, where x: UnsafeBufferPointer<Float>, above lower: Float, below upper: Float,
                     into out: UnsafeMutableBufferPointer<Float>) {
        guard let gBase = g.baseAddress, let xBase = x.baseAddress, let outBase = out.baseAddress else { return }
        let target = UnsafeSendablePointer(outBase)
        parallelRanges(out.count) { range in
            pass(gBase + range.lowerBound, where: xBase + range.lowerBound, above: lower, below: upper,
                 into: target.pointer + range.lowerBound, count: range.count)
        }
    }

    /// The same on `count` values from raw pointers, on this thread. `out` may be `g` itself.
    static func pass(_ g: UnsafePointer<Float>, where x: UnsafePointer<Float>, above lower: Float, below upper: Float,
                     into out: UnsafeMutablePointer<Float>, count: Int) {
        let low = SIMD8<Float>(repeating: lower), high = SIMD8<Float>(repeating: upper), zero = SIMD8<Float>(repeating: 0)
        let gRaw = UnsafeRawPointer(g), xRaw = UnsafeRawPointer(x), outRaw = UnsafeMutableRawPointer(out)
        var i = 0
        while i &+ 8 <= count {
            let xv = xRaw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            let gv = gRaw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            outRaw.storeBytes(of: zero.replacing(with: gv, where: (xv .> low) .& (xv .< high)), toByteOffset: i &* 4, as: SIMD8<Float>.self)
            i &+= 8
        }
        while i < count { out[i] = x[i] > lower && x[i] < upper ? g[i] : 0; i &+= 1 }
    }
}
