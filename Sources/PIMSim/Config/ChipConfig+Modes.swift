import Foundation

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
    /// The largest code magnitude: 2^b − 1 codes above zero for an unsigned converter,
    /// 2^(b−1) − 1 on each side of zero for a signed one, or ``codeSteps`` when given.
    public var maxCode: Int? {
        guard let bits else { return nil }
        return codeSteps ?? (signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1)
    }

    /// The fewest bits b ≥ 1 whose unsigned codes 0…2^b − 1 reach `steps` (≥ 0).
    public static func bits(holding steps: Int) -> Int {
        max(1, Int.bitWidth - steps.leadingZeroBitCount)
    }

    /// The resolution in bits: log2(maxCode + 1), plus a sign bit for a signed converter; `b`
    /// for a whole-bit converter, fractional with ``codeSteps``; `nil` for an ideal converter.
    public var resolutionBits: Double? {
        guard let maxCode else { return nil }
        return (signed ? 1 : 0) + log2(Double(maxCode + 1))
    }

    /// The full-scale range in MAC units for a conversion whose reachable partial sums are
    /// `partialSums`: the fixed range, or the reachable one (made symmetric for a signed
    /// converter); `nil` when it depends on data or for an ideal (unbounded) converter.
    public func fullScale(reachable partialSums: ClosedRange<Int>) -> ClosedRange<Double>? {
        guard bits != nil else { return nil }
        switch range.policy {
        case .fixed:
            return range.min!...range.max!
        case .max:
            if signed {
                let r = Double(max(abs(partialSums.lowerBound), abs(partialSums.upperBound)))
                return -r...r
            }
            return Double(partialSums.lowerBound)...Double(partialSums.upperBound)
        case .calibrated, .oracle:
            return nil
        }
    }

    /// The LSB Δ in MAC units: the full-scale span over the number of code steps
    /// (`(max − min) / (2^b − 1)` unsigned, `R / (2^(b−1) − 1)` signed). `1` for an ideal
    /// converter; `nil` when the range depends on data (`calibrated`, `oracle`).
    public func lsb(reachable partialSums: ClosedRange<Int>) -> Double? {
        guard let maxCode else { return 1 }
        guard let scale = fullScale(reachable: partialSums) else { return nil }
        let span = signed ? scale.upperBound : scale.upperBound - scale.lowerBound
        return span / Double(maxCode)
    }
}
