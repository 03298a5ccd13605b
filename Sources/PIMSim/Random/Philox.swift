internal import CKernels

/// Philox4x32-10, the counter-based generator of Salmon et al. (SC'11, "Parallel random
/// numbers: as easy as 1, 2, 3").
///
/// Every output is a pure function of a 64-bit key and a 128-bit counter, so a draw can be
/// recomputed anywhere — in any thread, tile or batch split — from its coordinates alone.
@usableFromInline
struct Philox4x32: Sendable {
    @usableFromInline let key0: UInt32
    @usableFromInline let key1: UInt32

    @usableFromInline init(key: UInt64) {
        key0 = UInt32(truncatingIfNeeded: key)
        key1 = UInt32(truncatingIfNeeded: key >> 32)
    }

    /// The 128 random bits of counter (c0, c1, c2, c3), as four words.
    @inlinable @inline(__always)
    func block(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        var x0 = c0, x1 = c1, x2 = c2, x3 = c3
        var k0 = key0, k1 = key1
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(x0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(x2)
            x0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ x1 ^ k0
            x1 = UInt32(truncatingIfNeeded: p1)
            x2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ x3 ^ k1
            x3 = UInt32(truncatingIfNeeded: p0)
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (x0, x1, x2, x3)
    }
}

/// What a random draw is for; part of every counter, so streams never overlap.
///
/// A purpose names a family (the counter tag's top 8 bits) and a fixed base of its 24-bit
/// layer field; a stream's layer is added to that base. The training data's purposes share
/// the workload family at bases of their own.
public enum RandomPurpose: Sendable, CaseIterable {
    /// Temporal noise of one conversion.
    case conversionNoise
    /// Static relative mismatch of one memory cell.
    case cellMismatch
    /// Static offset, gain and INL of one ADC instance.
    case adcStatic
    /// Static ratio error of one analog cell weight (binary capacitors, C-2C ladder).
    case bitRatio
    /// Temporal read noise of the cells behind one partial sum.
    case readNoise
    /// Weights and inputs of generated workloads.
    case workload
    /// The order of a dataset's examples in one epoch.
    case shuffle
    /// Random crops and flips of training examples in one epoch.
    case augmentation
    /// Initial values of a network's parameters.
    case initialisation

    /// The family: the counter tag's top 8 bits.
    var family: UInt32 {
        switch self {
        case .conversionNoise: 1
        case .cellMismatch: 2
        case .adcStatic: 3
        case .bitRatio: 5
        case .readNoise: 6
        case .workload, .shuffle, .augmentation, .initialisation: 4
        }
    }

    /// Where this purpose's streams start in the tag's 24-bit layer field.
    var layerBase: Int {
        switch self {
        case .conversionNoise, .cellMismatch, .adcStatic, .bitRatio, .readNoise, .workload: 0
        case .shuffle: 0x5F00
        case .augmentation: 0xA06
        case .initialisation: 0xA11
        }
    }
}

/// A family of random draws addressed by coordinates: (seed, chip instance) → key;
/// (purpose, layer, index) → counter.
///
/// - Indexed draws (static draws, workloads) use the counter (index low, index high, 0, tag).
/// - Conversion noise uses (column / 4, row low, row high, tag): one block serves four
///   consecutive columns of a conversion row, word `column mod 4` each; rejected ziggurat
///   draws continue on counters with the top bit of the third word set.
///
/// `tag` = family << 24 | (layer base + layer) (24 bits), from ``RandomPurpose``.
public struct RandomStream: Sendable {
    @usableFromInline let generator: Philox4x32
    @usableFromInline let tag: UInt32

    public init(seed: UInt64, purpose: RandomPurpose, layer: Int = 0, instance: UInt64 = 0) {
        generator = Philox4x32(key: seed ^ RandomStream.mix(instance &+ 0x632B_E59B_D9B4_E019))
        tag = (purpose.family << 24) | (UInt32(truncatingIfNeeded: purpose.layerBase + layer) & 0x00FF_FFFF)
    }

