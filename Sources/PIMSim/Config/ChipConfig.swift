import Foundation

/// A processing-in-memory chip design, as described by a YAML file under `chips/`.
///
/// The model follows the signal chain of one analog matrix multiply: inputs pass DACs
/// (``Inputs``), weights sit in memory cells (``Weights``, ``Memory``), `inputs_per_conversion`
/// products are summed on one line of the ``ArrayGeometry`` through a ``TransferCurve``
/// (``Compute``), and every partial sum is digitised by an ADC (``ADCConfig``). Named
/// ``OperatingMode``s override the encoding and the ADC's effective resolution, as real chips
/// switch between single-ended and differential operation.
///
/// Units are in the YAML key suffixes (`_hz`, `_v`, `_j`, `_lsb`, `_rel`) and in the
/// property names here. Where a value is a partial sum, its unit is the *MAC unit*: one
/// product of an input slice level and a weight slice level (an ideal partial sum of
/// `n` products of a 4-bit input cycle and a 1-bit slice lies in 0…15·n MAC units).
///
/// Values are validated on loading (``ChipConfig/init(yaml:file:baseDirectory:)``); a value of
/// this type is always physically possible.
public struct ChipConfig: Sendable, Hashable, Codable {
    public var meta: Meta
    public var technology: Technology
    public var memory: Memory
    public var array: ArrayGeometry
    public var compute: Compute
    public var inputs: Inputs
    public var weights: Weights
    public var adc: ADCConfig
    public var timing: Timing
    /// Operating modes in file order; empty when the chip has one way of working.
    public var modes: [OperatingMode]
    /// The mode used when none is asked for: `default_mode`, else the first mode.
    public var defaultMode: String?
    public var reported: Reported
    /// Further published operating points (supply, clock, energies, figures); the file's
    /// top-level values are the nominal one.
    public var operatingPoints: [OperatingPoint] = []
    /// Evidence for each value given as `{value, source, status}`, keyed by field path.
    public var provenance: [String: Provenance]
}

extension ChipConfig {
    /// The largest values a chip description may give. Beyond them no published macro exists,
    /// and the simulator's 64-bit integer bookkeeping (partial sums of up to n products of
    /// 16-bit levels, conversions counted per layer) would no longer be exact.
    public enum Limits {
        /// Rows, columns, inputs per conversion, parallel outputs, cells sharing a circuit,
        /// DAC and ADC counts: at most 2^20 (1 048 576) each.
        public static let count = 1 << 20
        /// Standard deviations in LSB (temporal noise, offset, INL, DNL): at most 2^24 LSB, the
        /// code count of the widest ADC modelled; noise beyond it leaves no trace of the input
        /// in any code.
        public static let sigmaLSB = Double(1 << 24)
        /// Relative standard deviations (ADC gain, cell mismatch, SAR unit capacitor): at most
        /// 1, an error as large as the value itself.
        public static let sigmaRelative = 1.0
    }
}

extension ChipConfig {
    /// Bibliographic identity of the design.
    public struct Meta: Sendable, Hashable, Codable {
        /// Short identifier used on the command line (`cap-ram`).
        public var id: String
        public var title: String
        public var authors: [String]
        public var venue: String?
        public var year: Int?
        public var doi: String?
        /// Where each number comes from, in words; per-value sources sit in ``ChipConfig/provenance``.
        public var sources: [String]
        public var notes: String?
    }

    public struct Technology: Sendable, Hashable, Codable {
        public var nodeNm: Double?
        public var supplyV: Double?
        public var temperatureC: Double?
    }

    public enum MemoryType: String, Sendable, Hashable, Codable, CaseIterable {
        case sram, rram, pcm, fefet, mram, flash, dram
        /// A lossless reference memory with no physical cell.
        case ideal
    }

