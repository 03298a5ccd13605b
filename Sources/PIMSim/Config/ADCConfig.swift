import Foundation

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

    /// Where the converters' reference (full scale) comes from.
    public enum Reference: String, Sendable, Hashable, Codable, CaseIterable {
        /// Each ADC its own: gain errors independent per instance.
        case perADC = "per_adc"
        /// One reference shared by all ADCs (NeuRRAM's common decrement voltage): a single gain
        /// error common to every instance.
        case shared
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
    /// lies between whole bits (PIM-QAT's `exact` training precision, or a chip file's
    /// `adc.code_steps`, e.g. a counting converter that reaches 422 counts in its window),
    /// with `bits` the width of its output. `nil`: 2^b − 1 unsigned, 2^(b−1) − 1 signed (each
    /// side of zero).
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
    /// Static relative gain error per ADC, σ (before calibration); one draw for all ADCs with
    /// a ``Reference/shared`` reference.
    public var gainSigmaRel: Double
    public var reference: Reference = .perADC
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

extension ADCConfig {
    /// The same converter stopped after `bits` of its decisions (a SAR or binary search cut
    /// short): the same full scale with a coarser step, its errors in volts unchanged, so
    /// every figure in LSB scales by the ratio of the code counts. Needs no ``codeSteps``.
    public func truncated(toBits bits: Int) -> ADCConfig {
        guard let full = maxCode, bits < self.bits ?? 0 else { return self }
        var copy = self
        copy.bits = bits
        copy.codeSteps = nil
        let ratio = Double(copy.maxCode!) / Double(full)
        copy.noiseSigmaLsb *= ratio
        copy.offsetSigmaLsb *= ratio
        copy.inlSigmaLsb *= ratio
        copy.inlMaxLsb = inlMaxLsb.map { $0 * ratio }
        copy.dnlSigmaLsb *= ratio
        return copy
    }

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
