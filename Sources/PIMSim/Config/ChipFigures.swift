import Foundation

/// Numbers derived from a chip description: what `pimctl chips show` prints.
///
/// Everything here is computed from the file's parameters, never copied from `reported`;
/// ``checks`` compares the two where the paper gives a figure.
public struct ChipFigures: Sendable, Codable {
    /// Peak rate in operations per second, counting a MAC of one conversion (a DAC cycle
    /// level × a cell digit) as 2 ops: ADCs × inputs per conversion × 2 × clock / cycles per conversion.
    public var peakThroughputOpsPerS: Double
    /// How ``peakThroughputOpsPerS`` was computed, in words.
    public var peakThroughputFormula: String
    /// Conversions per second over all ADCs.
    public var conversionsPerS: Double
    /// Energy per op at peak, joules: (E_conversion + n·(E_MAC + E_DAC)) / 2n; `nil` without energy figures.
    public var energyPerOpJ: Double?
    /// Ops per joule at peak (1e12 = 1 TOPS/W).
    public var efficiencyOpsPerJ: Double?
    /// Weight storage in cells: rows × cols × cells shared.
    public var weightCells: Int
    /// The input precision the per-precision figures assume.
    public var inputBits: Int
    public var modes: [Mode]
    public var checks: [Check]

    public struct Mode: Sendable, Codable {
        public var name: String
        public var encoding: ChipConfig.WeightEncoding
        /// ADC resolution in this mode; `nil` = lossless.
        public var adcBits: Int?
        public var adcSigned: Bool
        public var rangePolicy: ADCConfig.RangePolicy
        public var precisions: [Precision]
    }

    /// Figures for one input × weight precision in one mode.
    public struct Precision: Sendable, Codable {
        public var inputBits: Int
        public var weightBits: Int
        public var inputCycles: Int
        public var weightSlices: Int
        public var conversionsPerGroup: Int
        public var conversionsPerMAC: Double
        /// Reachable ideal partial sum of one conversion, MAC units.
        public var partialSumMin: Int
        public var partialSumMax: Int
        /// Full-scale range of the ADC, MAC units (`nil` if data-dependent or lossless).
        public var fullScaleMin: Double?
        public var fullScaleMax: Double?
        /// LSB in MAC units (`nil` if data-dependent).
        public var lsbMACUnits: Double?
        /// log2 of the number of distinct reachable partial sums: the bits of information
        /// that arrive at one conversion (about 11 for CAP-RAM's 0…1920 into 6 bits).
        public var partialSumBits: Double
        /// ADC bits a lossless conversion of this decomposition would need.
        public var losslessADCBits: Int
        /// Full-precision multiply-accumulates per second × 2.
        public var throughputOpsPerS: Double
        public var energyPerOpJ: Double?
    }

    /// A derived figure beside the paper's own.
    public struct Check: Sendable, Codable {
        public var name: String
        public var derived: Double
        public var reported: Double
        /// derived / reported.
        public var ratio: Double
    }
}

extension ChipConfig {
    /// Derives throughput, energy and per-mode conversion figures at `inputBits` input precision.
    public func figures(inputBits: Int? = nil) -> ChipFigures {
        let n = Double(array.inputsPerConversion)
        let conversionsPerS = Double(adc.count) * timing.clockHz / timing.cyclesPerConversion
        let peak = conversionsPerS * n * 2
        let bits = inputBits ?? referenceInputBits
        var energyPerOp: Double?
        if let conversion = adc.conversionEnergyJ {
            let perConversion = conversion + n * ((compute.macEnergyJ ?? 0) + (inputs.dac.energyJ ?? 0))
            energyPerOp = perConversion / (2 * n)
        }
        let modes = resolvedModes.map { mode in
            ChipFigures.Mode(
                name: mode.name, encoding: mode.encoding, adcBits: mode.adc.bits,
                adcSigned: mode.adc.signed, rangePolicy: mode.adc.range.policy,
                precisions: mode.weightBits.map { weightBits in
                    let d = decomposition(inputBits: bits, weightBits: weightBits, mode: mode)
                    let reach = d.partialSumRange
                    let lsb = mode.adc.lsb(reachable: reach)
                    let scale = mode.adc.fullScale(reachable: reach)
                    let span = Double(reach.upperBound - reach.lowerBound)
                    return ChipFigures.Precision(
                        inputBits: bits, weightBits: weightBits,
                        inputCycles: d.inputCycles, weightSlices: d.slices.count,
                        conversionsPerGroup: d.conversionsPerGroup, conversionsPerMAC: d.conversionsPerMAC,
                        partialSumMin: reach.lowerBound, partialSumMax: reach.upperBound,
                        fullScaleMin: scale?.lowerBound, fullScaleMax: scale?.upperBound,
                        lsbMACUnits: lsb,
                        partialSumBits: log2(span + 1),
                        losslessADCBits: d.losslessADCBits,
                        throughputOpsPerS: conversionsPerS / Double(d.conversionsPerGroup) * n * 2,
                        energyPerOpJ: energyPerOp.map { $0 * Double(d.conversionsPerGroup) })
                })
        }
        var checks: [ChipFigures.Check] = []
        if let reportedPeak = reported.peakThroughputOpsPerS {
            checks.append(.init(name: "peak_throughput_ops_per_s", derived: peak, reported: reportedPeak, ratio: peak / reportedPeak))
        }
        if let reportedEfficiency = reported.energyEfficiencyOpsPerJ, let energyPerOp {
            let derived = 1 / energyPerOp
            checks.append(.init(name: "energy_efficiency_ops_per_j", derived: derived, reported: reportedEfficiency,
                                ratio: derived / reportedEfficiency))
        }
        return ChipFigures(
            peakThroughputOpsPerS: peak,
            peakThroughputFormula: "\(adc.count) ADCs × \(array.inputsPerConversion) inputs × 2 ops × \(String(format: "%g", timing.clockHz / 1e6)) MHz / \(String(format: "%g", timing.cyclesPerConversion)) cycle(s) per conversion",
            conversionsPerS: conversionsPerS,
            energyPerOpJ: energyPerOp,
            efficiencyOpsPerJ: energyPerOp.map { 1 / $0 },
            weightCells: array.rows * array.cols * array.cellsShared,
            inputBits: bits, modes: modes, checks: checks)
    }

    /// The input precision figures default to: one DAC cycle's worth of bits when the chip
    /// slices inputs, else the widest supported input up to 8 bits.
    public var referenceInputBits: Int {
        let supported = inputs.supportedBits.sorted()
        if case let .bits(width) = inputs.bitsPerCycle, supported.contains(width) { return width }
        return supported.last { $0 <= 8 } ?? supported[0]
    }
}
