import PIMQAT

/// The human-readable page of `pimctl chips show`.
struct ChipReport {
    let chip: ChipConfig
    let path: String
    let figures: ChipFigures

    var text: String {
        var lines: [String] = []
        let meta = chip.meta
        lines.append("\(meta.id) — \(meta.title)")
        var citation: [String] = []
        if !meta.authors.isEmpty {
            citation.append(meta.authors.count > 3 ? "\(meta.authors[0]) et al." : meta.authors.joined(separator: ", "))
        }
        if let venue = meta.venue { citation.append(venue) }
        if let year = meta.year { citation.append(String(year)) }
        if let doi = meta.doi { citation.append("doi:\(doi)") }
        if !citation.isEmpty { lines.append("  " + citation.joined(separator: ", ")) }
        lines.append("  file: \(path)")
        lines.append("")
        lines.append("Chip")
        lines.append(contentsOf: Format.table(["", ""], chipRows, indent: "  ").split(separator: "\n").dropFirst().map(String.init))
        lines.append("")
        lines.append("Derived (from the parameters above)")
        lines.append(contentsOf: derivedRows)
        if !figures.operatingPoints.isEmpty {
            lines.append("")
            lines.append("Operating points (select one with --chip \(chip.meta.id)@NAME)")
            func versus(_ derived: Double?, _ reported: Double?, _ unit: String) -> String {
                var text = derived.map { Format.si($0, unit) } ?? "–"
                if let reported {
                    text += " vs \(Format.si(reported, unit))"
                    if let derived { text += " (\(Format.number(derived / reported, digits: 4)))" }
                }
                return text
            }
            var rows = [["nominal", chip.technology.supplyV.map { "\(Format.number($0)) V" } ?? "–", Format.si(chip.timing.clockHz, "Hz"),
                         versus(figures.peakThroughputOpsPerS, chip.reported.peakThroughputOpsPerS, "OPS"),
                         versus(figures.efficiencyOpsPerJ, chip.reported.energyEfficiencyOpsPerJ, "OPS/W")]]
            for point in figures.operatingPoints {
                rows.append([point.name, point.supplyV.map { "\(Format.number($0)) V" } ?? "–", Format.si(point.clockHz, "Hz"),
                             versus(point.peakThroughputOpsPerS, point.reportedPeakThroughputOpsPerS, "OPS"),
                             versus(point.efficiencyOpsPerJ, point.reportedEfficiencyOpsPerJ, "OPS/W")])
            }
            lines.append(Format.table(["point", "supply", "clock", "peak: derived vs reported (ratio)", "efficiency: derived vs reported (ratio)"],
                                      rows, indent: "  "))
        }
        if !reportedRows.isEmpty {
            lines.append("")
            lines.append("Reported (by the paper)")
            lines.append(contentsOf: Format.table(["", ""], reportedRows, indent: "  ").split(separator: "\n").dropFirst().map(String.init))
        }
        for mode in figures.modes {
            lines.append("")
            let isDefault = mode.name == chip.defaultResolvedMode.name
            var adc = mode.adcBits.map { "\($0)-bit \(mode.adcSigned ? "signed" : "unsigned") ADC, range \(mode.rangePolicy.rawValue)" } ?? "lossless ADC"
            // What the mode changes beyond the encoding and converter bits.
            if let resolved = chip.resolvedModes.first(where: { $0.name == mode.name }) {
                if resolved.adc.noiseSigmaLsb != chip.adc.noiseSigmaLsb { adc += ", noise \(Format.number(resolved.adc.noiseSigmaLsb)) LSB" }
                if resolved.adc.conversionEnergyJ != chip.adc.conversionEnergyJ, let energy = resolved.adc.conversionEnergyJ {
                    adc += ", \(Format.si(energy, "J")) per conversion"
                }
                if resolved.inputBitsPerCycle != chip.inputs.bitsPerCycle { adc += ", input bits per cycle \(resolved.inputBitsPerCycle)" }
                if resolved.inputEncoding != chip.inputs.encoding { adc += ", \(resolved.inputEncoding.rawValue) inputs" }
                if resolved.timing != chip.timing { adc += ", \(resolved.timing.terms)" }
            }
            lines.append("Mode \(mode.name)\(isDefault ? " (default)" : ""): \(mode.encoding.rawValue), \(adc), \(figures.inputBits)-bit inputs")
            lines.append(Format.table(
                ["W bits", "cycles", "slices", "conv/group", "conv/MAC", "partial sum", "full scale", "LSB (MAC)", "lossless bits", "W×A ops/s", "energy/op"],
                mode.precisions.map { p in
                    [String(p.weightBits), String(p.inputCycles), String(p.weightSlices), String(p.conversionsPerGroup),
                     Format.number(p.conversionsPerMAC), "\(p.partialSumMin)…\(p.partialSumMax)",
                     p.fullScaleMin.map { "\(Format.number($0))…\(Format.number(p.fullScaleMax!))" } ?? (mode.adcBits == nil ? "unbounded" : "from data"),
                     p.lsbMACUnits.map { Format.number($0) } ?? "from data",
                     String(p.losslessADCBits),
                     Format.si(p.throughputOpsPerS, "OPS"),
                     p.energyPerOpJ.map { Format.si($0, "J") } ?? "–"]
                }))
        }
        return lines.joined(separator: "\n")
    }

