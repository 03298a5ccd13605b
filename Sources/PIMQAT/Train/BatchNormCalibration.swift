/// BN calibration: after a network is programmed onto a chip model, every BN
/// layer's running mean and variance are re-estimated from K batches of training data run
/// through that chip, averaged with equal weight, then frozen. γ, β, weights and α stay.
public enum BatchNormCalibration {
    /// The default K: 100 batches or one epoch, whichever is smaller.
    public static func defaultBatches(examples: Int, batchSize: Int) -> Int {
        min(100, (examples + batchSize - 1) / batchSize)
    }

    /// Calibrates `model` on `batches` batches of `data` (no augmentation, shuffled by `seed`);
    /// `beforeBatch(b)` runs before batch b's forward pass (to address its noise draws).
    /// - Returns: the number of batches used.
    @discardableResult
    public static func run(_ model: Graph, on data: Dataset, batches: Int, batchSize: Int, seed: UInt64,
                           beforeBatch: (Int) -> Void = { _ in }) -> Int {
        let layers = model.allLayers.compactMap { $0 as? BatchNorm2d }
        let source = Batches(dataset: data, batchSize: batchSize, augmentation: .none, seed: seed)
        let order = source.order(epoch: 0)
        let count = min(batches, source.batchesPerEpoch)
        layers.forEach { $0.beginCalibration() }
        for b in 0..<count {
            let indices = Array(order[(b * batchSize)..<min(order.count, (b + 1) * batchSize)])
            let (images, _) = source.batch(indices, epoch: 0, train: false)
            beforeBatch(b)
            _ = model.forward(images, training: false)
        }
        layers.forEach { $0.endCalibration() }
        return count
    }
}
