import Foundation

extension ChipConfig {
    /// Loads and validates a chip file.
    ///
    /// - Throws: ``ConfigError`` (`file:line:column: field.path: message`) for an unreadable file,
    ///   YAML syntax errors, unknown keys, wrong types, missing fields and impossible values.
    public init(contentsOf path: String) throws(ConfigError) {
        let text: String
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let decoded = String(data: data, encoding: .utf8) else {
                throw ConfigError(SourceLocation(file: path, line: 1, column: 1), path: "file", "is not UTF-8 text")
            }
            text = decoded
        } catch let error as ConfigError {
            throw error
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? "no such file or not readable"
            throw ConfigError(SourceLocation(file: path, line: 1, column: 1), path: "file", "cannot be read (\(reason))")
        }
        try self.init(yaml: text, file: path,
                      baseDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// Parses and validates a chip description.
    ///
    /// - Parameters:
    ///   - file: the name used in error messages.
    ///   - baseDirectory: where relative paths in the file (a transfer-curve CSV) are resolved.
    public init(yaml: String, file: String, baseDirectory: String? = nil) throws(ConfigError) {
        let root = try ConfigNode.parse(yaml, file: file)
        var reader = ChipReader(context: root.context, baseDirectory: baseDirectory)
        self = try reader.read(root)
    }
}

/// Reads one chip document section by section, then checks the rules that span sections.
private struct ChipReader {
    let context: ConfigReadContext
    let baseDirectory: String?

    init(context: ConfigReadContext, baseDirectory: String?) {
        self.context = context
        self.baseDirectory = baseDirectory
    }

    mutating func read(_ root: ConfigNode) throws(ConfigError) -> ChipConfig {
        let top = try root.mapping()
        let chip = ChipConfig(
            meta: try meta(top.required("meta")),
            technology: try technology(top.optional("technology")),
            memory: try memory(top.required("memory")),
            array: try array(top.required("array")),
            compute: try compute(top.optional("compute")),
            inputs: try inputs(top.required("inputs")),
            weights: try weights(top.required("weights")),
            adc: try adc(top.required("adc")),
            timing: try timing(top.required("timing")),
            modes: try modes(top.optional("modes")),
            defaultMode: try top.optional("default_mode")?.string(),
            reported: try reported(top.optional("reported")),
            operatingPoints: try operatingPoints(top.optional("operating_points")),
            provenance: [:])
        try top.finish()
        try validate(chip, root: root)
        var result = chip
        result.provenance = context.provenance
        return result
    }

    // MARK: - Sections

    func meta(_ node: ConfigNode) throws(ConfigError) -> ChipConfig.Meta {
        let m = try node.mapping()
        let idNode = try m.required("id")
        let id = try idNode.string()
        guard !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
            throw idNode.error("an id is letters, digits, '-', '_' or '.', got '\(id)'")
        }
        let meta = ChipConfig.Meta(
            id: id,
            title: try m.required("title").string(),
            authors: try m.optional("authors")?.list().map { node throws(ConfigError) in try node.string() } ?? [],
            venue: try m.optional("venue")?.string(),
            year: try m.optional("year").map { node throws(ConfigError) in try bounded(node, node.int(), 1900...2200) },
            doi: try m.optional("doi")?.string(),
            sources: try m.optional("sources")?.list().map { node throws(ConfigError) in try node.string() } ?? [],
            notes: try m.optional("notes")?.string())
        try m.finish()
        return meta
    }

    func technology(_ node: ConfigNode?) throws(ConfigError) -> ChipConfig.Technology {
        guard let node else { return ChipConfig.Technology() }
        let m = try node.mapping()
        let technology = ChipConfig.Technology(
            nodeNm: try m.optional("node_nm").map { n throws(ConfigError) in try positive(n) },
            supplyV: try m.optional("supply_v").map { n throws(ConfigError) in try positive(n) },
            temperatureC: try m.optional("temperature_c").map { n throws(ConfigError) in
                try bounded(n, n.double(), -273.15...1000)
            })
        try m.finish()
        return technology
    }

    func memory(_ node: ConfigNode) throws(ConfigError) -> ChipConfig.Memory {
        let m = try node.mapping()
        let memory = ChipConfig.Memory(
            type: try m.required("type").choice(),
            cell: try m.optional("cell")?.string(),
            bitsPerDevice: try m.optional("bits_per_device").map { n throws(ConfigError) in try bits(n) },
            gMinS: try m.optional("g_min_s").map { n throws(ConfigError) in try nonNegative(n) },
            gMaxS: try m.optional("g_max_s").map { n throws(ConfigError) in try positive(n) })
        if (memory.gMinS == nil) != (memory.gMaxS == nil) {
            throw (m.optional("g_min_s") ?? m.optional("g_max_s") ?? node).error("give both g_min_s and g_max_s, the conductance range of a device")
        }
        if let low = memory.gMinS, let high = memory.gMaxS, low >= high, let n = m.optional("g_max_s") {
            throw n.error("g_max_s (\(high)) must exceed g_min_s (\(low))")
        }
        try m.finish()
        return memory
    }

