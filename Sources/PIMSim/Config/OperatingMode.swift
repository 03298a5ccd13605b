import Foundation

extension ChipConfig {
    /// A named way of operating the chip that overrides the weight encoding and, optionally,
    /// the ADC's effective resolution, range, noise and energy, the input bits per DAC cycle,
    /// the DAC's sign convention and the conversion timing (CAP-RAM: single-ended two's complement at 6 effective bits,
    /// or ternary differential at the full 7 bits; CR-CIM: with or without majority voting).
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
        /// Temporal noise σ (LSB) and energy per conversion (J) in this mode.
        public var adcNoiseSigmaLsb: Double?
        public var adcConversionEnergyJ: Double?
        /// Input bits per DAC cycle in this mode (one phase or two, for example).
        public var inputBitsPerCycle: SliceWidth?
        /// How the DAC drives a sign in this mode (Jia et al.'s XNOR mode: bipolar).
        public var inputEncoding: InputEncoding?
        /// Timing terms this mode changes (clock cycles, see ``Timing``).
        public var cyclesPerConversion: Double?
        public var cyclesPerInputStep: Double?
        public var cyclesPerADCBit: Double?
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
        /// Input bits per DAC cycle, the DAC's sign convention and conversion timing in this mode.
        public var inputBitsPerCycle: SliceWidth
        public var inputEncoding: InputEncoding
        public var timing: Timing
    }

    /// The chip's modes with defaults applied. A chip without modes has one implicit mode per
    /// supported encoding, named after it.
    public var resolvedModes: [ResolvedMode] {
        if modes.isEmpty {
            return weights.encodings.map { encoding in
                ResolvedMode(name: encoding.rawValue, encoding: encoding,
                             weightBits: weights.supportedBits.filter { !(encoding == .ternarySignedDigit && $0 < 2) },
                             adc: adc, subtraction: adc.subtraction,
                             inputBitsPerCycle: inputs.bitsPerCycle, inputEncoding: inputs.encoding, timing: timing)
            }
        }
        return modes.map { mode in
            var converter = adc
            if let bits = mode.adcBits { converter.bits = bits }
            if let signed = mode.adcSigned { converter.signed = signed }
            if let range = mode.adcRange { converter.range = range }
            if let noise = mode.adcNoiseSigmaLsb { converter.noiseSigmaLsb = noise }
            if let energy = mode.adcConversionEnergyJ { converter.conversionEnergyJ = energy }
            let subtraction = mode.subtraction ?? adc.subtraction
            converter.subtraction = subtraction
            var modeTiming = timing
            if let cycles = mode.cyclesPerConversion { modeTiming.cyclesPerConversion = cycles }
            if let cycles = mode.cyclesPerInputStep { modeTiming.cyclesPerInputStep = cycles }
            if let cycles = mode.cyclesPerADCBit { modeTiming.cyclesPerADCBit = cycles }
            return ResolvedMode(name: mode.name, encoding: mode.encoding,
                                weightBits: mode.weightBits ?? weights.supportedBits,
                                adc: converter, subtraction: subtraction,
                                inputBitsPerCycle: mode.inputBitsPerCycle ?? inputs.bitsPerCycle,
                                inputEncoding: mode.inputEncoding ?? inputs.encoding, timing: modeTiming)
        }
    }

    /// The mode a simulation uses when none is named.
    public var defaultResolvedMode: ResolvedMode {
        let all = resolvedModes
        return all.first { $0.name == defaultMode } ?? all[0]
    }

    /// How the DAC drives a sign in a run: the named (or default) mode's convention with
    /// ``Scheme/chip``, the chip's own (``Inputs/encoding``) with the scheme presets.
    public func inputEncoding(scheme: Scheme, mode name: String?) -> InputEncoding {
        guard scheme == .chip else { return inputs.encoding }
        return (name.flatMap { n in resolvedModes.first { $0.name == n } } ?? defaultResolvedMode).inputEncoding
    }

    /// The input word that carries a non-negative `activationBits`-bit level 0…2^a − 1 in a
    /// run: the same width on an unsigned DAC, one bit more (the sign) on a signed one.
    public func wordBits(activationBits: Int, scheme: Scheme, mode: String?) -> Int {
        inputEncoding(scheme: scheme, mode: mode) == .unsigned ? activationBits : activationBits + 1
    }

    /// The chip's own decomposition of an `inputBits` × `weightBits` multiply in `mode`.
    public func decomposition(inputBits: Int, weightBits: Int, mode: ResolvedMode) -> Decomposition {
        Decomposition(inputBits: inputBits, weightBits: weightBits,
                      inputBitsPerCycle: mode.inputBitsPerCycle, encoding: mode.encoding,
                      bitsPerCell: weights.bitsPerSlice, subtraction: mode.subtraction,
                      inputsPerConversion: array.inputsPerConversion, inputEncoding: mode.inputEncoding,
                      inputPhases: inputs.phases)
    }
}
