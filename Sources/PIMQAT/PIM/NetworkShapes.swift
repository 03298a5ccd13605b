import PIMSim

extension Graph {
    /// Runs `body` with every integer product detached from its chip (computed digitally),
    /// handing it the detached products and their executions; reattaches them afterwards.
    func offTheChip<Result>(_ body: ([(product: IntegerProduct, execution: PIMExecution)]) throws -> Result) rethrows -> Result {
        var detached: [(product: IntegerProduct, execution: PIMExecution)] = []
        for case let layer as any IntegerProductLayer in allLayers {
            if let pim = layer.product.pim { detached.append((layer.product, pim)); layer.product.pim = nil }
        }
        defer { for (product, execution) in detached { product.pim = execution } }
        return try body(detached)
    }
}

extension PIMTarget {
    /// One inference of `model` on this target's chip (``NetworkCost``): each chip layer's
    /// matmul per example, recorded by one digital forward pass of a blank example of
    /// `channels` × `size` × `size`, placed at the layer's deployed precision and mode. Layers
    /// that stay digital (a first convolution on unquantized pixels, say) are listed as off
    /// the chip.
    /// - Throws: ``MappingError`` when a layer's precision has no mapping on the chip;
    ///   ``PlacementError`` when a layer cannot be placed.
    public func networkCost(model: Graph, channels: Int, size: Int, macros: Int = 1, replicate: Bool = false) throws -> NetworkCost {
        let layers = try model.offTheChip { detached in
            _ = model.forward(Tensor(shape: [1, channels, size, size], data: [Float](repeating: 0, count: channels * size * size)),
                              training: false)
            return try detached.map { product, execution throws(MappingError) in
                (name: execution.name, mapping: try execution.deployedMapping(.none),
                 shape: LayerShape(name: execution.name, fanIn: product.weight.value.data.count / product.outputs,
                                   outputs: product.outputs, vectors: product.columnsPerExample ?? 1))
            }
        }
        let offChip = model.allLayers.compactMap { layer in
            (layer as? any IntegerProductLayer).flatMap { $0.product.pim == nil ? $0.product.layerName : nil }
        }
        return try NetworkCost(chip: chip, layers: layers, macros: macros, offChip: offChip, replicate: replicate)
    }
}
