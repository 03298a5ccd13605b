import Foundation
import PIMQAT
import PIMSim

/// Everything that decides a precision search's result; kept with its state, so a resumed
/// search is the same search.
public struct PrecisionSearchSpec: Sendable, Codable, Equatable {
    /// What the chosen plan must satisfy.
    public enum Goal: Sendable, Codable, Equatable {
        /// The least energy per inference whose on-chip validation accuracy is at most this far
        /// below the uniform network's, fine-tuned alike (a fraction: 0.01 = 1 percentage point).
        case maxDrop(Double)
        /// The best on-chip validation accuracy at no more than this energy per inference (J).
        case energyBudget(Double)
    }

    /// A QAT or PIM-QAT checkpoint: the uniform network the search starts from and fine-tunes.
    public var checkpoint: String
    /// The chip as the user named it (a preset id or a YAML file).
    public var chip: String
    public var dataset: DatasetName
    public var dataDirectory: String?
    /// Weight and input bits a layer may take (each also keeps its own).
    public var weightBits: [Int]
    public var inputBits: [Int]
    public var goal: Goal
    /// The last N examples of the training split: sensitivities and candidates are measured
    /// on them, never on the test split, and fine-tuning never sees them.
    public var validationExamples: Int
    /// Training examples each candidate is fine-tuned on (the first N; nil = all before the
    /// validation examples).
    public var fineTuneExamples: Int?
    public var fineTuneEpochs: Int
    /// Candidate plans from the predicted front that are fine-tuned and measured.
    public var candidates: Int
    /// Chip instances (seeds 0…N−1) every accuracy is averaged over.
    public var chipSeeds: Int
    /// BN calibration batches per chip instance before each measurement (0 = none).
    public var bnCalibrate: Int
    /// Test examples for the final report of the chosen and the uniform plan (nil = all).
    public var testLimit: Int?
    /// Seed of fine-tuning and of every temporal-noise draw.
    public var seed: UInt64

    public init(checkpoint: String, chip: String, dataset: DatasetName, dataDirectory: String? = nil, weightBits: [Int], inputBits: [Int],
                goal: Goal, validationExamples: Int = 1000, fineTuneExamples: Int? = nil, fineTuneEpochs: Int = 1, candidates: Int = 4,
                chipSeeds: Int = 2, bnCalibrate: Int = 0, testLimit: Int? = nil, seed: UInt64 = 0) {
        (self.checkpoint, self.chip, self.dataset, self.dataDirectory) = (checkpoint, chip, dataset, dataDirectory)
        (self.weightBits, self.inputBits, self.goal) = (weightBits, inputBits, goal)
        (self.validationExamples, self.fineTuneExamples, self.fineTuneEpochs) = (validationExamples, fineTuneExamples, fineTuneEpochs)
        (self.candidates, self.chipSeeds, self.bnCalibrate, self.testLimit, self.seed) = (candidates, chipSeeds, bnCalibrate, testLimit, seed)
    }

    /// What makes the spec unusable, or nil.
    public var problem: String? {
        if weightBits.isEmpty || !weightBits.allSatisfy(PrecisionPlan.weightBitRange.contains) { return "weight bits must be within 2…16" }
        if inputBits.isEmpty || !inputBits.allSatisfy(PrecisionPlan.inputBitRange.contains) { return "input bits must be within 1…16" }
        switch goal {
        case let .maxDrop(drop): if !(drop >= 0 && drop < 1) { return "the accuracy drop must be within 0…100 percentage points" }
        case let .energyBudget(joules): if !(joules > 0 && joules.isFinite) { return "the energy budget must be a positive number of joules" }
        }
        if validationExamples < 1 || fineTuneEpochs < 1 || candidates < 1 || chipSeeds < 1 || bnCalibrate < 0 { return "counts must be positive" }
        if let n = fineTuneExamples, n < 1 { return "fine-tuning needs at least one example" }
        if let n = testLimit, n < 1 { return "the test limit must be positive" }
        if chipSeeds > ChipDeployment.maximumRuns { return "at most \(ChipDeployment.maximumRuns) chip instances" }
        return nil
    }
}

