import Foundation
import PIMSim
import Testing
@testable import PIMQAT

/// Export → import gives back the same network: bit-identical logits, the same names, integer
/// grids and bits, and the same accuracy on a chip.
@Suite("ONNX export")
struct ONNXExportTests {
    /// A quantized network with trained-looking state: BN statistics and PACT clip levels off
    /// their initial values.
    static func quantizedNetwork(_ architecture: ModelArchitecture, plan: PrecisionPlan? = nil, seed: UInt64 = 3) throws -> Graph {
        var quantization = Quantization(weightBits: 4, activationBits: 4)
        quantization.plan = plan
        let graph = try architecture.build(channels: 1, size: 28, classes: 10, seed: seed, quantization: quantization)
        var initializer = TensorInitializer(seed: seed + 1)
        for (name, value) in graph.buffers {
            let noise = initializer.uniform(value.shape, bound: 0.5)
            graph.setBuffer(name, Tensor(shape: value.shape, data: zip(value.data, noise.data).map { name.hasSuffix("var") ? $0 + abs($1) : $0 + $1 }))
        }
        for case let activation as PACT in graph.allLayers { activation.alpha.value.data[0] = 4 + initializer.uniform([1], bound: 2).data[0] }
        return graph
    }

    static func loaded(_ graph: Graph, _ architecture: ModelArchitecture, normalization: InputNormalization? = nil) -> TrainingRun.LoadedModel {
        TrainingRun.LoadedModel(model: graph, settings: nil, architecture: architecture, quantization: nil, channels: 1, size: 28, classes: 10,
                                completedEpochs: nil, target: nil, inputNormalization: normalization)
    }

    static func images(_ count: Int, seed: UInt64 = 9) -> Tensor {
        var initializer = TensorInitializer(seed: seed)
        return initializer.uniform([count, 1, 28, 28], bound: 2)
    }

    @Test(arguments: [ModelArchitecture.smallCNN, .resnet(depth: 20)])
    func roundTripGivesIdenticalLogits(architecture: ModelArchitecture) throws {
        let original = try Self.quantizedNetwork(architecture)
        let x = Self.images(6)
        let expected = original.forward(x, training: false)
        let data = try ONNXExport.data(of: Self.loaded(original, architecture))
        let imported = try ONNXImport.read(data, file: "net.onnx", directory: "")
        let graph = try imported.graph()
        let logits = graph.forward(x, training: false)
        #expect(logits.shape == expected.shape)
        #expect(logits.data.map(\.bitPattern) == expected.data.map(\.bitPattern), "largest difference \(zip(logits.data, expected.data).map { abs($0 - $1) }.max()!)")
        // The same parameters by the same names, the same grids and bits.
        #expect(Set(graph.parameters.map(\.name)) == Set(original.parameters.map(\.name)))
        let products = { (g: Graph) in g.allLayers.compactMap { $0 as? any IntegerProductLayer }.map(\.product) }
        for (ours, theirs) in zip(products(graph), products(original)) {
            #expect(ours.layerName == theirs.layerName)
            #expect(ours.quantizer?.bits == theirs.quantizer?.bits)
            #expect((ours.inputQuantizer?.bits, ours.inputQuantizer?.scale) == (theirs.inputQuantizer?.bits, theirs.inputQuantizer?.scale))
            let a = ours.quantizer!.quantize(ours.weight.value.data, fan: ours.quantizationFan)
            let b = theirs.quantizer!.quantize(theirs.weight.value.data, fan: theirs.quantizationFan)
            #expect(a.integers == b.integers && a.scale == b.scale, "\(ours.layerName)")
        }
        // Written again and read back, the same structure and tensors: export and import are
        // each other's inverse on what import produces.
        let again = try ONNXImport.read(try ONNXExport.data(of: Self.loaded(graph, .graph(imported.spec, name: "net"))), file: "again.onnx", directory: "")
        #expect(again.spec == imported.spec)
        #expect(again.tensors.mapValues(\.data) == imported.tensors.mapValues(\.data))
    }

