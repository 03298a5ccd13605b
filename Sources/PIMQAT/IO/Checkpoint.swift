import Foundation

/// A checkpoint that cannot be read or does not fit the model: `file: place: problem`.
public struct CheckpointError: Error, Sendable, UserInputError {
    public var description: String
    public init(_ file: String, _ place: String, _ problem: String) { description = "\(file): \(place): \(problem)" }
}

/// Named F32 tensors and string metadata in the safetensors format: an 8-byte little-endian
/// header length, a JSON header mapping each name to `{dtype, shape, data_offsets}` plus a
/// `__metadata__` object of strings, then the raw little-endian tensor bytes. PyTorch and other
/// tools read and write the same files.
public struct Checkpoint: Sendable {
    public var tensors: [String: Tensor]
    public var metadata: [String: String]

    public init(tensors: [String: Tensor], metadata: [String: String]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    // MARK: - Writing

    /// The file's bytes: tensors in name order, contiguous, header padded to 8 bytes.
    public func data() throws -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let tensor = tensors[name]!
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + 4 * tensor.count]]
            offset += 4 * tensor.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data()
        // Typed buffer appends: the generic Sequence append casts each chunk dynamically,
        // which is slow per element and has crashed under concurrent use.
        [UInt64(json.count).littleEndian].withUnsafeBufferPointer { data.append($0) }
        data.append(json)
        data.reserveCapacity(data.count + offset)
        for name in names {
            tensors[name]!.data.map { $0.bitPattern.littleEndian }.withUnsafeBufferPointer { data.append($0) }
        }
        return data
    }

    /// Writes in one step (``OutputFile``: a regular file is replaced atomically).
    public func write(to path: String) throws {
        let bytes: Data
        do {
            bytes = try data()
        } catch {
            throw CheckpointError(path, "header", "cannot be encoded (\((error as NSError).localizedDescription))")
        }
        try OutputFile.write(bytes, to: path)
    }

    // MARK: - Reading

    public init(contentsOf path: String) throws(CheckpointError) {
        guard let data = FileManager.default.contents(atPath: path) else { throw CheckpointError(path, "file", "cannot be read") }
        try self.init(data: data, file: path)
    }

    public init(data: Data, file: String) throws(CheckpointError) {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw CheckpointError(file, "header", "shorter than the 8-byte header length") }
        let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        guard length <= UInt64(bytes.count - 8), length <= 100_000_000 else {
            throw CheckpointError(file, "header", "declares \(length) bytes of header, the file has \(bytes.count - 8) after the length")
        }
        let headerEnd = 8 + Int(length)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])), let header = object as? [String: Any] else {
            throw CheckpointError(file, "header", "is not a JSON object")
        }
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let dictionary = raw as? [String: Any], dictionary.values.allSatisfy({ $0 is String }) else {
                throw CheckpointError(file, "__metadata__", "must map names to strings")
            }
            metadata = dictionary.mapValues { $0 as! String }
        }
        let buffer = bytes.count - headerEnd
        var tensors: [String: Tensor] = [:]
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any] else { throw CheckpointError(file, name, "is not a tensor entry") }
            guard let dtype = entry["dtype"] as? String else { throw CheckpointError(file, name, "has no dtype") }
            guard dtype == "F32" else { throw CheckpointError(file, name, "dtype \(dtype) is not supported (F32)") }
            guard let shape = entry["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }) else {
                throw CheckpointError(file, name, "shape is not a list of sizes")
            }
            guard let offsets = entry["data_offsets"] as? [Int], offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw CheckpointError(file, name, "data_offsets is not [begin, end]")
            }
            // Sizes come from the file: multiply without trapping on overflow.
            var count = 1
            for dimension in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow, product <= Int(Int32.max) else { throw CheckpointError(file, name, "shape \(shape) is too large") }
                count = product
            }
            guard offsets[1] - offsets[0] == 4 * count else {
                throw CheckpointError(file, name, "shape \(shape) needs \(4 * count) bytes, data_offsets give \(offsets[1] - offsets[0])")
            }
            guard offsets[1] <= buffer else {
                throw CheckpointError(file, name, "data_offsets end at \(offsets[1]) but the data has \(buffer) bytes (truncated file?)")
            }
            ranges.append((offsets[0], offsets[1], name))
            var values = [Float](repeating: 0, count: count)
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress! + headerEnd + offsets[0]
                for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: (base + 4 * i).loadUnaligned(as: UInt32.self))) }
            }
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw CheckpointError(file, name, "element \(bad) is \(values[bad]), not finite")
            }
            tensors[name] = Tensor(shape: shape, data: values)
        }
        ranges.sort { $0.0 < $1.0 }
        for (a, b) in zip(ranges, ranges.dropFirst()) where a.1 > b.0 {
            throw CheckpointError(file, b.2, "overlaps \(a.2)")
        }
        self.init(tensors: tensors, metadata: metadata)
    }

    // MARK: - Models

    /// The parameters and buffers of `model`, plus metadata.
    public init(model: Graph, metadata: [String: String], optimizer: SGD? = nil) {
        var tensors: [String: Tensor] = [:]
        for parameter in model.parameters { tensors[parameter.name] = parameter.value }
        for (name, value) in model.buffers { tensors[name] = value }
        if let optimizer {
            for (parameter, velocity) in zip(optimizer.parameters, optimizer.velocities) {
                tensors["optimizer.momentum.\(parameter.name)"] = velocity
            }
        }
        var full = metadata
        full["tool_version"] = ToolVersion.current
        self.init(tensors: tensors, metadata: full)
    }

    /// Copies the checkpoint into `model` (and `optimizer`'s momentum if present), checking that
    /// every name and shape matches and that nothing is left over. `partial` (initialising a
    /// run from another one, e.g. QAT from float) lets the model's tensors that the file lacks
    /// keep their values; the file must still share at least one tensor with the model.
    public func restore(into model: Graph, optimizer: SGD? = nil, file: String, partial: Bool = false) throws(CheckpointError) {
        var expected = Set(tensors.keys.filter { !$0.hasPrefix("optimizer.") })
        for parameter in model.parameters {
            guard let tensor = tensors[parameter.name] else {
                if partial { continue }
                throw CheckpointError(file, parameter.name, "is missing")
            }
            guard tensor.shape == parameter.value.shape else {
                throw CheckpointError(file, parameter.name, "has shape \(tensor.shape), the model needs \(parameter.value.shape)")
            }
            parameter.value = tensor
            expected.remove(parameter.name)
        }
        for (name, value) in model.buffers {
            guard let tensor = tensors[name] else {
                if partial { continue }
                throw CheckpointError(file, name, "is missing")
            }
            guard tensor.shape == value.shape else { throw CheckpointError(file, name, "has shape \(tensor.shape), the model needs \(value.shape)") }
            if let problem = model.allLayers.lazy.compactMap({ $0.bufferProblem(name, tensor) }).first {
                throw CheckpointError(file, name, problem)
            }
            model.setBuffer(name, tensor)
            expected.remove(name)
        }
        if let extra = expected.sorted().first { throw CheckpointError(file, extra, "is not a tensor of this model") }
        if partial, expected.count == tensors.keys.filter({ !$0.hasPrefix("optimizer.") }).count {
            throw CheckpointError(file, "tensors", "none of them belongs to this model")
        }
        if let optimizer {
            for (index, parameter) in optimizer.parameters.enumerated() {
                guard let velocity = tensors["optimizer.momentum.\(parameter.name)"] else {
                    throw CheckpointError(file, "optimizer.momentum.\(parameter.name)", "is missing: the checkpoint cannot resume training")
                }
                guard velocity.shape == parameter.value.shape else {
                    throw CheckpointError(file, "optimizer.momentum.\(parameter.name)", "has shape \(velocity.shape)")
                }
                optimizer.velocities[index] = velocity
            }
        }
    }
}
