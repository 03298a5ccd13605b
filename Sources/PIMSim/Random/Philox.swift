/// Philox4x32-10, the counter-based generator of Salmon et al. (SC'11, "Parallel random
/// numbers: as easy as 1, 2, 3").
///
/// Every output is a pure function of a 64-bit key and a 128-bit counter, so a draw can be
/// recomputed anywhere — in any thread, tile or batch split — from its coordinates alone.
/// The simulator keys draws by (seed) and counts by (what is drawn, layer, chip instance,
/// index), see ``RandomStream``.
public struct Philox4x32: Sendable {
    public var key: (UInt32, UInt32)

    public init(key: UInt64) {
        self.key = (UInt32(truncatingIfNeeded: key), UInt32(truncatingIfNeeded: key >> 32))
    }

    /// The 128 random bits of `counter`, as four words.
    @inlinable
    public func block(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        var x0 = c0, x1 = c1, x2 = c2, x3 = c3
        var k0 = key.0, k1 = key.1
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(x0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(x2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            x0 = hi1 ^ x1 ^ k0
            x1 = lo1
            x2 = hi0 ^ x3 ^ k1
            x3 = lo0
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (x0, x1, x2, x3)
    }
}

/// What a random draw is for; part of every counter, so streams never overlap.
public enum RandomPurpose: UInt32, Sendable {
    /// Temporal noise of one conversion.
    case conversionNoise = 1
    /// Static relative mismatch of one memory cell.
    case cellMismatch = 2
    /// Static offset, gain and INL of one ADC instance.
    case adcStatic = 3
    /// Weights and inputs of generated workloads.
    case workload = 4
}

/// A family of random draws addressed by coordinates:
/// `(seed) × (purpose, layer, chip instance, index)`.
///
/// The counter is (index low word, index high word, layer, purpose << 24 ^ instance), and the
/// key is the seed. Normal draws use the ziggurat method on the block's bits.
public struct RandomStream: Sendable {
    public let generator: Philox4x32
    public let layer: UInt32
    public let tag: UInt32

    public init(seed: UInt64, purpose: RandomPurpose, layer: Int = 0, instance: UInt64 = 0) {
        generator = Philox4x32(key: seed)
        self.layer = UInt32(truncatingIfNeeded: layer)
        let mixedInstance = UInt32(truncatingIfNeeded: instance ^ (instance >> 32))
        tag = (purpose.rawValue << 24) ^ (mixedInstance &* 0x9E37_79B1)
    }

    /// The 128 random bits of draw `index`.
    @inlinable
    public func bits(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        generator.block(UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32), layer, tag)
    }

    /// A uniform double in [0, 1) from draw `index` (53 random bits).
    @inlinable
    public func uniform(_ index: UInt64) -> Double {
        let (a, b, _, _) = bits(index)
        return Double((UInt64(a) << 21) ^ UInt64(b >> 11)) * 0x1p-53
    }

    /// A standard normal draw for `index`.
    @inlinable
    public func normal(_ index: UInt64) -> Double {
        let (w0, w1, w2, w3) = bits(index)
        return Ziggurat.normal(w0, w1, w2, w3) { attempt in
            // Rare rejections continue on a counter no other draw uses (high index bits set).
            bits(index ^ (UInt64(attempt) << 56) ^ 0x8000_0000_0000_0000)
        }
    }
}
