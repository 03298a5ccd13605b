/// A chip, scheme and precision that do not fit together (a user choice, reported as one line).
public struct MappingError: Error, Sendable, Hashable, UserInputError {
    public var description: String

    public init(_ description: String) { self.description = description }
}
