import Foundation
import PIMSim
import Yams

/// A parameter sweep: a base chip, axes over chip fields and run settings, a workload, and
/// seeds. Read from YAML:
///
/// ```yaml
/// chip: cap-ram                      # preset id or file (relative to the spec)
/// axes:                              # cartesian product, the last axis varying fastest
///   adc.noise_sigma_lsb: [0, 0.25, 0.5, 1]        # any chip field, by its dotted path
///   modes.twos_complement.adc.bits: [4, 5, 6, 7]
///   scheme: [chip, bit-serial]       # run settings: scheme, mode, input_bits, weight_bits
/// workload:
///   matmul: 256x512x128              # or: network: true, model: CKPT (or a model axis), data: fashion-mnist, test_limit: 500, bn_calibrate: 20
///   input_bits: 4
///   weight_bits: 4
/// seeds: [0, 1, 2]                   # temporal noise (and operand) seeds
/// chip_seeds: [0]                    # chip instances (static draws)
/// ```
///
/// Every point is checked when the spec is loaded — each overridden chip through the chip
/// reader, each mapping through the chip's rules — so a bad spec fails before any work,
/// naming the spec's line and column.
public struct SweepSpec: Sendable {
    /// What each point runs.
    public enum Workload: Sendable, Hashable {
        /// A random-operand matmul M×K×N of the given precisions.
        case matmul(m: Int, k: Int, n: Int, inputBits: Int, weightBits: Int)
        /// A trained network's test accuracy on the chip (the checkpoint path resolved against
        /// the spec's directory; a `model` axis replaces it per point).
        case network(model: String?, data: String, testLimit: Int?, bnCalibrate: Int)
        /// A PIM-QAT network trained per point through that point's chip (from the `initial`
        /// checkpoint, resolved against the spec's directory), then deployed like `network`.
        case training(TrainingWorkload)
    }

    /// What a training point trains and where it is deployed.
    public struct TrainingWorkload: Sendable, Hashable {
        /// The checkpoint the PIM-QAT run starts from (a QAT network).
        public var initial: String
        public var epochs: Int
        public var trainLimit: Int?
        /// nil: the training recipe's rate.
        public var learningRate: Double?
        /// Seed of the training run (initialisation order, shuffling, training noise).
        public var seed: UInt64
        public var data: String
        public var testLimit: Int?
        public var bnCalibrate: Int
    }

    /// One axis: a field path and its values, in file order.
    public struct Axis: Sendable {
        public var path: String
        public var values: [SweepValue]
        /// Where each value stands in the spec.
        public var locations: [SourceLocation]
    }

    /// The run settings an axis may set instead of a chip field (`model`: checkpoints of a
    /// network workload, paths relative to the spec).
    /// `adjust_precision` (none, auto, exact or bits) and `noise_injection` (true, false): how a
    /// training workload's network trains.
    public static let settingAxes: Set<String> = ["scheme", "mode", "input_bits", "weight_bits", "model", "adjust_precision", "noise_injection"]

    /// The value of a setting axis at a point, if the spec has that axis.
    public func setting(_ name: String, at point: Int) -> SweepValue? {
        self.point(point).first { $0.path == name }?.value
    }

    public var file: String
    /// The chip as written, and the file it resolved to.
    public var chipName: String
    public var chipPath: String
    /// The base chip's YAML text.
    public var chipText: String
    public var axes: [Axis]
    public var workload: Workload
    public var seeds: [UInt64]
    public var chipSeeds: [UInt64]
    /// FNV-1a 64 of the spec's bytes, hex: shards and resumed runs must share it.
    public var specHash: String

    /// Points: one value per axis; index = position in the product, last axis fastest.
    public var pointCount: Int { axes.reduce(1) { $0 * $1.values.count } }

    /// The most grid points a spec may have (each is checked against the chip on loading).
    public static let maximumPoints = 10_000
    /// The most runs (points × seeds × chip seeds) a spec may have.
    public static let maximumRuns = 1_000_000

    public func point(_ index: Int) -> [(path: String, value: SweepValue)] {
        var rest = index
        var values: [(String, SweepValue)] = []
        for axis in axes.reversed() {
            values.append((axis.path, axis.values[rest % axis.values.count]))
            rest /= axis.values.count
        }
        return values.reversed()
    }

    /// Every run: point × chip seed × seed, point-major.
    public var tasks: [SweepTask] {
        var tasks: [SweepTask] = []
        for p in 0..<pointCount {
            for chipSeed in chipSeeds {
                for seed in seeds {
                    tasks.append(SweepTask(index: tasks.count, point: p, seed: seed, chipSeed: chipSeed))
                }
            }
        }
        return tasks
    }

    /// The tasks of shard `shard` (1-based) of `count`: every count-th task, so shards are
    /// balanced and disjoint and together cover the grid.
    public func tasks(shard: Int, of count: Int) -> [SweepTask] {
        tasks.filter { $0.index % count == shard - 1 }
    }

    /// The chip of a point (chip-field axes applied).
    public func chip(for point: Int) throws(ConfigError) -> ChipConfig {
        let overrides = self.point(point).filter { !Self.settingAxes.contains($0.path) }
        return try Self.chip(chipText, file: chipPath, overrides: overrides.map { ($0.path, $0.value) })
    }

    /// The checkpoint of a network point: the `model` axis's, else the workload's.
    public func model(for point: Int) -> String? {
        guard case let .network(model, _, _, _) = workload else { return nil }
        guard let value = self.point(point).first(where: { $0.path == "model" })?.value.description else { return model }
        let directory = (file as NSString).deletingLastPathComponent
        return directory.isEmpty || value.hasPrefix("/") ? value : "\(directory)/\(value)"
    }

