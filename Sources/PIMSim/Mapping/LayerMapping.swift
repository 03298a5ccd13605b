/// How one layer's integer matmul runs on a chip: decomposition, converter and active stages.
public struct LayerMapping: Sendable {
    public var chip: ChipConfig
    public var scheme: Scheme
    /// The chip mode whose converter (bits, signedness, range) the conversions use.
    public var mode: ChipConfig.ResolvedMode
    public var decomposition: Decomposition
    public var nonIdealities: NonIdealities

    /// The ADC as the conversions use it (the mode's, range policy possibly overridden).
    public var adc: ADCConfig

    /// The transfer-curve normalisation y_fs: the largest reachable |partial sum| (MAC units).
    public var transferScale: Double {
        let range = decomposition.partialSumRange
        return Double(max(1, max(abs(range.lowerBound), abs(range.upperBound))))
    }

    /// The transfer curve in force (identity when switched off).
    public var transfer: TransferCurve {
        nonIdealities.transferCurve ? chip.compute.transfer : .identity
    }

    /// The relative cell mismatch σ in force.
    public var cellMismatch: Double {
        nonIdealities.cellMismatch ? chip.compute.cellMismatchRel : 0
    }

    /// Levels per siemens of one device error spread over a polarity's D devices, for a cell
    /// whose digits reach `levels`: L / (√D·(g_max − g_min)); `nil` without a device range.
    func levelsPerSiemens(levels: Int) -> Double? {
        guard let low = chip.memory.gMinS, let high = chip.memory.gMaxS else { return nil }
        let devices = Double(max(1, chip.weights.devicesPerWeight / (decomposition.usesColumnPairs ? 2 : 1)))
        return Double(levels) / (devices.squareRoot() * (high - low))
    }

    /// σ of the additive static error of one cell (one polarity of a pair), in digits, for a
    /// slice whose digits reach `levels` in magnitude: σ_g·L / (√D·(g_max − g_min)) for device
    /// errors σ_g = √(σ_programming² + σ_relaxation²) over the D devices of a polarity, and
    /// `programming_noise_rel`·L; 0 when static cell errors are off.
    public func cellNoiseSigma(levels: Int) -> Double {
        guard nonIdealities.cellMismatch else { return 0 }
        let w = chip.weights
        let relative = w.programmingNoiseRel * Double(levels)
        let device = (levelsPerSiemens(levels: levels) ?? 0)
            * (w.programmingNoiseSigmaS * w.programmingNoiseSigmaS + w.relaxationSigmaS * w.relaxationSigmaS).squareRoot()
        return (relative * relative + device * device).squareRoot()
    }

    /// σ of one cell's temporal read noise (one polarity), in digits, for a slice whose digits
    /// reach `levels`: σ_read·L / (√D·(g_max − g_min)); 0 when temporal noise is off or the
    /// chip gives none.
    public func readNoiseSigma(levels: Int) -> Double {
        guard nonIdealities.temporalNoise else { return 0 }
        return chip.weights.readNoiseSigmaS * (levelsPerSiemens(levels: levels) ?? 0)
    }

    /// g_min/(g_max − g_min) where the chip divides each column's sum by its summed
    /// conductance (``ChipConfig/Normalization/conductanceSum``); `nil` otherwise.
    public var conductanceFloorRatio: Double? {
        guard chip.compute.normalization == .conductanceSum, let low = chip.memory.gMinS, let high = chip.memory.gMaxS else { return nil }
        return low / (high - low)
    }

    /// The chip's drift and the read time in force (`nil` without either).
    public var drift: (model: ChipConfig.Drift, seconds: Double)? {
        guard let model = chip.weights.drift, let seconds = nonIdealities.readTimeS else { return nil }
        return (model, seconds)
    }

    /// The width in bits of the physical cells an analog-recombined weight is built from, and
    /// the relative σ of their ratios in force (`nil` when weights are combined digitally).
    public var analogCells: (bits: Int, ratioMismatch: Double)? {
        guard chip.weights.recombine == .analog, case let .bits(width) = chip.weights.bitsPerCell else { return nil }
        return (width, nonIdealities.cellMismatch ? chip.weights.bitRatioMismatchRel : 0)
    }
}