    func array(_ node: ConfigNode) throws(ConfigError) -> ChipConfig.ArrayGeometry {
        let m = try node.mapping()
        let array = ChipConfig.ArrayGeometry(
            rows: try count(m.required("rows")),
            cols: try count(m.required("cols")),
            inputsPerConversion: try count(m.required("inputs_per_conversion")),
            parallelOutputs: try m.optional("parallel_outputs").map { n throws(ConfigError) in try count(n) },
            cellsShared: try m.optional("cells_shared").map { n throws(ConfigError) in try count(n) } ?? 1,
            count: try m.optional("count").map { n throws(ConfigError) in try count(n) } ?? 1)
        try m.finish()
        return array
    }

    func compute(_ node: ConfigNode?) throws(ConfigError) -> ChipConfig.Compute {
        guard let node else {
            return ChipConfig.Compute(domain: .charge, transfer: .identity, cellMismatchRel: 0, macEnergyJ: nil)
        }
        let m = try node.mapping()
        var compute = ChipConfig.Compute(
            domain: try m.optional("domain")?.choice() ?? .charge,
            transfer: try transfer(m.optional("transfer")),
            cellMismatchRel: try m.optional("cell_mismatch_rel").map { n throws(ConfigError) in try relativeSigma(n) } ?? 0,
            macEnergyJ: try m.optional("mac_energy_j").map { n throws(ConfigError) in try nonNegative(n) })
        compute.normalization = try m.optional("normalization")?.choice() ?? .none
        try m.finish()
        return compute
    }

    func transfer(_ node: ConfigNode?) throws(ConfigError) -> TransferCurve {
        guard let node else { return .identity }
        let m = try node.mapping()
        let model: TransferCurve.Model = try m.required("model").choice()
        var curve = TransferCurve(model: model)
        if let gain = m.optional("gain") { curve.gain = try positive(gain) }
        if let offset = m.optional("offset") { curve.offset = try offset.double() }
        let aNode = m.optional("a"), coefficientsNode = m.optional("coefficients"), fileNode = m.optional("file")
        func onlyFor(_ node: ConfigNode?, _ allowed: TransferCurve.Model) throws(ConfigError) {
            if let node, model != allowed { throw node.error("only used with model \(allowed.rawValue), not \(model.rawValue)") }
        }
        try onlyFor(aNode, .rational)
        try onlyFor(coefficientsNode, .polynomial)
        try onlyFor(fileNode, .lut)
        switch model {
        case .linear:
            break
        case .rational:
            curve.a = try nonNegative(m.required("a"))
        case .polynomial:
            let list = try m.required("coefficients")
            let coefficients = try list.list().map { n throws(ConfigError) in try n.double() }
            guard coefficients.count >= 2 else { throw list.error("a polynomial needs at least c0 and c1") }
            curve.coefficients = coefficients
        case .lut:
            let file = try m.required("file")
            curve.file = try file.string()
            curve.points = try lookupTable(file)
        }
        try m.finish()
        // The ADC must be able to tell partial sums apart: the curve has to rise over the full scale.
        let samples = stride(from: -1.0, through: 1.0, by: 1.0 / 64).map { curve($0) }
        if zip(samples, samples.dropFirst()).contains(where: { $0 >= $1 }) {
            throw node.error("the transfer curve must be strictly increasing over the full scale −1…1")
        }
        return curve
    }

