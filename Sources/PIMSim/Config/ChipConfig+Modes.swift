extension ChipConfig {
    /// An operating mode with the chip's defaults filled in: everything a simulation needs to
    /// know about encoding and conversion.
    public struct ResolvedMode: Sendable, Hashable, Codable {
        public var name: String
        public var encoding: WeightEncoding
        /// Weight precisions available in this mode.
        public var weightBits: [Int]
        /// The ADC as this mode uses it (effective bits, signedness and range applied).
        public var adc: ADCConfig
        public var subtraction: ADCConfig.Subtraction
    }

    /// The chip's modes with defaults applied. A chip without modes has one implicit mode per
    /// supported encoding, named after it.
    public var resolvedModes: [ResolvedMode] {
        if modes.isEmpty {
            return weights.encodings.map { encoding in
                ResolvedMode(name: encoding.rawValue, encoding: encoding,
                             weightBits: weights.supportedBits.filter { !(encoding == .ternarySignedDigit && $0 < 2) },
                             adc: adc, subtraction: adc.subtraction)
            }
        }
        return modes.map { mode in
            var converter = adc
            if let bits = mode.adcBits { converter.bits = bits }
            if let signed = mode.adcSigned { converter.signed = signed }
            if let range = mode.adcRange { converter.range = range }
            let subtraction = mode.subtraction ?? adc.subtraction
            converter.subtraction = subtraction
            return ResolvedMode(name: mode.name, encoding: mode.encoding,
                                weightBits: mode.weightBits ?? weights.supportedBits,
                                adc: converter, subtraction: subtraction)
        }
    }

    /// The mode a simulation uses when none is named.
    public var defaultResolvedMode: ResolvedMode {
        let all = resolvedModes
        return all.first { $0.name == defaultMode } ?? all[0]
    }

    /// The chip's own decomposition of an `inputBits` × `weightBits` multiply in `mode`.
    public func decomposition(inputBits: Int, weightBits: Int, mode: ResolvedMode) -> Decomposition {
        Decomposition(inputBits: inputBits, weightBits: weightBits,
                      inputBitsPerCycle: inputs.bitsPerCycle, encoding: mode.encoding,
                      bitsPerCell: weights.bitsPerCell, subtraction: mode.subtraction,
                      inputsPerConversion: array.inputsPerConversion)
    }
}

extension ADCConfig {
    /// The LSB Δ in MAC units for a conversion whose reachable partial sums are
    /// `partialSums`: `(max − min) / (2^b − 1)` of the full-scale range the policy picks.
    /// `1` for an ideal converter; `nil` when the range depends on data
    /// (`calibrated`, `oracle`).
    public func lsb(reachable partialSums: ClosedRange<Int>) -> Double? {
        guard let bits else { return 1 }
        let levels = Double((1 << bits) - 1)
        switch range.policy {
        case .fixed:
            return (range.max! - range.min!) / levels
        case .max:
            return Double(partialSums.upperBound - partialSums.lowerBound) / levels
        case .calibrated, .oracle:
            return nil
        }
    }

    /// The full-scale range in MAC units for a conversion whose reachable partial sums are
    /// `partialSums`; `nil` when data-dependent or for an ideal (unbounded) converter.
    public func fullScale(reachable partialSums: ClosedRange<Int>) -> ClosedRange<Double>? {
        guard bits != nil else { return nil }
        switch range.policy {
        case .fixed: return range.min!...range.max!
        case .max: return Double(partialSums.lowerBound)...Double(partialSums.upperBound)
        case .calibrated, .oracle: return nil
        }
    }
}