    /// Above 8 bits the integer types are 16-bit (opset 21), and a symmetric grid stays symmetric.
    @Test func wideAndSymmetricGridsRoundTrip() throws {
        let plan = try PrecisionPlan(yaml: "layers:\n  conv2:\n    weight_bits: 12\n    input_bits: 10\n", file: "plan.yaml")
        let original = try Self.quantizedNetwork(.smallCNN, plan: plan)
        let fc = original.allLayers.compactMap { $0 as? Linear }.first!
        fc.product.quantizer!.symmetric = true
        let x = Self.images(4)
        let expected = original.forward(x, training: false)
        let data = try ONNXExport.data(of: Self.loaded(original, .smallCNN))
        let proto = try Onnx_ModelProto(serializedBytes: data)
        #expect(proto.opsetImport.first?.version == 21)
        #expect(proto.graph.initializer.first { $0.name == "conv2.weight.zero_point" }?.dataType == 5)
        #expect(proto.graph.initializer.first { $0.name == "act1.zero_point" }?.dataType == 4)
        let graph = try ONNXImport.read(data, file: "net.onnx", directory: "").graph()
        #expect(graph.forward(x, training: false).data == expected.data)
        let products = graph.allLayers.compactMap { $0 as? any IntegerProductLayer }.map(\.product)
        #expect(products.map { $0.quantizer!.bits } == [8, 12, 8])
        #expect(products.last!.quantizer!.symmetric)
        #expect(graph.allLayers.compactMap { ($0 as? PACT)?.bits } == [10, 4])
    }

    /// A float network from PyTorch, exported by pimctl, reads back to the same logits.
    @Test(arguments: ["lenet5", "resnet8", "mlp", "resnet-a", "separable"])
    func importedFloatNetworksRoundTrip(name: String) throws {
        let first = try ONNXImport.load("\(ONNXImportTests.fixtures)/\(name).onnx")
        let graph = try first.graph()
        let data = try ONNXExport.data(of: Self.loaded(graph, .graph(first.spec, name: name)))
        let again = try ONNXImport.read(data, file: "again.onnx", directory: "")
        let x = Self.images(3)
        #expect(try again.graph().forward(x, training: false).data == graph.forward(x, training: false).data)
        #expect(Set(again.tensors.keys) == Set(first.tensors.keys))
    }

    /// A dilated and a depthwise (grouped) convolution, written and read back; on a chip the
    /// grouped one stays digital.
    @Test func dilatedConvolutionRoundTrips() throws {
        var spec = GraphSpec()
        spec.append(.conv(inChannels: 1, outChannels: 4, kernel: 3, stride: 1, padding: 2, dilation: 2), name: "conv1")
        spec.append(.relu, name: "act1")
        spec.append(.conv(inChannels: 4, outChannels: 8, kernel: 3, stride: 2, padding: 1, dilation: 3), name: "conv2")
        spec.append(.relu, name: "act2")
        spec.append(.conv(inChannels: 8, outChannels: 8, kernel: 3, stride: 1, padding: 1, groups: 8), name: "depthwise")
        spec.append(.globalAveragePool(keepsSpatialAxes: false), name: "pool")
        spec.append(.linear(inFeatures: 8, outFeatures: 10), name: "fc")
        #expect(try spec.shapes(input: [1, 1, 28, 28])["conv2"] == [1, 8, 12, 12])
        var initializer = TensorInitializer(seed: 2)
        let graph = try spec.build(initializer: &initializer)
        let data = try ONNXExport.data(of: Self.loaded(graph, .graph(spec, name: "dilated")))
        let imported = try ONNXImport.read(data, file: "d.onnx", directory: "")
        #expect(imported.spec.nodes.first?.operation == .conv(inChannels: 1, outChannels: 4, kernel: 3, stride: 1, padding: 2, dilation: 2))
        let x = Self.images(2)
        #expect(try imported.graph().forward(x, training: false).data == graph.forward(x, training: false).data)
        #expect(imported.spec.nodes.contains { $0.operation == .conv(inChannels: 8, outChannels: 8, kernel: 3, stride: 1, padding: 1, groups: 8) })
        let quantized = try ModelArchitecture.graph(spec, name: "dilated").build(channels: 1, size: 28, classes: 10, seed: 0,
                                                                                   quantization: Quantization(weightBits: 4, activationBits: 4))
        let target = try PIMTarget(chip: PIMQATTests.capRAM, settings: PIMSettings(chip: "cap-ram"), model: quantized)
        #expect(target.layers.map(\.name) == ["conv2"])
    }

