/// One layer as the cost model sees it: per inference, the integer matmul
/// `Y (N × V) = W (N × K) · X (K × V)`.
public struct LayerShape: Sendable, Hashable, Codable {
    public var name: String
    /// K = k²·C_in for a convolution (im2col rows), the input width for a linear layer; ≥ 1.
    public var fanIn: Int
    /// N = C_out (output channels or features); ≥ 1.
    public var outputs: Int
    /// V = input vectors per inference: output positions OH·OW of a convolution (padding
    /// included), 1 for a linear layer; ≥ 1.
    public var vectors: Int

    public init(name: String, fanIn: Int, outputs: Int, vectors: Int) {
        precondition(fanIn >= 1 && outputs >= 1 && vectors >= 1, "LayerShape \(name): sizes must be positive")
        self.name = name
        self.fanIn = fanIn
        self.outputs = outputs
        self.vectors = vectors
    }

    /// Full-precision multiply-accumulates per inference, K·N·V.
    public var macs: Int { fanIn * outputs * vectors }
}

/// Why a layer cannot be placed on a chip (user data: the layer or the chip is too large).
public struct PlacementError: Error, Sendable, Equatable, UserInputError {
    public var description: String
}

/// Where one layer's weights sit on the chip's arrays and what one inference of it costs in
/// conversions and clock cycles: exact integer counting on the layer's ``Decomposition``.
///
/// The layer's K rows are cut into row groups of n = `array.inputs_per_conversion`; each
/// output takes ``linesPerOutput`` column lines (its weight slices, twice where a ± pair sits
/// in two columns), and a column tile holds as many whole outputs as `array.cols` allows. A
/// **page** is one (row group, column tile): the block of cells one conversion round reads.
/// `array.cells_shared` pages share an array's compute units, one active at a time. For every
/// input vector, row group and DAC cycle, a column tile's conversions run in rounds of
/// `array.parallel_outputs` converters, each round taking the mode's cycles per conversion.
public struct LayerPlacement: Sendable, Codable {
    public var shape: LayerShape
    /// Row groups T_r = ⌈K / n⌉.
    public var rowGroups: Int
    /// Column lines per output: weight slices × 2 where a ± pair takes two columns.
    public var linesPerOutput: Int
    /// Whole outputs per column tile, ⌊cols / lines per output⌋.
    public var outputsPerTile: Int
    /// Column tiles T_c = ⌈N / outputs per tile⌉.
    public var columnTiles: Int
    /// Pages T = T_r · T_c.
    public var pages: Int
    /// Arrays that hold the layer at once, ⌈T / cells shared⌉.
    public var arrays: Int
    /// Conversions per inference: V · T_r · N · conversions per group (a short last row group
    /// still costs whole conversions).
    public var conversions: Int
    /// Converter rounds per inference over all pages: V · T_r · Σ_cycles Σ_tiles ⌈conversions of
    /// the tile / parallel converters⌉.
    public var rounds: Int
    /// Clock cycles per inference if every page ran on one array in turn: Σ rounds × the
    /// cycles of each round's conversion.
    public var serialCycles: Double
    /// Clock cycles of one page's share (one row group, one column tile) per inference, by
    /// column tile: a page's time does not depend on its row group.
    public var cyclesPerPage: [Double]
    /// Products (input level × cell digit) summed in the analog domain per inference, over
    /// all conversions: K · N · V · conversions per group (per MAC).
    public var analogProducts: Int
    /// Energy per inference by component (``ChipConfig/energy(conversions:products:adc:)``).
    public var energy: EnergyTerms
    /// Weight cells holding the layer (each output's lines × K).
    public var weightCells: Int
    /// Cells the layer's pages span: T · n · cols.
    public var allocatedCells: Int

    /// Storage utilisation: cells holding weights over the cells of the layer's pages.
    public var storageUtilization: Double { Double(weightCells) / Double(allocatedCells) }

    /// Clock cycles of one inference on `arrays` arrays computing side by side: page p (row
    /// group p / T_c, column tile p mod T_c) runs on array p mod `arrays`, each array's pages
    /// in turn; the layer takes as long as its busiest array.
    public func cycles(arrays: Int) -> Double {
        let count = max(1, min(arrays, pages))
        var busy = [Double](repeating: 0, count: count)
        for page in 0..<pages { busy[page % count] += cyclesPerPage[page % columnTiles] }
        return busy.max() ?? 0
    }

    /// Energy per inference over the components the chip file prices, joules.
    public var energyJ: Double { energy.totalJ }
}

extension LayerMapping {
    /// Places `shape` on this mapping's chip in its mode and counts one inference.
    /// - Throws: ``PlacementError`` when one output's lines exceed the array's columns.
    public func place(_ shape: LayerShape) throws(PlacementError) -> LayerPlacement {
        let d = decomposition, a = chip.array
        let n = a.inputsPerConversion
        let pairsInColumns = d.usesColumnPairs && chip.weights.pairLayout == .columns
        let lines = d.slices.count * (pairsInColumns ? 2 : 1)
        guard lines <= a.cols else {
            throw PlacementError(description: "\(shape.name): one output takes \(lines) column lines (\(d.slices.count) weight slices\(pairsInColumns ? " × a ± pair" : "")), more than the array's \(a.cols) columns")
        }
        let perTile = a.cols / lines
        let rowGroups = (shape.fanIn + n - 1) / n
        let tiles = (shape.outputs + perTile - 1) / perTile
        let pages = rowGroups * tiles
        let parallel = a.parallelOutputs ?? adc.count
        let perSlice = d.conversionsPerSlice
        let slices = d.slices.count
        let cycleBits = d.cycleADCBits(adc)
        let cycleTimes = zip(d.inputSlices, cycleBits).map { mode.timing.cycles(inputSteps: $0.0.magnitude, adcBits: $0.1) }
        // One page's rounds and cycles per input vector, by column tile.
        var roundsPerVector = 0
        var cyclesPerPage: [Double] = []
        for tile in 0..<tiles {
            let outputs = min(perTile, shape.outputs - tile * perTile)
            let conversions = outputs * slices * perSlice
            let rounds = (conversions + parallel - 1) / parallel
            roundsPerVector += rounds * cycleTimes.count
            cyclesPerPage.append(Double(shape.vectors) * Double(rounds) * cycleTimes.reduce(0, +))
        }
        let conversions = shape.vectors * rowGroups * shape.outputs * d.conversionsPerGroup
        let analogProducts = shape.macs * d.conversionsPerGroup
        return LayerPlacement(
            shape: shape, rowGroups: rowGroups, linesPerOutput: lines, outputsPerTile: perTile, columnTiles: tiles,
            pages: pages, arrays: (pages + a.cellsShared - 1) / a.cellsShared,
            conversions: conversions, rounds: shape.vectors * rowGroups * roundsPerVector,
            serialCycles: Double(rowGroups) * cyclesPerPage.reduce(0, +), cyclesPerPage: cyclesPerPage,
            analogProducts: analogProducts,
            energy: chip.energy(conversions: Double(conversions), products: Double(analogProducts), adc: adc),
            weightCells: shape.fanIn * shape.outputs * lines, allocatedCells: pages * n * a.cols)
    }
}
