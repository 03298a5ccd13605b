import PIMSim

/// A trained network run on chip instances (pim-qat.md §4, §6): accuracy per chip instance
/// (static draws) and noise seed (temporal draws), optionally after BN calibration on each
/// instance.
public final class ChipDeployment {
    public let model: Sequential
    public let target: PIMTarget
    /// The stages in force on the chip (all by default; `.none` is the ideal PIM at chip precision).
    public var nonIdealities: NonIdealities = .all
    /// BN calibration batches per chip instance; 0 = none.
    public var calibrationBatches = 0
    /// Training data for BN calibration.
    public var calibrationData: Dataset?
    public var calibrationBatchSize = 128
    public var batchSize = 256
    /// The model's buffers as trained: every run starts from them.
    private let trainedBuffers: [(name: String, value: Tensor)]
    /// BN statistics calibrated per chip instance.
    private var calibrated: [UInt64: [(name: String, value: Tensor)]] = [:]

    public init(model: Sequential, target: PIMTarget) {
        self.model = model
        self.target = target
        trainedBuffers = model.buffers
    }

    /// One evaluation on one chip instance with one noise seed.
    public struct Run: Sendable, Codable {
        public var chipSeed: UInt64
        public var noiseSeed: UInt64
        public var accuracy: Double
        public var loss: Double
        /// BN calibration batches run on this instance (0 = not calibrated).
        public var calibrationBatches: Int
    }

    /// Accuracy on `test` of chip instance `chipSeed` with temporal noise seed `noiseSeed`.
    /// With BN calibration, the instance is calibrated once (on its own noise stream) and
    /// reused for every noise seed.
    public func evaluate(_ test: Dataset, chipSeed: UInt64, noiseSeed: UInt64) -> Run {
        for (name, value) in trainedBuffers { model.setBuffer(name, value) }
        var batches = 0
        if calibrationBatches > 0, let data = calibrationData {
            if let buffers = calibrated[chipSeed] {
                for (name, value) in buffers { model.setBuffer(name, value) }
            } else {
                // Calibration noise is drawn from a stream of its own, never reused by evaluation.
                target.phase = .deployed(chipSeed: chipSeed, noiseSeed: RandomStream.mix(~chipSeed), nonIdealities: nonIdealities)
                let statistics = target.collectStatistics
                target.collectStatistics = false
                defer { target.collectStatistics = statistics }
                BatchNormCalibration.run(model, on: data, batches: calibrationBatches, batchSize: calibrationBatchSize, seed: chipSeed) { b in
                    self.target.firstExample = b * self.calibrationBatchSize
                }
                calibrated[chipSeed] = model.buffers
            }
            batches = min(calibrationBatches, (data.count + calibrationBatchSize - 1) / calibrationBatchSize)
        }
        target.phase = .deployed(chipSeed: chipSeed, noiseSeed: noiseSeed, nonIdealities: nonIdealities)
        let result = Trainer.evaluate(model, on: test, batchSize: batchSize) { self.target.firstExample = $0 }
        for (name, value) in trainedBuffers { model.setBuffer(name, value) }
        target.phase = .training
        return Run(chipSeed: chipSeed, noiseSeed: noiseSeed, accuracy: result.accuracy, loss: result.loss, calibrationBatches: batches)
    }

    /// Accuracy of the same network with every layer digital (its integer products exact).
    public func evaluateDigitally(_ test: Dataset) -> Evaluation {
        var detached: [(any Layer, PIMExecution)] = []
        for layer in model.allLayers {
            if let conv = layer as? Conv2d, let pim = conv.pim { detached.append((conv, pim)); conv.pim = nil }
            if let linear = layer as? Linear, let pim = linear.pim { detached.append((linear, pim)); linear.pim = nil }
        }
        defer {
            for (layer, pim) in detached {
                (layer as? Conv2d)?.pim = pim
                (layer as? Linear)?.pim = pim
            }
        }
        return Trainer.evaluate(model, on: test, batchSize: batchSize)
    }
}
