/// How one integer matrix multiply `Y = W·X` is cut into analog conversions on a chip.
///
/// An output element is the sum over ⌈K/n⌉ groups of n products. Within a group, every
/// input cycle (a slice of the input word driven by the DAC) meets every weight slice (a
/// digit held by one cell or cell pair); each such pair is one analog partial sum and one
/// conversion (two for digital subtraction of a +/− pair). Codes are recombined digitally:
///
///     R = Σ_passes ± Σ_groups Σ_cycles Σ_slices inputSlice[cycle].weight · sliceWeight[slice] · code
///       = inputScale · (weightScale · W + weightOffset) · X
///     y = (R / inputScale − weightOffset · Σ_k x_k) / weightScale
///
/// The scales are 2 for bipolar (±1-per-bit) operands and 1 otherwise; the offset is that of
/// offset-binary or bipolar weight cells, removed digitally and exactly. The scales are powers
/// of two, so the division is exact in floating point.
///
/// The digit ranges and weights here are exact for the integer grid of each encoding;
/// they define what a lossless chip must reproduce bit for bit.
public struct Decomposition: Sendable, Hashable, Codable {
    /// Width of the DAC's input word, ≥ 1 (≥ 2 for sign-magnitude): magnitude bits on an
    /// unsigned DAC, sign included on a signed one (``inputEncoding``).
    public var inputBits: Int
    /// Weight precision, ≥ 1.
    public var weightBits: Int
    public var inputBitsPerCycle: ChipConfig.SliceWidth
    public var encoding: ChipConfig.WeightEncoding
    public var bitsPerCell: ChipConfig.SliceWidth
    public var subtraction: ADCConfig.Subtraction
    /// Products summed into one conversion, n ≥ 1.
    public var inputsPerConversion: Int
    /// How the DAC drives a sign: not at all (signed inputs take two passes), as a two's-
    /// complement word, as a ± drive of the magnitude, or as ±1 per bit.
    public var inputEncoding: ChipConfig.InputEncoding
    /// How a word wider than one cycle is split, and each cycle's converter resolution.
    public var inputPhases: ChipConfig.InputPhases

    public init(inputBits: Int, weightBits: Int, inputBitsPerCycle: ChipConfig.SliceWidth,
                encoding: ChipConfig.WeightEncoding, bitsPerCell: ChipConfig.SliceWidth,
                subtraction: ADCConfig.Subtraction, inputsPerConversion: Int,
                inputEncoding: ChipConfig.InputEncoding = .unsigned, inputPhases: ChipConfig.InputPhases = .init()) {
        precondition(inputBits >= 1 && weightBits >= 1 && inputsPerConversion >= 1, "Decomposition: sizes must be positive")
        precondition(!(encoding == .ternarySignedDigit && weightBits < 2), "Decomposition: ternary digits need at least 2 weight bits")
        precondition(!(inputEncoding == .signMagnitude && inputBits < 2), "Decomposition: a sign-magnitude input needs a sign and a magnitude bit")
        self.inputBits = inputBits
        self.weightBits = weightBits
        self.inputBitsPerCycle = inputBitsPerCycle
        self.encoding = encoding
        self.bitsPerCell = bitsPerCell
        self.subtraction = subtraction
        self.inputsPerConversion = inputsPerConversion
        self.inputEncoding = inputEncoding
        self.inputPhases = inputPhases
    }

    // MARK: - Inputs

    /// The recombined sum counts 2x for a bipolar input (its last cycle drives −1), else x.
    public var inputScale: Int { inputEncoding == .bipolarXNOR ? 2 : 1 }
    /// The slices of one weight sum to 2w + 1 for bipolar cells, else to w (w + 2^(b−1) for
    /// offset binary).
    public var weightScale: Int { encoding == .bipolarXNOR ? 2 : 1 }
    /// What the cells hold on top of weightScale·w, per unit of input: 2^(b−1) for offset
    /// binary, 1 for bipolar cells, 0 otherwise (removed digitally from Σ_k x_k).
    public var weightOffset: Int {
        switch encoding {
        case .offsetBinary: 1 << (weightBits - 1)
        case .bipolarXNOR: 1
        case .twosComplement, .differential, .ternarySignedDigit: 0
        }
    }

    /// The bits the DAC cycles slice: the whole word, except the sign of a sign-magnitude
    /// drive, which is the polarity of every cycle.
    public var inputMagnitudeBits: Int { inputEncoding == .signMagnitude ? inputBits - 1 : inputBits }

    /// The input levels one run can drive: ±(2^b − 1) on an unsigned DAC (negative levels in
    /// a second pass), −2^(b−1)…2^(b−1) − 1 as two's-complement words, ±(2^(b−1) − 1) as
    /// sign and magnitude.
    public var inputRange: ClosedRange<Int> {
        let b = inputBits
        switch inputEncoding {
        case .unsigned: return -((1 << b) - 1)...((1 << b) - 1)
        case .twosComplement, .bipolarXNOR: return -(1 << (b - 1))...((1 << (b - 1)) - 1)
        case .signMagnitude: return -((1 << (b - 1)) - 1)...((1 << (b - 1)) - 1)
        }
    }

    /// The largest non-negative level (a ReLU activation's top level): 2^b − 1 on an unsigned
    /// DAC, 2^(b−1) − 1 on a signed one.
    public var maxUnsignedInput: Int { inputRange.upperBound }

    /// The largest level a symmetric signed input grid can use: 2^b − 1 on an unsigned DAC (two
    /// passes), 2^(b−1) − 1 on a signed one.
    public var symmetricInputTop: Int { min(inputRange.upperBound, -inputRange.lowerBound) }