    /// The imported quantized network deploys on a chip exactly as the original does.
    @Test func importedNetworkRunsOnTheChipAsTheOriginal() throws {
        let original = try Self.quantizedNetwork(.smallCNN)
        let imported = try ONNXImport.read(try ONNXExport.data(of: Self.loaded(original, .smallCNN)), file: "net.onnx", directory: "").graph()
        var random = TensorInitializer(seed: 5)
        let count = 24
        let test = Dataset(images: random.uniform([count * 784], bound: 1).data.map { UInt8(($0 + 1) * 127.5) },
                           labels: random.uniform([count], bound: 1).data.map { UInt8(($0 + 1) * 4.99) }, count: count, channels: 1, size: 28,
                           classes: 10, mean: [0.286], std: [0.353])
        var settings = PIMSettings(chip: "cap-ram", rescale: .none)
        settings.trainingNoise = false
        let runs = try [original, imported].map { graph in
            ChipDeployment(model: graph, target: try PIMTarget(chip: PIMQATTests.capRAM, settings: settings, model: graph))
                .evaluate(test, chipSeed: 1, noiseSeed: 2)
        }
        #expect(runs[0].loss == runs[1].loss && runs[0].accuracy == runs[1].accuracy)
    }

    /// A checkpoint whose graph was edited to hyperparameters that would overflow is one error.
    @Test func editedGraphHyperparametersAreRefused() throws {
        let imported = try ONNXImport.load("\(ONNXImportTests.fixtures)/lenet5.onnx")
        for edit in [GraphSpec.Operation.conv(inChannels: 1, outChannels: 6, kernel: 5, stride: 1, padding: 1 << 62),
                     .conv(inChannels: 1 << 40, outChannels: 1 << 40, kernel: 1 << 19, stride: 1, padding: 0), .maxPool(size: 1 << 62)] {
            var spec = imported.spec
            spec.nodes[0].operation = edit
            #expect(spec.parameterCount == nil)
            #expect(throws: GraphError.self) { try spec.shapes(input: [1, 1, 28, 28]) }
            var initializer = TensorInitializer(seed: 0)
            #expect(throws: GraphError.self) { try spec.build(initializer: &initializer) }
        }
    }

    /// The network's own input normalisation travels in the metadata.
    @Test func inputNormalisationTravels() throws {
        let graph = try Self.quantizedNetwork(.smallCNN)
        let normalization = try InputNormalization(mean: [0.5], std: [0.25])
        let imported = try ONNXImport.read(try ONNXExport.data(of: Self.loaded(graph, .smallCNN, normalization: normalization)), file: "n.onnx", directory: "")
        #expect(imported.inputNormalization == normalization)
        let checkpoint = try imported.checkpoint(name: "n")
        #expect(try InputNormalization(metadata: checkpoint.metadata, file: "n") == normalization)
    }
}

/// Quantized ONNX files that pimctl cannot read as they stand: one clear line each.
@Suite("ONNX quantized import errors")
struct ONNXQuantizedImportErrorTests {
    static func exported() throws -> Onnx_ModelProto {
        let graph = try ONNXExportTests.quantizedNetwork(.smallCNN)
        return try Onnx_ModelProto(serializedBytes: try ONNXExport.data(of: ONNXExportTests.loaded(graph, .smallCNN)))
    }

