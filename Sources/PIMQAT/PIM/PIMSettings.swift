import Foundation
import PIMSim

/// Which of PIM-QAT's rescaling factors (forward: the output; backward: the gradient) are applied.
public enum Rescale: String, Sendable, Codable, CaseIterable {
    case none, forward, backward, both

    public var forward: Bool { self == .forward || self == .both }
    public var backward: Bool { self == .backward || self == .both }
}

/// The ADC precision PIM-QAT trains with, always over the chip's full-scale range.
public enum PrecisionAdjustment: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The chip's own resolution.
    case none
    /// b_train = b_chip − round(log2 √(1 + 12 σ_n²)), σ_n the chip's temporal noise in LSB.
    case auto
    /// The noise-equivalent step of adjusted-precision training before it rounds to whole bits, Δ' = Δ·√(1 + 12 σ_n²): the chip's
    /// code steps divided by √(1 + 12 σ_n²), rounded to the nearest whole number N (at least
    /// one), so Δ' is within a relative 1/(2N) of its target. CAP-RAM (σ_n = 0.35): 63 → 40
    /// steps, Δ' = 1.575 Δ where `auto` trains at 2 Δ.
    case exact
    /// An explicit training resolution in bits.
    case bits(Int)

    /// Parses `none`, `auto`, `exact` or a number of bits.
    public init?(argument: String) {
        switch argument.lowercased() {
        case "none", "off": self = .none
        case "auto": self = .auto
        case "exact": self = .exact
        default:
            guard let bits = Int(argument), (1...24).contains(bits) else { return nil }
            self = .bits(bits)
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .auto: "auto"
        case .exact: "exact"
        case let .bits(b): String(b)
        }
    }

    /// The converter to train with in place of the chip's `chip` (not ideal): the same type,
    /// sign, range and noise σ in the chip's LSB, at the training resolution (``ADCConfig/bits``,
    /// and ``ADCConfig/codeSteps`` for `exact`). Explicit bits are not range-checked here.
    public func trainingConverter(for chip: ADCConfig) -> ADCConfig {
        guard let chipBits = chip.bits, let chipSteps = chip.maxCode else { return chip }
        let noiseFactor = (1 + 12 * chip.noiseSigmaLsb * chip.noiseSigmaLsb).squareRoot()
        var adc = chip
        switch self {
        case .none: break
        case .auto: adc.bits = chipBits - Int(log2(noiseFactor).rounded(.toNearestOrEven))
        case let .bits(b): adc.bits = b
        case .exact:
            let steps = max(1, Int((Double(chipSteps) / noiseFactor).rounded(.toNearestOrEven)))
            adc.bits = ADCConfig.bits(holding: steps) + (chip.signed ? 1 : 0)
            adc.codeSteps = steps
        }
        return adc
    }
}

/// How a network is trained through (and later deployed on) a PIM chip model: stored in
/// PIM-QAT checkpoints, so deployment applies the same mapping and rescaling.
public struct PIMSettings: Sendable, Codable, Equatable {
    /// The chip as the user named it (a preset id or a file path).
    public var chip: String
    public var scheme: Scheme
    /// The chip's operating mode; nil = its default.
    public var mode: String?
    public var precision: PrecisionAdjustment
    public var rescale: Rescale
    /// Temporal noise at the chip's σ (scaled to the training LSB) during training.
    public var trainingNoise: Bool
    /// Zeroes the gradient of outputs one of whose partial sums clipped in the training ADC
    /// (an option of PIM-aware training).
    public var zeroClippedGradients: Bool
    /// Runs the classifier on the chip too (its pooled input quantized to the last
    /// activation's grid); by default it runs digitally, like the first convolution.
    public var classifierOnChip: Bool

    public init(chip: String, scheme: Scheme = .chip, mode: String? = nil, precision: PrecisionAdjustment = .none,
                rescale: Rescale = .both, trainingNoise: Bool = false, zeroClippedGradients: Bool = false,
                classifierOnChip: Bool = false) {
        self.zeroClippedGradients = zeroClippedGradients
        self.chip = chip
        self.scheme = scheme
        self.mode = mode
        self.precision = precision
        self.rescale = rescale
        self.trainingNoise = trainingNoise
        self.classifierOnChip = classifierOnChip
    }

    /// Reads settings written by any version: switches a file lacks take their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        chip = try c.decode(String.self, forKey: .chip)
        scheme = try c.decode(Scheme.self, forKey: .scheme)
        mode = try c.decodeIfPresent(String.self, forKey: .mode)
        precision = try c.decodeIfPresent(PrecisionAdjustment.self, forKey: .precision) ?? .none
        rescale = try c.decodeIfPresent(Rescale.self, forKey: .rescale) ?? .both
        trainingNoise = try c.decodeIfPresent(Bool.self, forKey: .trainingNoise) ?? false
        zeroClippedGradients = try c.decodeIfPresent(Bool.self, forKey: .zeroClippedGradients) ?? false
        classifierOnChip = try c.decodeIfPresent(Bool.self, forKey: .classifierOnChip) ?? false
    }
}
