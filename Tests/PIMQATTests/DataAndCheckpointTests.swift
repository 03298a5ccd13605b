import Foundation
import Testing
@testable import PIMQAT

@Suite("Datasets")
struct DatasetTests {
    /// An IDX file as the MNIST distribution writes it: magic 0 0 8 rank, big-endian sizes, bytes.
    static func idx(_ dimensions: [Int], _ values: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, 0x08, UInt8(dimensions.count)]
        for d in dimensions { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return bytes + values
    }

    @Test func parsesIDX() throws {
        let contents = try IDXFile.parse(Self.idx([2, 2, 3], Array(0..<12)), path: "x")
        #expect(contents.dimensions == [2, 2, 3])
        #expect(contents.values == Array(0..<12))
    }

    @Test(arguments: [
        ([0, 0, 8], "header"), ([1, 0, 8, 1, 0, 0, 0, 1, 5], "magic"), ([0, 0, 0x0D, 1, 0, 0, 0, 1, 5], "magic"),
        ([0, 0, 8, 2, 0, 0, 0, 2], "header"), ([0, 0, 8, 1, 0, 0, 0, 3, 1, 2], "data"),
    ] as [([UInt8], String)])
    func rejectsBrokenIDX(_ bytes: [UInt8], _ place: String) {
        let error = #expect(throws: DatasetError.self) { try IDXFile.parse(bytes, path: "broken.idx") }
        #expect(error?.description.hasPrefix("broken.idx: \(place): ") == true, "\(String(describing: error))")
    }

    @Test func aLimitKeepsTheFirstItemsAndMustBePositive() throws {
        let limited = try IDXFile.parse(Self.idx([4, 2], Array(0..<8)), path: "x", limit: 3)
        #expect(limited.items == 3 && limited.dimensions == [4, 2] && limited.values == Array(0..<6))
        // A limit needs only its items: a file cut after them still reads.
        #expect(try IDXFile.parse(Self.idx([4, 2], Array(0..<6)), path: "x", limit: 3).items == 3)
        #expect(throws: DatasetError.self) { try IDXFile.parse(Self.idx([4, 2], Array(0..<6)), path: "x") }
        let error = #expect(throws: DatasetError.self) { try DatasetName.fashionMNIST.load(train: false, directory: nil, limit: 0) }
        #expect(error?.description.contains("give at least 1") == true)
    }

    @Test func readsTheInstalledFashionMNISTThroughGzip() throws {
        let directory = "/usr/share/datasets/fashion-mnist"
        try #require(FileManager.default.fileExists(atPath: "\(directory)/t10k-labels-idx1-ubyte.gz"))
        let test = try DatasetName.fashionMNIST.load(train: false, directory: nil)
        #expect(test.count == 10_000 && test.size == 28 && test.channels == 1 && test.classes == 10)
        #expect(Set(test.labels).count == 10)
    }

    @Test func truncatedGzipIsADatasetError() throws {
        let directory = NSTemporaryDirectory() + "idx-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = try Data(contentsOf: URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"))
        let path = "\(directory)/t10k-labels-idx1-ubyte.gz"
        try source.prefix(source.count / 2).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: DatasetError.self) { try IDXFile.read(path: path) }
        #expect(error?.description.contains("gzip: truncated") == true, "\(String(describing: error))")
    }

    @Test func readsCIFARRecordsAndRejectsPartialOnes() throws {
        let directory = NSTemporaryDirectory() + "cifar-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var record = [UInt8](repeating: 7, count: 3073)
        record[0] = 3
        try Data(record + record).write(to: URL(fileURLWithPath: "\(directory)/test_batch.bin"))
        let test = try DatasetName.cifar10.load(train: false, directory: directory)
        #expect(test.count == 2 && test.labels == [3, 3] && test.channels == 3 && test.size == 32)
        try Data(record.dropLast()).write(to: URL(fileURLWithPath: "\(directory)/test_batch.bin"))
        #expect(throws: DatasetError.self) { try DatasetName.cifar10.load(train: false, directory: directory) }
        #expect(throws: DatasetError.self) { try DatasetName.cifar10.load(train: false, directory: nil) }
    }

    @Test func epochsAreDeterministicAndShuffled() {
        let dataset = Dataset(images: [UInt8](repeating: 1, count: 100 * 4), labels: (0..<100).map { UInt8($0 % 10) }, count: 100,
                              channels: 1, size: 2, classes: 10, mean: [0], std: [1])
        let batches = Batches(dataset: dataset, batchSize: 10, augmentation: .cropFlip, seed: 4)
        #expect(batches.order(epoch: 1) == batches.order(epoch: 1))
        #expect(batches.order(epoch: 1) != batches.order(epoch: 2))
        #expect(batches.order(epoch: 1).sorted() == Array(0..<100))
    }
}

