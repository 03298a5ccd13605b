import Foundation
import PIMQAT

/// Runs the tasks of one spec into a results file: chips built once per point, networks
/// loaded once per point, one record appended per finished run.
///
/// Records carry the metrics of their workload: a matmul's report fields (the numeric ones,
/// under the keys `simulate --json` writes, without the wall time and the seeds the record
/// already holds), or a network's accuracy, loss and digital accuracy.
public final class SweepRunner {
    public let spec: SweepSpec
    /// Worker threads per run (results do not depend on it).
    public let threads: Int
    /// Where a training workload keeps each point's trained network (`p<point>.safetensors`),
    /// so the point's other runs, resumed runs and other shards reuse it.
    public let networks: String
    private var chips: [Int: ChipConfig] = [:]
    private var datasets: [String: Dataset] = [:]
    /// Digital accuracy per (checkpoint, test split): the same for every seed and chip.
    private var digitalAccuracy: [String: Double] = [:]
    private var trained: [Int: String] = [:]

    public init(spec: SweepSpec, threads: Int, networks: String) {
        self.spec = spec
        self.threads = threads
        self.networks = networks
    }

    /// What a run of ``run(out:shard:existing:progress:)`` did.
    public struct Summary: Sendable, Encodable {
        public var spec: String
        public var specHash: String
        public var points: Int
        /// Runs of the spec (of the shard, with one).
        public var runs: Int
        public var ran: Int
        public var kept: Int
        public var out: String
    }

    /// How an existing results file is treated.
    public enum Existing: Sendable {
        /// Refuse to touch it.
        case refuse
        /// Keep its records and skip their runs.
        case resume
        /// Start afresh.
        case overwrite
    }

    /// Runs every task of the spec (or of shard `shard.index` of `shard.count`, 1-based) not
    /// yet in `out`, appending a record per finished run; `progress(done, total, id)` after each.
    /// - Throws: ``SweepError`` for an existing file (without resume or overwrite) or one from
    ///   another spec, and any error of a run (configuration, checkpoint, dataset).
    public func run(out: String, shard: (index: Int, count: Int)? = nil, existing policy: Existing = .refuse,
                    progress: (Int, Int, String) -> Void = { _, _, _ in }) throws -> Summary {
        if FileManager.default.fileExists(atPath: out) {
            switch policy {
            case .overwrite:
                do { try FileManager.default.removeItem(atPath: out) } catch {
                    throw SweepError("\(out): cannot be replaced (\((error as NSError).localizedDescription))")
                }
            case .refuse:
                throw SweepError("\(out) exists; give --resume to continue it, --overwrite to start afresh, or another --out")
            case .resume:
                break
            }
        }
        let existing = try SweepLog.read(out, unfinished: .cut)
        if let foreign = existing.first(where: { $0.provenance.specHash != spec.specHash }) {
            throw SweepError("\(out): record \(foreign.id) comes from another spec (\(foreign.provenance.specHash), this one is \(spec.specHash))")
        }
        let done = Set(existing.map(\.id))
        let all = shard.map { spec.tasks(shard: $0.index, of: $0.count) } ?? spec.tasks
        let tasks = all.filter { !done.contains($0.id) }
        // A shard with no runs (more shards than runs) still leaves its empty file, so
        // merging every shard's file works.
        if all.isEmpty, !FileManager.default.fileExists(atPath: out), !FileManager.default.createFile(atPath: out, contents: nil) {
            throw SweepError("\(out): cannot be created")
        }
        let revision = Self.gitRevision(near: spec.file)
        for (position, task) in tasks.enumerated() {
            let metrics = try metrics(for: task)
            let values = Dictionary(spec.point(task.point).map { ($0.path, $0.value) }, uniquingKeysWith: { a, _ in a })
            let provenance = SweepProvenance(specHash: spec.specHash, chipHash: chipHash(point: task.point),
                                             toolVersion: ToolVersion.current, gitRevision: revision)
            try SweepLog.append(SweepRecord(task: task, values: values, metrics: metrics, provenance: provenance), to: out)
            progress(position + 1, tasks.count, task.id)
        }
        return Summary(spec: spec.file, specHash: spec.specHash, points: spec.pointCount, runs: all.count, ran: tasks.count,
                       kept: existing.count, out: out)
    }

