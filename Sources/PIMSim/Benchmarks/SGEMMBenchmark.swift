import Foundation

/// The machine's own single-precision GEMM rate, measured in the same run as any benchmark
/// that reports a fraction of it (absolute times on shared machines are noisy; ratios are not).
public struct SGEMMRate: Sendable, Codable {
    /// Square size m = n = k.
    public var size: Int
    public var threads: Int
    public var repetitions: Int
    /// Median and best rate over the repetitions, 10⁹ floating-point operations per second.
    public var medianGFLOPS: Double
    public var bestGFLOPS: Double

    /// Measures `C = A·B` on size×size matrices with OpenBLAS at `threads` threads, repeating
    /// for at least `minimumSeconds` (and at least three times) after one warm-up call.
    /// Restores the previous OpenBLAS thread count.
    public static func measure(size: Int = 1024, threads: Int, minimumSeconds: Double = 1) -> SGEMMRate {
        precondition(size >= 1 && threads >= 1, "SGEMMRate.measure: size and threads must be positive")
        let previous = BLAS.threadCount
        BLAS.threadCount = threads
        defer { BLAS.threadCount = previous }
        var generator = SplitMix64(seed: 42)
        let a = (0..<size * size).map { _ in Float(generator.nextUnit() - 0.5) }
        let b = (0..<size * size).map { _ in Float(generator.nextUnit() - 0.5) }
        var c = [Float](repeating: 0, count: size * size)
        func run() -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        BLAS.sgemm(m: size, n: size, k: size, a: a.baseAddress!, lda: size,
                                   b: b.baseAddress!, ldb: size, c: c.baseAddress!, ldc: size)
                    }
                }
            }
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        _ = run()
        var times: [Double] = []
        var total = 0.0
        while times.count < 3 || total < minimumSeconds {
            let t = run()
            times.append(t)
            total += t
        }
        times.sort()
        let flops = 2 * pow(Double(size), 3)
        return SGEMMRate(size: size, threads: threads, repetitions: times.count,
                         medianGFLOPS: flops / times[times.count / 2] / 1e9,
                         bestGFLOPS: flops / times[0] / 1e9)
    }
}

/// A small, fast, non-replayable generator for benchmark operands (not for simulation noise,
/// which uses the counter-based generator).
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
