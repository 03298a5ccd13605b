import Yams

/// Shared state of one configuration file being read: its name, and what the reader has
/// learned about each field (provenance, location).
package final class ConfigReadContext {
    package let file: String
    package var provenance: [String: Provenance] = [:]
    package var locations: [String: SourceLocation] = [:]

    package init(file: String) { self.file = file }
}

/// A YAML node being read as part of a typed configuration, with its field path.
///
/// Every accessor either returns a value of the requested type or throws a ``ConfigError``
/// naming the file, line, column and field path. Scalars may be wrapped as
/// `{value: …, source: …, status: …}`; the wrapper is unwrapped here and its provenance
/// recorded, so every field of every configuration accepts it.
package struct ConfigNode {
    package let node: Node
    package let path: String
    package let context: ConfigReadContext

    package var location: SourceLocation {
        let mark = node.mark
        return SourceLocation(file: context.file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    package func error(_ message: String) -> ConfigError {
        ConfigError(location, path: path.isEmpty ? "(top level)" : path, message)
    }

    /// Parses `text` and returns its root node; an empty document is an error.
    package static func parse(_ text: String, file: String) throws(ConfigError) -> ConfigNode {
        let context = ConfigReadContext(file: file)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigNode.syntaxError(error, file: file)
        } catch {
            throw ConfigError(SourceLocation(file: file, line: 1, column: 1), path: "yaml", "\(error)")
        }
        guard let root else {
            throw ConfigError(SourceLocation(file: file, line: 1, column: 1), path: "yaml", "the file is empty")
        }
        return ConfigNode(node: root, path: "", context: context)
    }

    private static func syntaxError(_ error: YamlError, file: String) -> ConfigError {
        func at(_ mark: Mark, _ problem: String, _ context: YamlError.Context?) -> ConfigError {
            var message = problem
            if let context { message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))" }
            return ConfigError(SourceLocation(file: file, line: mark.line, column: mark.column), path: "yaml", message)
        }
        switch error {
        case let .scanner(context, problem, mark, _),
             let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            return at(mark, problem, context)
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
            return ConfigError(SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                               path: "yaml", "duplicate key \(keys) in one mapping")
        case let .reader(problem, offset, _, yaml):
            var line = 1, column = 1
            if let offset {
                for scalar in yaml.unicodeScalars.prefix(offset) {
                    if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
                }
            }
            return ConfigError(SourceLocation(file: file, line: line, column: column), path: "yaml", problem)
        default:
            return ConfigError(SourceLocation(file: file, line: 1, column: 1), path: "yaml", "\(error)")
        }
    }

    // MARK: - Children

    package func child(_ node: Node, key: String) -> ConfigNode {
        ConfigNode(node: node, path: path.isEmpty ? key : "\(path).\(key)", context: context)
    }

    /// Reads this node as a mapping whose keys the caller then takes one by one.
    package func mapping() throws(ConfigError) -> ConfigMapping {
        guard case let .mapping(mapping) = node else { throw error("expected a mapping, got \(kind)") }
        var entries: [(key: String, keyLocation: SourceLocation, value: Node)] = []
        for (key, value) in mapping {
            guard case let .scalar(scalar) = key else {
                throw ConfigNode(node: key, path: path, context: context).error("keys must be plain words")
            }
            let mark = key.mark
            entries.append((scalar.string, SourceLocation(file: context.file, line: mark?.line ?? 1, column: mark?.column ?? 1), value))
        }
        return ConfigMapping(owner: self, entries: entries)
    }

    /// Reads this node as a list (a bare value or a `{value: […]}` wrapper).
    package func list() throws(ConfigError) -> [ConfigNode] {
        let node = try unwrapped()
        guard case let .sequence(sequence) = node.node else { throw node.error("expected a list, got \(node.kind)") }
        return sequence.enumerated().map { index, element in
            ConfigNode(node: element, path: "\(node.path)[\(index)]", context: context)
        }
    }

    // MARK: - Scalars

    package func int() throws(ConfigError) -> Int {
        let node = try unwrapped()
        guard case let .scalar(scalar) = node.node, scalar.style == .plain,
              node.node.tag == Tag(.int), let value = Int.construct(from: scalar) else {
            throw node.error("expected an integer, got \(node.kind)")
        }
        return value
    }

    package func double() throws(ConfigError) -> Double {
        let node = try unwrapped()
        guard case let .scalar(scalar) = node.node, scalar.style == .plain,
              node.node.tag == Tag(.int) || node.node.tag == Tag(.float),
              let value = Double(scalar.string.replacingOccurrences(of: "_", with: "")) ?? Double.construct(from: scalar)
        else {
            throw node.error("expected a number, got \(node.kind)")
        }
        guard value.isFinite else { throw node.error("must be a finite number, got \(scalar.string)") }
        return value
    }

    package func bool() throws(ConfigError) -> Bool {
        let node = try unwrapped()
        guard case let .scalar(scalar) = node.node, scalar.style == .plain, node.node.tag == Tag(.bool),
              let value = Bool.construct(from: scalar) else {
            throw node.error("expected true or false, got \(node.kind)")
        }
        return value
    }

    /// Reads a string. Plain scalars that YAML would read as numbers or booleans are accepted
    /// as their text (an id `7nm`, a venue `2021`), since the field asks for text.
    package func string() throws(ConfigError) -> String {
        let node = try unwrapped()
        guard case let .scalar(scalar) = node.node, node.node.tag != Tag(.null) else {
            throw node.error("expected text, got \(node.kind)")
        }
        return scalar.string
    }

    /// Reads one of a fixed set of words.
    package func choice<Choice: RawRepresentable & CaseIterable>(_: Choice.Type = Choice.self) throws(ConfigError) -> Choice
    where Choice.RawValue == String {
        let node = try unwrapped()
        let allowed = Choice.allCases.map(\.rawValue)
        guard case let .scalar(scalar) = node.node, node.node.tag != Tag(.null) else {
            throw node.error("expected one of \(allowed.joined(separator: ", ")), got \(node.kind)")
        }
        guard let value = Choice(rawValue: scalar.string) else {
            var message = "'\(scalar.string)' is not one of \(allowed.joined(separator: ", "))"
            if let near = ConfigMapping.nearest(scalar.string, in: allowed) { message += " (did you mean '\(near)'?)" }
            throw node.error(message)
        }
        return value
    }

    // MARK: - Provenance wrapper

    /// Returns the node itself, or the `value` of a `{value, source, status, note}` wrapper,
    /// recording the wrapper's provenance under this node's path.
    package func unwrapped() throws(ConfigError) -> ConfigNode {
        context.locations[path] = location
        guard case let .mapping(mapping) = node, mapping.keys.contains(where: { $0.string == "value" }) else {
            return self
        }
        let fields = try self.mapping()
        let value = try fields.required("value")
        var provenance = Provenance()
        provenance.source = try fields.optional("source")?.string()
        provenance.status = try fields.optional("status")?.choice(Provenance.Status.self)
        provenance.note = try fields.optional("note")?.string()
        try fields.finish()
        if case .mapping = value.node { throw value.error("a value wrapper holds a single value, got a mapping") }
        context.provenance[path] = provenance
        let inner = ConfigNode(node: value.node, path: path, context: context)
        context.locations[path] = inner.location
        return inner
    }

    /// A short description of what this node holds, for error messages.
    package var kind: String {
        switch node {
        case let .scalar(scalar):
            if node.tag == Tag(.null) { return "nothing (null)" }
            let type: String
            switch node.tag {
            case Tag(.int): type = "integer"
            case Tag(.float): type = "number"
            case Tag(.bool): type = "boolean"
            default: type = "text"
            }
            return "\(type) '\(scalar.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}

/// The keys of one YAML mapping, taken one by one; ``finish()`` rejects any key not taken.
package final class ConfigMapping {
    package let owner: ConfigNode
    private let entries: [(key: String, keyLocation: SourceLocation, value: Node)]
    private var taken: Set<String> = []

    package init(owner: ConfigNode, entries: [(key: String, keyLocation: SourceLocation, value: Node)]) {
        self.owner = owner
        self.entries = entries
    }

    package var keys: [String] { entries.map(\.key) }

    package func optional(_ key: String) -> ConfigNode? {
        taken.insert(key)
        guard let entry = entries.first(where: { $0.key == key }) else { return nil }
        return owner.child(entry.value, key: key)
    }

    package func required(_ key: String) throws(ConfigError) -> ConfigNode {
        guard let node = optional(key) else {
            // A misspelt key is the likelier story than a forgotten one: point at the typo.
            let strays = entries.filter { !taken.contains($0.key) }
            if let near = Self.nearest(key, in: strays.map(\.key)), let stray = strays.first(where: { $0.key == near }) {
                let path = owner.path.isEmpty ? near : "\(owner.path).\(near)"
                throw ConfigError(stray.keyLocation, path: path, "unknown field '\(near)' (did you mean '\(key)'?)")
            }
            let path = owner.path.isEmpty ? key : "\(owner.path).\(key)"
            throw ConfigError(owner.location, path: path, "missing required field '\(key)'")
        }
        return node
    }

    /// Every entry, in file order, for mappings whose keys are names (modes, sweep axes).
    package func all() -> [(key: String, node: ConfigNode)] {
        entries.map { entry in
            taken.insert(entry.key)
            return (entry.key, owner.child(entry.value, key: entry.key))
        }
    }

    /// Throws on the first key that no reader asked for: a typo or a field this version does not know.
    package func finish() throws(ConfigError) {
        let known = Array(taken).sorted()
        for entry in entries where !taken.contains(entry.key) {
            let path = owner.path.isEmpty ? entry.key : "\(owner.path).\(entry.key)"
            var message = "unknown field '\(entry.key)'"
            if let near = Self.nearest(entry.key, in: known) {
                message += " (did you mean '\(near)'?)"
            } else {
                message += "; known fields here: \(known.joined(separator: ", "))"
            }
            throw ConfigError(entry.keyLocation, path: path, message)
        }
    }

    /// The closest candidate within an edit distance of 2 (or a third of the word), if any.
    package static func nearest(_ word: String, in candidates: [String]) -> String? {
        let limit = max(2, word.count / 3)
        let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= limit else { return nil }
        return best.0
    }

    /// Levenshtein distance between two strings, counted in Unicode scalars.
    package static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
