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
        measure(SGEMMProbe(size: size), threads: threads, minimumSeconds: minimumSeconds)
    }

    /// The same with an existing probe (whose operands are reused; no new allocation).
    package static func measure(_ probe: SGEMMProbe, threads: Int, minimumSeconds: Double = 1) -> SGEMMRate {
        precondition(threads >= 1, "SGEMMRate.measure: threads must be positive")
        let previous = BLAS.threadCount
        BLAS.threadCount = threads
        defer { BLAS.threadCount = previous }
        let size = probe.size
        _ = probe.gflops()
        var rates: [Double] = []
        var total = 0.0
        while rates.count < 3 || total < minimumSeconds {
            let rate = probe.gflops()
            rates.append(rate)
            total += probe.flops / rate / 1e9
        }
        rates.sort()
        return SGEMMRate(size: size, threads: threads, repetitions: rates.count,
                         medianGFLOPS: rates[rates.count / 2], bestGFLOPS: rates[rates.count - 1])
    }
}

/// One square SGEMM, C = A·B, ready to time again and again (at the current OpenBLAS thread
/// count) — for interleaving with another measurement, so that each of its samples has an
/// SGEMM rate taken seconds apart on the same host.
package final class SGEMMProbe: @unchecked Sendable {
    package let size: Int
    /// 2·size³.
    package let flops: Double
    private let a: [Float], b: [Float]
    private var c: [Float]

    package init(size: Int = 1024) {
        precondition(size >= 1, "SGEMMProbe: size must be positive")
        self.size = size
        flops = 2 * pow(Double(size), 3)
        var generator = SplitMix64(seed: 42)
        a = (0..<size * size).map { _ in Float(generator.nextUnit() - 0.5) }
        b = (0..<size * size).map { _ in Float(generator.nextUnit() - 0.5) }
        c = [Float](repeating: 0, count: size * size)
    }

    /// Runs the product once; its rate, 10⁹ floating-point operations per second.
    package func gflops() -> Double {
        let size = self.size
        let start = DispatchTime.now().uptimeNanoseconds
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    BLAS.sgemm(m: size, n: size, k: size, a: a.baseAddress!, lda: size,
                               b: b.baseAddress!, ldb: size, c: c.baseAddress!, ldc: size)
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return flops / max(seconds, 1e-9) / 1e9
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