    public struct Memory: Sendable, Hashable, Codable {
        public var type: MemoryType
        /// Cell circuit, e.g. `6T`, `8T`, `1T1R`.
        public var cell: String?
        /// Bits one device stores (1 for SRAM; more for multi-level RRAM/PCM); `nil` = analog.
        public var bitsPerDevice: Int?
        /// Conductance of a cleared device and the largest programmable one, siemens (both or
        /// neither); the span g_max − g_min is a cell's full level range.
        public var gMinS: Double? = nil
        public var gMaxS: Double? = nil
    }

    /// The logical geometry of one macro, in compute units.
    public struct ArrayGeometry: Sendable, Hashable, Codable {
        /// Inputs that can drive one output line (word-line direction), ≥ 1.
        public var rows: Int
        /// Output lines (slices / bit lines), ≥ 1.
        public var cols: Int
        /// Products summed into one ADC sample, `n`, 1…``rows``. The fan-in K of a layer is
        /// cut into ⌈K/n⌉ groups in im2col order.
        public var inputsPerConversion: Int
        /// Output lines converted at the same time; defaults to the ADC count.
        public var parallelOutputs: Int?
        /// Memory cells multiplexed onto one compute unit (one active per cycle), ≥ 1.
        public var cellsShared: Int
        /// Identical arrays (cores) that compute side by side, ≥ 1; throughput, storage and
        /// latency count all of them.
        public var count: Int = 1
    }

    public enum ComputeDomain: String, Sendable, Hashable, Codable, CaseIterable {
        case charge, current, voltage, time, digital, ideal
    }

    /// What a column's analog sum is divided by before the converter.
    public enum Normalization: String, Sendable, Hashable, Codable, CaseIterable {
        /// Nothing: the converter sees the sum itself.
        case none
        /// The column's summed conductance, as in a voltage-mode array whose output settles at
        /// ΣV·G / ΣG (NeuRRAM); the known ΣG of the programmed targets is multiplied back
        /// digitally after the conversion.
        case conductanceSum = "conductance_sum"
    }

    public struct Compute: Sendable, Hashable, Codable {
        public var domain: ComputeDomain
        public var transfer: TransferCurve
        /// What each column's sum is divided by before conversion (needs a device range).
        public var normalization: Normalization = .none
        /// Relative σ of each cell's contribution (static, per cell), ≥ 0. 0.006 = 0.6 %.
        public var cellMismatchRel: Double
        /// Energy of one multiply-accumulate in the array, joules; `nil` when folded into the conversion energy.
        public var macEnergyJ: Double?
    }

    /// How a DAC cycle or a memory cell divides a multi-bit operand.
    public enum SliceWidth: Sendable, Hashable, Codable, CustomStringConvertible {
        /// This many bits per cycle or cell, ≥ 1.
        case bits(Int)
        /// The whole operand at once (a multi-level DAC, an analog multi-level cell).
        case whole

        /// The number of slices needed for `operandBits` bits.
        public func slices(of operandBits: Int) -> Int {
            switch self {
            case let .bits(width): (operandBits + width - 1) / width
            case .whole: 1
            }
        }

        /// Bits per slice of an `operandBits`-bit operand (the last slice may carry fewer).
        public func width(of operandBits: Int) -> Int {
            switch self {
            case let .bits(width): width
            case .whole: operandBits
            }
        }

        public var description: String {
            switch self {
            case let .bits(width): "\(width)"
            case .whole: "all"
            }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let bits = try? container.decode(Int.self) { self = .bits(bits) } else {
                let word = try container.decode(String.self)
                guard word == "all" else {
                    throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an integer or 'all'")
                }
                self = .whole
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case let .bits(width): try container.encode(width)
            case .whole: try container.encode("all")
            }
        }
    }

    public enum DACType: String, Sendable, Hashable, Codable, CaseIterable {
        case currentSteering = "current_steering"
        case capacitive, resistive
        case pulseWidth = "pulse_width"
        case pulseCount = "pulse_count"
        case binary
        case ideal
    }

    public struct DAC: Sendable, Hashable, Codable {
        public var type: DACType
        /// Resolution of one drive cycle, ≥ 1 bits.
        public var bits: Int
        /// Number of DACs (one per driven row, usually).
        public var count: Int?
        /// Energy of one DAC drive (one input, one cycle), joules.
        public var energyJ: Double?
    }