    private var chipRows: [[String]] {
        let c = chip
        var rows: [[String]] = []
        var memory = c.memory.type.rawValue
        if let cell = c.memory.cell { memory += " \(cell)" }
        if let bits = c.memory.bitsPerDevice { memory += ", \(bits) bit per device" }
        rows.append(["memory", memory])
        rows.append(["array", "\(c.array.rows) rows × \(c.array.cols) columns, \(c.array.cellsShared) cells per compute unit, n = \(c.array.inputsPerConversion) inputs per conversion"])
        rows.append(["inputs", "\(bitList(c.inputs.supportedBits)) bit, \(c.inputs.encoding.rawValue.replacingOccurrences(of: "_", with: "-")); \(c.inputs.dac.bits)-bit \(c.inputs.dac.type.rawValue) DAC, bits per cycle: \(c.inputs.bitsPerCycle)"])
        rows.append(["weights", "\(bitList(c.weights.supportedBits)) bit; \(c.weights.encodings.map(\.rawValue).joined(separator: ", ")); bits per cell: \(c.weights.bitsPerCell)\(c.weights.recombine == .analog ? ", combined in analog before the ADC (bit-ratio mismatch \(Format.percent(c.weights.bitRatioMismatchRel)))" : "")"])
        let a = c.adc
        var adc = "\(a.count) × " + (a.bits.map { "\($0)-bit \(a.type.rawValue)" } ?? "ideal (lossless)")
        if a.bits != nil {
            adc += ", \(a.signed ? "signed" : "unsigned"), range \(a.range.policy.rawValue)"
            if a.range.policy == .fixed { adc += " \(Format.number(a.range.min!))…\(Format.number(a.range.max!))" }
            if let enob = a.enob { adc += ", ENOB \(Format.number(enob))" }
        }
        rows.append(["ADC", adc])
        if a.bits != nil {
            var errors = "noise \(Format.number(a.noiseSigmaLsb)) LSB, offset \(Format.number(a.offsetSigmaLsb)) LSB, gain \(Format.percent(a.gainSigmaRel))"
            if let mismatch = a.sarUnitCapMismatchRel {
                errors += ", INL from SAR unit-capacitor mismatch \(Format.percent(mismatch))"
            } else {
                errors += ", INL \(Format.number(a.inlSigmaLsb)) LSB" + (a.inlMaxLsb.map { " (max \(Format.number($0)))" } ?? "")
            }
            errors += ", DNL \(Format.number(a.dnlSigmaLsb)) LSB; calibration \(a.calibration.rawValue); \(a.subtraction.rawValue) subtraction"
            rows.append(["ADC errors", errors])
        }
        let t = c.compute.transfer
        var transfer = "\(c.compute.domain.rawValue) domain; transfer \(t.model.rawValue)"
        switch t.model {
        case .linear: transfer += " (gain \(Format.number(t.gain)), offset \(Format.number(t.offset)))"
        case .rational: transfer += " (gain \(Format.number(t.gain)), a \(Format.number(t.a ?? 0)))"
        case .polynomial: transfer += " (\((t.coefficients ?? []).map { Format.number($0) }.joined(separator: ", ")))"
        case .lut: transfer += " (\(t.points?.count ?? 0) points from \(t.file ?? "?"))"
        }
        transfer += "; cell mismatch \(Format.percent(c.compute.cellMismatchRel))"
        rows.append(["compute", transfer])
        var timing = "\(Format.si(c.timing.clockHz, "Hz")), \(c.timing.terms)"
        if c.array.count > 1 { timing += "; \(c.array.count) arrays in parallel" }
        rows.append(["timing", timing])
        let defaults = c.provenance.filter { $0.value.status == .default }.keys.sorted()
        if !defaults.isEmpty { rows.append(["defaults", "not published, project defaults: \(defaults.joined(separator: ", "))"]) }
        return rows
    }