    /// Reads a lookup-table curve from a CSV of `input,output` rows (normalised units; an
    /// optional header line; `#` comments).
    func lookupTable(_ fileNode: ConfigNode) throws(ConfigError) -> [TransferCurve.Point] {
        let name = try fileNode.string()
        let path = name.hasPrefix("/") || baseDirectory == nil ? name : "\(baseDirectory!)/\(name)"
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw fileNode.error("cannot read the transfer-curve CSV '\(path)'")
        }
        var points: [TransferCurve.Point] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let location = SourceLocation(file: path, line: index + 1, column: 1)
            guard fields.count == 2 else {
                throw ConfigError(location, path: fileNode.path, "expected two columns 'input,output', got \(fields.count)")
            }
            guard let input = Double(fields[0]), let output = Double(fields[1]), input.isFinite, output.isFinite else {
                if points.isEmpty && Double(fields[0]) == nil { continue }  // header line
                throw ConfigError(location, path: fileNode.path, "'\(line)' is not two finite numbers")
            }
            if let last = points.last, input <= last.input {
                throw ConfigError(location, path: fileNode.path, "inputs must increase strictly (\(input) after \(last.input))")
            }
            points.append(.init(input: input, output: output))
        }
        guard points.count >= 2 else { throw fileNode.error("the transfer-curve CSV '\(path)' needs at least two points") }
        return points
    }

    func inputs(_ node: ConfigNode) throws(ConfigError) -> ChipConfig.Inputs {
        let m = try node.mapping()
        let dacNode = try m.required("dac")
        let d = try dacNode.mapping()
        let dac = ChipConfig.DAC(
            type: try d.required("type").choice(),
            bits: try bits(d.required("bits")),
            count: try d.optional("count").map { n throws(ConfigError) in try count(n) },
            energyJ: try d.optional("energy_j").map { n throws(ConfigError) in try nonNegative(n) })
        try d.finish()
        if let signedNode = m.optional("signed") {
            throw signedNode.error("say how the DAC drives a sign with encoding: unsigned (signed inputs run as two passes), twos_complement, sign_magnitude or bipolar_xnor")
        }
        var inputs = ChipConfig.Inputs(
            supportedBits: try bitsList(m.required("supported_bits")),
            encoding: try m.optional("encoding")?.choice() ?? .unsigned,
            dac: dac,
            bitsPerCycle: try sliceWidth(m.required("bits_per_cycle")))
        if let phasesNode = m.optional("phases") {
            let p = try phasesNode.mapping()
            inputs.phases = ChipConfig.InputPhases(split: try p.optional("split")?.choice() ?? .lsbFirst,
                                                   adcBits: try p.optional("adc_bits")?.choice() ?? .full)
            try p.finish()
        }
        try m.finish()
        return inputs
    }

    func weights(_ node: ConfigNode) throws(ConfigError) -> ChipConfig.Weights {
        let m = try node.mapping()
        let encodingsNode = try m.required("encodings")
        let encodings: [ChipConfig.WeightEncoding] = try encodingsNode.list().map { n throws(ConfigError) in try n.choice() }
        guard !encodings.isEmpty else { throw encodingsNode.error("list at least one encoding") }
        guard Set(encodings).count == encodings.count else { throw encodingsNode.error("lists an encoding twice") }
        var weights = ChipConfig.Weights(
            supportedBits: try bitsList(m.required("supported_bits")),
            encodings: encodings,
            bitsPerCell: try sliceWidth(m.required("bits_per_cell")),
            recombine: try m.optional("recombine")?.choice() ?? .digital,
            bitRatioMismatchRel: try m.optional("bit_ratio_mismatch_rel").map { n throws(ConfigError) in try relativeSigma(n) } ?? 0,
            devicesPerWeight: try m.optional("devices_per_weight").map { n throws(ConfigError) in try bounded(n, count(n), 1...64) } ?? 1,
            programmingNoiseSigmaS: try m.optional("programming_noise_sigma_s").map { n throws(ConfigError) in try nonNegative(n) } ?? 0,
            relaxationSigmaS: try m.optional("relaxation_sigma_s").map { n throws(ConfigError) in try nonNegative(n) } ?? 0,
            programmingNoiseRel: try m.optional("programming_noise_rel").map { n throws(ConfigError) in try relativeSigma(n) } ?? 0,
            readNoiseSigmaS: try m.optional("read_noise_sigma_s").map { n throws(ConfigError) in try nonNegative(n) } ?? 0,
            drift: try m.optional("drift").map { n throws(ConfigError) in
                let d = try n.mapping()
                let drift = ChipConfig.Drift(
                    nu: try bounded(d.required("nu"), d.required("nu").double(), 0...1),
                    nuSigma: try d.optional("nu_sigma").map { n throws(ConfigError) in try sigma(n) } ?? 0,
                    t0S: try positive(d.required("t0_s")),
                    compensation: try d.optional("compensation")?.choice() ?? .none)
                try d.finish()
                return drift
            })
        weights.pairLayout = try m.optional("pair_layout")?.choice() ?? .columns
        try m.finish()
        if weights.recombine == .analog, weights.bitsPerCell == .whole {
            throw (m.optional("bits_per_cell") ?? node).error("analog recombination combines cells of a given width; give bits_per_cell as a number (1 for bit cells)")
        }
        if weights.bitRatioMismatchRel > 0, weights.recombine != .analog, let n = m.optional("bit_ratio_mismatch_rel") {
            throw n.error("bit-ratio mismatch needs recombine: analog (digital shift-add weights the cells exactly)")
        }
        return weights
    }

    func adc(_ node: ConfigNode) throws(ConfigError) -> ADCConfig {
        let m = try node.mapping()
        let type: ADCConfig.Kind = try m.required("type").choice()
        var resolution: Int?
        if type == .ideal {
            if let bitsNode = m.optional("bits") {
                throw bitsNode.error("an ideal ADC is lossless and has no resolution; remove bits or choose a physical type")
            }
        } else {
            resolution = try adcBits(m.required("bits"))
        }
        let codeStepsNode = m.optional("code_steps")
        if let codeStepsNode, type == .ideal { throw codeStepsNode.error("an ideal ADC is lossless and has no code steps") }
        let adc = ADCConfig(
            type: type,
            bits: resolution,
            codeSteps: try codeStepsNode.map { n throws(ConfigError) in try count(n) },
            count: try count(m.required("count")),
            signed: try m.optional("signed")?.bool() ?? false,
            range: try range(m.optional("range"), defaultPolicy: .max),
            enob: try m.optional("enob").map { n throws(ConfigError) in try positive(n) },
            noiseSigmaLsb: try m.optional("noise_sigma_lsb").map { n throws(ConfigError) in try sigma(n) } ?? 0,
            offsetSigmaLsb: try m.optional("offset_sigma_lsb").map { n throws(ConfigError) in try sigma(n) } ?? 0,
            gainSigmaRel: try m.optional("gain_sigma_rel").map { n throws(ConfigError) in try relativeSigma(n) } ?? 0,
            reference: try m.optional("reference")?.choice() ?? .perADC,
            inlSigmaLsb: try m.optional("inl_sigma_lsb").map { n throws(ConfigError) in try sigma(n) } ?? 0,
            inlMaxLsb: try m.optional("inl_max_lsb").map { n throws(ConfigError) in try nonNegative(n) },
            dnlSigmaLsb: try m.optional("dnl_sigma_lsb").map { n throws(ConfigError) in try sigma(n) } ?? 0,
            sarUnitCapMismatchRel: try m.optional("sar_unit_cap_mismatch_rel").map { n throws(ConfigError) in try relativeSigma(n) },
            calibration: try m.optional("calibration")?.choice() ?? .none,
            subtraction: try m.optional("subtraction")?.choice() ?? .digital,
            conversionEnergyJ: try m.optional("conversion_energy_j").map { n throws(ConfigError) in try nonNegative(n) },
            areaUm2: try m.optional("area_um2").map { n throws(ConfigError) in try positive(n) })
        try m.finish()
        return adc
    }

    func range(_ node: ConfigNode?, defaultPolicy: ADCConfig.RangePolicy) throws(ConfigError) -> ADCConfig.Range {
        guard let node else { return ADCConfig.Range(policy: defaultPolicy) }
        let m = try node.mapping()
        let minNode = m.optional("min"), maxNode = m.optional("max"), percentileNode = m.optional("percentile")
        let policy: ADCConfig.RangePolicy = try m.optional("policy")?.choice() ?? (minNode != nil || maxNode != nil ? .fixed : defaultPolicy)
        var range = ADCConfig.Range(policy: policy)
        if policy == .fixed {
            let lowerNode = try m.required("min"), upperNode = try m.required("max")
            let minimum = try lowerNode.double(), maximum = try upperNode.double()
            guard minimum < maximum else { throw upperNode.error("max (\(maximum)) must be greater than min (\(minimum))") }
            range.min = minimum
            range.max = maximum
        } else if let stray = minNode ?? maxNode {
            throw stray.error("min and max are only used with policy fixed, not \(policy.rawValue)")
        }
        if policy == .calibrated {
            if let percentileNode { range.percentile = try bounded(percentileNode, percentileNode.double(), 50...100) }
            else { range.percentile = 99.99 }
        } else if let percentileNode {
            throw percentileNode.error("percentile is only used with policy calibrated, not \(policy.rawValue)")
        }
        try m.finish()
        return range
    }

    func timing(_ node: ConfigNode) throws(ConfigError) -> ChipConfig.Timing {
        let m = try node.mapping()
        let perStep = try m.optional("cycles_per_input_step").map { n throws(ConfigError) in try nonNegative(n) } ?? 0
        let perBit = try m.optional("cycles_per_adc_bit").map { n throws(ConfigError) in try nonNegative(n) } ?? 0
        let fixedNode = m.optional("cycles_per_conversion")
        // Without precision-dependent terms a conversion needs a positive fixed time (1 cycle by default).
        let fixed = try fixedNode.map { n throws(ConfigError) in
            perStep + perBit > 0 ? try nonNegative(n) : try positive(n)
        } ?? (perStep + perBit > 0 ? 0 : 1)
        let timing = ChipConfig.Timing(
            clockHz: try positive(m.required("clock_hz")),
            cyclesPerConversion: fixed, cyclesPerInputStep: perStep, cyclesPerADCBit: perBit)
        try m.finish()
        return timing
    }

    func modes(_ node: ConfigNode?) throws(ConfigError) -> [ChipConfig.OperatingMode] {
        guard let node else { return [] }
        return try node.mapping().all().map { name, modeNode throws(ConfigError) in
            let m = try modeNode.mapping()
            var mode = ChipConfig.OperatingMode(
                name: name,
                description: try m.optional("description")?.string(),
                encoding: try m.required("encoding").choice(),
                weightBits: try m.optional("weight_bits").map { n throws(ConfigError) in try bitsList(n) },
                subtraction: try m.optional("subtraction")?.choice())
            if let adcNode = m.optional("adc") {
                let a = try adcNode.mapping()
                mode.adcBits = try a.optional("bits").map { n throws(ConfigError) in try adcBits(n) }
                mode.adcSigned = try a.optional("signed")?.bool()
                mode.adcRange = try a.optional("range").map { n throws(ConfigError) in try range(n, defaultPolicy: .max) }
                mode.adcNoiseSigmaLsb = try a.optional("noise_sigma_lsb").map { n throws(ConfigError) in try sigma(n) }
                mode.adcConversionEnergyJ = try a.optional("conversion_energy_j").map { n throws(ConfigError) in try nonNegative(n) }
                try a.finish()
            }
            if let inputsNode = m.optional("inputs") {
                let i = try inputsNode.mapping()
                mode.inputBitsPerCycle = try i.optional("bits_per_cycle").map { n throws(ConfigError) in try sliceWidth(n) }
                mode.inputEncoding = try i.optional("encoding")?.choice()
                if mode.inputBitsPerCycle == nil && mode.inputEncoding == nil {
                    throw inputsNode.error("give bits_per_cycle or encoding (or drop inputs)")
                }
                try i.finish()
            }
            if let timingNode = m.optional("timing") {
                let t = try timingNode.mapping()
                mode.cyclesPerConversion = try t.optional("cycles_per_conversion").map { n throws(ConfigError) in try nonNegative(n) }
                mode.cyclesPerInputStep = try t.optional("cycles_per_input_step").map { n throws(ConfigError) in try nonNegative(n) }
                mode.cyclesPerADCBit = try t.optional("cycles_per_adc_bit").map { n throws(ConfigError) in try nonNegative(n) }
                try t.finish()
            }
            try m.finish()
            return mode
        }
    }

    func operatingPoints(_ node: ConfigNode?) throws(ConfigError) -> [ChipConfig.OperatingPoint] {
        guard let node else { return [] }
        var names = Set<String>()
        return try node.list().map { n throws(ConfigError) in
            let m = try n.mapping()
            let nameNode = try m.required("name")
            let name = try nameNode.string()
            guard !name.isEmpty, names.insert(name).inserted else {
                throw nameNode.error(name.isEmpty ? "an operating point needs a name" : "operating point '\(name)' is listed twice")
            }
            let point = ChipConfig.OperatingPoint(
                name: name,
                supplyV: try m.optional("supply_v").map { n throws(ConfigError) in try positive(n) },
                clockHz: try m.optional("clock_hz").map { n throws(ConfigError) in try positive(n) },
                conversionEnergyJ: try m.optional("conversion_energy_j").map { n throws(ConfigError) in try nonNegative(n) },
                macEnergyJ: try m.optional("mac_energy_j").map { n throws(ConfigError) in try nonNegative(n) },
                dacEnergyJ: try m.optional("dac_energy_j").map { n throws(ConfigError) in try nonNegative(n) },
                reported: try reported(m.optional("reported")))
            try m.finish()
            return point
        }
    }

    func reported(_ node: ConfigNode?) throws(ConfigError) -> ChipConfig.Reported {
        guard let node else { return ChipConfig.Reported(accuracy: []) }
        let m = try node.mapping()
        let reported = ChipConfig.Reported(
            peakThroughputOpsPerS: try m.optional("peak_throughput_ops_per_s").map { n throws(ConfigError) in try positive(n) },
            energyEfficiencyOpsPerJ: try m.optional("energy_efficiency_ops_per_j").map { n throws(ConfigError) in try positive(n) },
            powerW: try m.optional("power_w").map { n throws(ConfigError) in try positive(n) },
            areaMm2: try m.optional("area_mm2").map { n throws(ConfigError) in try positive(n) },
            sqnrDb: try m.optional("sqnr_db").map { n throws(ConfigError) in try bounded(n, n.double(), -100...300) },
            csnrDb: try m.optional("csnr_db").map { n throws(ConfigError) in try bounded(n, n.double(), -100...300) },
            conditions: try m.optional("conditions").map { n throws(ConfigError) in
                let c = try n.mapping()
                let conditions = ChipConfig.ReportedConditions(
                    inputBits: try c.optional("input_bits").map { n throws(ConfigError) in try bits(n) },
                    weightBits: try c.optional("weight_bits").map { n throws(ConfigError) in try bits(n) },
                    mode: try c.optional("mode")?.string(),
                    description: try c.optional("description")?.string())
                try c.finish()
                return conditions
            },
            accuracy: try m.optional("accuracy")?.list().map { n throws(ConfigError) in
                let a = try n.mapping()
                let entry = ChipConfig.ReportedAccuracy(
                    network: try a.required("network").string(),
                    dataset: try a.required("dataset").string(),
                    top1: try fraction(a.required("top1")),
                    softwareTop1: try a.optional("software_top1").map { n throws(ConfigError) in try fraction(n) })
                try a.finish()
                return entry
            } ?? [])
        try m.finish()
        return reported
    }

    // MARK: - Rules that span sections

    func fail(_ path: String, _ message: String) -> ConfigError {
        let location = context.locations[path] ?? SourceLocation(file: context.file, line: 1, column: 1)
        return ConfigError(location, path: path, message)
    }

    func validate(_ chip: ChipConfig, root: ConfigNode) throws(ConfigError) {
        if chip.array.inputsPerConversion > chip.array.rows {
            throw fail("array.inputs_per_conversion",
                       "\(chip.array.inputsPerConversion) inputs per conversion exceed the \(chip.array.rows) rows of the array")
        }
        let a = chip.array
        if Double(a.rows) * Double(a.cols) * Double(a.cellsShared) * Double(a.count) > Double(1 << 50) {
            throw fail(a.count > 1 ? "array.count" : "array.cells_shared",
                       "\(a.count) arrays of \(a.rows) × \(a.cols) × \(a.cellsShared) cells exceed the 2^50 cells this simulator models")
        }
        if let parallel = chip.array.parallelOutputs, parallel > chip.array.cols {
            throw fail("array.parallel_outputs", "\(parallel) parallel outputs exceed the \(chip.array.cols) columns")
        }
        if case let .bits(perCycle) = chip.inputs.bitsPerCycle {
            if perCycle > chip.inputs.dac.bits {
                throw fail("inputs.bits_per_cycle", "\(perCycle) bits per cycle exceed the \(chip.inputs.dac.bits)-bit DAC")
            }
        }
        if case let .bits(perCell) = chip.weights.bitsPerCell, let perDevice = chip.memory.bitsPerDevice, perCell > perDevice {
            throw fail("weights.bits_per_cell", "\(perCell) bits per cell exceed memory.bits_per_device (\(perDevice))")
        }
        if chip.memory.gMinS == nil {
            let values = ["programming_noise_sigma_s": chip.weights.programmingNoiseSigmaS,
                          "relaxation_sigma_s": chip.weights.relaxationSigmaS, "read_noise_sigma_s": chip.weights.readNoiseSigmaS]
            for field in ["programming_noise_sigma_s", "relaxation_sigma_s", "read_noise_sigma_s"] where context.locations["weights.\(field)"] != nil {
                let value = values[field]!
                if value > 0 { throw fail("weights.\(field)", "a conductance error in siemens needs the device range memory.g_min_s and memory.g_max_s") }
            }
        }
        if chip.weights.devicesPerWeight > 1, chip.weights.devicesPerWeight % 2 == 1,
           chip.weights.encodings.contains(where: { $0 == .differential || $0 == .ternarySignedDigit }) {
            throw fail("weights.devices_per_weight", "\(chip.weights.devicesPerWeight) devices cannot be split evenly between the two polarities of a differential weight")
        }
        if chip.adc.sarUnitCapMismatchRel != nil {
            if chip.adc.type != .sar {
                throw fail("adc.sar_unit_cap_mismatch_rel", "only a SAR ADC has a capacitor DAC; this ADC is \(chip.adc.type.rawValue)")
            }
            if context.locations["adc.inl_sigma_lsb"] != nil {
                throw fail("adc.inl_sigma_lsb", "give either inl_sigma_lsb or sar_unit_cap_mismatch_rel, not both")
            }
        }
        if let steps = chip.adc.codeSteps, let bits = chip.adc.bits {
            let most = chip.adc.signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1
            if steps > most {
                throw fail("adc.code_steps", "\(steps) code steps do not fit a \(bits)-bit \(chip.adc.signed ? "signed" : "unsigned") ADC (at most \(most))")
            }
            if chip.inputs.phases.adcBits == .reduced {
                throw fail("adc.code_steps", "cycles converted at fewer bits cannot be combined with adc.code_steps")
            }
            if chip.modes.contains(where: { $0.adcBits != nil }) {
                throw fail("adc.code_steps", "modes that change the ADC's bits cannot be combined with code_steps")
            }
        }
        if let enob = chip.adc.enob, let bits = chip.adc.bits, enob > Double(bits) {
            throw fail("adc.enob", "ENOB \(enob) exceeds the \(bits)-bit resolution")
        }
        if chip.adc.type == .ideal, chip.adc.noiseSigmaLsb + chip.adc.offsetSigmaLsb + chip.adc.gainSigmaRel + chip.adc.inlSigmaLsb + chip.adc.dnlSigmaLsb > 0 {
            throw fail("adc.type", "an ideal ADC cannot carry offset, gain, INL, DNL or noise")
        }
        if chip.inputs.encoding == .signMagnitude, let index = chip.inputs.supportedBits.firstIndex(of: 1) {
            throw fail("inputs.supported_bits[\(index)]", "a sign-magnitude input needs a sign and at least one magnitude bit; 1-bit inputs cannot be driven")
        }
        let inputMax = chip.inputs.supportedBits.max()!
        if case let .bits(perCycle) = chip.inputs.bitsPerCycle, perCycle > inputMax {
            throw fail("inputs.bits_per_cycle", "\(perCycle) bits per cycle exceed the widest supported input (\(inputMax) bits)")
        }
        try validateEncodings(chip, weightBits: chip.weights.supportedBits, encodings: chip.weights.encodings,
                              bitsPath: "weights.supported_bits", encodingPath: "weights.encodings",
                              anyEncoding: true)
        var names = Set<String>()
        for mode in chip.modes {
            let base = "modes.\(mode.name)"
            names.insert(mode.name)
            guard chip.weights.encodings.contains(mode.encoding) else {
                throw fail("\(base).encoding", "encoding \(mode.encoding.rawValue) is not supported by this chip (weights.encodings: \(chip.weights.encodings.map(\.rawValue).joined(separator: ", ")))")
            }
            if let bits = mode.weightBits {
                for (index, b) in bits.enumerated() where !chip.weights.supportedBits.contains(b) {
                    throw fail("\(base).weight_bits[\(index)]", "\(b)-bit weights are not in weights.supported_bits \(chip.weights.supportedBits)")
                }
            }
            try validateEncodings(chip, weightBits: mode.weightBits ?? chip.weights.supportedBits, encodings: [mode.encoding],
                                  bitsPath: "\(base).weight_bits", encodingPath: "\(base).encoding", anyEncoding: false)
            if case let .bits(perCycle) = mode.inputBitsPerCycle {
                if perCycle > chip.inputs.dac.bits {
                    throw fail("\(base).inputs.bits_per_cycle", "\(perCycle) bits per cycle exceed the \(chip.inputs.dac.bits)-bit DAC")
                }
                if perCycle > inputMax {
                    throw fail("\(base).inputs.bits_per_cycle", "\(perCycle) bits per cycle exceed the widest supported input (\(inputMax) bits)")
                }
            }
            if chip.adc.type == .ideal, mode.adcNoiseSigmaLsb.map({ $0 > 0 }) == true {
                throw fail("\(base).adc.noise_sigma_lsb", "the chip's ADC is ideal (lossless); a mode cannot give it noise")
            }
            if chip.adc.type == .ideal, mode.adcBits != nil {
                throw fail("\(base).adc.bits", "the chip's ADC is ideal (lossless); a mode cannot give it a resolution")
            }
            if let modeBits = mode.adcBits, let bits = chip.adc.bits, modeBits > bits {
                throw fail("\(base).adc.bits", "\(modeBits) effective bits exceed the \(bits)-bit ADC")
            }
        }
        if chip.weights.pairLayout == .rows, chip.array.rows < 2 * chip.array.inputsPerConversion {
            throw fail("weights.pair_layout", "a ± pair on two rows takes 2 rows per input, but array.rows (\(chip.array.rows)) is less than 2 × inputs_per_conversion (\(chip.array.inputsPerConversion))")
        }
        if chip.compute.normalization == .conductanceSum {
            if chip.memory.gMinS == nil || chip.memory.gMaxS == nil {
                throw fail("compute.normalization", "dividing by the summed conductance needs the device range memory.g_min_s and memory.g_max_s")
            }
            if let other = chip.weights.encodings.first(where: { $0 != .differential }) {
                throw fail("compute.normalization", "dividing by the summed conductance needs conductance levels on +/- device pairs (weights.encodings: differential), not \(other.rawValue)")
            }
        }
        if chip.weights.encodings.contains(.bipolarXNOR) {
            if chip.weights.bitsPerCell != .bits(1) {
                throw fail("weights.bits_per_cell", "bipolar_xnor weights hold one ±1 bit per cell; set bits_per_cell: 1")
            }
            if chip.weights.recombine == .analog {
                throw fail("weights.recombine", "bipolar_xnor weight bits are shift-added digitally; analog recombination cannot hold them")
            }
        }
        for (index, mode) in chip.resolvedModes.enumerated() where mode.inputEncoding == .bipolarXNOR && mode.inputBitsPerCycle != .bits(1) {
            let path = chip.modes.isEmpty || chip.modes[index].inputBitsPerCycle == nil ? "inputs.bits_per_cycle" : "modes.\(mode.name).inputs.bits_per_cycle"
            throw fail(path, "bipolar_xnor inputs are driven one ±1 bit per cycle; \(mode.name) drives \(mode.inputBitsPerCycle) bits per cycle")
        }
        for (index, mode) in chip.resolvedModes.enumerated() where mode.inputEncoding == .signMagnitude && chip.inputs.supportedBits.contains(1) {
            let path = chip.modes.isEmpty || chip.modes[index].inputEncoding == nil ? "inputs.supported_bits" : "modes.\(mode.name).inputs.encoding"
            throw fail(path, "a sign-magnitude input needs a sign and at least one magnitude bit, but the chip lists 1-bit inputs")
        }
        for (index, mode) in chip.resolvedModes.enumerated() where mode.timing.cycles(inputSteps: 1, adcBits: mode.adc.bits) <= 0 {
            throw fail(chip.modes.isEmpty ? "timing.cycles_per_conversion" : "modes.\(chip.modes[index].name).timing.cycles_per_conversion",
                       "a conversion must take some time: the cycle terms of mode \(mode.name) add up to 0")
        }
        for (index, mode) in chip.resolvedModes.enumerated() where mode.adc.signed {
            let base = chip.modes.isEmpty ? "adc" : "modes.\(chip.modes[index].name).adc"
            let overridden = !chip.modes.isEmpty && chip.modes[index].adcRange != nil
            if let bits = mode.adc.bits, bits < 2 {
                let path = !chip.modes.isEmpty && chip.modes[index].adcBits != nil ? "\(base).bits" : "adc.bits"
                throw fail(path, "a signed (mid-scale zero) ADC needs at least 2 bits")
            }
            if mode.adc.range.policy == .fixed, mode.adc.range.min! != -mode.adc.range.max! {
                let path = overridden ? "\(base).range.min" : "adc.range.min"
                throw fail(path, "a signed ADC has mid-scale zero: its range must be symmetric, −max…max (got \(mode.adc.range.min!)…\(mode.adc.range.max!))")
            }
        }
        if let defaultMode = chip.defaultMode, !names.contains(defaultMode) {
            throw fail("default_mode", chip.modes.isEmpty
                       ? "names mode '\(defaultMode)' but the chip has no modes"
                       : "'\(defaultMode)' is not one of the modes \(chip.modes.map(\.name).joined(separator: ", "))")
        }
        try validateConditions(chip.reported.conditions, chip, path: "reported.conditions")
        for (index, point) in chip.operatingPoints.enumerated() {
            try validateConditions(point.reported.conditions, chip, path: "operating_points[\(index)].reported.conditions")
        }
    }

    /// The reported figures' conditions must name a mode, input bits and weight bits the chip has.
    func validateConditions(_ conditions: ChipConfig.ReportedConditions?, _ chip: ChipConfig, path: String) throws(ConfigError) {
        guard let conditions else { return }
        let modes = chip.resolvedModes
        var mode = chip.defaultResolvedMode
        if let name = conditions.mode {
            guard let named = modes.first(where: { $0.name == name }) else {
                throw fail("\(path).mode", "'\(name)' is not one of the modes \(modes.map(\.name).joined(separator: ", "))")
            }
            mode = named
        }
        if let bits = conditions.inputBits, !chip.inputs.supportedBits.contains(bits) {
            throw fail("\(path).input_bits", "\(bits)-bit inputs are not in inputs.supported_bits \(chip.inputs.supportedBits)")
        }
        if let bits = conditions.weightBits, !mode.weightBits.contains(bits) {
            throw fail("\(path).weight_bits", "\(bits)-bit weights are not among mode \(mode.name)'s \(mode.weightBits)")
        }
    }

    /// Each weight width must be representable in at least one (`anyEncoding`) or every listed encoding.
    func validateEncodings(_ chip: ChipConfig, weightBits: [Int], encodings: [ChipConfig.WeightEncoding],
                           bitsPath: String, encodingPath: String, anyEncoding: Bool) throws(ConfigError) {
        for (index, b) in weightBits.enumerated() {
            let usable = encodings.filter { !($0 == .ternarySignedDigit && b < 2) }
            if anyEncoding ? usable.isEmpty : usable.count < encodings.count {
                throw fail("\(bitsPath)[\(index)]", "1-bit weights cannot be held as ternary signed digits (b bits take b−1 digits)")
            }
        }
    }

    // MARK: - Field checks

    func bounded<T: Comparable>(_ node: ConfigNode, _ value: T, _ range: ClosedRange<T>) throws(ConfigError) -> T {
        let node = try node.unwrapped()
        guard range.contains(value) else { throw node.error("\(value) is outside \(range.lowerBound)…\(range.upperBound)") }
        return value
    }

    func bits(_ node: ConfigNode) throws(ConfigError) -> Int {
        let node = try node.unwrapped()
        let value = try node.int()
        guard value >= 1 else { throw node.error("bits must be at least 1, got \(value)") }
        guard value <= 16 else { throw node.error("\(value) bits is beyond what this simulator models (at most 16)") }
        return value
    }

    func adcBits(_ node: ConfigNode) throws(ConfigError) -> Int {
        let node = try node.unwrapped()
        let value = try node.int()
        guard value >= 1 else { throw node.error("an ADC needs at least 1 bit, got \(value)") }
        guard value <= 24 else { throw node.error("\(value) bits is not a physical ADC (at most 24); use type ideal for a lossless one") }
        return value
    }

    func bitsList(_ node: ConfigNode) throws(ConfigError) -> [Int] {
        let values = try node.list().map { n throws(ConfigError) in try bits(n) }
        guard !values.isEmpty else { throw node.error("list at least one width") }
        guard Set(values).count == values.count else { throw node.error("lists a width twice: \(values)") }
        return values
    }

    func sliceWidth(_ node: ConfigNode) throws(ConfigError) -> ChipConfig.SliceWidth {
        let inner = try node.unwrapped()
        if case let .scalar(scalar) = inner.node, scalar.string == "all" { return .whole }
        do {
            return .bits(try bits(inner))
        } catch {
            if error.message.hasPrefix("expected") { throw inner.error("expected a number of bits or 'all', got \(inner.kind)") }
            throw error
        }
    }

    func count(_ node: ConfigNode) throws(ConfigError) -> Int {
        let node = try node.unwrapped()
        let value = try node.int()
        guard value >= 1 else { throw node.error("must be at least 1, got \(value)") }
        guard value <= ChipConfig.Limits.count else {
            throw node.error("\(value) is beyond what this simulator models (at most \(ChipConfig.Limits.count))")
        }
        return value
    }

    func positive(_ node: ConfigNode) throws(ConfigError) -> Double {
        let node = try node.unwrapped()
        let value = try node.double()
        guard value > 0 else { throw node.error("must be greater than 0, got \(value)") }
        return value
    }

    func nonNegative(_ node: ConfigNode) throws(ConfigError) -> Double {
        let node = try node.unwrapped()
        let value = try node.double()
        guard value >= 0 else { throw node.error("must not be negative, got \(value)") }
        return value
    }

    /// A spread in LSB: 0…``ChipConfig/Limits/sigmaLSB``.
    func sigma(_ node: ConfigNode) throws(ConfigError) -> Double {
        try spread(node, limit: ChipConfig.Limits.sigmaLSB, unit: "LSB")
    }

    /// A relative spread: 0…``ChipConfig/Limits/sigmaRelative``.
    func relativeSigma(_ node: ConfigNode) throws(ConfigError) -> Double {
        try spread(node, limit: ChipConfig.Limits.sigmaRelative, unit: "(relative)")
    }

    func spread(_ node: ConfigNode, limit: Double, unit: String) throws(ConfigError) -> Double {
        let node = try node.unwrapped()
        let value = try node.double()
        guard value >= 0 else { throw node.error("a standard deviation cannot be negative, got \(value)") }
        guard value <= limit else { throw node.error("\(value) is not a physical spread (at most \(limit) \(unit))") }
        return value
    }

    func fraction(_ node: ConfigNode) throws(ConfigError) -> Double {
        let node = try node.unwrapped()
        let value = try node.double()
        guard (0...1).contains(value) else { throw node.error("an accuracy is a fraction in 0…1, got \(value)") }
        return value
    }
}
