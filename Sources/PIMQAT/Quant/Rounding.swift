/// Round half to even in single precision without a library call.
///
/// Adding and subtracting 1.5 · 2^23 leaves the nearest integer, ties to even (IEEE 754
/// default rounding), for |v| ≤ 2^22; exactly `v.rounded(.toNearestOrEven)` there. Unlike
/// that call on a baseline x86-64 target, it vectorises. Callers clamp to a small range
/// first (quantization levels, ≤ 2^16).
@inline(__always)
func roundedHalfEven(_ v: Float) -> Float {
    (v + 12_582_912) - 12_582_912
}
