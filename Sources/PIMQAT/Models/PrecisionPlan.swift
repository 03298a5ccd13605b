import Foundation
import PIMSim

/// Per-layer precision: for named layers, the bits of their weights, the bits of the
/// activation that feeds them, and the chip mode and scheme they run in. Layers the plan does
/// not name keep the network's uniform precision (``Quantization``) and the run's mode.
///
/// Written as YAML:
///
/// ```yaml
/// layers:
///   conv1: {weight_bits: 8}
///   layer1.0.conv1: {weight_bits: 2, input_bits: 3}
///   layer3.2.conv2: {weight_bits: 5, mode: ternary}
/// ```
///
/// `input_bits` sets the PACT activation whose levels the layer's inputs are (1…16 bits);
/// layers fed by the same activation must agree. The first convolution's inputs are the
/// unquantized image, so it takes no `input_bits`; the classifier's are the last activation's.
/// `weight_bits` is 2…16 (DoReFa's two's-complement grid). `mode` and `scheme` apply to layers
/// that run on a chip and must exist on it.
public struct PrecisionPlan: Sendable, Codable, Hashable {
    public struct Entry: Sendable, Codable, Hashable {
        /// The layer's name: its weight's without `.weight` (`conv1`, `layer2.0.conv2`, `fc`).
        public var layer: String
        public var weightBits: Int?
        public var inputBits: Int?
        /// The chip's operating mode for this layer; nil = the run's.
        public var mode: String?
        /// The decomposition for this layer; nil = the run's.
        public var scheme: Scheme?

        public init(layer: String, weightBits: Int? = nil, inputBits: Int? = nil, mode: String? = nil, scheme: Scheme? = nil) {
            (self.layer, self.weightBits, self.inputBits, self.mode, self.scheme) = (layer, weightBits, inputBits, mode, scheme)
        }
    }

    /// The entries, one per layer, in the file's order.
    public var layers: [Entry]
    /// Where each entry was written, for errors found later (a mode the chip lacks); empty
    /// for plans not read from a file.
    var locations: [String: SourceLocation] = [:]

    public static let weightBitRange = 2...16, inputBitRange = 1...16

    public init(_ layers: [Entry]) {
        self.layers = layers
    }

    /// What makes a plan unusable (one decoded from an edited checkpoint), or nil: no entry,
    /// a layer named twice, bits out of range.
    public var problem: String? {
        if layers.isEmpty { return "names no layer" }
        if Set(layers.map(\.layer)).count != layers.count { return "names a layer twice" }
        for entry in layers {
            if let w = entry.weightBits, !Self.weightBitRange.contains(w) { return "\(entry.layer): \(w)-bit weights are outside 2…16" }
            if let a = entry.inputBits, !Self.inputBitRange.contains(a) { return "\(entry.layer): \(a)-bit inputs are outside 1…16" }
        }
        return nil
    }

    /// The entry for `layer`, if the plan names it.
    public subscript(layer: String) -> Entry? { layers.first { $0.layer == layer } }

    enum CodingKeys: String, CodingKey { case layers }

    public static func == (a: PrecisionPlan, b: PrecisionPlan) -> Bool { a.layers == b.layers }
    public func hash(into hasher: inout Hasher) { hasher.combine(layers) }

    /// Reads a plan file.
    /// - Throws: ``ConfigError`` at the file's line and column: syntax, unknown fields, bits
    ///   out of range, a layer named twice.
    public init(contentsOf path: String) throws(ConfigError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(SourceLocation(file: path, line: 1, column: 1), path: "file", "cannot be read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(SourceLocation(file: path, line: 1, column: 1), path: "file", "is not UTF-8 text")
        }
        try self.init(yaml: text, file: path)
    }

