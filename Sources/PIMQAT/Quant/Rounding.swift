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

/// The integer held by a float `v` that is already an integer with |v| ≤ 2^22 (a level): after
/// adding 1.5 · 2^23 the value sits in the low mantissa bits (bit pattern 0x4B40_0000 + v).
/// Unlike `Int32(v)`, which checks its range, it vectorises.
@inline(__always)
func exactLevel(_ v: Float) -> Int32 {
    Int32(bitPattern: (v + 12_582_912).bitPattern) &- 0x4B40_0000
}
