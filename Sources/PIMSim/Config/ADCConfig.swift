/// The analog-to-digital converters that digitise every partial sum.
///
/// A conversion maps an analog partial sum y (MAC units) to a code:
/// - unsigned: `clamp(round_half_even((y − min) / Δ), 0, 2^b − 1)` with `Δ = (max − min) / (2^b − 1)`;
/// - signed (differential, mid-scale zero): `clamp(round_half_even(y / Δ), −L, L)` with
///   `L = 2^(b−1) − 1` and `Δ = R / L` over the symmetric range −R…R, so zero is a code
///   (2^b − 1 codes; needs b ≥ 2).
///
/// Static errors (offset, gain, INL) are drawn per ADC instance, temporal noise per
/// conversion; σ values are in LSB of this ADC.
public struct ADCConfig: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case sar, flash, pipeline, integrating, cco, ramp, sigmaDelta = "sigma_delta"
        /// A lossless converter: the code is the exact partial sum (Δ = 1 MAC unit, no clipping).
        case ideal
    }

    /// How the full-scale range is chosen.
    public enum RangePolicy: String, Sendable, Hashable, Codable, CaseIterable {
        /// The chip's range as given by `min` and `max`.
        case fixed
        /// The largest reachable partial sum of the decomposition.
        case max
        /// A per-layer range from a percentile of calibration data, then frozen.
        case calibrated
        /// Each tensor's own min/max. Not physical; offered only for comparison with tools that do this.
        case oracle
    }

    public struct Range: Sendable, Hashable, Codable {
        public var policy: RangePolicy
        /// Lower and upper bound of the input range in MAC units (policy `fixed` only).
        public var min: Double?
        public var max: Double?
        /// Percentile of |partial sum| that sets the range (policy `calibrated` only), in (0, 100].
        public var percentile: Double?
    }

    public enum Calibration: String, Sendable, Hashable, Codable, CaseIterable {
        case none
        /// A per-ADC linear fit removes offset and gain.
        case linear
        /// Linear per ADC, then the mean INL curve (the master curve) is removed too.
        case linearMaster = "linear+master"
    }

    /// How a +/− column pair is subtracted.
    public enum Subtraction: String, Sendable, Hashable, Codable, CaseIterable {
        /// Two conversions; the codes are subtracted.
        case digital
        /// One differential conversion of the difference.
        case analog
    }

    public var type: Kind
    /// Resolution in bits, 1…24; `nil` for an ``Kind/ideal`` converter.
    public var bits: Int?
    /// Code steps above zero when they are not the `bits`' power of two: a converter whose step
    /// lies between whole bits (PIM-QAT's `exact` training precision), with
    /// `bits` the fewest that hold its codes. `nil` (every chip file): 2^b − 1 unsigned,
    /// 2^(b−1) − 1 signed.
    public var codeSteps: Int? = nil
    /// Number of ADC instances; partial sums of output column j go to ADC `j mod count`.
    public var count: Int
    /// Signed (mid-scale zero) codes.
    public var signed: Bool
    public var range: Range
    /// Effective number of bits as published (informational).
    public var enob: Double?
    /// Temporal noise per conversion, σ in LSB, input-referred.
    public var noiseSigmaLsb: Double
    /// Static offset per ADC, σ in LSB (before calibration).
    public var offsetSigmaLsb: Double
    /// Static relative gain error per ADC, σ (before calibration).
    public var gainSigmaRel: Double
    /// Static integral non-linearity per threshold, σ in LSB, capped at ``inlMaxLsb``.
    public var inlSigmaLsb: Double
    /// Cap on |INL| in LSB; `nil` = no cap.
    public var inlMaxLsb: Double?
    /// Static differential non-linearity per code, σ in LSB.
    public var dnlSigmaLsb: Double
    /// Relative σ of a SAR unit capacitor; when given, INL/DNL follow from capacitor mismatch
    /// (capacitor i = 2^i·C_u·(1+ε), ε ~ N(0, σ²/2^i)) instead of ``inlSigmaLsb``.
    public var sarUnitCapMismatchRel: Double?
    public var calibration: Calibration
    public var subtraction: Subtraction
    /// Energy of one conversion, joules.
    public var conversionEnergyJ: Double?
    public var areaUm2: Double?
}

extension ChipConfig {
    public struct Timing: Sendable, Hashable, Codable {
        /// Array clock, hertz.
        public var clockHz: Double
        /// Clock cycles one conversion occupies an ADC, > 0.
        public var cyclesPerConversion: Double
    }

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

    /// The paper's own figures, for regression checks against what the model derives.
    public struct Reported: Sendable, Hashable, Codable {
        public var peakThroughputOpsPerS: Double?
        public var energyEfficiencyOpsPerJ: Double?
        public var powerW: Double?
        public var areaMm2: Double?
        public var accuracy: [ReportedAccuracy]
    }

    public struct ReportedAccuracy: Sendable, Hashable, Codable {
        public var network: String
        public var dataset: String
        /// Top-1 accuracy on chip, as a fraction in [0, 1].
        public var top1: Double
        /// Top-1 accuracy of the same network in software, as a fraction.
        public var softwareTop1: Double?
    }
}
