internal import CKernels

/// What the CPU running this process offers the engine's vectorised kernels.
package enum CPUFeatures {
    /// AVX2 with the OS saving 256-bit registers: the engine's noise and static-error loops run
    /// vectorised (same results bit for bit as the portable loops). Checked once.
    package static let avx2: Bool = pim_kernels_have_avx2()
}