/// A search that cannot run: a spec, checkpoint, chip or state file that does not fit.
public struct PrecisionSearchError: Error, Sendable, UserInputError {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One layer's precision in a plan the search writes: every chip layer named explicitly.
public struct LayerPrecision: Sendable, Codable, Hashable {
    public var weightBits: Int
    public var inputBits: Int
}

/// The accuracy of a plan on chip instances: mean and sample standard deviation over them.
public struct MeasuredAccuracy: Sendable, Codable, Equatable {
    public var mean: Double
    public var std: Double
    public var examples: Int
}

/// The search's progress, saved after every measurement so that an interrupted search resumes
/// where it stopped.
public struct PrecisionSearchState: Sendable, Codable {
    /// A single-layer change from the uniform network, measured without fine-tuning.
    public struct Sensitivity: Sendable, Codable, Equatable {
        public var layer: String
        public var weightBits: Int
        public var inputBits: Int
        public var accuracy: MeasuredAccuracy
        /// SQNR of the changed layer's outputs on the first chip instance, dB; nil when exact.
        public var sqnrDecibels: Double?
    }

    /// A plan fine-tuned and measured.
    public struct Candidate: Sendable, Codable, Equatable {
        public var label: String
        public var layers: [String: LayerPrecision]
        public var energyJ: Double
        public var latencyS: Double
        /// The accuracy the single-layer sensitivities add up to (validation, not fine-tuned).
        public var predictedAccuracy: Double
        /// After fine-tuning, on the validation examples.
        public var validation: MeasuredAccuracy?
        /// The fine-tuned checkpoint.
        public var checkpoint: String?
        /// On the test split, for the uniform and the chosen plan only.
        public var test: MeasuredAccuracy?
    }

    public var spec: PrecisionSearchSpec
    /// The uniform network as it is, on the validation examples.
    public var start: MeasuredAccuracy?
    public var sensitivities: [Sensitivity] = []
    /// The uniform plan first, then the candidates from the predicted front.
    public var candidates: [Candidate] = []
    /// The chosen candidate's label; nil until chosen, or when none satisfies the goal.
    public var chosen: String?
    public var finished = false
}

/// A point of the predicted accuracy–energy front: one plan, its exact energy and the
/// accuracy its single-layer sensitivities predict.
public struct PredictedPlan: Sendable, Codable, Equatable {
    public var layers: [String: LayerPrecision]
    public var energyJ: Double
    public var predictedAccuracy: Double
}

/// The result: the state with the predicted front, the layer order and the chosen plan.
public struct PrecisionSearchResult: Sendable, Codable {
    public var state: PrecisionSearchState
    /// Chip layers in forward order, and their precision in the checkpoint.
    public var layers: [String]
    public var uniform: [String: LayerPrecision]
    public var front: [PredictedPlan]
    /// Fine-tuned candidates not beaten on both energy and validation accuracy by another.
    public var measuredFront: [String]

    /// The chosen candidate, if any satisfies the goal.
    public var chosen: PrecisionSearchState.Candidate? { state.chosen.flatMap { label in state.candidates.first { $0.label == label } } }