    /// A bijective 64-bit mixer (the SplitMix64 finaliser), to spread instance numbers over keys.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The 128 random bits of draw `index`.
    @inlinable
    public func bits(_ index: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        generator.block(UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: index >> 32), 0, tag)
    }

    /// A uniform double in [0, 1) from draw `index` (53 random bits).
    @inlinable
    public func uniform(_ index: UInt64) -> Double {
        let (a, b, _, _) = bits(index)
        return Double((UInt64(a) << 21) ^ UInt64(b >> 11)) * 0x1p-53
    }

    /// A standard normal draw for `index`.
    public func normal(_ index: UInt64) -> Double {
        let lo = UInt32(truncatingIfNeeded: index), hi = UInt32(truncatingIfNeeded: index >> 32)
        let (w0, w1, w2, w3) = generator.block(lo, hi, 0, tag)
        if let value = Ziggurat.draw(w0, w1) { return value }
        if let value = Ziggurat.draw(w2, w3) { return value }
        return Ziggurat.resolve { attempt in generator.block(lo, hi, 0x8000_0000 | UInt32(attempt), tag) }
    }

    /// Standard normal draws for `count` consecutive columns of one conversion row.
    ///
    /// - Parameters:
    ///   - row: the conversion's coordinates other than the column, < 2^55.
    ///   - firstColumn: the global column index of the first draw.
    ///   - vectorised: use the AVX2 kernel if the CPU has it (the default); `false` runs the
    ///     portable loop. Both give the same draws bit for bit.
    /// - Complexity: one Philox block per four columns, plus the 2.8 % of draws that need the wedge or tail test.
    func conversionNormals(row: UInt64, firstColumn: Int, count: Int, into output: UnsafeMutablePointer<Float>,
                                  vectorised: Bool = true) {
        precondition(row < 1 << 55, "conversion row coordinate out of range")
        let rowLow = UInt32(truncatingIfNeeded: row), rowHigh = UInt32(truncatingIfNeeded: row >> 32)
        if vectorised && CPUFeatures.avx2 {
            pim_conversion_normals_avx2(generator.key0, generator.key1, tag, rowLow, rowHigh, Int64(firstColumn), count,
                                        Ziggurat.tables.shared, output)
            return
        }
        let firstBlock = firstColumn >> 2
        let blocks = (firstColumn + count + 3) >> 2 - firstBlock
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 4 * blocks) { words in
            // Pass 1: the row's blocks; independent iterations overlap in the core.
            for b in 0..<blocks {
                let (w0, w1, w2, w3) = generator.block(UInt32(truncatingIfNeeded: firstBlock + b), rowLow, rowHigh, tag)
                words[4 * b] = w0
                words[4 * b + 1] = w1
                words[4 * b + 2] = w2
                words[4 * b + 3] = w3
            }
            // Pass 2: one ziggurat draw per column from its word.
            let tables = Ziggurat.tables
            let skip = firstColumn - (firstBlock << 2)
            for j in 0..<count {
                let bits = words[skip + j]
                if let value = tables.fast(bits) {
                    output[j] = Float(value)
                } else {
                    output[j] = Float(slowNormal(first: bits, column: firstColumn + j, rowLow: rowLow, rowHigh: rowHigh))
                }
            }
        }
    }

    /// The wedge or tail test of a conversion draw (2.8 % of draws), on the column's own
    /// continuation counters (third word with the top bit set).
    @inline(never)
    func slowNormal(first: UInt32, column: Int, rowLow: UInt32, rowHigh: UInt32) -> Double {
        let c0 = UInt32(truncatingIfNeeded: column)
        return Ziggurat.resolve(first: first) { attempt in
            generator.block(c0, rowLow, 0x8000_0000 | (UInt32(attempt) << 24) | (rowHigh & 0x00FF_FFFF), tag)
        }
    }
}
