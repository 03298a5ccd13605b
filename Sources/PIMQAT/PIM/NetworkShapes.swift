import PIMSim

extension PIMTarget {
    /// Each chip layer as the cost model takes it: its name, its mapping at deployment (the
    /// chip's precision and mode for it) and its matmul for one example, recorded by one
    /// digital forward pass (off the chip) of a blank example of `channels` × `size` × `size`.
    /// Layers that stay digital (a first convolution on unquantized pixels, say) are not
    /// among them.
    /// - Throws: ``MappingError`` when a layer's precision has no mapping on the chip.
    public func costLayers(model: Sequential, channels: Int, size: Int) throws(MappingError)
        -> [(name: String, mapping: LayerMapping, shape: LayerShape)] {
        var detached: [(IntegerProduct, PIMExecution)] = []
        for case let layer as any IntegerProductLayer in model.allLayers {
            if let pim = layer.product.pim { detached.append((layer.product, pim)); layer.product.pim = nil }
        }
        _ = model.forward(Tensor(shape: [1, channels, size, size], data: [Float](repeating: 0, count: channels * size * size)),
                          training: false)
        for (product, pim) in detached { product.pim = pim }
        var layers: [(name: String, mapping: LayerMapping, shape: LayerShape)] = []
        for (product, execution) in detached {
            let mapping = try chip.mapping(scheme: settings.scheme, mode: settings.mode, inputBits: execution.inputBits,
                                           weightBits: execution.weightBits, nonIdealities: .none)
            let shape = LayerShape(name: execution.name, fanIn: product.weight.value.data.count / product.outputs,
                                   outputs: product.outputs, vectors: product.columnsPerExample ?? 1)
            layers.append((execution.name, mapping, shape))
        }
        return layers
    }

    /// The names of `model`'s integer-product layers that do not run on the chip.
    public func offChipLayers(model: Sequential) -> [String] {
        model.allLayers.compactMap { layer in
            guard let layer = layer as? any IntegerProductLayer, layer.product.pim == nil else { return nil }
            let name = layer.product.weight.name
            return name.hasSuffix(".weight") ? String(name.dropLast(7)) : name
        }
    }
}