    /// `layers` as a precision plan naming every chip layer, in forward order.
    public func plan(_ layers: [String: LayerPrecision]) -> PrecisionPlan { PrecisionSearch.plan(layers, order: self.layers) }
}

/// Per-layer precision search on a chip model.
///
/// 1. **Sensitivity.** Starting from a trained uniform network, each chip layer alone is
///    requantized to each other weight width (inputs as they are) and each other input width
///    (weights as they are), deployed on the chip model (every non-ideality, the spec's chip
///    instances) and measured on held-out training examples: Δacc per layer and width.
/// 2. **Predicted front.** A plan's accuracy is predicted as the uniform one plus the sum of
///    its layers' weight and input Δacc; its energy per inference is the cost model's, exact
///    (layers are priced independently). The plans on the lower convex hull of predicted loss
///    against energy are found exactly by a Lagrangian sweep: each layer's options on its own
///    hull, the moves taken in order of accuracy gained per joule.
/// 3. **Candidates.** A few plans from that front (by the goal) and the uniform plan are each
///    fine-tuned with PIM-QAT for the same epochs from the checkpoint, then measured on chip
///    instances. The chosen plan is the cheapest within the allowed drop of the fine-tuned
///    uniform network (or the most accurate within the energy budget); the uniform and the
///    chosen plan are then measured on the test split.
///
/// Deterministic for a spec: fixed chip seeds, noise seeds and fine-tuning seed.
public final class PrecisionSearch {
    public let spec: PrecisionSearchSpec
    public let chip: ChipConfig
    /// Where the state file and the fine-tuned checkpoints go.
    public let directory: String
    public private(set) var state: PrecisionSearchState
    /// The checkpoint's own input normalisation (nil: the dataset's).
    private let inputNormalization: InputNormalization?
    public var threads = 2

    private let layers: [String]
    private let uniform: [String: LayerPrecision]
    private let train: Dataset, validation: Dataset
    private var statePath: String { "\(directory)/search.json" }

    /// Prepares a search, resuming the state in `directory` if it holds one of the same spec
    /// (unless `fresh`: then the search starts over and overwrites it).
    /// - Throws: ``PrecisionSearchError`` for a spec, checkpoint, dataset or state that does not
    ///   fit; the loaders' errors for unreadable files.
    public init(spec: PrecisionSearchSpec, chip: ChipConfig, directory: String, fresh: Bool = false) throws {
        if let problem = spec.problem { throw PrecisionSearchError(problem) }
        (self.spec, self.chip, self.directory) = (spec, chip, directory)
        let loaded = try DeployedModel.load(spec.checkpoint, chip: chip, chipName: spec.chip, scheme: nil, mode: nil)
        var layers: [String] = [], uniform: [String: LayerPrecision] = [:]
        for case let layer as any IntegerProductLayer in loaded.model.model.allLayers where layer.product.pim != nil {
            let product = layer.product
            layers.append(product.layerName)
            uniform[product.layerName] = LayerPrecision(weightBits: product.quantizer!.bits, inputBits: product.inputQuantizer!.bits)
        }
        (self.layers, self.uniform) = (layers, uniform)
        inputNormalization = loaded.model.inputNormalization
        let full = try DeployedModel.data(for: loaded.model, path: spec.checkpoint, dataset: spec.dataset, directory: spec.dataDirectory, train: true)
        guard spec.validationExamples < full.count else {
            throw PrecisionSearchError("\(spec.dataset.rawValue) has \(full.count) training examples; \(spec.validationExamples) held out for validation leave none to fine-tune on")
        }
        let available = full.count - spec.validationExamples
        train = full.examples(0..<min(spec.fineTuneExamples ?? available, available))
        validation = full.examples(available..<full.count)
        state = PrecisionSearchState(spec: spec)
        if !fresh, let data = FileManager.default.contents(atPath: statePath) {
            guard let saved = try? JSONDecoder().decode(PrecisionSearchState.self, from: data) else {
                throw PrecisionSearchError("\(statePath): not a precision search's state file; remove it or choose another directory")
            }
            guard saved.spec == spec else {
                throw PrecisionSearchError("\(statePath) holds a search with other settings; remove it or choose another directory")
            }
            state = saved
        }
    }

    /// The chip layers in forward order.
    public var chipLayers: [String] { layers }

