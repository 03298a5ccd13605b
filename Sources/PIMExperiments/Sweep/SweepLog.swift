import Foundation
import PIMSim

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

    /// What reading does with an unterminated last line (a write cut off by a kill).
    public enum UnfinishedLine: Sendable {
        /// Ignore it.
        case drop
        /// Ignore it and cut it from the file (before appending to it).
        case cut
        /// Throw: the file is not a finished run's.
        case refuse
    }

    /// The records of a results file (none if it does not exist).
    /// - Throws: ``SweepError`` for a line that is not a record, or an unfinished last line
    ///   with ``UnfinishedLine/refuse``.
    public static func read(_ path: String, unfinished: UnfinishedLine = .drop) throws -> [SweepRecord] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else { throw SweepError("\(path): cannot be read") }
        var records: [SweepRecord] = []
        var start = data.startIndex
        var line = 1
        while start < data.endIndex {
            guard let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                if unfinished == .refuse {
                    throw SweepError("\(path):\(line): the last line is cut off (a run killed while writing); resume the shard with `sweep run --resume` first")
                }
                if unfinished == .cut {
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
    ///
    /// With `spec`, every one of its runs must be there, and nothing else; without it, the
    /// grid indices from 0 to the highest read must all be there (runs after the highest
    /// cannot be seen). `allowIncomplete` returns what is there instead of throwing for
    /// missing runs.
    /// - Throws: ``SweepError`` for files of different specs, conflicting duplicates, a
    ///   cut-off last line, or missing runs (naming how many and the first of them).
    public static func merge(_ files: [String], spec expected: SweepSpec? = nil, allowIncomplete: Bool = false) throws -> (records: [SweepRecord], missing: [String]) {
        var byID: [String: SweepRecord] = [:]
        var spec: (hash: String, file: String)? = expected.map { ($0.specHash, $0.file) }
        for file in files {
            guard FileManager.default.fileExists(atPath: file) else { throw SweepError("\(file): no such results file") }
            for record in try read(file, unfinished: .refuse) {
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
        let records = byID.values.sorted { $0.index < $1.index }
        let missing: [String]
        if let expected {
            let tasks = expected.tasks
            let ids = Set(tasks.map(\.id))
            if let stray = records.first(where: { !ids.contains($0.id) }) {
                throw SweepError("record \(stray.id) is not a run of \(expected.file)")
            }
            missing = tasks.filter { byID[$0.id] == nil }.map(\.id)
        } else {
            let present = Set(records.map(\.index))
            missing = (0..<(records.last.map { $0.index + 1 } ?? 0)).filter { !present.contains($0) }.map { "index \($0)" }
        }
        if !missing.isEmpty && !allowIncomplete {
            let shown = missing.prefix(5).joined(separator: ", ")
            throw SweepError("\(missing.count) run(s) missing from \(files.joined(separator: ", ")): \(shown)\(missing.count > 5 ? ", …" : ""); finish the shards, or merge with --allow-incomplete")
        }
        return (records, missing)
    }

    /// Writes records in one step (``OutputFile``).
    public static func write(_ records: [SweepRecord], to path: String) throws {
        var data = Data()
        for record in records {
            data.append(try line(record))
            data.append(UInt8(ascii: "\n"))
        }
        try OutputFile.write(data, to: path)
    }
}