    public init(yaml text: String, file: String) throws(ConfigError) {
        let top = try ConfigNode.parse(text, file: file).mapping()
        let layersNode = try top.required("layers")
        try top.finish()
        var entries: [Entry] = []
        var locations: [String: SourceLocation] = [:]
        for (name, node) in try layersNode.mapping().all() {
            let fields = try node.mapping()
            var entry = Entry(layer: name)
            if let bits = fields.optional("weight_bits") {
                entry.weightBits = try bits.int()
                guard Self.weightBitRange.contains(entry.weightBits!) else { throw bits.error("\(entry.weightBits!)-bit weights: the quantizer takes 2…16 bits") }
            }
            if let bits = fields.optional("input_bits") {
                entry.inputBits = try bits.int()
                guard Self.inputBitRange.contains(entry.inputBits!) else { throw bits.error("\(entry.inputBits!)-bit inputs: activations take 1…16 bits") }
            }
            entry.mode = try fields.optional("mode")?.string()
            entry.scheme = try fields.optional("scheme")?.choice(Scheme.self)
            try fields.finish()
            if entry == Entry(layer: name) { throw node.error("sets nothing: give weight_bits, input_bits, mode or scheme") }
            entries.append(entry)
            locations[name] = node.location
        }
        if entries.isEmpty { throw layersNode.error("names no layer") }
        self.init(entries)
        self.locations = locations
    }

    /// The plan as YAML that ``init(yaml:file:)`` reads back to an equal plan, after `comment`
    /// lines (`# …`).
    public func yaml(comment: [String] = []) -> String {
        var lines = comment.map { "# \($0)" }
        lines.append("layers:")
        for entry in layers {
            var fields: [String] = []
            if let w = entry.weightBits { fields.append("weight_bits: \(w)") }
            if let a = entry.inputBits { fields.append("input_bits: \(a)") }
            if let mode = entry.mode { fields.append("mode: \(Self.quoted(mode))") }
            if let scheme = entry.scheme { fields.append("scheme: \(scheme.rawValue)") }
            lines.append("  \(Self.quoted(entry.layer)): {\(fields.joined(separator: ", "))}")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func quoted(_ word: String) -> String {
        word.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) && !word.isEmpty ? word : "\"\(word.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
    }

    /// A one-line summary: `layer1.0.conv1 W2/A3, layer3.2.conv2 W5 ternary`.
    public var summary: String {
        layers.map { entry in
            var parts = [entry.layer]
            var bits: [String] = []
            if let w = entry.weightBits { bits.append("W\(w)") }
            if let a = entry.inputBits { bits.append("A\(a)") }
            if !bits.isEmpty { parts.append(bits.joined(separator: "/")) }
            if let mode = entry.mode { parts.append(mode) }
            if let scheme = entry.scheme { parts.append(scheme.rawValue) }
            return parts.joined(separator: " ")
        }.joined(separator: ", ")
    }

    /// An error about `layer`'s entry: positioned at the entry when the plan was read from a
    /// file, else naming the layer.
    func error(_ layer: String, _ message: String) -> PrecisionPlanError {
        PrecisionPlanError(location: locations[layer], layer: layer, message: message)
    }

    /// `error` positioned at its layer's entry when it is about a layer the plan names (its
    /// description starts with `layer:`) and the plan was read from a file; else `error`.
    public func positioned(_ error: MappingError) -> any Error {
        for entry in layers where error.description.hasPrefix("\(entry.layer): ") {
            guard locations[entry.layer] != nil else { return error }
            return self.error(entry.layer, String(error.description.dropFirst(entry.layer.count + 2)))
        }
        return error
    }
}

/// A precision plan that does not fit the network or the chip: an unknown layer, input bits
/// for a layer whose inputs are not quantized, two layers that set one activation's bits
/// differently, a mode on a layer that does not run on the chip. Printed as
/// `file:line:column: layers.NAME: message` when the plan came from a file.
public struct PrecisionPlanError: Error, Sendable, Equatable, UserInputError {
    public var location: SourceLocation?
    public var layer: String
    public var message: String

    public var description: String {
        location.map { "\($0): layers.\(layer): \(message)" } ?? "precision plan, layer \(layer): \(message)"
    }
}