    /// Runs (or resumes) the search. `progress` gets the phase, the measurements done and
    /// their total, and a short detail.
    public func run(progress: (String, Int, Int, String) -> Void = { _, _, _, _ in }) throws -> PrecisionSearchResult {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // 1. The uniform network and every single-layer change.
        let changes = try singleLayerChanges()
        if state.start == nil {
            state.start = try accuracy(of: spec.checkpoint, plan: nil, on: validation).accuracy
            try save()
        }
        for (index, change) in changes.enumerated() {
            progress("sensitivity", index, changes.count, "\(change.layer) W\(change.precision.weightBits)/A\(change.precision.inputBits)")
            if state.sensitivities.contains(where: { $0.layer == change.layer && $0.weightBits == change.precision.weightBits && $0.inputBits == change.precision.inputBits }) { continue }
            let plan = plan(replacing: change.layer, with: change.precision)
            let measured = try accuracy(of: spec.checkpoint, plan: plan, on: validation)
            state.sensitivities.append(.init(layer: change.layer, weightBits: change.precision.weightBits, inputBits: change.precision.inputBits,
                                             accuracy: measured.accuracy, sqnrDecibels: measured.layers.first { $0.layer == change.layer }?.sqnrDecibels))
            try save()
        }
        progress("sensitivity", changes.count, changes.count, "done")

        // 2. The predicted front.
        let front = try predictedFront()
        // 3. Candidates: the uniform plan, then the goal's picks from the front.
        if state.candidates.isEmpty {
            let uniformCost = try cost(uniform)
            state.candidates = [.init(label: "uniform", layers: uniform, energyJ: uniformCost.energyJ, latencyS: uniformCost.latencyS,
                                      predictedAccuracy: state.start!.mean)]
            for (index, pick) in picks(from: front, uniformEnergy: uniformCost.energyJ).enumerated() {
                let cost = try cost(pick.layers)
                state.candidates.append(.init(label: "plan \(index + 1)", layers: pick.layers, energyJ: cost.energyJ, latencyS: cost.latencyS,
                                              predictedAccuracy: pick.predictedAccuracy))
            }
            try save()
        }
        for index in state.candidates.indices {
            progress("fine-tuning", index, state.candidates.count, state.candidates[index].label)
            guard state.candidates[index].validation == nil else { continue }
            let path = "\(directory)/\(state.candidates[index].label.replacingOccurrences(of: " ", with: "-")).safetensors"
            try fineTune(plan(state.candidates[index].layers), to: path)
            state.candidates[index].checkpoint = path
            state.candidates[index].validation = try accuracy(of: path, plan: nil, on: validation).accuracy
            try save()
        }
        progress("fine-tuning", state.candidates.count, state.candidates.count, "done")

        // The choice, and the test split for the uniform and the chosen plan.
        state.chosen = choose()
        let test = try spec.dataset.load(train: false, directory: spec.dataDirectory, limit: spec.testLimit).normalized(by: inputNormalization)
        for index in state.candidates.indices where index == 0 || state.candidates[index].label == state.chosen {
            guard state.candidates[index].test == nil, let path = state.candidates[index].checkpoint else { continue }
            progress("test", 0, 1, state.candidates[index].label)
            state.candidates[index].test = try accuracy(of: path, plan: nil, on: test).accuracy
            try save()
        }
        state.finished = true
        try save()
        return PrecisionSearchResult(state: state, layers: layers, uniform: uniform, front: front, measuredFront: measuredFront())
    }

    // MARK: - Plans and their measurements

    /// `precisions` as a plan naming its layers in `order`.
    static func plan(_ precisions: [String: LayerPrecision], order: [String]) -> PrecisionPlan {
        PrecisionPlan(order.compactMap { name in precisions[name].map { PrecisionPlan.Entry(layer: name, weightBits: $0.weightBits, inputBits: $0.inputBits) } })
    }

    private func plan(_ precisions: [String: LayerPrecision]) -> PrecisionPlan { Self.plan(precisions, order: layers) }