    private var derivedRows: [String] {
        var rows: [[String]] = []
        let reported = Dictionary(uniqueKeysWithValues: figures.checks.map { ($0.name, $0) })
        func check(_ name: String, _ unit: String, scale: Double = 1) -> String {
            guard let check = reported[name] else { return "" }
            return "reported \(Format.si(check.reported * scale, unit)) (derived/reported \(Format.number(check.ratio, digits: 5)))"
        }
        rows.append(["peak throughput", Format.si(figures.peakThroughputOpsPerS, "OPS", digits: 5),
                     [figures.peakThroughputFormula, check("peak_throughput_ops_per_s", "OPS")].filter { !$0.isEmpty }.joined(separator: "; ")])
        rows.append(["conversions", Format.si(figures.conversionsPerS, "conv/s"), ""])
        if let energy = figures.energyPerOpJ, let efficiency = figures.efficiencyOpsPerJ {
            rows.append(["energy per op", Format.si(energy, "J"), ["\(Format.number(efficiency / 1e12)) TOPS/W", check("energy_efficiency_ops_per_j", "OPS/W")].filter { !$0.isEmpty }.joined(separator: "; ")])
        }
        rows.append(["weight cells", String(figures.weightCells), ""])
        return Format.table(["", "", ""], rows, indent: "  ").split(separator: "\n").dropFirst().map(String.init)
    }

    /// The paper's own figures, each with its source; the derived figures above are checked against the first two.
    private var reportedRows: [[String]] {
        let r = chip.reported
        var rows: [[String]] = []
        func add(_ key: String, _ label: String, _ value: Double?, _ text: (Double) -> String) {
            guard let value else { return }
            let source = chip.provenance["reported.\(key)"]?.source.map { " — \($0)" } ?? ""
            rows.append([label, text(value) + source])
        }
        if let conditions = r.conditions {
            var parts: [String] = []
            if let bits = conditions.inputBits { parts.append("\(bits)-bit inputs") }
            if let bits = conditions.weightBits { parts.append("\(bits)-bit weights") }
            if let mode = conditions.mode { parts.append("mode \(mode)") }
            if let description = conditions.description { parts.append(description) }
            rows.append(["conditions", parts.joined(separator: "; ")])
        }
        add("peak_throughput_ops_per_s", "peak throughput", r.peakThroughputOpsPerS) { Format.si($0, "OPS") }
        add("energy_efficiency_ops_per_j", "efficiency", r.energyEfficiencyOpsPerJ) { "\(Format.number($0 / 1e12)) TOPS/W" }
        add("power_w", "power", r.powerW) { Format.si($0, "W") }
        add("area_mm2", "area", r.areaMm2) { "\(Format.number($0)) mm²" }
        add("sqnr_db", "SQNR", r.sqnrDb) { "\(Format.number($0)) dB" }
        add("csnr_db", "CSNR", r.csnrDb) { "\(Format.number($0)) dB" }
        for a in r.accuracy {
            let software = a.softwareTop1.map { " (software \(Format.percent($0)))" } ?? ""
            rows.append(["accuracy", "\(a.dataset) \(Format.percent(a.top1))\(software): \(a.network)"])
        }
        return rows
    }

    private func bitList(_ bits: [Int]) -> String {
        let sorted = bits.sorted()
        if sorted.count > 2, sorted.last! - sorted.first! == sorted.count - 1 { return "\(sorted.first!)–\(sorted.last!)" }
        return sorted.map(String.init).joined(separator: ",")
    }
}
