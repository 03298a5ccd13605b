/// One inference of a network on a chip: every layer placed, its time on the chip's arrays
/// and its energy from the chip file's figures, and the totals.
///
/// Layers run one after another (layer by layer), each on all of the chip's arrays
/// (`array.count` × macros). Energy counts only the components the chip file prices (per
/// conversion, per analog product, per DAC drive); ``notModelled`` names the rest.
public struct NetworkCost: Sendable, Codable {
    public struct Layer: Sendable, Codable {
        public var name: String
        /// The chip's input word and weight widths, and the mode.
        public var inputBits: Int
        public var weightBits: Int
        public var mode: String
        public var placement: LayerPlacement
        /// Copies of the layer's weights working on separate input vectors (1 without
        /// replication).
        public var replicas: Int
        /// Clock cycles and seconds of one inference on the chip's arrays.
        public var cycles: Double
        public var latencyS: Double
        /// Full-precision ops (2 per MAC) and the chip's own ops (2 per analog product).
        public var ops: Int
        public var chipOps: Int
        /// Real analog products over what the converters' rounds could sum: analog products /
        /// (rounds × parallel converters × inputs per conversion).
        public var computeUtilization: Double
    }

    public var chip: String
    /// Arrays computing side by side.
    public var arrays: Int
    public var clockHz: Double
    public var layers: [Layer]
    /// Arrays needed to hold every layer at once, pages packed across layers: ⌈Σ pages /
    /// cells shared⌉.
    public var arraysToHoldAll: Int
    /// Whether every layer's weights fit the arrays at once (otherwise they are rewritten
    /// between layers, at a cost the chip file does not give).
    public var resident: Bool
    public var energyJ: Double
    /// Layer by layer: the sum of the layers' latencies.
    public var latencyS: Double
    /// With every layer resident and the layers pipelined, one inference per slowest layer;
    /// nil when the weights do not fit.
    public var pipelinedInferencesPerS: Double?
    public var ops: Int
    public var chipOps: Int
    /// Energy terms with no figure in the chip file, in words.
    public var notModelled: [String]
    /// Layers of the network that do not run on the chip (computed digitally), by name.
    public var offChip: [String]

    /// Full-precision ops per joule; nil when the chip file prices nothing.
    public var opsPerJ: Double? { energyJ > 0 ? Double(ops) / energyJ : nil }

    /// - Parameters:
    ///   - layers: each layer's mapping (its precision and mode on the chip) and shape.
    ///   - macros: copies of the chip file's arrays available, ≥ 1.
    /// - Throws: ``PlacementError`` for a layer that cannot be placed.
    ///   - offChip: names of the network's layers that stay digital.
    ///   - replicate: copy each layer onto ⌊arrays / the arrays it needs⌋ sets of arrays, each
    ///     copy taking ⌈V / copies⌉ of its input vectors, instead of spreading
    ///     one copy's pages over all arrays. Energy is unchanged; writing the copies is not priced.
    public init(chip: ChipConfig, layers: [(name: String, mapping: LayerMapping, shape: LayerShape)], macros: Int = 1,
                offChip: [String] = [], replicate: Bool = false) throws(PlacementError) {
        let arrays = chip.array.count * max(1, macros)
        let clock = chip.timing.clockHz
        var placed: [Layer] = []
        for layer in layers {
            let p = try layer.mapping.place(layer.shape)
            let replicas = replicate ? max(1, arrays / p.arrays) : 1
            let vectors = layer.shape.vectors, share = (vectors + replicas - 1) / replicas
            // A page's cycles are proportional to its vectors.
            let cycles = replicas > 1 ? p.cycles(arrays: p.arrays) * Double(share) / Double(vectors) : p.cycles(arrays: arrays)
            let parallel = chip.array.parallelOutputs ?? layer.mapping.adc.count
            let capacity = Double(p.rounds) * Double(parallel) * Double(chip.array.inputsPerConversion)
            placed.append(Layer(name: layer.name, inputBits: layer.mapping.decomposition.inputBits,
                                weightBits: layer.mapping.decomposition.weightBits, mode: layer.mapping.mode.name,
                                placement: p, replicas: replicas, cycles: cycles, latencyS: cycles / clock,
                                ops: 2 * layer.shape.macs, chipOps: 2 * p.analogProducts,
                                computeUtilization: capacity > 0 ? Double(p.analogProducts) / capacity : 0))
        }
        self.chip = chip.meta.id
        self.arrays = arrays
        clockHz = clock
        self.layers = placed
        let pages = placed.map(\.placement.pages).reduce(0, +)
        arraysToHoldAll = (pages + chip.array.cellsShared - 1) / chip.array.cellsShared
        resident = arraysToHoldAll <= arrays
        energyJ = placed.map(\.placement.energyJ).reduce(0, +)
        latencyS = placed.map(\.latencyS).reduce(0, +)
        let slowest = placed.map(\.latencyS).max() ?? 0
        pipelinedInferencesPerS = resident && slowest > 0 ? 1 / slowest : nil
        ops = placed.map(\.ops).reduce(0, +)
        chipOps = placed.map(\.chipOps).reduce(0, +)
        var missing: [String] = []
        if placed.contains(where: { $0.placement.energy.conversionJ == nil }) { missing.append("conversion (adc.conversion_energy_j)") }
        if chip.compute.macEnergyJ == nil { missing.append("array (compute.mac_energy_j; in the conversion energy where a paper lumps them)") }
        if chip.inputs.dac.energyJ == nil { missing.append("DAC drives (inputs.dac.energy_j; likewise)") }
        missing += ["digital shift-add and accumulation", "activation buffers and data movement", "weight writes between layers",
                    "static power"]
        notModelled = missing
        self.offChip = offChip
    }
}