    private func plan(replacing layer: String, with precision: LayerPrecision) -> PrecisionPlan {
        var precisions = uniform
        precisions[layer] = precision
        return plan(precisions)
    }

    /// Every single-layer change the chip can run: each other weight width with the layer's
    /// input width, each other input width with its weight width.
    private func singleLayerChanges() throws -> [(layer: String, precision: LayerPrecision)] {
        var changes: [(layer: String, precision: LayerPrecision)] = []
        for layer in layers {
            let own = uniform[layer]!
            let options = Set(spec.weightBits).subtracting([own.weightBits]).sorted().map { LayerPrecision(weightBits: $0, inputBits: own.inputBits) }
                + Set(spec.inputBits).subtracting([own.inputBits]).sorted().map { LayerPrecision(weightBits: own.weightBits, inputBits: $0) }
            for option in options where runs(layer, option) { changes.append((layer, option)) }
        }
        return changes
    }

    /// Whether the chip maps `layer` at `precision` (in the run's scheme and mode).
    private func runs(_ layer: String, _ precision: LayerPrecision) -> Bool {
        (try? cost(uniform.merging([layer: precision]) { $1 })) != nil
    }

    /// Energy and latency of one inference under `precisions` (exact, from the cost model).
    private func cost(_ precisions: [String: LayerPrecision]) throws -> NetworkCost {
        let loaded = try DeployedModel.load(spec.checkpoint, chip: chip, chipName: spec.chip, scheme: nil, mode: nil, plan: plan(precisions))
        return try loaded.target.networkCost(model: loaded.model.model, channels: loaded.model.channels, size: loaded.model.size)
    }

    /// Accuracy of `checkpoint` (under `plan`, or its own) on `data`, deployed on the spec's chip
    /// instances with every non-ideality, BN calibrated on the fine-tuning examples if asked.
    private func accuracy(of checkpoint: String, plan: PrecisionPlan?, on data: Dataset) throws -> (accuracy: MeasuredAccuracy, layers: [PIMLayerReport]) {
        BLAS.threadCount = threads
        let loaded = try DeployedModel.load(checkpoint, chip: chip, chipName: spec.chip, scheme: nil, mode: nil, plan: plan)
        let deployment = ChipDeployment(model: loaded.model.model, target: loaded.target)
        if spec.bnCalibrate > 0 || deployment.needsRangeCalibration {
            deployment.calibrationData = train
            deployment.calibrationBatches = spec.bnCalibrate
        }
        let result = deployment.evaluate(data, chipSeeds: (0..<UInt64(spec.chipSeeds)).map { $0 }, noiseSeeds: [spec.seed])
        return (MeasuredAccuracy(mean: result.mean, std: result.std, examples: data.count), result.layers)
    }

    /// PIM-QAT fine-tuning of the checkpoint under `plan`, written to `path`.
    private func fineTune(_ plan: PrecisionPlan, to path: String) throws {
        BLAS.threadCount = threads
        let own = try TrainingRun.pimSettings(of: spec.checkpoint)
        var pim = own ?? PIMSettings(chip: spec.chip)
        pim.chip = spec.chip
        let run = try TrainingRun.fineTuning(from: spec.checkpoint, chip: chip, pim: pim, trainingNoise: own?.trainingNoise, dataset: spec.dataset,
                                             dataDirectory: spec.dataDirectory, epochs: spec.fineTuneEpochs, learningRate: nil, seed: spec.seed,
                                             trainLimit: train.count, testLimit: 1, plan: plan)
        while run.completedEpochs < run.settings.epochs { _ = try run.trainNextEpoch() }
        try run.checkpoint().write(to: path)
    }

    private func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try OutputFile.write(try encoder.encode(state), to: statePath)
    }

    // MARK: - The predicted front

