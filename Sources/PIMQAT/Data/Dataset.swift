import Foundation

/// A truncated, corrupt or missing dataset file: `file: place: problem`.
public struct DatasetError: Error, Sendable, UserInputError {
    public var description: String
    public init(_ file: String, _ place: String, _ problem: String) { description = "\(file): \(place): \(problem)" }
    public init(_ description: String) { self.description = description }
}

/// Images and labels held in memory: images as bytes (N × C × H × W), normalised when batched.
public struct Dataset: Sendable {
    public var images: [UInt8]
    public var labels: [UInt8]
    public var count: Int
    public var channels: Int
    public var size: Int
    public var classes: Int
    /// Per-channel mean and standard deviation of pixel/255 used for normalisation.
    public var mean: [Float]
    public var std: [Float]

    /// The first `limit` examples.
    public func prefix(_ limit: Int?) -> Dataset {
        guard let limit, limit < count else { return self }
        return examples(0..<limit)
    }

    /// The examples in `range` (within 0…count), with this split's normalisation.
    public func examples(_ range: Range<Int>) -> Dataset {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "Dataset: examples \(range) of \(count)")
        var copy = self
        let pixels = channels * size * size
        copy.count = range.count
        copy.images = Array(images[(range.lowerBound * pixels)..<(range.upperBound * pixels)])
        copy.labels = Array(labels[range])
        return copy
    }
}

/// The per-channel mean and standard deviation of pixel/255 a network's inputs are
/// normalised with when the network names its own (an imported model's metadata, or
/// `--input-mean`/`--input-std`) in place of its dataset's: x = (pixel/255 − mean) / std.
/// One value stands for every channel.
public struct InputNormalization: Sendable, Codable, Hashable {
    public var mean: [Float]
    public var std: [Float]

    /// - Throws: ``DatasetError`` naming `place` unless both hold the same number (≥ 1) of
    ///   finite values and every std is positive.
    public init(mean: [Float], std: [Float], place: String = "input normalisation") throws(DatasetError) {
        guard !mean.isEmpty, mean.count == std.count else {
            throw DatasetError("\(place): \(mean.count) mean values and \(std.count) std values; give one of each per channel, or one for all")
        }
        guard mean.allSatisfy(\.isFinite), std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw DatasetError("\(place): means must be finite and standard deviations positive")
        }
        (self.mean, self.std) = (mean, std)
    }

    /// Parses comma-separated values (`0.2860`, or `0.4914,0.4822,0.4465`).
    public init(mean: String, std: String, place: String) throws(DatasetError) {
        func values(_ text: String, _ what: String) throws(DatasetError) -> [Float] {
            var result: [Float] = []
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let value = Float(part.trimmingCharacters(in: .whitespaces)) else {
                    throw DatasetError("\(place): \(what) '\(text)' is not a comma-separated list of numbers")
                }
                result.append(value)
            }
            return result
        }
        try self.init(mean: values(mean, "mean"), std: values(std, "std"), place: place)
    }

    /// The checkpoint and ONNX metadata entries that carry it.
    public static let meanKey = "input_mean", stdKey = "input_std"

    /// `input_mean` and `input_std` as comma-separated values.
    public var metadata: [String: String] {
        [Self.meanKey: mean.map { "\($0)" }.joined(separator: ","), Self.stdKey: std.map { "\($0)" }.joined(separator: ",")]
    }

    /// The normalisation a file's metadata names, or nil when it names none.
    /// - Throws: ``DatasetError`` naming `file` when only one of the two is given or a value is bad.
    public init?(metadata: [String: String], file: String) throws(DatasetError) {
        let (mean, std) = (metadata[Self.meanKey], metadata[Self.stdKey])
        if mean == nil, std == nil { return nil }
        guard let mean, let std else { throw DatasetError("\(file): metadata: \(Self.meanKey) and \(Self.stdKey) go together; it gives only one") }
        try self.init(mean: mean, std: std, place: "\(file): metadata \(Self.meanKey)/\(Self.stdKey)")
    }
}

extension Dataset {
    /// The dataset normalised by `normalization` instead of its own mean and std (nil: as it is).
    /// - Throws: ``DatasetError`` when `normalization` has neither one value nor one per channel.
    public func normalized(by normalization: InputNormalization?) throws(DatasetError) -> Dataset {
        guard let normalization else { return self }
        let count = normalization.mean.count
        guard count == 1 || count == channels else {
            throw DatasetError("input normalisation of \(count) channels for images of \(channels)")
        }
        var copy = self
        copy.mean = count == 1 ? Array(repeating: normalization.mean[0], count: channels) : normalization.mean
        copy.std = count == 1 ? Array(repeating: normalization.std[0], count: channels) : normalization.std
        return copy
    }
}