    /// How the DAC drives the sign of an input.
    public enum InputEncoding: String, Sendable, Hashable, Codable, CaseIterable {
        /// No sign: b-bit levels 0…2^b − 1; signed inputs run as a positive and a negative
        /// pass, subtracted digitally.
        case unsigned
        /// b-bit two's-complement words −2^(b−1)…2^(b−1) − 1 in one pass: bit-serial cycles
        /// count the sign bit negative digitally; a multi-level drive is itself signed (a
        /// ladder above and below mid-rail).
        case twosComplement = "twos_complement"
        /// A sign and b − 1 magnitude bits, ±(2^(b−1) − 1), in one pass: the magnitude cycles
        /// are driven with the input's polarity (± read voltage around a reference).
        case signMagnitude = "sign_magnitude"
        /// A b-bit two's-complement word driven bit-serially as ±1 per bit (2·bit − 1; the
        /// cell forms the XNOR of it with a bipolar weight bit), then one more cycle driving −1
        /// on every row: b + 1 cycles in one pass whose sum is 2x, halved digitally. The extra
        /// cycle is the "zero" bit that puts the bipolar levels on the two's-complement grid.
        case bipolarXNOR = "bipolar_xnor"
    }

    /// How an input word wider than one DAC cycle is cut into cycles (phases) and converted.
    public struct InputPhases: Sendable, Hashable, Codable {
        /// How the magnitude bits are divided among the cycles.
        public enum Split: String, Sendable, Hashable, Codable, CaseIterable {
            /// Full cycles of `bits_per_cycle` from the least significant bit; the top cycle
            /// takes the rest (7 bits at 4 per cycle: 4 + 3, LSB first).
            case lsbFirst = "lsb_first"
            /// The fewest cycles of at most `bits_per_cycle`, as equal as possible, the upper
            /// ones one bit wider where they differ (5 bits at 4 per cycle: 2 + 3, LSB first).
            case balanced
        }
        /// The converter's resolution in each cycle.
        public enum ADCBits: String, Sendable, Hashable, Codable, CaseIterable {
            /// Every cycle converts at the mode's bits.
            case full
            /// A cycle below others converts at the mode's bits minus the widths of the cycles
            /// above it (at least 1 bit): the same full scale, a coarser step, since its code is
            /// shifted down by those widths in the recombination (NeuRRAM's LSB phase).
            case reduced
        }
        public var split: Split = .lsbFirst
        public var adcBits: ADCBits = .full

        public init(split: Split = .lsbFirst, adcBits: ADCBits = .full) {
            self.split = split
            self.adcBits = adcBits
        }
    }

    public struct Inputs: Sendable, Hashable, Codable {
        /// Input word widths the chip accepts, each ≥ 1 (sign included on a signed DAC).
        public var supportedBits: [Int]
        /// How the DAC drives a sign.
        public var encoding: InputEncoding
        /// Whether the DAC drives signed levels (one pass for signed inputs).
        public var signed: Bool { encoding != .unsigned }
        public var dac: DAC
        /// Input bits driven per DAC cycle: `1` = bit-serial; `all` = one multi-level cycle.
        /// Inputs wider than this take several cycles, shift-added digitally.
        public var bitsPerCycle: SliceWidth
        /// How those cycles divide the word and at what resolution each is converted.
        public var phases = InputPhases()

    }

    /// How a signed weight is laid onto cells.
    public enum WeightEncoding: String, Sendable, Hashable, Codable, CaseIterable {
        /// Two's complement slices; the most significant slice counts negative.
        case twosComplement = "twos_complement"
        /// Unsigned cells holding w + 2^(b−1); the offset is removed digitally.
        case offsetBinary = "offset_binary"
        /// w⁺ and w⁻ in separate columns, subtracted digitally or in the analog domain.
        case differential
        /// Binary-weighted digits in {−1, 0, +1} on a +/− cell pair; b bits take b−1 digits.
        case ternarySignedDigit = "ternary_signed_digit"
        /// One cell per bit of the two's-complement pattern, holding ±1 (2·bit − 1, the
        /// weight side of an XNOR product): the slices sum to 2w + 1; the +1 per input is
        /// removed digitally and the result halved.
        case bipolarXNOR = "bipolar_xnor"
    }