    /// Δ accuracy of `layer` at `precision` predicted from its single-width changes, each
    /// taken as no gain for fewer bits and no loss for more: a measured gain from dropping
    /// bits (or loss from adding them) is the measurement's noise, and summed over layers it
    /// would predict plans better than the network itself.
    private func predictedDelta(_ layer: String, _ precision: LayerPrecision) -> Double? {
        let own = uniform[layer]!, start = state.start!.mean
        func delta(_ w: Int, _ a: Int) -> Double? {
            if w == own.weightBits && a == own.inputBits { return 0 }
            guard let measured = state.sensitivities.first(where: { $0.layer == layer && $0.weightBits == w && $0.inputBits == a }) else { return nil }
            let change = measured.accuracy.mean - start
            return w < own.weightBits || a < own.inputBits ? min(change, 0) : max(change, 0)
        }
        guard let dw = delta(precision.weightBits, own.inputBits), let da = delta(own.weightBits, precision.inputBits) else { return nil }
        return dw + da
    }

    /// The plans on the lower convex hull of predicted accuracy loss against energy, from the
    /// cheapest to the most accurate.
    func predictedFront() throws -> [PredictedPlan] {
        // Each layer's options: (energy of the layer, predicted Δacc), priced one layer at a time.
        var options: [String: [LayerOption]] = [:]
        let widths = Set(spec.weightBits).union(uniform.values.map(\.weightBits)).sorted()
        let inputs = Set(spec.inputBits).union(uniform.values.map(\.inputBits)).sorted()
        for w in widths {
            for a in inputs {
                let precision = LayerPrecision(weightBits: w, inputBits: a)
                // Every layer at this width at once: the layers are priced independently.
                guard let cost = try? cost(Dictionary(uniqueKeysWithValues: layers.map { ($0, precision) })) else { continue }
                for layer in layers {
                    guard let delta = predictedDelta(layer, precision), let placed = cost.layers.first(where: { $0.name == layer }) else { continue }
                    options[layer, default: []].append(LayerOption(precision: precision, energyJ: placed.placement.energyJ, delta: delta))
                }
            }
        }
        let total = try cost(uniform)
        guard total.energyJ > 0 else {
            throw PrecisionSearchError("chip '\(chip.meta.id)' gives no conversion energy (adc.energy_per_conversion_j), so there is no energy to trade against accuracy")
        }
        // Energy outside the chip layers' own placements (none in today's cost model).
        let fixed = total.energyJ - total.layers.map(\.placement.energyJ).reduce(0, +)
        return Self.front(layers: layers, options: options, fixedEnergyJ: fixed, start: state.start!.mean)
    }

    /// One precision a layer may take: its energy per inference and predicted accuracy change.
    struct LayerOption: Equatable {
        var precision: LayerPrecision
        var energyJ: Double
        var delta: Double
    }

