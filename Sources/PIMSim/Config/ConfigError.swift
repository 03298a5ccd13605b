/// A place in a configuration file: 1-based line and column (columns count Unicode scalars).
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// A problem in a file a user wrote (a chip description, a sweep spec).
///
/// Printed as one line, `file:line:column: field.path: message`, which editors and CI logs
/// turn into a link to the place.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var location: SourceLocation
    /// The dotted field path (`adc.range.max`, `modes.ternary.adc.bits`, `reported.accuracy[1]`),
    /// or a short category such as `yaml` for syntax errors.
    public var path: String
    public var message: String

    public init(_ location: SourceLocation, path: String, _ message: String) {
        self.location = location
        self.path = path
        self.message = message
    }

    public var description: String { "\(location): \(path): \(message)" }
}