    /// `git rev-parse HEAD` in the directory of `path`, if that is a git checkout.
    static func gitRevision(near path: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let directory = (path as NSString).deletingLastPathComponent
        process.arguments = ["git", "-C", directory.isEmpty ? "." : directory, "rev-parse", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = readToEnd(pipe.fileHandleForReading)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// A dataset split for a model, loaded once per sweep (and checked against the model).
    func dataset(_ name: DatasetName, train: Bool, limit: Int?, for loaded: TrainingRun.LoadedModel, path: String) throws -> Dataset {
        let key = "\(name.rawValue)/\(train)/\(limit.map(String.init) ?? "all")"
        if let cached = datasets[key], cached.channels == loaded.channels, cached.size == loaded.size, cached.classes == loaded.classes {
            return cached
        }
        let data = try DeployedModel.data(for: loaded, path: path, dataset: name, directory: nil, train: train, limit: limit)
        datasets[key] = data
        return data
    }

    /// The training precision of a point (its `adjust_precision` axis; none without one).
    func precision(at point: Int) throws(SweepError) -> PrecisionAdjustment {
        guard let value = spec.setting("adjust_precision", at: point) else { return .none }
        guard let parsed = PrecisionAdjustment(argument: value.description) else {
            throw SweepError("\(spec.file): adjust_precision '\(value)' is not none, auto, exact or bits")
        }
        return parsed
    }

    func datasetName(_ data: String) throws(SweepError) -> DatasetName {
        guard let dataset = DatasetName(rawValue: data) else { throw SweepError("\(spec.file): workload.data '\(data)' is not a dataset") }
        return dataset
    }

    /// The network of a training point: trained once (written when finished) and then reused.
    func trainedNetwork(_ workload: SweepSpec.TrainingWorkload, point: Int, chip: ChipConfig) throws -> String {
        if let path = trained[point] { return path }
        let path = "\(networks)/p\(point).safetensors"
        if !FileManager.default.fileExists(atPath: path) {
            let dataset = try datasetName(workload.data)
            let settings = spec.settings(for: point)
            let precision = try precision(at: point)
            var noise: Bool?
            if case let .bool(value)? = spec.setting("noise_injection", at: point) { noise = value }
            BLAS.threadCount = threads
            let run = try TrainingRun.fineTuning(
                from: workload.initial, chip: chip, pim: PIMSettings(chip: spec.chipName, scheme: settings.scheme, mode: settings.mode, precision: precision),
                trainingNoise: noise, dataset: dataset, epochs: workload.epochs, learningRate: workload.learningRate, seed: workload.seed,
                trainLimit: workload.trainLimit, testLimit: workload.testLimit)
            while run.completedEpochs < run.settings.epochs { _ = try run.trainNextEpoch() }
            do {
                try FileManager.default.createDirectory(atPath: networks, withIntermediateDirectories: true)
            } catch {
                throw SweepError("\(networks): cannot create the directory (\((error as NSError).localizedDescription))")
            }
            try run.checkpoint().write(to: path)
        }
        trained[point] = path
        return path
    }

    func chip(_ point: Int) throws -> ChipConfig {
        if let chip = chips[point] { return chip }
        let chip = try spec.chip(for: point)
        chips[point] = chip
        return chip
    }

    /// A hash of the point's chip: the base chip file's text and the point's chip overrides.
    public func chipHash(point: Int) -> String {
        let overrides = spec.point(point).filter { !SweepSpec.settingAxes.contains($0.path) }.map { "\($0.path)=\($0.value)" }
        return fnv1aHex(Array((spec.chipText + "\n" + overrides.joined(separator: "\n")).utf8))
    }

    /// The metrics of one run.
    public func metrics(for task: SweepTask) throws -> [String: Double] {
        let chip = try chip(task.point)
        let settings = spec.settings(for: task.point)
        switch spec.workload {
        case let .matmul(m, k, n, _, _):
            let mapping = try chip.mapping(scheme: settings.scheme, mode: settings.mode, inputBits: settings.inputBits, weightBits: settings.weightBits)
            let simulation = MatmulSimulation(mapping: mapping, m: m, k: k, n: n,
                                              operands: try MatmulSimulation.randomOperands(mapping: mapping, m: m, k: k, n: n, seed: task.seed),
                                              seed: task.seed, chipSeed: task.chipSeed, threads: threads)
            return try Self.numericFields(of: simulation.run().report, excluding: ["seconds", "seed", "chip_seed"])
        case let .network(_, data, testLimit, bnCalibrate):
            return try deployed(spec.model(for: task.point)!, data: data, testLimit: testLimit, bnCalibrate: bnCalibrate, chip: chip, task: task)
        case let .training(workload):
            let model = try trainedNetwork(workload, point: task.point, chip: chip)
            var metrics = try deployed(model, data: workload.data, testLimit: workload.testLimit, bnCalibrate: workload.bnCalibrate,
                                       chip: chip, task: task)
            let mapping = try chip.mapping(scheme: settings.scheme, mode: settings.mode, inputBits: settings.inputBits, weightBits: settings.weightBits)
            if let bits = try precision(at: task.point).trainingConverter(for: mapping.adc).resolutionBits { metrics["training_bits"] = bits }
            return metrics
        }
    }

    /// The top-level finite numbers of `value`'s JSON form (snake_case keys, as every JSON
    /// record of the tool names them), without the keys `excluded`. Doubles round-trip
    /// exactly through JSON.
    static func numericFields(of value: some Encodable, excluding excluded: Set<String>) throws -> [String: Double] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let fields = try JSONDecoder().decode([String: NumberOrOther].self, from: encoder.encode(value))
        var numbers: [String: Double] = [:]
        for (key, field) in fields where !excluded.contains(key) {
            if case let .number(number) = field, number.isFinite { numbers[key] = number }
        }
        return numbers
    }

    /// A JSON value that is a number, or anything else.
    private enum NumberOrOther: Decodable {
        case number(Double), other
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if !container.decodeNil(), let number = try? container.decode(Double.self) { self = .number(number) } else { self = .other }
        }
    }