    /// The run settings of a point: scheme, mode and precisions (axes over the workload's).
    public func settings(for point: Int) -> (scheme: Scheme, mode: String?, inputBits: Int, weightBits: Int) {
        var scheme = Scheme.chip
        var mode: String?
        var (inputBits, weightBits) = (4, 4)
        if case let .matmul(_, _, _, i, w) = workload { (inputBits, weightBits) = (i, w) }
        for (path, value) in self.point(point) {
            switch path {
            case "scheme": scheme = Scheme(rawValue: value.text) ?? .chip
            case "mode": mode = value.text
            case "input_bits": inputBits = value.integer ?? inputBits
            case "weight_bits": weightBits = value.integer ?? weightBits
            default: break
            }
        }
        return (scheme, mode, inputBits, weightBits)
    }

    /// The chip in `text` with fields replaced (dotted paths of the chip file, e.g.
    /// `adc.noise_sigma_lsb`); errors are the chip reader's, against the regenerated text.
    public static func chip(_ text: String, file: String, overrides: [(String, SweepValue)]) throws(ConfigError) -> ChipConfig {
        guard !overrides.isEmpty else {
            return try ChipConfig(yaml: text, file: file, baseDirectory: (file as NSString).deletingLastPathComponent)
        }
        let root: Node
        do {
            guard let parsed = try Yams.compose(yaml: text) else { throw ConfigError(SourceLocation(file: file, line: 1, column: 1), path: "yaml", "the file is empty") }
            root = parsed
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(SourceLocation(file: file, line: 1, column: 1), path: "yaml", "\(error)")
        }
        var changed = root
        for (path, value) in overrides {
            changed = try set(changed, keys: path.split(separator: ".").map(String.init), to: value.node, path: path, file: file)
        }
        let serialized: String
        do {
            serialized = try Yams.serialize(node: changed)
        } catch {
            throw ConfigError(SourceLocation(file: file, line: 1, column: 1), path: "yaml", "\(error)")
        }
        return try ChipConfig(yaml: serialized, file: file, baseDirectory: (file as NSString).deletingLastPathComponent)
    }

    /// `node` with the value at `keys` replaced (a `{value: …}` wrapper keeps its other keys);
    /// missing mappings on the way are created, so the chip reader judges the field.
    private static func set(_ node: Node, keys: [String], to value: Node, path: String, file: String) throws(ConfigError) -> Node {
        guard let key = keys.first else {
            if case var .mapping(mapping) = node, mapping["value"] != nil {
                mapping["value"] = value
                return .mapping(mapping)
            }
            return value
        }
        var mapping: Node.Mapping
        switch node {
        case let .mapping(existing): mapping = existing
        case .scalar where node.null != nil: mapping = Node.Mapping([])
        default:
            let kind: String
            if case .scalar = node { kind = "value" } else { kind = "list" }
            throw ConfigError(SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1), path: path,
                              "'\(key)' cannot be set inside a \(kind)")
        }
        let child = mapping[key] ?? Node.mapping(Node.Mapping([]))
        mapping[key] = try set(child, keys: Array(keys.dropFirst()), to: value, path: path, file: file)
        return .mapping(mapping)
    }
}

/// One run of a sweep.
public struct SweepTask: Sendable, Hashable {
    /// Position in the whole grid (point-major, then chip seed, then seed).
    public var index: Int
    public var point: Int
    public var seed: UInt64
    public var chipSeed: UInt64

    /// A stable name: `p<point>-c<chip seed>-s<seed>`.
    public var id: String { "p\(point)-c\(chipSeed)-s\(seed)" }
}

/// A value of a sweep axis: a YAML scalar kept with its type for JSON output.
public enum SweepValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case integer(Int)
    case number(Double)
    case bool(Bool)
    case string(String)

    init(scalar: Node.Scalar) {
        if scalar.style == .plain {
            if let int = Int(scalar.string) { self = .integer(int); return }
            if let double = Double(scalar.string), double.isFinite { self = .number(double); return }
            if ["true", "false"].contains(scalar.string) { self = .bool(scalar.string == "true"); return }
        }
        self = .string(scalar.string)
    }

    public var description: String {
        switch self {
        case let .integer(v): String(v)
        case let .number(v): String(v)
        case let .bool(v): String(v)
        case let .string(v): v
        }
    }

    var text: String { description }
    public var integer: Int? { if case let .integer(v) = self { v } else { nil } }
    /// A number for plotting; nil for text.
    public var numeric: Double? {
        switch self {
        case let .integer(v): Double(v)
        case let .number(v): v
        default: nil
        }
    }

    var node: Node {
        switch self {
        case .string(let v): Node(v, Tag(.str), .doubleQuoted)
        default: Node(description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .integer(v): try container.encode(v)
        case let .number(v): try container.encode(v)
        case let .bool(v): try container.encode(v)
        case let .string(v): try container.encode(v)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let v = try? container.decode(Int.self) { self = .integer(v) }
        else if let v = try? container.decode(Double.self) { self = .number(v) }
        else if let v = try? container.decode(Bool.self) { self = .bool(v) }
        else { self = .string(try container.decode(String.self)) }
    }
}

/// FNV-1a, 64 bits, as 16 hex digits: a stable fingerprint of a file's bytes.
public func fnv1aHex(_ bytes: some Sequence<UInt8>) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01B3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}
