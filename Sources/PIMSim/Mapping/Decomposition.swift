/// How one integer matrix multiply `Y = W·X` is cut into analog conversions on a chip.
///
/// An output element is the sum over ⌈K/n⌉ groups of n products. Within a group, every
/// input cycle (a slice of the input bits driven by the DAC) meets every weight slice (a
/// digit held by one cell or cell pair); each such pair is one analog partial sum and one
/// conversion (two for digital subtraction of a +/− pair). Codes are recombined digitally:
///
///     y = Σ_groups Σ_cycles Σ_slices 2^(cycle·bitsPerCycle) · sliceWeight[slice] · code
///
/// The digit ranges and weights here are exact for the integer grid of each encoding;
/// they define what a lossless chip must reproduce bit for bit.
public struct Decomposition: Sendable, Hashable, Codable {
    /// Activation precision (unsigned), ≥ 1.
    public var inputBits: Int
    /// Weight precision, ≥ 1.
    public var weightBits: Int
    public var inputBitsPerCycle: ChipConfig.SliceWidth
    public var encoding: ChipConfig.WeightEncoding
    public var bitsPerCell: ChipConfig.SliceWidth
    public var subtraction: ADCConfig.Subtraction
    /// Products summed into one conversion, n ≥ 1.
    public var inputsPerConversion: Int

    public init(inputBits: Int, weightBits: Int, inputBitsPerCycle: ChipConfig.SliceWidth,
                encoding: ChipConfig.WeightEncoding, bitsPerCell: ChipConfig.SliceWidth,
                subtraction: ADCConfig.Subtraction, inputsPerConversion: Int) {
        precondition(inputBits >= 1 && weightBits >= 1 && inputsPerConversion >= 1, "Decomposition: sizes must be positive")
        precondition(!(encoding == .ternarySignedDigit && weightBits < 2), "Decomposition: ternary digits need at least 2 weight bits")
        self.inputBits = inputBits
        self.weightBits = weightBits
        self.inputBitsPerCycle = inputBitsPerCycle
        self.encoding = encoding
        self.bitsPerCell = bitsPerCell
        self.subtraction = subtraction
        self.inputsPerConversion = inputsPerConversion
    }

    // MARK: - Inputs

    /// DAC cycles per input vector.
    public var inputCycles: Int { inputBitsPerCycle.slices(of: inputBits) }

    /// Bits driven in one cycle (the last cycle may carry fewer).
    public var bitsPerInputCycle: Int {
        switch inputBitsPerCycle {
        case let .bits(width): min(width, inputBits)
        case .whole: inputBits
        }
    }

    /// The largest input level of one cycle, 2^bitsPerInputCycle − 1.
    public var maxInputLevel: Int { (1 << bitsPerInputCycle) - 1 }

    // MARK: - Weights

    /// One weight slice: the range of the digit a cell (or cell pair) holds and the digital
    /// weight of its code in the recombination.
    public struct Slice: Sendable, Hashable, Codable {
        /// Smallest and largest digit the slice can hold.
        public var minDigit: Int
        public var maxDigit: Int
        /// Factor applied to this slice's code in the shift-add (negative for a two's-complement
        /// sign bit held as 0/1).
        public var weight: Int
    }

    /// The weight grid of the encoding: two's complement −2^(b−1)…2^(b−1)−1, except ternary
    /// signed digits, whose b−1 digits reach only the symmetric −(2^(b−1)−1)…2^(b−1)−1.
    public var weightRange: ClosedRange<Int> {
        let half = 1 << (weightBits - 1)
        return encoding == .ternarySignedDigit ? -(half - 1)...(half - 1) : -half...(half - 1)
    }

    /// Slices of one polarity, least significant first.
    public var slices: [Slice] {
        let b = weightBits
        let width: Int
        switch bitsPerCell {
        case let .bits(w): width = w
        case .whole: width = b
        }
        switch encoding {
        case .twosComplement:
            let count = (b + width - 1) / width
            return (0..<count).map { j in
                let low = j * width, w = min(width, b - low)
                if j < count - 1 { return Slice(minDigit: 0, maxDigit: (1 << w) - 1, weight: 1 << low) }
                // The top slice carries the sign. A 1-bit sign slice is stored as 0/1 and
                // negated digitally; a wider top slice is a signed multi-level digit.
                if w == 1 { return Slice(minDigit: 0, maxDigit: 1, weight: -(1 << low)) }
                return Slice(minDigit: -(1 << (w - 1)), maxDigit: (1 << (w - 1)) - 1, weight: 1 << low)
            }
        case .offsetBinary:
            let count = (b + width - 1) / width
            return (0..<count).map { j in
                let low = j * width, w = min(width, b - low)
                return Slice(minDigit: 0, maxDigit: (1 << w) - 1, weight: 1 << low)
            }
        case .differential:
            // |w| ≤ 2^(b−1) needs b magnitude bits (only −2^(b−1) uses the top one).
            let magnitude = 1 << (b - 1)
            let count = (b + width - 1) / width
            return (0..<count).map { j in
                let low = j * width, w = min(width, b - low)
                return Slice(minDigit: 0, maxDigit: min((1 << w) - 1, magnitude >> low), weight: 1 << low)
            }
        case .ternarySignedDigit:
            // One digit in {−1, 0, +1} per +/− cell pair, whatever the cell width.
            return (0..<(b - 1)).map { j in Slice(minDigit: -1, maxDigit: 1, weight: 1 << j) }
        }
    }

    /// Whether each slice is a +/− column pair.
    public var usesColumnPairs: Bool { encoding == .differential || encoding == .ternarySignedDigit }

    /// Conversions per slice and input cycle: 2 when a pair is subtracted digitally.
    public var conversionsPerSlice: Int { usesColumnPairs && subtraction == .digital ? 2 : 1 }

    /// Conversions for one group of n products of one output element.
    public var conversionsPerGroup: Int { inputCycles * slices.count * conversionsPerSlice }

    /// Conversions per multiply-accumulate of the full-precision layer (full groups).
    public var conversionsPerMAC: Double { Double(conversionsPerGroup) / Double(inputsPerConversion) }

    /// The reachable range of one conversion's ideal partial sum, in MAC units, over all
    /// slices and cycles: what the `max` full-scale policy covers.
    public var partialSumRange: ClosedRange<Int> {
        let n = inputsPerConversion, x = maxInputLevel
        var low = 0, high = 0
        for slice in slices {
            if usesColumnPairs && subtraction == .digital {
                // Each column of the pair is converted on its own: 0…n·x·|digit|.
                high = max(high, n * x * max(abs(slice.minDigit), slice.maxDigit))
            } else if encoding == .differential {
                // Analog subtraction of w⁺ − w⁻: symmetric.
                low = min(low, -n * x * slice.maxDigit)
                high = max(high, n * x * slice.maxDigit)
            } else {
                low = min(low, n * x * slice.minDigit)
                high = max(high, n * x * slice.maxDigit)
            }
        }
        return low...high
    }

    /// Whether some conversion's partial sum can be negative (needs a signed ADC).
    public var needsSignedConversion: Bool { partialSumRange.lowerBound < 0 }

    /// ADC bits for which a unit LSB covers the reachable range (with a sign bit if needed):
    /// the resolution of a lossless converter for this decomposition.
    public var losslessADCBits: Int {
        let range = partialSumRange
        return ADCConfig.bits(holding: range.upperBound - range.lowerBound)
    }
}
