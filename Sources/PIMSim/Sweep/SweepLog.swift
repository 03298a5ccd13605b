import Foundation

/// A results file that is not what a sweep command expects (one line, naming file and place).
public struct SweepError: Error, Sendable, UserInputError {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Where a sweep record came from.
public struct SweepProvenance: Sendable, Codable, Equatable {
    /// FNV-1a 64 of the spec file.
    public var specHash: String
    /// FNV-1a 64 of the base chip file's text and the point's overrides.
    public var chipHash: String
    public var toolVersion: String
    /// The git revision of the spec's directory, when it is in a git checkout.
    public var gitRevision: String?

    enum CodingKeys: String, CodingKey {
        case specHash = "spec_hash", chipHash = "chip_hash", toolVersion = "tool_version", gitRevision = "git_revision"
    }

    public init(specHash: String, chipHash: String, toolVersion: String, gitRevision: String?) {
        self.specHash = specHash
        self.chipHash = chipHash
        self.toolVersion = toolVersion
        self.gitRevision = gitRevision
    }
}

/// One run of a sweep: one JSON line of the results file. Holds no wall times, so the same
/// spec always gives the same records.
public struct SweepRecord: Sendable, Codable, Equatable {
    public var id: String
    /// Position in the whole grid; merged files are sorted by it.
    public var index: Int
    public var point: Int
    /// Axis path → value at this point.
    public var values: [String: SweepValue]
    public var seed: UInt64
    public var chipSeed: UInt64
    public var metrics: [String: Double]
    public var provenance: SweepProvenance

    enum CodingKeys: String, CodingKey {
        case id, index, point, values, seed, chipSeed = "chip_seed", metrics, provenance
    }

    public init(task: SweepTask, values: [String: SweepValue], metrics: [String: Double], provenance: SweepProvenance) {
        id = task.id
        index = task.index
        point = task.point
        self.values = values
        seed = task.seed
        chipSeed = task.chipSeed
        self.metrics = metrics
        self.provenance = provenance
    }
}

/// JSON Lines results: one record per line, appended and flushed one at a time, so a run
/// killed at any moment (kill -9 included) leaves every finished record intact and at most
/// one cut-off last line, which reading drops.
public enum SweepLog {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static let decoder = JSONDecoder()

    /// The line of a record (no newline).
    public static func line(_ record: SweepRecord) throws -> Data {
        try encoder.encode(record)
    }

    /// The records of a results file (none if it does not exist). An unterminated last line —
    /// a write cut off by a kill — is dropped, and with `repair` cut from the file too.
    /// - Throws: ``SweepError`` for a line that is not a record.
    public static func read(_ path: String, repair: Bool = false) throws -> [SweepRecord] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else { throw SweepError("\(path): cannot be read") }
        var records: [SweepRecord] = []
        var start = data.startIndex
        var line = 1
        while start < data.endIndex {
            guard let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                if repair {
                    do {
                        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                        try handle.truncate(atOffset: UInt64(start - data.startIndex))
                        try handle.close()
                    } catch {
                        throw SweepError("\(path): cannot cut the unfinished last line (\((error as NSError).localizedDescription))")
                    }
                }
                break
            }
            do {
                records.append(try decoder.decode(SweepRecord.self, from: data[start..<end]))
            } catch {
                throw SweepError("\(path):\(line): not a sweep record")
            }
            start = end + 1
            line += 1
        }
        return records
    }

    /// Appends one record as one line and flushes it to the disk.
    public static func append(_ record: SweepRecord, to path: String) throws {
        var bytes = try line(record)
        bytes.append(UInt8(ascii: "\n"))
        do {
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else { throw SweepError("\(path): cannot be created") }
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: bytes)
            try handle.synchronize()
        } catch let error as SweepError {
            throw error
        } catch {
            throw SweepError("\(path): cannot append a record (\((error as NSError).localizedDescription))")
        }
    }

    /// The records of several results files of one spec, each id once, in grid order.
    /// - Throws: ``SweepError`` for files of different specs or conflicting duplicates.
    public static func merge(_ files: [String]) throws -> [SweepRecord] {
        var byID: [String: SweepRecord] = [:]
        var spec: (hash: String, file: String)?
        for file in files {
            guard FileManager.default.fileExists(atPath: file) else { throw SweepError("\(file): no such results file") }
            for record in try read(file) {
                if let spec, spec.hash != record.provenance.specHash {
                    throw SweepError("\(file): record \(record.id) comes from spec \(record.provenance.specHash), \(spec.file) from \(spec.hash): shards of different specs cannot be merged")
                }
                spec = spec ?? (record.provenance.specHash, file)
                if let existing = byID[record.id], existing != record {
                    throw SweepError("\(file): record \(record.id) differs from the one already read")
                }
                byID[record.id] = record
            }
        }
        return byID.values.sorted { $0.index < $1.index }
    }

    /// Writes records atomically (temporary file, then rename).
    public static func write(_ records: [SweepRecord], to path: String) throws {
        var data = Data()
        for record in records {
            data.append(try line(record))
            data.append(UInt8(ascii: "\n"))
        }
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw SweepError("\(path): cannot be written (\((error as NSError).localizedDescription))")
        }
    }
}