    public struct Weights: Sendable, Hashable, Codable {
        /// Weight precisions the chip accepts, each ≥ 1.
        public var supportedBits: [Int]
        /// Encodings the array can hold; modes choose among these.
        public var encodings: [WeightEncoding]
        /// Weight bits per cell (slice): `1` = fully bit-sliced; `all` = analog multi-level cell.
        public var bitsPerCell: SliceWidth
        /// Where a weight's cells are combined: by digital shift-add of separate conversions,
        /// or in the analog domain before one conversion (binary-weighted capacitors, a C-2C
        /// ladder).
        public var recombine: WeightRecombination = .digital
        /// Where the two polarities of a ± weight sit: in two columns (each its own line), in
        /// two rows of one column (NeuRRAM), or inside one cell (HERMES's 8T4R).
        public var pairLayout: PairLayout = .columns
        /// Relative σ of each cell's analog weight 2^(c·g) when ``recombine`` is analog: a
        /// static error per output column and cell position, drawn per chip instance.
        public var bitRatioMismatchRel: Double = 0
        /// Devices summed into one weight over both polarities (HERMES: (G1+ + G2+) − (G1− +
        /// G2−) = 4); a polarity's level is spread evenly over its devices.
        public var devicesPerWeight: Int = 1
        /// Additive static conductance errors of each device, σ in siemens: the write error left
        /// by programming and the relaxation after it (need ``Memory/gMinS`` and ``Memory/gMaxS``).
        public var programmingNoiseSigmaS: Double = 0
        public var relaxationSigmaS: Double = 0
        /// Additive static error of a whole weight, σ as a fraction of its full scale, as
        /// measured end to end (devices included).
        public var programmingNoiseRel: Double = 0
        /// Temporal read noise of each device, σ in siemens per read (needs the device range).
        public var readNoiseSigmaS: Double = 0
        /// Conductance drift after programming (PCM); `nil` = none.
        public var drift: Drift? = nil

        /// The weight bits one conversion sees: all of them when the cells are combined in
        /// analog, else ``bitsPerCell``.
        public var bitsPerSlice: SliceWidth { recombine == .analog ? .whole : bitsPerCell }
    }

    /// Power-law conductance drift: a device read t seconds after programming conducts
    /// G(t) = G(t0)·(t/t0)^(−ν), its exponent ν ~ N(``nu``, ``nuSigma``²) (at least 0) drawn
    /// once per device and chip instance.
    public struct Drift: Sendable, Hashable, Codable {
        public var nu: Double
        public var nuSigma: Double
        /// Reference time t0 after programming, seconds, > 0.
        public var t0S: Double
        /// `global`: the periphery rescales every output by the mean drift (t/t0)^ν, so only
        /// the spread of ν remains.
        public var compensation: DriftCompensation

        /// The conductance factor of a device with exponent ν read at `seconds`, compensated or not.
        public func factor(nu deviceNu: Double, at seconds: Double) -> Double {
            let ratio = max(seconds, t0S) / t0S
            let raw = pow(ratio, -max(0, deviceNu))
            return compensation == .global ? raw / pow(ratio, -nu) : raw
        }
    }

    public enum DriftCompensation: String, Sendable, Hashable, Codable, CaseIterable {
        case none, global
    }

    /// Where the cells of one weight are combined (see ``Weights/recombine``).
    public enum PairLayout: String, Sendable, Hashable, Codable, CaseIterable {
        case columns, rows, cell
    }

    public enum WeightRecombination: String, Sendable, Hashable, Codable, CaseIterable {
        case digital
        case analog
    }
}
