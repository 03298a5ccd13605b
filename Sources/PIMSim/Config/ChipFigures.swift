import Foundation

/// Numbers derived from a chip description: what `pimctl chips show` prints.
///
/// Everything here is computed from the file's parameters, never copied from `reported`;
/// ``checks`` compares the two where the paper gives a figure.
public struct ChipFigures: Sendable, Codable {
    /// Peak rate in operations per second, counting a MAC of one conversion (a DAC cycle
    /// level × a cell digit) as 2 ops: ADCs × arrays × inputs per conversion × 2 × clock /
    /// mean cycles per conversion (at the reference input bits and mode).
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
    /// The mode the headline figures (peak, conversions per second) assume.
    public var referenceMode: String
    public var modes: [Mode]
    public var checks: [Check]
    /// The headline figures at each further operating point (``ChipConfig/operatingPoints``).
    public var operatingPoints: [Point] = []

    /// One operating point's headline figures beside the paper's.
    public struct Point: Sendable, Codable {
        public var name: String
        public var supplyV: Double?
        public var clockHz: Double
        public var peakThroughputOpsPerS: Double
        public var efficiencyOpsPerJ: Double?
        public var reportedPeakThroughputOpsPerS: Double?
        public var reportedEfficiencyOpsPerJ: Double?
        public var checks: [Check]
    }

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

/// Energy the chip file prices, by component, joules; `nil` where it gives no figure.
public struct EnergyTerms: Sendable, Hashable, Codable {
    /// Conversions × `adc.conversion_energy_j` (the mode's).
    public var conversionJ: Double?
    /// Analog products × `compute.mac_energy_j`.
    public var arrayJ: Double?
    /// Analog products × `inputs.dac.energy_j`.
    public var dacJ: Double?

    /// The priced terms summed (0 when none is).
    public var totalJ: Double { (conversionJ ?? 0) + (arrayJ ?? 0) + (dacJ ?? 0) }
}

extension ChipConfig {
    /// The energy of `conversions` conversions on `adc` that sum `products` analog products
    /// (input level × cell digit): per conversion the converter's figure, per product the
    /// array's and the DAC's. The chip figures' efficiency and the cost model both use it.
    public func energy(conversions: Double, products: Double, adc: ADCConfig) -> EnergyTerms {
        EnergyTerms(conversionJ: adc.conversionEnergyJ.map { conversions * $0 },
                    arrayJ: compute.macEnergyJ.map { products * $0 },
                    dacJ: inputs.dac.energyJ.map { products * $0 })
    }

    /// Derives throughput, energy and per-mode conversion figures at `inputBits` input precision
    /// (default ``referenceInputBits``); the headline figures use ``referenceMode``.
    public func figures(inputBits: Int? = nil) -> ChipFigures {
        let n = Double(array.inputsPerConversion)
        let bits = inputBits ?? referenceInputBits
        let headlineMode = referenceMode
        let reference = decomposition(inputBits: bits, weightBits: headlineMode.weightBits.first ?? weights.supportedBits[0], mode: headlineMode)
        let meanCycles = headlineMode.timing.meanCyclesPerConversion(reference, adc: headlineMode.adc)
        let adcs = Double(adc.count * array.count)
        let conversionsPerS = adcs * timing.clockHz / meanCycles
        let peak = conversionsPerS * n * 2
        /// Energy per op of one conversion's MACs in `mode`: (E_conversion + n·(E_MAC + E_DAC)) / 2n.
        func energyPerOp(_ mode: ResolvedMode) -> Double? {
            let terms = energy(conversions: 1, products: n, adc: mode.adc)
            return terms.conversionJ == nil ? nil : terms.totalJ / (2 * n)
        }
        let headlineEnergy = energyPerOp(headlineMode)
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
                        throughputOpsPerS: adcs * timing.clockHz / mode.timing.cyclesPerGroup(d, adc: mode.adc) * n * 2,
                        energyPerOpJ: energyPerOp(mode).map { $0 * Double(d.conversionsPerGroup) })
                })
        }
        var checks: [ChipFigures.Check] = []
        if let reportedPeak = reported.peakThroughputOpsPerS {
            checks.append(.init(name: "peak_throughput_ops_per_s", derived: peak, reported: reportedPeak, ratio: peak / reportedPeak))
        }
        if let reportedEfficiency = reported.energyEfficiencyOpsPerJ, let headlineEnergy {
            let derived = 1 / headlineEnergy
            checks.append(.init(name: "energy_efficiency_ops_per_j", derived: derived, reported: reportedEfficiency,
                                ratio: derived / reportedEfficiency))
        }
        var formula = "\(adc.count) ADCs × "
        if array.count > 1 { formula += "\(array.count) arrays × " }
        formula += "\(array.inputsPerConversion) inputs × 2 ops × \(Format.number(timing.clockHz / 1e6)) MHz / "
        if headlineMode.timing.dependsOnPrecision {
            let perCycle = zip(reference.inputSlices, reference.cycleADCBits(headlineMode.adc)).map {
                headlineMode.timing.describe(inputSteps: $0.0.magnitude, adcBits: $0.1)
            }
            formula += "\(Format.number(meanCycles)) cycle(s) per conversion: "
                + (Set(perCycle).count == 1 ? perCycle[0] : "the mean of " + perCycle.joined(separator: ", "))
                + " at \(bits)-bit inputs in mode \(headlineMode.name)"
        } else {
            formula += "\(Format.number(headlineMode.timing.cyclesPerConversion)) cycle(s) per conversion"
        }
        let points = operatingPoints.compactMap { point -> ChipFigures.Point? in
            guard let placed = at(operatingPoint: point.name) else { return nil }
            let figures = placed.figures(inputBits: inputBits)
            return ChipFigures.Point(name: point.name, supplyV: placed.technology.supplyV, clockHz: placed.timing.clockHz,
                                     peakThroughputOpsPerS: figures.peakThroughputOpsPerS,
                                     efficiencyOpsPerJ: figures.efficiencyOpsPerJ,
                                     reportedPeakThroughputOpsPerS: placed.reported.peakThroughputOpsPerS,
                                     reportedEfficiencyOpsPerJ: placed.reported.energyEfficiencyOpsPerJ, checks: figures.checks)
        }
        return ChipFigures(
            peakThroughputOpsPerS: peak,
            peakThroughputFormula: formula,
            conversionsPerS: conversionsPerS,
            energyPerOpJ: headlineEnergy,
            efficiencyOpsPerJ: headlineEnergy.map { 1 / $0 },
            weightCells: array.rows * array.cols * array.cellsShared * array.count,
            inputBits: bits, referenceMode: headlineMode.name, modes: modes, checks: checks, operatingPoints: points)
    }

    /// The mode the headline figures assume: the reported figures' mode, else the default mode.
    public var referenceMode: ResolvedMode {
        if let name = reported.conditions?.mode, let mode = resolvedModes.first(where: { $0.name == name }) { return mode }
        return defaultResolvedMode
    }

    /// The input precision figures default to: the reported figures' input bits, else one DAC
    /// cycle's worth of bits when the chip slices inputs, else the widest supported input up
    /// to 8 bits.
    public var referenceInputBits: Int {
        if let bits = reported.conditions?.inputBits { return bits }
        let supported = inputs.supportedBits.sorted()
        if case let .bits(width) = inputs.bitsPerCycle, supported.contains(width) { return width }
        return supported.last { $0 <= 8 } ?? supported[0]
    }
}
