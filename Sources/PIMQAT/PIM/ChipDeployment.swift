import PIMSim

/// A trained network run on chip instances: accuracy per chip instance
/// (static draws) and noise seed (temporal draws), optionally after BN calibration on each
/// instance.
public final class ChipDeployment {
    public let model: Graph
    public let target: PIMTarget
    /// The stages in force on the chip (all by default; `.none` is the ideal PIM at chip precision).
    public var nonIdealities: NonIdealities = .all
    /// BN calibration batches per chip instance; 0 = none.
    public var calibrationBatches = 0
    /// Training data for BN calibration, and for ADC range calibration when
    /// ``needsRangeCalibration``.
    public var calibrationData: Dataset?
    public var calibrationBatchSize = 128
    public var batchSize = 256
    /// The model's buffers as trained: every run starts from them.
    private let trainedBuffers: [(name: String, value: Tensor)]
    /// BN statistics calibrated per chip instance.
    private var calibrated: [UInt64: [(name: String, value: Tensor)]] = [:]

    public init(model: Graph, target: PIMTarget) {
        self.model = model
        self.target = target
        trainedBuffers = model.buffers
    }

    /// Whether some layer's converter range is `calibrated`: set per chip instance from the
    /// first ``calibrationBatchSize`` examples of ``calibrationData`` (dataset order, no
    /// augmentation), layer by layer in forward order, then frozen.
    public var needsRangeCalibration: Bool { target.layers.contains { $0.needsRangeCalibration } }

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
        let batches = calibrate(chipSeed: chipSeed)
        target.phase = .deployed(chipSeed: chipSeed, noiseSeed: noiseSeed, nonIdealities: nonIdealities)
        let result = Trainer.evaluate(model, on: test, batchSize: batchSize) { self.target.firstExample = $0 }
        for (name, value) in trainedBuffers { model.setBuffer(name, value) }
        target.phase = .training
        return Run(chipSeed: chipSeed, noiseSeed: noiseSeed, accuracy: result.accuracy, loss: result.loss, calibrationBatches: batches)
    }

    /// Restores the trained BN statistics, then (with ``calibrationBatches`` and data)
    /// recalibrates them on chip instance `chipSeed`, on a noise stream of its own; an
    /// instance is calibrated once and reused. The model keeps the result.
    /// - Returns: the calibration batches run (0 = none).
    @discardableResult
    public func calibrate(chipSeed: UInt64) -> Int {
        for (name, value) in trainedBuffers { model.setBuffer(name, value) }
        calibrateRanges(chipSeed: chipSeed)
        guard calibrationBatches > 0, let data = calibrationData else { return 0 }
        if let buffers = calibrated[chipSeed] {
            for (name, value) in buffers { model.setBuffer(name, value) }
        } else {
            target.phase = .deployed(chipSeed: chipSeed, noiseSeed: NoiseSeed.batchNormCalibration(chipSeed: chipSeed), nonIdealities: nonIdealities)
            let statistics = target.collectStatistics
            target.collectStatistics = false
            defer { target.collectStatistics = statistics }
            BatchNormCalibration.run(model, on: data, batches: calibrationBatches, batchSize: calibrationBatchSize, seed: chipSeed) { b in
                self.target.firstExample = b * self.calibrationBatchSize
            }
            target.phase = .training
            calibrated[chipSeed] = model.buffers
        }
        return min(calibrationBatches, (data.count + calibrationBatchSize - 1) / calibrationBatchSize)
    }

    /// Sets the `calibrated` converter ranges of chip instance `chipSeed` (once per instance
    /// and stage set; the layers keep them): one forward pass of the calibration batch with the
    /// trained BN statistics, on a noise stream of its own.
    private func calibrateRanges(chipSeed: UInt64) {
        guard needsRangeCalibration else { return }
        guard let data = calibrationData else {
            preconditionFailure("ChipDeployment: the chip's ADC range policy is calibrated; set calibrationData first")
        }
        let source = Batches(dataset: data, batchSize: calibrationBatchSize, augmentation: .none, seed: 0)
        let (images, _) = source.batch(Array(0..<min(calibrationBatchSize, data.count)), epoch: 0, train: false)
        target.phase = .deployed(chipSeed: chipSeed, noiseSeed: NoiseSeed.rangeCalibration(chipSeed: chipSeed), nonIdealities: nonIdealities)
        target.firstExample = 0
        let statistics = target.collectStatistics
        target.collectStatistics = false
        target.calibratingRanges = true
        _ = model.forward(images, training: false)
        target.calibratingRanges = false
        target.collectStatistics = statistics
        target.phase = .training
    }

    /// The most chip-instance × noise-seed runs one evaluation takes (each is a full pass over
    /// the test data).
    public static let maximumRuns = 10_000

    /// Why `chipSeeds` × `noiseSeeds` runs cannot be asked for (nil: they can): counts below 1
    /// or a product above ``maximumRuns``.
    public static func runCountProblem(chipSeeds: Int, noiseSeeds: Int) -> String? {
        guard chipSeeds >= 1, noiseSeeds >= 1 else { return "chip seeds and noise seeds must be at least 1" }
        let (runs, overflow) = chipSeeds.multipliedReportingOverflow(by: noiseSeeds)
        guard !overflow, runs <= maximumRuns else {
            return "\(chipSeeds) chip seeds × \(noiseSeeds) noise seeds are more than the \(maximumRuns) runs an evaluation takes"
        }
        return nil
    }

    /// Accuracy over every chip instance × noise seed: mean, sample standard deviation, the
    /// runs, and the per-layer statistics of the first run. `afterRun` follows each run.
    public func evaluate(_ test: Dataset, chipSeeds: [UInt64], noiseSeeds: [UInt64], afterRun: (Run) -> Void = { _ in }) -> ChipAccuracy {
        var runs: [Run] = []
        var layers: [PIMLayerReport] = []
        let collecting = target.collectStatistics
        defer { target.collectStatistics = collecting }
        for chipSeed in chipSeeds {
            for noiseSeed in noiseSeeds {
                target.collectStatistics = runs.isEmpty
                target.resetStatistics()
                runs.append(evaluate(test, chipSeed: chipSeed, noiseSeed: noiseSeed))
                if runs.count == 1 { layers = target.layers.map(\.report) }
                afterRun(runs.last!)
            }
        }
        return ChipAccuracy(runs: runs, layers: layers)
    }

    /// Accuracy of the same network with every layer digital (its integer products exact).
    public func evaluateDigitally(_ test: Dataset) -> Evaluation {
        model.offTheChip { _ in Trainer.evaluate(model, on: test, batchSize: batchSize) }
    }
}

/// Accuracy of a network over chip instances and noise seeds.
public struct ChipAccuracy: Sendable, Codable {
    public var mean: Double
    /// Sample standard deviation over the runs (0 for one run).
    public var std: Double
    public var runs: [ChipDeployment.Run]
    /// Per PIM layer, over the first run.
    public var layers: [PIMLayerReport]

    public init(runs: [ChipDeployment.Run], layers: [PIMLayerReport]) {
        let accuracies = runs.map(\.accuracy)
        let mean = accuracies.isEmpty ? 0 : accuracies.reduce(0, +) / Double(accuracies.count)
        self.mean = mean
        std = accuracies.count > 1
            ? (accuracies.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(accuracies.count - 1)).squareRoot() : 0
        self.runs = runs
        self.layers = layers
    }
}
