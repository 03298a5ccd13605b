extension ChipConfig {
    /// The array's clock and how long a conversion holds an ADC.
    ///
    /// One conversion takes `cyclesPerConversion + cyclesPerInputStep × L + cyclesPerADCBit × b`
    /// clock cycles, where L is the largest digit magnitude of the DAC cycle being converted
    /// (the pulses of a pulse-count input, the integration steps of an analog-integrating one,
    /// the length of a pulse-width one, in units of one level) and b the converter's bits.
    /// With only the first term (the common case) every conversion takes the same time.
    public struct Timing: Sendable, Hashable, Codable {
        /// Array clock, hertz.
        public var clockHz: Double
        /// Fixed clock cycles of every conversion (reset, sampling, one phase), ≥ 0.
        public var cyclesPerConversion: Double
        /// Clock cycles per input level step of the converted DAC cycle, ≥ 0.
        public var cyclesPerInputStep: Double = 0
        /// Clock cycles per bit of the converter (a SAR decision, a charge-decrement step), ≥ 0.
        public var cyclesPerADCBit: Double = 0

        /// Whether the time of a conversion depends on the input digits or the ADC's bits.
        public var dependsOnPrecision: Bool { cyclesPerInputStep > 0 || cyclesPerADCBit > 0 }

        /// Clock cycles of one conversion whose DAC cycle reaches `inputSteps` levels (≥ 0) on a
        /// `adcBits`-bit converter (`nil`: lossless, no bit term).
        public func cycles(inputSteps: Int, adcBits: Int?) -> Double {
            cyclesPerConversion + cyclesPerInputStep * Double(inputSteps) + cyclesPerADCBit * Double(adcBits ?? 0)
        }

        /// Clock cycles the conversions of one group of `decomposition` (every input cycle ×
        /// every weight slice × conversions per slice, one pass) take on one ADC, summed; a
        /// cycle converted at fewer bits (``Decomposition/cycleADCBits(_:)``) takes fewer.
        public func cyclesPerGroup(_ decomposition: Decomposition, adc: ADCConfig) -> Double {
            let perInputCycle = decomposition.slices.count * decomposition.conversionsPerSlice
            return zip(decomposition.inputSlices, decomposition.cycleADCBits(adc)).reduce(0) { sum, cycle in
                sum + Double(perInputCycle) * cycles(inputSteps: cycle.0.magnitude, adcBits: cycle.1)
            }
        }

        /// Mean clock cycles per conversion of `decomposition`.
        public func meanCyclesPerConversion(_ decomposition: Decomposition, adc: ADCConfig) -> Double {
            cyclesPerGroup(decomposition, adc: adc) / Double(decomposition.conversionsPerGroup)
        }

        /// The terms in words: `30 cycle(s) per conversion + 27 per input level step + 30 per ADC bit`.
        public var terms: String {
            var text = "\(Format.number(cyclesPerConversion)) cycle(s) per conversion"
            if cyclesPerInputStep > 0 { text += " + \(Format.number(cyclesPerInputStep)) per input level step" }
            if cyclesPerADCBit > 0 { text += " + \(Format.number(cyclesPerADCBit)) per ADC bit" }
            return text
        }

        /// The cycles of one conversion in words, e.g. `147 (30 + 27 × 1 input step + 30 × 3 ADC bits)`.
        public func describe(inputSteps: Int, adcBits: Int?) -> String {
            let total = cycles(inputSteps: inputSteps, adcBits: adcBits)
            guard dependsOnPrecision else { return Format.number(total) }
            var terms = [Format.number(cyclesPerConversion)]
            if cyclesPerInputStep > 0 { terms.append("\(Format.number(cyclesPerInputStep)) × \(inputSteps) input step(s)") }
            if cyclesPerADCBit > 0 { terms.append("\(Format.number(cyclesPerADCBit)) × \(adcBits ?? 0) ADC bits") }
            return "\(Format.number(total)) (\(terms.joined(separator: " + ")))"
        }
    }
}
