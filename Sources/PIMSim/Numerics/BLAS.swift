internal import CNumerics

/// Single-precision matrix multiply and thread control, over OpenBLAS.
///
/// All matrices are row-major `Float` buffers. This is the only GEMM in the project:
/// convolutions, PIM slice sums and benchmarks all reach OpenBLAS through ``sgemm(_:_:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
package enum BLAS {
    /// Whether an operand is used as stored or transposed.
    package enum Transpose: Sendable {
        case none
        case transposed

        fileprivate var cblas: CBLAS_TRANSPOSE {
            self == .none ? CblasNoTrans : CblasTrans
        }
    }

    /// Computes `C ← α·op(A)·op(B) + β·C` with `op(A)` of shape m×k and `op(B)` of shape k×n.
    ///
    /// - Parameters:
    ///   - lda, ldb, ldc: row strides (in elements) of the stored matrices; at least their
    ///     stored column counts.
    /// - Complexity: 2·m·n·k floating-point operations.
    package static func sgemm(
        _ transposeA: Transpose = .none, _ transposeB: Transpose = .none,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension")
        precondition(lda >= max(1, transposeA == .none ? k : m), "sgemm: lda too small")
        precondition(ldb >= max(1, transposeB == .none ? n : k), "sgemm: ldb too small")
        precondition(ldc >= max(1, n), "sgemm: ldc too small")
        guard m > 0, n > 0 else { return }
        cblas_sgemm(
            CblasRowMajor, transposeA.cblas, transposeB.cblas,
            blasint(m), blasint(n), blasint(k), alpha,
            a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// Returns `A·B` for a row-major m×k `a` and k×n `b`.
    ///
    /// - Complexity: 2·m·n·k floating-point operations.
    package static func multiply(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int) -> [Float] {
        precondition(a.count == m * k, "multiply: a has \(a.count) elements, expected \(m)×\(k)")
        precondition(b.count == k * n, "multiply: b has \(b.count) elements, expected \(k)×\(n)")
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    sgemm(m: m, n: n, k: k,
                          a: a.baseAddress!, lda: max(1, k),
                          b: b.baseAddress!, ldb: max(1, n),
                          c: c.baseAddress!, ldc: max(1, n))
                }
            }
        }
        return c
    }

    /// Computes `C ← A·B` in double precision for row-major m×k `a` and k×n `b`: exact for
    /// integer operands whose products and sums stay below 2^53.
    ///
    /// - Complexity: 2·m·n·k floating-point operations.
    package static func multiply(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int) -> [Double] {
        precondition(a.count == m * k && b.count == k * n, "multiply: operand sizes do not match \(m)×\(k)×\(n)")
        var c = [Double](repeating: 0, count: m * n)
        guard m > 0, n > 0 else { return c }
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(m), blasint(n), blasint(k), 1,
                                a.baseAddress, blasint(max(1, k)), b.baseAddress, blasint(max(1, n)), 0,
                                c.baseAddress, blasint(max(1, n)))
                }
            }
        }
        return c
    }

    /// Runs `body` with OpenBLAS on one thread: for small products, and wherever results must
    /// not depend on how OpenBLAS splits work across threads (its partitioning can change the
    /// last bits of a product).
    package static func singleThreaded<Result>(_ body: () throws -> Result) rethrows -> Result {
        let previous = threadCount
        threadCount = 1
        defer { threadCount = previous }
        return try body()
    }

    /// The number of threads OpenBLAS uses for one call. Setting it affects the whole process.
    ///
    /// When work is already parallelised around BLAS calls, set this to 1 to avoid
    /// oversubscribing the cores.
    package static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set {
            precondition(newValue >= 1, "BLAS.threadCount must be at least 1")
            openblas_set_num_threads(Int32(newValue))
        }
    }
}