    /// The lower convex hull of predicted accuracy loss against energy over plans that pick
    /// one option per layer (accuracy `start` + Σ Δ, energy `fixedEnergyJ` + Σ E), from the
    /// cheapest plan to the most accurate. Each layer's options are first reduced to their
    /// own hull: from the cheapest (the more accurate of equals), the options that buy
    /// accuracy at a falling rate per joule. Taking every layer's steps in order of accuracy
    /// per joule (ties: forward layer order) then visits exactly the plans on the hull.
    /// Empty when a layer has no option.
    static func front(layers: [String], options: [String: [LayerOption]], fixedEnergyJ: Double, start: Double) -> [PredictedPlan] {
        var hulls: [[LayerOption]] = []
        for layer in layers {
            let sorted = (options[layer] ?? []).sorted { ($0.energyJ, -$0.delta) < ($1.energyJ, -$1.delta) }
            var hull: [LayerOption] = []
            for option in sorted {
                if let last = hull.last, option.delta <= last.delta { continue }
                while hull.count >= 2 {
                    let a = hull[hull.count - 2], b = hull[hull.count - 1]
                    // b on or below the chord from a to the new option: not on the hull.
                    guard (b.delta - a.delta) * (option.energyJ - a.energyJ) <= (option.delta - a.delta) * (b.energyJ - a.energyJ) else { break }
                    hull.removeLast()
                }
                hull.append(option)
            }
            if hull.isEmpty { return [] }
            hulls.append(hull)
        }
        var moves: [(layer: Int, step: Int, rate: Double)] = []
        for (index, hull) in hulls.enumerated() {
            for step in hull.indices.dropFirst() {
                moves.append((index, step, (hull[step].delta - hull[step - 1].delta) / (hull[step].energyJ - hull[step - 1].energyJ)))
            }
        }
        moves.sort { ($0.rate, -$0.layer, -$0.step) > ($1.rate, -$1.layer, -$1.step) }
        var choice = [Int](repeating: 0, count: layers.count)
        func point() -> PredictedPlan {
            var precisions: [String: LayerPrecision] = [:], energy = fixedEnergyJ, accuracy = start
            for (index, layer) in layers.enumerated() {
                let option = hulls[index][choice[index]]
                precisions[layer] = option.precision
                energy += option.energyJ
                accuracy += option.delta
            }
            return PredictedPlan(layers: precisions, energyJ: energy, predictedAccuracy: accuracy)
        }
        var front = [point()]
        for move in moves {
            choice[move.layer] = move.step
            front.append(point())
        }
        return front
    }

    /// The goal's candidates from the predicted front (not the uniform plan itself).
    func picks(from front: [PredictedPlan], uniformEnergy: Double) -> [PredictedPlan] {
        let start = state.start!.mean
        let pool: [PredictedPlan], anchor: PredictedPlan?
        switch spec.goal {
        case let .maxDrop(drop):
            // Plans that save energy and are predicted within twice the drop; the cheapest
            // within the drop itself is always tried.
            pool = front.filter { $0.energyJ < uniformEnergy && $0.predictedAccuracy >= start - 2 * drop }
            anchor = pool.first { $0.predictedAccuracy >= start - drop }
        case let .energyBudget(budget):
            pool = front.filter { $0.energyJ <= budget }
            anchor = pool.last
        }
        var picks: [PredictedPlan] = []
        if let anchor { picks.append(anchor) }
        let count = min(spec.candidates, pool.count)
        for k in 0..<count {
            let index = count == 1 ? pool.count - 1 : (k * (pool.count - 1) + (count - 1) / 2) / (count - 1)
            let pick = pool[index]
            if picks.count < spec.candidates, !picks.contains(where: { $0.layers == pick.layers }), pick.layers != uniform { picks.append(pick) }
        }
        return picks.filter { $0.layers != uniform }.sorted { $0.energyJ < $1.energyJ }
    }

    /// The candidate the goal chooses, from the fine-tuned measurements.
    private func choose() -> String? {
        let measured = state.candidates.filter { $0.validation != nil }
        switch spec.goal {
        case let .maxDrop(drop):
            guard let reference = state.candidates.first?.validation?.mean else { return nil }
            return measured.filter { $0.validation!.mean >= reference - drop - 1e-12 }.min { ($0.energyJ, -$0.validation!.mean) < ($1.energyJ, -$1.validation!.mean) }?.label
        case let .energyBudget(budget):
            return measured.filter { $0.energyJ <= budget }.max { ($0.validation!.mean, -$0.energyJ) < ($1.validation!.mean, -$1.energyJ) }?.label
        }
    }

    private func measuredFront() -> [String] {
        let measured = state.candidates.filter { $0.validation != nil }
        return measured.filter { c in
            !measured.contains { o in
                o.energyJ <= c.energyJ && o.validation!.mean >= c.validation!.mean && (o.energyJ < c.energyJ || o.validation!.mean > c.validation!.mean)
            }
        }.map(\.label)
    }
}
