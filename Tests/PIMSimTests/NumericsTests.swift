import Testing
@testable import PIMSim

@Suite("C libraries", .serialized)
struct NumericsTests {
    @Test func sgemmMatchesANaiveProductForEveryTransposition() {
        let m = 5, n = 7, k = 3
        var generator = SplitMix64(seed: 1)
        let a = (0..<m * k).map { _ in Float(generator.nextUnit() * 2 - 1) }
        let b = (0..<k * n).map { _ in Float(generator.nextUnit() * 2 - 1) }
        var expected = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { expected[i * n + j] += a[i * k + p] * b[p * n + j] } } }
        let c = BLAS.multiply(a, b, m: m, n: n, k: k)
        for (x, y) in zip(c, expected) { #expect(abs(x - y) < 1e-5) }

        // Aᵀ stored k×m, Bᵀ stored n×k; β accumulates into C.
        var aT = [Float](repeating: 0, count: k * m), bT = [Float](repeating: 0, count: n * k)
        for i in 0..<m { for p in 0..<k { aT[p * m + i] = a[i * k + p] } }
        for p in 0..<k { for j in 0..<n { bT[j * k + p] = b[p * n + j] } }
        var accumulated = [Float](repeating: 1, count: m * n)
        aT.withUnsafeBufferPointer { aT in
            bT.withUnsafeBufferPointer { bT in
                accumulated.withUnsafeMutableBufferPointer { c in
                    BLAS.sgemm(.transposed, .transposed, m: m, n: n, k: k, alpha: 2, a: aT.baseAddress!, lda: m,
                               b: bT.baseAddress!, ldb: k, beta: 1, c: c.baseAddress!, ldc: n)
                }
            }
        }
        for (x, y) in zip(accumulated, expected) { #expect(abs(x - (2 * y + 1)) < 1e-5) }
    }

    @Test func threadCountIsControllable() {
        let previous = BLAS.threadCount
        defer { BLAS.threadCount = previous }
        BLAS.threadCount = 1
        #expect(BLAS.threadCount == 1)
    }

    @Test func gslSpecialFunctionsAndDistributions() throws {
        #expect(abs(try GSL.erf(1) - 0.842_700_792_949_714_9) < 1e-15)
        #expect(abs(try GSL.logGamma(5) - 3.178_053_830_347_945_6) < 1e-13)  // ln 24
        // χ²(10) median ≈ 9.341818; standard normal 97.5 % ≈ 1.959964.
        #expect(abs(try GSL.chiSquaredQuantile(0.5, degreesOfFreedom: 10) - 9.341_817_765_591_96) < 1e-6)
        #expect(abs(try GSL.normalQuantile(0.975) - 1.959_963_984_540_054) < 1e-9)
    }

    @Test func gslFailuresBecomeSwiftErrors() {
        let error = #expect(throws: GSLError.self) { try GSL.logGamma(-1) }
        #expect(error?.description.contains("gsl_sf_lngamma_e(-1.0)") == true)
        #expect(throws: GSLError.self) { try GSL.chiSquaredQuantile(1.5, degreesOfFreedom: 3) }
    }
}