    /// A checkpoint's accuracy on a point's chip instance and noise seed, beside its digital accuracy.
    func deployed(_ model: String, data: String, testLimit: Int?, bnCalibrate: Int, chip: ChipConfig, task: SweepTask) throws -> [String: Double] {
        let settings = spec.settings(for: task.point)
        let dataset = try datasetName(data)
        BLAS.threadCount = threads
        let (loaded, target, _, _) = try DeployedModel.load(model, chip: chip, chipName: spec.chipPath, scheme: settings.scheme, mode: settings.mode)
        let test = try self.dataset(dataset, train: false, limit: testLimit, for: loaded, path: model)
        let deployment = ChipDeployment(model: loaded.model, target: target)
        if bnCalibrate > 0 || deployment.needsRangeCalibration {
            deployment.calibrationData = try self.dataset(dataset, train: true, limit: nil, for: loaded, path: model)
            deployment.calibrationBatches = bnCalibrate
        }
        let run = deployment.evaluate(test, chipSeed: task.chipSeed, noiseSeed: task.seed)
        // The chip and scheme decide the weight grid (symmetric for some encodings).
        let key = "\(model)|\(chipHash(point: task.point))|\(settings.scheme.rawValue)|\(data)|\(testLimit.map(String.init) ?? "all")"
        let digital = digitalAccuracy[key] ?? deployment.evaluateDigitally(test).accuracy
        digitalAccuracy[key] = digital
        return ["accuracy": run.accuracy, "loss": run.loss, "digital_accuracy": digital]
    }
}