@Suite("Checkpoints")
struct CheckpointTests {
    /// A file assembled byte by byte as another safetensors writer would produce it.
    @Test func readsAFileFromAnIndependentWriter() throws {
        let header = #"{"__metadata__":{"architecture":"small-cnn"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}"#
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
        bytes += Array(header.utf8)
        for value: Float in [1.5, -2, 0.25] { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        let checkpoint = try Checkpoint(data: Data(bytes), file: "x.safetensors")
        #expect(checkpoint.metadata == ["architecture": "small-cnn"])
        #expect(checkpoint.tensors["a"] == Tensor(shape: [2], data: [1.5, -2]))
        #expect(checkpoint.tensors["b"] == Tensor(shape: [1, 1], data: [0.25]))
        // And our writer's bytes read back the same.
        let again = try Checkpoint(data: try checkpoint.data(), file: "y")
        #expect(again.tensors == checkpoint.tensors && again.metadata == checkpoint.metadata)
    }

    /// The weight clip travels in the metadata: applied to the 4-bit layers on loading (not
    /// to the 8-bit first convolution); an unreadable one is one clear error.
    @Test func weightClipIsReadFromTheMetadata() throws {
        let model = try ModelArchitecture.smallCNN.build(channels: 1, size: 8, classes: 3, seed: 1, quantization: Quantization(weightBits: 4, activationBits: 4))
        let path = NSTemporaryDirectory() + "clip-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let metadata = ["architecture": "small-cnn", "channels": "1", "size": "8", "classes": "3", "weight_bits": "4", "activation_bits": "4"]
        try Checkpoint(model: model, metadata: metadata.merging(["weight_clip": "2.5"]) { $1 }).write(to: path)
        let clips = try TrainingRun.model(from: path).model.allLayers.compactMap { ($0 as? Conv2d)?.product.quantizer }.map(\.clip)
        #expect(clips.count >= 2 && clips.first! == nil && clips.dropFirst().allSatisfy { $0 == 2.5 }, "\(clips)")
        try Checkpoint(model: model, metadata: metadata.merging(["weight_clip": "wide"]) { $1 }).write(to: path)
        let error = #expect(throws: CheckpointError.self) { try TrainingRun.model(from: path) }
        #expect(error?.description == "\(path): __metadata__.weight_clip: 'wide' is not a positive number")
    }

    /// A precision plan travels in the metadata; an edited one out of range, unreadable or
    /// naming a layer the network lacks is one error naming the field, never a trap.
    @Test func precisionPlanIsReadFromTheMetadata() throws {
        let model = try ModelArchitecture.smallCNN.build(channels: 1, size: 8, classes: 3, seed: 1, quantization: Quantization(weightBits: 4, activationBits: 4))
        let path = NSTemporaryDirectory() + "plan-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let metadata = ["architecture": "small-cnn", "channels": "1", "size": "8", "classes": "3", "weight_bits": "4", "activation_bits": "4"]
        func load(_ plan: String) throws -> TrainingRun.LoadedModel {
            try Checkpoint(model: model, metadata: metadata.merging(["precision_plan": plan]) { $1 }).write(to: path)
            return try TrainingRun.model(from: path)
        }
        let loaded = try load(#"{"layers":[{"layer":"conv2","weightBits":2,"inputBits":3}]}"#)
        let conv2 = loaded.model.allLayers.compactMap { $0 as? Conv2d }[1]
        #expect(conv2.product.quantizer?.bits == 2 && conv2.product.inputQuantizer?.bits == 3)
        #expect(loaded.quantization?.plan == PrecisionPlan([.init(layer: "conv2", weightBits: 2, inputBits: 3)]))
        for (plan, problem) in [(#"{"layers":[{"layer":"conv2","weightBits":99}]}"#, "conv2: 99-bit weights are outside 2…16"),
                                (#"{"layers":[{"layer":"conv2","inputBits":0}]}"#, "conv2: 0-bit inputs are outside 1…16"),
                                (#"{"layers":[]}"#, "names no layer"),
                                (#"{"layers":"#, "is not a readable precision plan"),
                                (#"{"layers":[{"layer":"conv9","weightBits":2}]}"#, "the network has no layer 'conv9' (did you mean 'conv1'?)")] {
            let error = #expect(throws: CheckpointError.self) { try load(plan) }
            #expect(error?.description == "\(path): __metadata__.precision_plan: \(problem)")
        }
    }

    @Test func aNegativeBNVarianceIsRejected() throws {
        let model = try ModelArchitecture.smallCNN.build(channels: 1, size: 8, classes: 3, seed: 1)
        var saved = Checkpoint(model: model, metadata: ["architecture": "small-cnn"])
        saved.tensors["bn2.running_var"]!.data[5] = -0.5
        let error = #expect(throws: CheckpointError.self) { try saved.restore(into: model, file: "c") }
        #expect(error?.description == "c: bn2.running_var: element 5 is -0.5: a variance cannot be negative")
    }

    @Test func metadataMustMatchTheTensorsItDescribes() throws {
        let path = NSTemporaryDirectory() + "meta-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try ModelArchitecture.smallCNN.build(channels: 1, size: 8, classes: 3, seed: 1)
        try Checkpoint(model: model, metadata: ["architecture": "small-cnn", "channels": "1", "size": "8", "classes": "7"]).write(to: path)
        let error = #expect(throws: CheckpointError.self) { try TrainingRun.model(from: path) }
        #expect(error?.description == "\(path): __metadata__: channels 1, size 8, classes 7 need fc.weight of shape [7, 128]; the file's is [3, 128]")
    }

    @Test func modelRoundTripsAndMismatchesAreRejected() throws {
        let model = try ModelArchitecture.smallCNN.build(channels: 1, size: 8, classes: 3, seed: 1)
        let saved = Checkpoint(model: model, metadata: ["architecture": "small-cnn"])
        let other = try ModelArchitecture.smallCNN.build(channels: 1, size: 8, classes: 3, seed: 2)
        try saved.restore(into: other, file: "c")
        #expect(zip(model.parameters, other.parameters).allSatisfy { $0.value == $1.value })
        let wider = try ModelArchitecture.smallCNN.build(channels: 1, size: 8, classes: 4, seed: 1)
        let error = #expect(throws: CheckpointError.self) { try saved.restore(into: wider, file: "c") }
        #expect(error?.description.contains("fc.weight: has shape [3, 128], the model needs [4, 128]") == true, "\(String(describing: error))")
        var extra = saved
        extra.tensors["stray"] = Tensor(zeros: [1])
        #expect(throws: CheckpointError.self) { try extra.restore(into: other, file: "c") }
        var missing = saved
        missing.tensors["conv1.weight"] = nil
        #expect(throws: CheckpointError.self) { try missing.restore(into: other, file: "c") }
    }

    @Test(arguments: [
        ([1, 2, 3], "header"),
        ([200, 0, 0, 0, 0, 0, 0, 0, 0x7B], "header"),
        ([2, 0, 0, 0, 0, 0, 0, 0, 0x5B, 0x5D], "header"),
    ] as [([UInt8], String)])
    func rejectsBrokenFiles(_ bytes: [UInt8], _ place: String) {
        let error = #expect(throws: CheckpointError.self) { try Checkpoint(data: Data(bytes), file: "bad") }
        #expect(error?.description.hasPrefix("bad: \(place): ") == true, "\(String(describing: error))")
    }

    @Test func rejectsTruncatedDataAndWrongTypes() throws {
        func file(_ header: String, payload: Int) -> Data {
            var bytes: [UInt8] = []
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
            return Data(bytes + Array(header.utf8) + [UInt8](repeating: 0, count: payload))
        }
        let truncated = file(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, payload: 8)
        #expect((#expect(throws: CheckpointError.self) { try Checkpoint(data: truncated, file: "t") })?.description.contains("truncated") == true)
        let half = file(#"{"w":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}"#, payload: 8)
        #expect((#expect(throws: CheckpointError.self) { try Checkpoint(data: half, file: "t") })?.description.contains("F16") == true)
        let huge = file(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}"#, payload: 16)
        #expect((#expect(throws: CheckpointError.self) { try Checkpoint(data: huge, file: "t") })?.description.contains("too large") == true)
        let wrongSize = file(#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, payload: 16)
        #expect(throws: CheckpointError.self) { try Checkpoint(data: wrongSize, file: "t") }
    }
}
