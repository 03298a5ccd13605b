import Foundation
import PIMSim
import Yams

extension SweepSpec {
    /// Reads and checks a sweep spec.
    /// - Throws: ``ConfigError`` at the spec's line and column for anything wrong: syntax,
    ///   unknown keys, empty axes, values the chip reader or the chip's mapping rules reject;
    ///   ``ChipLookupError`` for an unknown base chip.
    public init(contentsOf path: String, catalog: ChipCatalog = .standard()) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(SourceLocation(file: path, line: 1, column: 1), path: "file", "cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(SourceLocation(file: path, line: 1, column: 1), path: "file", "is not UTF-8 text")
        }
        try self.init(yaml: text, file: path, catalog: catalog)
    }

    public init(yaml text: String, file: String, catalog: ChipCatalog = .standard()) throws {
        let root = try ConfigNode.parse(text, file: file)
        let top = try root.mapping()
        let directory = (file as NSString).deletingLastPathComponent
        // The base chip: a file relative to the spec, else a preset.
        let chipNode = try top.required("chip")
        let chipName = try chipNode.string()
        let relative = directory.isEmpty || chipName.hasPrefix("/") ? chipName : "\(directory)/\(chipName)"
        let chipPath: String
        do {
            chipPath = FileManager.default.fileExists(atPath: relative) ? relative : try catalog.load(chipName).path
        } catch let error as ChipLookupError {
            throw chipNode.error(error.description)
        }
        guard let chipText = try? String(contentsOfFile: chipPath, encoding: .utf8) else {
            throw chipNode.error("cannot read the chip file \(chipPath)")
        }
        // The base chip must be valid on its own.
        _ = try ChipConfig(contentsOf: chipPath)

        var axes: [Axis] = []
        if let axesNode = top.optional("axes") {
            for (key, node) in try axesNode.mapping().all() {
                let values = try node.list()
                guard !values.isEmpty else { throw node.error("the axis has no values") }
                var parsed: [SweepValue] = []
                for value in values {
                    guard case let .scalar(scalar) = value.node else { throw value.error("axis values must be scalars") }
                    parsed.append(SweepValue(scalar: scalar))
                }
                if Set(parsed).count != parsed.count { throw node.error("the axis repeats a value") }
                axes.append(Axis(path: key, values: parsed, locations: values.map(\.location)))
            }
            // Count before anything is checked or run per point.
            var points = 1
            for axis in axes {
                let (product, overflow) = points.multipliedReportingOverflow(by: axis.values.count)
                guard !overflow, product <= SweepSpec.maximumPoints else {
                    let counts = axes.map { String($0.values.count) }.joined(separator: " × ")
                    throw axesNode.error("the axes make \(counts) points, more than the \(SweepSpec.maximumPoints) a sweep takes; split it into several specs")
                }
                points = product
            }
        }

        let workloadNode = try top.required("workload")
        let workloadMap = try workloadNode.mapping()
        let workload: Workload
        if let matmulNode = workloadMap.optional("matmul") {
            let shape = try matmulNode.string()
            let parts = shape.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 >= 1 }) else { throw matmulNode.error("'\(shape)' is not a shape MxKxN of positive integers") }
            let inputBits = try workloadMap.optional("input_bits")?.int() ?? 4
            let weightBits = try workloadMap.optional("weight_bits")?.int() ?? 4
            do {
                try MatmulSimulation.checkShape(m: parts[0], k: parts[1], n: parts[2])
                // Any decomposition holds at most two conversion matrices per weight bit.
                let bytes = MatmulSimulation.estimatedBytes(m: parts[0], k: parts[1], n: parts[2], matrices: 2 * max(1, weightBits))
                try MemoryBudget.check(bytes, for: "a \(parts[0])×\(parts[1])×\(parts[2]) matmul")
            } catch {
                throw matmulNode.error(String(describing: error))
            }
            workload = .matmul(m: parts[0], k: parts[1], n: parts[2], inputBits: inputBits, weightBits: weightBits)
        } else if let networkNode = workloadMap.optional("network") {
            guard try networkNode.bool() else { throw networkNode.error("write 'network: true', or give 'matmul'") }
            var resolved: String?
            if let modelNode = workloadMap.optional("model") {
                let model = try modelNode.string()
                resolved = directory.isEmpty || model.hasPrefix("/") ? model : "\(directory)/\(model)"
                guard FileManager.default.fileExists(atPath: resolved!) else { throw modelNode.error("checkpoint \(resolved!) does not exist") }
            }
            let data = try workloadMap.optional("data")?.string() ?? "fashion-mnist"
            let testLimit = try workloadMap.optional("test_limit")?.int()
            if let testLimit, testLimit < 1 { throw workloadNode.error("test_limit must be positive") }
            let bnCalibrate = try workloadMap.optional("bn_calibrate")?.int() ?? 0
            if bnCalibrate < 0 { throw workloadNode.error("bn_calibrate must be 0 (off) or a number of batches") }
            workload = .network(model: resolved, data: data, testLimit: testLimit, bnCalibrate: bnCalibrate)
        } else if let trainingNode = workloadMap.optional("train_qat") {
            let training = try trainingNode.mapping()
            let initialNode = try training.required("init")
            let initial = try initialNode.string()
            let resolved = directory.isEmpty || initial.hasPrefix("/") ? initial : "\(directory)/\(initial)"
            guard FileManager.default.fileExists(atPath: resolved) else { throw initialNode.error("checkpoint \(resolved) does not exist") }
            let epochsNode = training.optional("epochs")
            let epochs = try epochsNode?.int() ?? 2
            guard (1...1000).contains(epochs) else { throw (epochsNode ?? trainingNode).error("epochs must be 1…1000") }
            let limitNode = training.optional("train_limit")
            let trainLimit = try limitNode?.int()
            if let trainLimit, trainLimit < 1 { throw limitNode!.error("train_limit must be positive") }
            let rateNode = training.optional("lr")
            let rate = try rateNode?.double()
            if let rate, !(rate > 0 && rate.isFinite) { throw rateNode!.error("lr must be a positive number") }
            let seedNode = training.optional("seed")
            let seed = try seedNode?.int() ?? 0
            guard seed >= 0 else { throw seedNode!.error("seed must be a non-negative integer") }
            try training.finish()
            let data = try workloadMap.optional("data")?.string() ?? "fashion-mnist"
            let testLimit = try workloadMap.optional("test_limit")?.int()
            if let testLimit, testLimit < 1 { throw workloadNode.error("test_limit must be positive") }
            let bnCalibrate = try workloadMap.optional("bn_calibrate")?.int() ?? 0
            if bnCalibrate < 0 { throw workloadNode.error("bn_calibrate must be 0 (off) or a number of batches") }
            workload = .training(TrainingWorkload(initial: resolved, epochs: epochs, trainLimit: trainLimit, learningRate: rate,
                                                  seed: UInt64(seed), data: data, testLimit: testLimit, bnCalibrate: bnCalibrate))
        } else {
            throw workloadNode.error("give 'matmul: MxKxN', 'network: true' with 'model: CHECKPOINT' (or a model axis) and 'data', or 'train_qat: {init: CHECKPOINT}'")
        }
        try workloadMap.finish()

        func seedList(_ key: String) throws(ConfigError) -> [UInt64] {
            guard let node = top.optional(key) else { return [0] }
            var seeds: [UInt64] = []
            for item in try node.list() {
                let value = try item.int()
                guard value >= 0 else { throw item.error("seeds are non-negative integers") }
                seeds.append(UInt64(value))
            }
            guard !seeds.isEmpty else { throw node.error("give at least one seed") }
            guard Set(seeds).count == seeds.count else { throw node.error("a seed is repeated") }
            return seeds
        }
        let seeds = try seedList("seeds")
        let chipSeeds = try seedList("chip_seeds")
        let points = axes.reduce(1) { $0 * $1.values.count }
        if points * seeds.count * chipSeeds.count > SweepSpec.maximumRuns {
            throw root.error("\(points) points × \(seeds.count) seeds × \(chipSeeds.count) chip seeds make more than the \(SweepSpec.maximumRuns) runs a sweep takes; split it into several specs")
        }
        try top.finish()

        self.init(file: file, chipName: chipName, chipPath: chipPath, chipText: chipText, axes: axes, workload: workload,
                  seeds: seeds, chipSeeds: chipSeeds, specHash: fnv1aHex(Array(text.utf8)))
        try validate(root: root)
    }

    /// Checks every value on its own, then every point: the chip reader judges chip fields,
    /// the chip's mapping rules judge scheme, mode and precisions.
    private func validate(root: ConfigNode) throws(ConfigError) {
        for axis in axes {
            for (value, location) in zip(axis.values, axis.locations) {
                let place = "axes.\(axis.path)"
                switch axis.path {
                case "scheme":
                    guard Scheme(rawValue: value.text) != nil else {
                        throw ConfigError(location, path: place, "'\(value)' is not one of \(Scheme.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                case "input_bits", "weight_bits":
                    guard let bits = value.integer, (1...16).contains(bits) else { throw ConfigError(location, path: place, "'\(value)' is not a bit count 1…16") }
                case "mode":
                    break
                case "adjust_precision":
                    guard case .training = workload else { throw ConfigError(location, path: place, "an adjust_precision axis needs a train_qat workload") }
                    let text = value.text.lowercased()
                    guard ["none", "auto", "exact"].contains(text) || (value.integer.map { (1...24).contains($0) } ?? false) else {
                        throw ConfigError(location, path: place, "'\(value)' is not none, auto, exact or a bit count 1…24")
                    }
                case "noise_injection":
                    guard case .training = workload else { throw ConfigError(location, path: place, "a noise_injection axis needs a train_qat workload") }
                    guard case .bool = value else { throw ConfigError(location, path: place, "'\(value)' is not true or false") }
                case "model":
                    guard case .network = workload else { throw ConfigError(location, path: place, "a model axis needs a network workload") }
                    let directory = (file as NSString).deletingLastPathComponent
                    let resolved = directory.isEmpty || value.text.hasPrefix("/") ? value.text : "\(directory)/\(value.text)"
                    guard FileManager.default.fileExists(atPath: resolved) else { throw ConfigError(location, path: place, "checkpoint \(resolved) does not exist") }
                default:
                    do {
                        _ = try Self.chip(chipText, file: chipPath, overrides: [(axis.path, value)])
                    } catch where error.message.hasPrefix("unknown field") {
                        throw ConfigError(location, path: place, "not a field of the chip: \(error.path): \(error.message)")
                    } catch {
                        throw ConfigError(location, path: place, "\(value) is not accepted for the chip: \(error.path): \(error.message)")
                    }
                }
            }
        }
        let axesLocation = axes.first?.locations.first ?? root.location
        if case .network = workload, model(for: 0) == nil {
            throw ConfigError(root.location, path: "workload.model", "a network workload needs 'model: CHECKPOINT' or a model axis")
        }
        for p in 0..<pointCount {
            let described = point(p).map { "\($0.path)=\($0.value)" }.joined(separator: ", ")
            let chip: ChipConfig
            do {
                chip = try self.chip(for: p)
            } catch {
                throw ConfigError(axesLocation, path: "axes", "point \(p) (\(described)) is not a valid chip: \(error.path): \(error.message)")
            }
            let settings = settings(for: p)
            do {
                _ = try chip.mapping(scheme: settings.scheme, mode: settings.mode, inputBits: settings.inputBits, weightBits: settings.weightBits)
            } catch {
                throw ConfigError(axesLocation, path: "axes", "point \(p) (\(described.isEmpty ? "the base chip" : described)) cannot run: \(error.description)")
            }
        }
    }
}
