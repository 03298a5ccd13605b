/// Data augmentation for training batches.
public enum Augmentation: String, Sendable, Codable, CaseIterable {
    case none
    /// Random crop after zero padding (4 pixels for 32-pixel images, 2 for 28).
    case crop
    /// Random crop and random horizontal flip.
    case cropFlip = "crop+flip"
    /// Random horizontal flip only.
    case flip
}

/// Deterministic epochs: the order of examples and every augmentation draw are functions of
/// (seed, epoch, example), so a resumed run sees exactly the batches of an uninterrupted one.
public struct Batches: Sendable {
    public let dataset: Dataset
    public let batchSize: Int
    public let augmentation: Augmentation
    public let seed: UInt64

    public init(dataset: Dataset, batchSize: Int, augmentation: Augmentation, seed: UInt64) {
        self.dataset = dataset
        self.batchSize = batchSize
        self.augmentation = augmentation
        self.seed = seed
    }

    public var batchesPerEpoch: Int { (dataset.count + batchSize - 1) / batchSize }

    /// The example order of `epoch`: a Fisher–Yates shuffle driven by the counter-based generator.
    public func order(epoch: Int) -> [Int] {
        var order = Array(0..<dataset.count)
        let stream = RandomStream(seed: seed, purpose: .shuffle, instance: UInt64(epoch))
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            let j = Int(stream.uniform(UInt64(i)) * Double(i + 1))
            order.swapAt(i, j)
        }
        return order
    }

    /// The normalised images (N × C × H × W) and labels of `indices`, augmented when `train`.
    public func batch(_ indices: [Int], epoch: Int, train: Bool) -> (images: Tensor, labels: [Int]) {
        let (c, s) = (dataset.channels, dataset.size)
        let plane = s * s
        let padding = s >= 32 ? 4 : 2
        let stream = RandomStream(seed: seed, purpose: .augmentation, instance: UInt64(epoch))
        var data = [Float](repeating: 0, count: indices.count * c * plane)
        for (row, example) in indices.enumerated() {
            var dx = 0, dy = 0, flip = false
            if train && augmentation != .none {
                let (a, b, f, _) = stream.bits(UInt64(example))
                if augmentation != .flip {
                    dx = Int(a % UInt32(2 * padding + 1)) - padding
                    dy = Int(b % UInt32(2 * padding + 1)) - padding
                }
                flip = augmentation != .crop && f & 1 == 1
            }
            for channel in 0..<c {
                let source = (example * c + channel) * plane
                let target = (row * c + channel) * plane
                let mean = dataset.mean[channel], inverseStd = 1 / dataset.std[channel]
                for y in 0..<s {
                    for x in 0..<s {
                        let sx = (flip ? s - 1 - x : x) + dx, sy = y + dy
                        let pixel: Float = sx >= 0 && sx < s && sy >= 0 && sy < s
                            ? Float(dataset.images[source + sy * s + sx]) / 255 : 0
                        data[target + y * s + x] = (pixel - mean) * inverseStd
                    }
                }
            }
        }
        return (Tensor(shape: [indices.count, c, s, s], data: data), indices.map { Int(dataset.labels[$0]) })
    }
}
