/// Which of the simulated stages are switched on. Each stage has an ideal setting, so any
/// one can be isolated.
public struct NonIdealities: Sendable, Hashable, Codable {
    /// Temporal noise per conversion at the chip's σ, and the cells' read noise.
    public var temporalNoise: Bool
    /// Static per-ADC offset, gain, INL and DNL (and their calibration).
    public var adcStaticErrors: Bool
    /// Static cell errors: relative mismatch, analog bit-ratio mismatch, conductance write and
    /// relaxation errors.
    public var cellMismatch: Bool
    /// The chip's MAC transfer curve (off = identity).
    public var transferCurve: Bool
    /// Seconds after programming at which the weights are read, for a chip with conductance
    /// drift (``ChipConfig/Drift``); `nil` = at the reference time, no drift.
    public var readTimeS: Double?

    public init(temporalNoise: Bool = true, adcStaticErrors: Bool = true, cellMismatch: Bool = true, transferCurve: Bool = true,
                readTimeS: Double? = nil) {
        self.temporalNoise = temporalNoise
        self.adcStaticErrors = adcStaticErrors
        self.cellMismatch = cellMismatch
        self.transferCurve = transferCurve
        self.readTimeS = readTimeS
    }

    /// Every stage on: the chip as described.
    public static let all = NonIdealities()
    /// Every stage ideal: only the decomposition and the ADC's quantization remain.
    public static let none = NonIdealities(temporalNoise: false, adcStaticErrors: false, cellMismatch: false, transferCurve: false)
}