    /// Passes over the array for inputs whose smallest level is `lowest`: two on an unsigned
    /// DAC when a level is negative (positive and negative parts, subtracted digitally), else one.
    public func inputPasses(lowest: Int) -> Int { inputEncoding == .unsigned && lowest < 0 ? 2 : 1 }

    /// Widths of the DAC cycles over the magnitude bits, least significant first, as
    /// ``inputPhases`` splits them (one bit each for a bipolar input).
    public var inputCycleWidths: [Int] {
        let b = inputMagnitudeBits
        if inputEncoding == .bipolarXNOR { return Array(repeating: 1, count: b) }
        let width = inputBitsPerCycle.width(of: b), count = (b + width - 1) / width
        switch inputPhases.split {
        case .lsbFirst:
            return (0..<count).map { j in min(width, b - j * width) }
        case .balanced:
            let base = b / count, wider = b % count
            return (0..<count).map { j in base + (j >= count - wider ? 1 : 0) }
        }
    }

    /// One DAC cycle: the digit range it drives and the digital weight of its partial sums.
    /// Least significant first; ``Slice/minDigit`` < 0 where the drive itself is signed.
    public var inputSlices: [Slice] {
        let b = inputMagnitudeBits, widths = inputCycleWidths
        if inputEncoding == .bipolarXNOR {
            // ±1 per bit (the sign bit counting negative), then the constant −1 cycle.
            return (0..<b).map { j in Slice(minDigit: -1, maxDigit: 1, weight: j == b - 1 ? -(1 << j) : 1 << j) }
                + [Slice(minDigit: -1, maxDigit: -1, weight: 1)]
        }
        var low = 0
        return widths.enumerated().map { j, w in
            defer { low += w }
            let top = (1 << w) - 1
            switch inputEncoding {
            case .unsigned:
                return Slice(minDigit: 0, maxDigit: top, weight: 1 << low)
            case .signMagnitude:
                return Slice(minDigit: -top, maxDigit: top, weight: 1 << low)
            case .twosComplement, .bipolarXNOR:
                if j < widths.count - 1 { return Slice(minDigit: 0, maxDigit: top, weight: 1 << low) }
                // The sign slice: a 1-bit cycle drives 0/1 and counts negative digitally; a
                // wider one drives a signed multi-level digit.
                if w == 1 { return Slice(minDigit: 0, maxDigit: 1, weight: -(1 << low)) }
                return Slice(minDigit: -(1 << (w - 1)), maxDigit: (1 << (w - 1)) - 1, weight: 1 << low)
            }
        }
    }

    /// DAC cycles per input vector (per pass): one more than the bits for a bipolar input.
    public var inputCycles: Int { inputCycleWidths.count + (inputEncoding == .bipolarXNOR ? 1 : 0) }

    /// The bits each DAC cycle's converter drops from the mode's resolution: with
    /// ``ChipConfig/InputPhases/ADCBits/reduced``, the magnitude bits above that cycle (a
    /// bipolar input's constant cycle counts as its lowest bit); otherwise 0.
    public var adcBitReductions: [Int] {
        guard inputPhases.adcBits == .reduced else { return Array(repeating: 0, count: inputCycles) }
        let b = inputMagnitudeBits
        var low = 0
        var reductions = inputCycleWidths.map { w in
            defer { low += w }
            return b - (low + w)
        }
        if inputEncoding == .bipolarXNOR { reductions.append(b - 1) }
        return reductions
    }

    /// The bits of `adc` in each DAC cycle (`nil`: lossless): its bits less
    /// ``adcBitReductions``, at least 1 (2 for a signed converter, whose codes need a sign).
    public func cycleADCBits(_ adc: ADCConfig) -> [Int?] {
        let floor = adc.signed ? 2 : 1
        return adcBitReductions.map { reduction in adc.bits.map { max(floor, $0 - reduction) } }
    }

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

        /// The largest digit magnitude, max(|min|, |max|): a cell's level range, or the pulses
        /// and integration steps of a DAC cycle.
        public var magnitude: Int { max(abs(minDigit), abs(maxDigit)) }
    }

    /// The weight grid of the encoding: two's complement −2^(b−1)…2^(b−1)−1 (bipolar cells
    /// included: they hold the two's-complement bits as ±1), except ternary
    /// signed digits, whose b−1 digits reach only the symmetric −(2^(b−1)−1)…2^(b−1)−1.
    public var weightRange: ClosedRange<Int> {
        let half = 1 << (weightBits - 1)
        return encoding == .ternarySignedDigit ? -(half - 1)...(half - 1) : -half...(half - 1)
    }

    /// Slices of one polarity, least significant first.
    public var slices: [Slice] {
        let b = weightBits, width = bitsPerCell.width(of: b)
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
        case .bipolarXNOR:
            // One ±1 cell per bit, the sign bit counting negative.
            return (0..<b).map { j in Slice(minDigit: -1, maxDigit: 1, weight: j == b - 1 ? -(1 << j) : 1 << j) }
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
        let n = inputsPerConversion
        var low = 0, high = 0
        for slice in slices {
            // The digits one conversion sees.
            let digits: (Int, Int)
            if usesColumnPairs && subtraction == .digital {
                // Each column of the pair is converted on its own: 0…|digit|.
                digits = (0, max(abs(slice.minDigit), slice.maxDigit))
            } else if encoding == .differential {
                // Analog subtraction of w⁺ − w⁻: symmetric.
                digits = (-slice.maxDigit, slice.maxDigit)
            } else {
                digits = (slice.minDigit, slice.maxDigit)
            }
            for cycle in inputSlices {
                for x in [cycle.minDigit, cycle.maxDigit] {
                    for w in [digits.0, digits.1] {
                        low = min(low, n * x * w)
                        high = max(high, n * x * w)
                    }
                }
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
