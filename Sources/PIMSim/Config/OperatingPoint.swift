extension ChipConfig {
    /// A published operating point other than the file's nominal one: another supply and
    /// clock, the energies measured there and the paper's figures at it. A supply or clock
    /// left `nil` keeps the nominal value; energies never carry over (they depend on the
    /// supply), so a point without energy figures derives no efficiency.
    public struct OperatingPoint: Sendable, Hashable, Codable {
        public var name: String
        public var supplyV: Double?
        /// Array clock, hertz.
        public var clockHz: Double?
        /// Energy per conversion, per analog MAC and per DAC drive, joules.
        public var conversionEnergyJ: Double?
        public var macEnergyJ: Double?
        public var dacEnergyJ: Double?
        /// The paper's figures at this point (conditions, accuracy and noise as in ``Reported``).
        public var reported: Reported
    }

    /// The chip at operating point `name`: supply and clock replaced where the point gives
    /// them, the point's energies (or none), and its own reported figures; the accuracy, the
    /// area and the figures' conditions carry over when the point gives none (they do not
    /// depend on the supply). `nil` for an unknown name.
    public func at(operatingPoint name: String) -> ChipConfig? {
        guard let index = operatingPoints.firstIndex(where: { $0.name == name }) else { return nil }
        let point = operatingPoints[index]
        var chip = self
        if let supply = point.supplyV { chip.technology.supplyV = supply }
        if let clock = point.clockHz { chip.timing.clockHz = clock }
        chip.adc.conversionEnergyJ = point.conversionEnergyJ
        chip.compute.macEnergyJ = point.macEnergyJ
        chip.inputs.dac.energyJ = point.dacEnergyJ
        // Modes that gave their own conversion energy describe the nominal point only.
        for index in chip.modes.indices { chip.modes[index].adcConversionEnergyJ = nil }
        var reported = point.reported
        if reported.accuracy.isEmpty { reported.accuracy = self.reported.accuracy }
        if reported.conditions == nil { reported.conditions = self.reported.conditions }
        let areaCarries = reported.areaMm2 == nil
        if areaCarries { reported.areaMm2 = self.reported.areaMm2 }
        chip.reported = reported
        chip.operatingPoints = []
        // Sources follow the values: the point's own, under the paths of the fields they replace.
        let replaced: [String: String] = [
            "supply_v": "technology.supply_v", "clock_hz": "timing.clock_hz",
            "conversion_energy_j": "adc.conversion_energy_j", "mac_energy_j": "compute.mac_energy_j",
            "dac_energy_j": "inputs.dac.energy_j",
        ]
        let perPoint = Set(replaced.values).subtracting(["technology.supply_v", "timing.clock_hz"])
        let figures = ["peak_throughput_ops_per_s", "energy_efficiency_ops_per_j", "power_w", "sqnr_db", "csnr_db"]
            + (areaCarries ? [] : ["area_mm2"])
        chip.provenance = provenance.filter { key, _ in
            !key.hasPrefix("operating_points[") && !perPoint.contains(key) && !figures.contains { key == "reported.\($0)" }
        }
        let prefix = "operating_points[\(index)]."
        for (key, value) in provenance where key.hasPrefix(prefix) {
            let field = String(key.dropFirst(prefix.count))
            chip.provenance[replaced[field] ?? field] = value
        }
        return chip
    }
}