/// A named dataset and where its files are.
public enum DatasetName: String, Sendable, CaseIterable, Codable {
    case fashionMNIST = "fashion-mnist"
    case mnist
    case cifar10
    case cifar100

    /// The default directory: the Debian package's for Fashion-MNIST (`dataset-fashion-mnist`);
    /// Debian packages no other, so the rest need `--data-dir`.
    /// The images' channels and side, and the class count, as published for the dataset.
    public var shape: (channels: Int, size: Int, classes: Int) {
        switch self {
        case .fashionMNIST, .mnist: (1, 28, 10)
        case .cifar10: (3, 32, 10)
        case .cifar100: (3, 32, 100)
        }
    }

    public var defaultDirectory: String? {
        self == .fashionMNIST ? "/usr/share/datasets/fashion-mnist" : nil
    }

    /// Loads the training or test split from `directory` (default: ``defaultDirectory``): its
    /// first `limit` examples (≥ 1), or all of them; only what is kept is read and inflated.
    /// - Throws: ``DatasetError`` for a missing, corrupt or empty file, a limit below 1, or
    ///   ``MemoryBudgetError`` for a split larger than the memory available.
    public func load(train: Bool, directory: String?, limit: Int? = nil) throws -> Dataset {
        if let limit, limit < 1 {
            throw DatasetError("a limit of \(limit) examples leaves no \(train ? "training" : "test") data; give at least 1")
        }
        guard let directory = directory ?? defaultDirectory else {
            throw DatasetError("dataset \(rawValue) has no default location; give --data-dir with its binary files")
        }
        switch self {
        case .fashionMNIST, .mnist:
            let prefix = train ? "train" : "t10k"
            let images = try IDXFile.read(path: IDXFile.locate("\(directory)/\(prefix)-images-idx3-ubyte"), limit: limit)
            let labels = try IDXFile.read(path: IDXFile.locate("\(directory)/\(prefix)-labels-idx1-ubyte"), limit: limit)
            guard images.dimensions.count == 3, labels.dimensions.count == 1 else {
                throw DatasetError(images.path, "header", "expected images N×H×W and labels N, got \(images.dimensions) and \(labels.dimensions)")
            }
            guard images.dimensions[0] == labels.dimensions[0] else {
                throw DatasetError(labels.path, "header", "\(labels.dimensions[0]) labels for \(images.dimensions[0]) images")
            }
            guard images.dimensions[1] == images.dimensions[2] else {
                throw DatasetError(images.path, "header", "images must be square, got \(images.dimensions[1])×\(images.dimensions[2])")
            }
            guard images.dimensions[0] >= 1 else { throw DatasetError(images.path, "header", "the file holds no images") }
            guard ModelArchitecture.sizeRange.contains(images.dimensions[1]) else {
                throw DatasetError(images.path, "header", "images of \(images.dimensions[1])×\(images.dimensions[2]) pixels; the networks take \(ModelArchitecture.sizeRange.lowerBound)…\(ModelArchitecture.sizeRange.upperBound)")
            }
            if let bad = labels.values.firstIndex(where: { $0 > 9 }) {
                throw DatasetError(labels.path, "label \(bad)", "value \(labels.values[bad]) is not a class 0…9")
            }
            let (mean, std): (Float, Float) = self == .mnist ? (0.1307, 0.3081) : (0.2860, 0.3530)
            return Dataset(images: images.values, labels: labels.values, count: images.items, channels: 1,
                           size: images.dimensions[1], classes: 10, mean: [mean], std: [std])
        case .cifar10:
            let files = train ? (1...5).map { "\(directory)/data_batch_\($0).bin" } : ["\(directory)/test_batch.bin"]
            return try CIFARFile.read(paths: files, labelBytes: 1, classes: 10).prefix(limit)
        case .cifar100:
            return try CIFARFile.read(paths: ["\(directory)/\(train ? "train" : "test").bin"], labelBytes: 2, classes: 100).prefix(limit)
        }
    }
}

/// The IDX format of MNIST and Fashion-MNIST: big-endian magic (0, 0, type 0x08 = ubyte,
/// dimension count), big-endian 32-bit sizes, then the bytes; gzip-compressed or not.
public enum IDXFile {
    public struct Contents {
        public var path: String
        /// The sizes the header declares.
        public var dimensions: [Int]
        /// Items (along the first dimension) read: all, or the limit asked for.
        public var items: Int
        /// The bytes of those items.
        public var values: [UInt8]
    }

    /// The file itself, or its `.gz` sibling.
    static func locate(_ path: String) -> String {
        FileManager.default.fileExists(atPath: path) ? path : path + ".gz"
    }

