import Foundation

/// A chip named on the command line that cannot be found.
public struct ChipLookupError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}

/// The preset chip files: `chips/*.yaml`, found by id (`cap-ram`) or given as a path.
///
/// Presets are searched in order: the directories in `PIMSIM_CHIPS_PATH` (colon-separated),
/// `./chips`, a `chips` folder beside or above the running executable (a source checkout's
/// `.build/…/pimctl` finds the checkout's `chips/`), and `../share/pimctl/chips` next to an
/// installed executable.
public struct ChipCatalog: Sendable {
    public var directories: [String]

    public init(directories: [String]) {
        self.directories = directories
    }

    /// The standard search path for an executable at `executablePath` (by default the running
    /// one, found through `/proc/self/exe`, so a binary started through `PATH` finds its presets).
    public static func standard(executablePath: String = ToolVersion.executablePath) -> ChipCatalog {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["PIMSIM_CHIPS_PATH"] {
            candidates += path.split(separator: ":").map(String.init)
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/chips")
        var directory = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            candidates.append(directory.appendingPathComponent("chips").path)
            candidates.append(directory.appendingPathComponent("share/pimctl/chips").path)
            let parent = directory.deletingLastPathComponent()
            if parent.path == directory.path { break }
            directory = parent
        }
        var seen = Set<String>()
        let existing = candidates.filter { path in
            var isDirectory: ObjCBool = false
            let standardized = URL(fileURLWithPath: path).standardizedFileURL.path
            guard FileManager.default.fileExists(atPath: standardized, isDirectory: &isDirectory), isDirectory.boolValue,
                  seen.insert(standardized).inserted else { return false }
            return true
        }
        return ChipCatalog(directories: existing.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
    }

    /// One preset file and what loading it gave.
    public struct Entry: Sendable {
        public var path: String
        public var result: Result<ChipConfig, ConfigError>
    }

    /// Every `.yaml`/`.yml` file of the first directory that has any, sorted by name.
    public func entries() -> [Entry] {
        for directory in directories {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            let files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            if files.isEmpty { continue }
            return files.map { name in
                let path = "\(directory)/\(name)"
                return Entry(path: path, result: Result { () throws(ConfigError) in try ChipConfig(contentsOf: path) })
            }
        }
        return []
    }

    /// Loads a chip given as a file path or a preset id, optionally at one of its operating
    /// points: `ID@POINT` or `PATH@POINT` (`jia-jssc2020@0.85V`).
    ///
    /// An argument that names an existing file, contains `/` or ends in `.yaml`/`.yml` is a path.
    /// - Throws: ``ConfigError`` for a bad file, ``ChipLookupError`` for an unknown id or point.
    public func load(_ specification: String) throws -> (chip: ChipConfig, path: String) {
        guard !FileManager.default.fileExists(atPath: specification),
              let at = specification.lastIndex(of: "@"), at != specification.startIndex else {
            return try loadNominal(specification)
        }
        let point = String(specification[specification.index(after: at)...])
        let (chip, path) = try loadNominal(String(specification[..<at]))
        guard let placed = chip.at(operatingPoint: point) else {
            let names = chip.operatingPoints.map(\.name)
            throw ChipLookupError(description: names.isEmpty
                ? "chip '\(chip.meta.id)' has no operating points besides its nominal one; drop '@\(point)'"
                : "chip '\(chip.meta.id)' has no operating point '\(point)'; points: \(names.joined(separator: ", "))")
        }
        return (placed, path)
    }

    private func loadNominal(_ idOrPath: String) throws -> (chip: ChipConfig, path: String) {
        let looksLikePath = idOrPath.contains("/") || idOrPath.hasSuffix(".yaml") || idOrPath.hasSuffix(".yml")
        if looksLikePath || FileManager.default.fileExists(atPath: idOrPath) {
            return (try ChipConfig(contentsOf: idOrPath), idOrPath)
        }
        let entries = self.entries()
        for entry in entries {
            let stem = URL(fileURLWithPath: entry.path).deletingPathExtension().lastPathComponent
            switch entry.result {
            case let .success(chip) where chip.meta.id == idOrPath:
                return (chip, entry.path)
            case let .failure(error) where stem == idOrPath:
                throw error
            default:
                continue
            }
        }
        let ids = entries.compactMap { try? $0.result.get().meta.id }
        var message = "unknown chip '\(idOrPath)'"
        if let near = ConfigMapping.nearest(idOrPath, in: ids) { message += " (did you mean '\(near)'?)" }
        if ids.isEmpty {
            message += "; no preset directory found (searched: \(directories.isEmpty ? "none" : directories.joined(separator: ", "))); give a file path or set PIMSIM_CHIPS_PATH"
        } else {
            message += "; presets: \(ids.joined(separator: ", "))"
        }
        throw ChipLookupError(description: message)
    }
}