extension ChipConfig {
    /// Resolves how an `inputBits` × `weightBits` layer runs on this chip.
    ///
    /// With ``Scheme/chip`` the named mode (or the default) decides everything. The presets
    /// override the decomposition and keep the chip's converter: its LSB, range and errors,
    /// taken from the default mode if that mode's signedness fits the scheme's partial sums,
    /// else from the first mode that does.
    ///
    /// - Throws: ``MappingError`` for an unknown mode, precisions the chip does not support,
    ///   or a scheme that needs signed conversions on a chip without a signed converter.
    public func mapping(scheme: Scheme = .chip, mode modeName: String? = nil, inputBits: Int, weightBits: Int,
                        nonIdealities: NonIdealities = .all, rangePolicy: ADCConfig.RangePolicy? = nil) throws(MappingError) -> LayerMapping {
        if let seconds = nonIdealities.readTimeS, weights.drift == nil {
            throw MappingError("chip '\(meta.id)' has no drift model (weights.drift), so a read time of \(Format.number(seconds)) s changes nothing; drop it or describe the drift")
        }
        let modes = resolvedModes
        var candidates = modes
        if let modeName {
            guard let named = modes.first(where: { $0.name == modeName }) else {
                throw MappingError("chip '\(meta.id)' has no mode '\(modeName)'; modes: \(modes.map(\.name).joined(separator: ", "))")
            }
            candidates = [named]
        } else {
            let preferred = defaultResolvedMode
            candidates = [preferred] + modes.filter { $0.name != preferred.name }
        }
        guard inputs.supportedBits.contains(inputBits) else {
            let encoding = inputEncoding(scheme: scheme, mode: modeName)
            let note = encoding != .unsigned ? "; its DAC drives \(encoding.rawValue) words, so an unsigned b-bit activation takes b + 1 bits" : ""
            throw MappingError("chip '\(meta.id)' does not take \(inputBits)-bit inputs (supported: \(inputs.supportedBits.map(String.init).joined(separator: ", "))\(note))")
        }
        func build(_ mode: ResolvedMode) -> Decomposition? {
            switch scheme {
            case .chip:
                guard mode.weightBits.contains(weightBits) else { return nil }
                return decomposition(inputBits: inputBits, weightBits: weightBits, mode: mode)
            case .native:
                return Decomposition(inputBits: inputBits, weightBits: weightBits, inputBitsPerCycle: .whole,
                                     encoding: .twosComplement, bitsPerCell: .whole, subtraction: .digital,
                                     inputsPerConversion: array.inputsPerConversion, inputEncoding: inputs.encoding)
            case .differential:
                return Decomposition(inputBits: inputBits, weightBits: weightBits, inputBitsPerCycle: .whole,
                                     encoding: .differential, bitsPerCell: .whole, subtraction: .digital,
                                     inputsPerConversion: array.inputsPerConversion, inputEncoding: inputs.encoding)
            case .bitSerial:
                return Decomposition(inputBits: inputBits, weightBits: weightBits, inputBitsPerCycle: .bits(1),
                                     encoding: .twosComplement, bitsPerCell: .whole, subtraction: .digital,
                                     inputsPerConversion: array.inputsPerConversion, inputEncoding: inputs.encoding)
            }
        }
        if scheme != .chip, scheme != .bitSerial, inputs.encoding == .bipolarXNOR {
            throw MappingError("chip '\(meta.id)' drives bipolar inputs one bit per cycle, so scheme \(scheme.rawValue) (all input bits in one cycle) cannot run on it; use chip or bit-serial")
        }
        if scheme != .chip, !weights.supportedBits.contains(weightBits) {
            throw MappingError("chip '\(meta.id)' does not take \(weightBits)-bit weights (supported: \(weights.supportedBits.map(String.init).joined(separator: ", ")))")
        }
        var reasons: [String] = []
        for mode in candidates {
            guard let decomposition = build(mode) else {
                reasons.append("mode \(mode.name) takes \(mode.weightBits.map(String.init).joined(separator: "/"))-bit weights")
                continue
            }
            let needsSigned = decomposition.needsSignedConversion
            if needsSigned && !mode.adc.signed && mode.adc.type != .ideal {
                reasons.append("mode \(mode.name) converts unsigned partial sums but scheme \(scheme.rawValue) produces signed ones")
                continue
            }
            var adc = mode.adc
            if let rangePolicy, rangePolicy != adc.range.policy, adc.type != .ideal {
                if rangePolicy == .fixed {
                    throw MappingError("chip '\(meta.id)' mode \(mode.name) gives no fixed range; choose max, calibrated or oracle")
                }
                adc.range = ADCConfig.Range(policy: rangePolicy, percentile: rangePolicy == .calibrated ? (adc.range.percentile ?? 99.99) : nil)
            }
            let mapping = LayerMapping(chip: self, scheme: scheme, mode: mode, decomposition: decomposition,
                                       nonIdealities: nonIdealities, adc: adc)
            let tables = ADCModel.tableBytes(adc, staticErrors: nonIdealities.adcStaticErrors, transfer: mapping.transfer)
            if tables > ADCModel.tableByteLimit {
                throw MappingError("chip '\(meta.id)' mode \(mode.name): the code tables of \(adc.count) \(adc.bits ?? 0)-bit ADCs with static errors would take \(Format.si(tables, "B", digits: 3)), above the limit of \(Format.si(ADCModel.tableByteLimit, "B", digits: 3)); use fewer bits or ADCs, or switch the static errors off")
            }
            return mapping
        }
        throw MappingError("chip '\(meta.id)' cannot run \(weightBits)-bit weights with scheme \(scheme.rawValue): \(reasons.joined(separator: "; "))")
    }
}
