/// An error caused by something a user gave — a file, a flag value, a name — rather than by
/// the program. Command-line tools print its description as one line and exit non-zero.
///
/// The description names the file, the place and the problem, and holds no line breaks.
public protocol UserInputError: Error, CustomStringConvertible {}

extension ConfigError: UserInputError {}
extension ChipLookupError: UserInputError {}
