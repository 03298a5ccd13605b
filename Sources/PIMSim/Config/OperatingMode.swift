import Foundation

extension ChipConfig {
    /// A named way of operating the chip that overrides the weight encoding and the ADC's
    /// effective resolution and range (CAP-RAM: single-ended two's complement at 6 effective
    /// bits, or ternary differential at the full 7 bits).
    public struct OperatingMode: Sendable, Hashable, Codable {
        public var name: String
        public var description: String?
        public var encoding: WeightEncoding
        /// Weight precisions available in this mode; `nil` = all of ``Weights/supportedBits``.
        public var weightBits: [Int]?
        public var adcBits: Int?
        public var adcSigned: Bool?
        public var adcRange: ADCConfig.Range?
        public var subtraction: ADCConfig.Subtraction?
    }

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
                      inputsPerConversion: array.inputsPerConversion, inputEncoding: inputs.encoding)
    }
}