    /// Reads the file's first `limit` items (all without a limit). A gzip file is inflated
    /// only as far as those items go, after its header has been checked against the memory
    /// available.
    public static func read(path: String, limit: Int? = nil) throws -> Contents {
        guard let raw = FileManager.default.contents(atPath: path) else {
            throw DatasetError(path, "file", "cannot be read (Fashion-MNIST: apt-get install dataset-fashion-mnist; other datasets: --data-dir)")
        }
        guard Gzip.isCompressed(raw) else { return try parse([UInt8](raw), path: path, limit: limit) }
        func inflate(_ bytes: Int) throws(DatasetError) -> [UInt8] {
            do {
                return [UInt8](try Gzip.decompress(raw, limit: bytes))
            } catch {
                throw DatasetError(path, "gzip", error.description)
            }
        }
        // The header first (magic and up to four sizes), then exactly the bytes needed.
        let (dimensions, start) = try header(inflate(20), path: path)
        let items = min(dimensions[0], limit ?? dimensions[0])
        let needed = Double(start) + Double(items) * Double(dimensions.dropFirst().reduce(1, *))
        try MemoryBudget.check(needed, for: "\(path) (\(items) of \(dimensions.map(String.init).joined(separator: "×")))")
        return try parse(inflate(Int(needed) + 1), path: path, limit: limit)
    }

    /// The sizes and the offset of the data; sizes whose product overflows are refused.
    static func header(_ bytes: [UInt8], path: String) throws(DatasetError) -> (dimensions: [Int], start: Int) {
        guard bytes.count >= 4 else { throw DatasetError(path, "header", "shorter than the 4-byte magic number") }
        guard bytes[0] == 0, bytes[1] == 0 else { throw DatasetError(path, "magic", "not an IDX file (first bytes \(bytes[0]), \(bytes[1]))") }
        guard bytes[2] == 0x08 else { throw DatasetError(path, "magic", "element type 0x\(String(bytes[2], radix: 16)) is not unsigned bytes (0x08)") }
        let rank = Int(bytes[3])
        guard (1...4).contains(rank) else { throw DatasetError(path, "magic", "\(rank) dimensions") }
        guard bytes.count >= 4 + 4 * rank else { throw DatasetError(path, "header", "truncated in the sizes") }
        let dimensions = (0..<rank).map { d in
            (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) }
        }
        let (_, overflow) = dimensions.reduce((1, false)) { partial, d in
            let (product, o) = partial.0.multipliedReportingOverflow(by: d)
            return (product, partial.1 || o)
        }
        guard !overflow else { throw DatasetError(path, "header", "sizes \(dimensions) overflow") }
        return (dimensions, 4 + 4 * rank)
    }

    /// The first `limit` items of an IDX file's bytes (all without a limit, and then the
    /// file must hold exactly what its header declares).
    public static func parse(_ bytes: [UInt8], path: String, limit: Int? = nil) throws(DatasetError) -> Contents {
        let (dimensions, start) = try header(bytes, path: path)
        let count = dimensions.reduce(1, *), itemBytes = dimensions.dropFirst().reduce(1, *)
        let items = min(dimensions[0], limit ?? dimensions[0])
        if items == dimensions[0] {
            guard bytes.count - start == count else {
                throw DatasetError(path, "data", "sizes \(dimensions) need \(count) bytes, the file has \(bytes.count - start)")
            }
        } else {
            guard bytes.count - start >= items * itemBytes else {
                throw DatasetError(path, "data", "\(items) items of sizes \(dimensions) need \(items * itemBytes) bytes, the file has \(bytes.count - start)")
            }
        }
        return Contents(path: path, dimensions: dimensions, items: items, values: Array(bytes[start..<(start + items * itemBytes)]))
    }
}

/// CIFAR binary batches: records of label byte(s) and 3 × 32 × 32 pixel bytes (R, G, B planes).
/// CIFAR-100 records carry a coarse and a fine label; the fine one is used.
public enum CIFARFile {
    public static func read(paths: [String], labelBytes: Int, classes: Int) throws(DatasetError) -> Dataset {
        let record = labelBytes + 3072
        var images: [UInt8] = [], labels: [UInt8] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DatasetError(path, "file", "cannot be read")
            }
            guard data.count > 0, data.count % record == 0 else {
                throw DatasetError(path, "data", "\(data.count) bytes is not a whole number of \(record)-byte records")
            }
            let bytes = [UInt8](data)
            images.reserveCapacity(images.count + bytes.count)
            for offset in stride(from: 0, to: bytes.count, by: record) {
                let label = bytes[offset + labelBytes - 1]
                guard Int(label) < classes else {
                    throw DatasetError(path, "record \(offset / record)", "label \(label) is not a class 0…\(classes - 1)")
                }
                labels.append(label)
                images.append(contentsOf: bytes[(offset + labelBytes)..<(offset + record)])
            }
        }
        return Dataset(images: images, labels: labels, count: labels.count, channels: 3, size: 32, classes: classes,
                       mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616])
    }
}