    static func error(_ edit: (inout Onnx_ModelProto) -> Void) throws -> String? {
        var model = try exported()
        edit(&model)
        do {
            _ = try ONNXImport.read(try model.serializedData(), file: "q.onnx", directory: "")
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func setInitializer(_ model: inout Onnx_ModelProto, _ name: String, _ edit: (inout Onnx_TensorProto) -> Void) {
        let i = model.graph.initializer.firstIndex { $0.name == name }!
        edit(&model.graph.initializer[i])
    }

    @Test func eachProblemIsNamed() throws {
        #expect(try Self.error { _ in } == nil)
        #expect(try Self.error { m in
            Self.setInitializer(&m, "conv2.weight.scale") { $0.dims = [2]; $0.rawData += $0.rawData }
        } == "q.onnx: node 'conv2.weight.quantize' (QuantizeLinear): a scale of 2 values: pimctl takes one positive scale per tensor (no per-axis quantization)")
        #expect(try Self.error { m in Self.setInitializer(&m, "act1.zero_point") { $0.rawData = Data([3]) } }
                == "q.onnx: node 'act1.quantize' (QuantizeLinear): zero point [3.0]: pimctl takes zero point 0 (activations from 0, weights symmetric about 0)")
        #expect(try Self.error { m in Self.setInitializer(&m, "act1.zero_point") { $0.dataType = 3 } }
                == "q.onnx: node 'act1.quantize' (QuantizeLinear): activations quantized to signed data type 3: pimctl's activation levels start at 0 (uint8, uint16)")
        #expect(try Self.error { m in Self.setInitializer(&m, "act1.alpha") { $0.rawData = withUnsafeBytes(of: Float(5).bitPattern.littleEndian) { Data($0) } } }?
                .contains("(DequantizeLinear): Clip max 5.0 at scale") == true)
        #expect(try Self.error { m in
            var entry = Onnx_StringStringEntryProto(); entry.key = "weight_grids"; entry.value = "{\"conv2\": {\"bits\": 3, \"symmetric\": false}}"
            m.metadataProps = m.metadataProps.filter { $0.key != "weight_grids" } + [entry]
        }?.hasPrefix("q.onnx: node 'conv2' (Conv): weight integer") == true)
        #expect(try Self.error { m in
            var entry = Onnx_StringStringEntryProto(); entry.key = "weight_grids"; entry.value = "[1, 2]"
            m.metadataProps = m.metadataProps.filter { $0.key != "weight_grids" } + [entry]
        }?.hasPrefix("q.onnx: metadata_props weight_grids: not a JSON object") == true)
        #expect(try Self.error { m in
            var entry = Onnx_StringStringEntryProto(); entry.key = "input_mean"; entry.value = "0.5"
            m.metadataProps.append(entry)
        } == "q.onnx: metadata: input_mean and input_std go together; it gives only one")
        // The levels read by something other than a DequantizeLinear.
        #expect(try Self.error { m in
            let i = m.graph.node.firstIndex { $0.name == "pool1" }!
            m.graph.node[i].input[0] = "act1.levels"
        } == "q.onnx: node 'pool1' (MaxPool): input 0 'act1.levels' holds a QuantizeLinear's integers; pimctl reads them only through a DequantizeLinear")
    }

    /// An option-A shortcut's Slice and Pad, and what is refused of them.
    @Test func shortcutSliceAndPad() throws {
        let graph = try ONNXExportTests.quantizedNetwork(.resnet(depth: 20))
        let proto = try Onnx_ModelProto(serializedBytes: try ONNXExport.data(of: ONNXExportTests.loaded(graph, .resnet(depth: 20))))
        func error(_ edit: (inout Onnx_ModelProto) -> Void) throws -> String? {
            var model = proto
            edit(&model)
            do { _ = try ONNXImport.read(try model.serializedData(), file: "r.onnx", directory: ""); return nil } catch { return "\(error)" }
        }
        #expect(try error { _ in } == nil)
        #expect(try error { m in ONNXQuantizedImportErrorTests.setInitializer(&m, "layer2.0.shortcut.pads") { t in
            t.rawData = [0, 8, 1, 0, 0, 8, 0, 0].map(Int64.init).reduce(into: Data()) { d, v in withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        } }?.hasPrefix("r.onnx: node 'layer2.0.shortcut' (Pad): pads [0, 8, 1, 0, 0, 8, 0, 0]: pimctl reads a Pad only as a shortcut's new channels") == true)
        func int64s(_ values: [Int64]) -> Data { values.reduce(into: Data()) { d, v in withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } } }
        #expect(try error { m in ONNXQuantizedImportErrorTests.setInitializer(&m, "layer2.0.shortcut.pads") { $0.rawData = int64s([0, 8, 0, 0, 0, -1, 0, 0]) } }
                == "r.onnx: node 'layer2.0.shortcut' (Pad): pads [0, 8, 0, 0, 0, -1, 0, 0]: pimctl takes pads of 0…134217728")
        #expect(try error { m in ONNXQuantizedImportErrorTests.setInitializer(&m, "layer2.0.shortcut.pads") { $0.rawData = int64s([0, .max, 0, 0, 0, .max, 0, 0]) } }?
                .contains("pimctl takes pads of 0…134217728") == true)
        #expect(try error { m in ONNXQuantizedImportErrorTests.setInitializer(&m, "layer2.0.shortcut.steps") { $0.rawData = int64s([1 << 62, 1 << 62]) } }?
                .hasPrefix("r.onnx: node 'layer2.0.shortcut.subsample' (Slice): pimctl reads a Slice only as a subsampling") == true)
        #expect(try error { m in ONNXQuantizedImportErrorTests.setInitializer(&m, "layer2.0.shortcut.starts") { t in
            t.rawData = [1, 0].map(Int64.init).reduce(into: Data()) { d, v in withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        } }?.hasPrefix("r.onnx: node 'layer2.0.shortcut.subsample' (Slice): pimctl reads a Slice only as a subsampling from pixel 0") == true)
    }
}
