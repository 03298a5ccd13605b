import Foundation
import PIMSim
import Testing
@testable import PIMQAT

/// ONNX files exported by PyTorch (scripts/make-onnx-fixtures.py): our logits against the
/// exporter's, and one clear error for each kind of bad file.
@Suite("ONNX import")
struct ONNXImportTests {
    static let fixtures = "\(PIMQATTests.root)/Tests/Fixtures/onnx"

    @Test(arguments: ["lenet5", "lenet5-typed", "resnet8", "mlp", "mlp-external", "resnet-a", "separable"])
    func logitsMatchTheExporters(name: String) throws {
        let model = try ONNXImport.load("\(Self.fixtures)/\(name).onnx")
        #expect(model.channels == 1 && model.size == 28 && model.classes == 10)
        let inputs = try NPYArray(contentsOf: "\(Self.fixtures)/\(name)-inputs.npy")
        let expected = try NPYArray(contentsOf: "\(Self.fixtures)/\(name)-logits.npy")
        let graph = try model.graph()
        let logits = graph.forward(Tensor(shape: [inputs.rows, 1, 28, 28], data: inputs.values.map(Float.init)), training: false)
        #expect(logits.shape == [expected.rows, expected.columns])
        for row in 0..<expected.rows {
            let theirs = expected.values[(row * 10)..<((row + 1) * 10)]
            let scale = max(1, theirs.map(abs).max()!)
            for (j, value) in theirs.enumerated() {
                let ours = Double(logits.data[row * 10 + j])
                #expect(abs(ours - value) <= 1e-4 * scale, "\(name) example \(row) class \(j): \(ours) vs \(value)")
            }
        }
    }

    /// The file's names become the network's: layers, BN statistics, residual adds.
    @Test func layerNamesAreTheFilesOwn() throws {
        let model = try ONNXImport.load("\(Self.fixtures)/resnet8.onnx")
        let names = model.spec.nodes.map(\.name)
        #expect(["conv1", "bn1", "layer1.conv1", "layer2.shortcut.0", "layer2.shortcut.1", "fc"].allSatisfy(names.contains), "\(names)")
        #expect(model.spec.nodes.filter { $0.operation == .add }.count == 3)
        #expect(model.tensors["layer3.bn2.running_var"]?.count == 64)
        // The newer exporter's option-A shortcut (two Slices, a Pad) is one node.
        let shortcut = try ONNXImport.load("\(Self.fixtures)/resnet-a.onnx").spec.nodes.map(\.operation)
        #expect(shortcut.contains(.downsamplingShortcut(inChannels: 16, outChannels: 32, stride: 2)) && shortcut.contains(.globalAveragePool(keepsSpatialAxes: false)))
        let lenet = try ONNXImport.load("\(Self.fixtures)/lenet5.onnx")
        #expect(lenet.spec.nodes.map(\.name).contains("conv1.bias") && lenet.tensors["conv1.bias"]?.count == 6)
    }

    /// A fixture edited by `edit`, read back: the error line, or nil when it imports.
    static func error(_ fixture: String = "lenet5", _ edit: (inout Onnx_ModelProto) -> Void) throws -> String? {
        var model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/\(fixture).onnx")))
        edit(&model)
        do {
            _ = try ONNXImport.read(try model.serializedData(), file: "bad.onnx", directory: fixtures)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func badFilesGiveOneClearLine() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(Self.fixtures)/lenet5.onnx"))
        let truncated = #expect(throws: ONNXError.self) { try ONNXImport.read(data.prefix(5000), file: "cut.onnx", directory: "") }
        #expect(truncated?.description.hasPrefix("cut.onnx: not an ONNX model: the protobuf does not parse") == true, "\(truncated!)")
        let notONNX = #expect(throws: ONNXError.self) { try ONNXImport.read(Data("hello".utf8), file: "text.onnx", directory: "") }
        #expect(notONNX?.description.hasPrefix("text.onnx: not an ONNX model") == true)

        #expect(try Self.error { $0.graph.node[3].opType = "Softmax" }
                == "bad.onnx: node '\(try Self.nodeName(3))' (Softmax): operator Softmax is not supported (pimctl reads \(ONNXImport.operators.joined(separator: ", ")))")
        #expect(try Self.error { m in
            let i = m.graph.node.firstIndex { $0.opType == "Conv" }!
            m.graph.node[i].attribute = m.graph.node[i].attribute.map { a in var a = a; if a.name == "group" { a.i = 2 }; return a }
        }?.hasSuffix("(Conv): input 1×1×28×28, expected N×2×H×W") == true)
        #expect(try Self.error { m in
            let i = m.graph.node.firstIndex { $0.opType == "Conv" }!
            m.graph.node[i].attribute.append(m.graph.node[i].attribute[0])
        }?.contains("(Conv): attribute '") == true)
        #expect(try Self.error { $0.opsetImport[0].version = 9 } == "bad.onnx: opset_import: opset 9 is outside the 11…21 pimctl reads")
        #expect(try Self.error { $0.opsetImport[0].version = 22 } == "bad.onnx: opset_import: opset 22 is outside the 11…21 pimctl reads")
        // Images of 3 channels into a 1-channel convolution.
        #expect(try Self.error { $0.graph.input[0].type.tensorType.shape.dim[1].dimValue = 3 }?.contains("(Conv): input 1×3×28×28, expected N×1×H×W") == true)
        #expect(try Self.error { $0.graph.node[1].input[0] = "nowhere" }?.hasSuffix("input 0 'nowhere' is produced by no earlier node and is not an initializer") == true)
        // A tensor claiming 2³⁰ elements in a file of 250 kB, and one whose raw bytes fall short.
        #expect(try Self.error { $0.graph.initializer[0].dims = [1 << 15, 1 << 15] }
                == "bad.onnx: initializer 'conv1.weight': dimensions [32768, 32768] claim more than the 268435456 elements a tensor may hold")
        #expect(try Self.error { $0.graph.initializer[0].dims = [6, 1, 5, 6] }
                == "bad.onnx: initializer 'conv1.weight': raw_data holds 600 bytes; [6, 1, 5, 6] of data type 1 needs 720")
        #expect(try Self.error { $0.graph.initializer[0].dataType = 10 } == "bad.onnx: initializer 'conv1.weight': data type 10 is not read (float 1, uint8 2, int8 3, uint16 4, int16 5, int32 6, int64 7, double 11)")
        #expect(try Self.error { $0.graph.output[0].name = "elsewhere" } == "bad.onnx: graph.output 'elsewhere': no node produces it")
        // External data: a claimed length beyond the data file, a path out of the directory.
        #expect(try Self.error("mlp-external") { m in
            m.graph.initializer[0].externalData = m.graph.initializer[0].externalData.map { entry in
                var entry = entry
                if entry.key == "offset" { entry.value = "2000000000" }
                return entry
            }
        }?.hasPrefix("bad.onnx: initializer 'fc1.weight': external data claims bytes 2000000000…") == true)
        #expect(try Self.error("mlp-external") { m in
            var location = Onnx_StringStringEntryProto(); location.key = "location"; location.value = "../../etc/passwd"
            m.graph.initializer[0].externalData = [location]
        }?.hasSuffix("must be a file beside the model, not a path out of its directory") == true)
        // Attribute values that would overflow the shape arithmetic, and a NaN weight.
        func setConv(_ name: String, _ values: [Int64]) -> (inout Onnx_ModelProto) -> Void {
            { m in
                let i = m.graph.node.firstIndex { $0.opType == "Conv" }!
                var attribute = Onnx_AttributeProto(); attribute.name = name
                if values.count == 1 { attribute.i = values[0] } else { attribute.ints = values }
                m.graph.node[i].attribute = m.graph.node[i].attribute.filter { $0.name != name } + [attribute]
            }
        }
        #expect(try Self.error("lenet5", setConv("group", [Int64.max]))?.hasSuffix("(Conv): group 9223372036854775807 does not divide the 6 output channels") == true)
        #expect(try Self.error("lenet5", setConv("pads", [1 << 62, 1 << 62, 1 << 62, 1 << 62]))?
                .contains("expected kernel, stride, dilation 1…1048576 and padding 0…1048576") == true)
        #expect(try Self.error("lenet5", setConv("strides", [1 << 40, 1 << 40]))?.contains("expected kernel, stride, dilation 1…1048576") == true)
        #expect(try Self.error { m in
            m.graph.initializer[0].rawData.replaceSubrange(0..<4, with: withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { Data($0) })
        } == "bad.onnx: initializer 'conv1.weight': value 0 is NaN")
        let missing = #expect(throws: ONNXError.self) { try ONNXImport.load("/nonexistent/net.onnx") }
        #expect(missing?.description == "/nonexistent/net.onnx: cannot be read")
    }

    static func nodeName(_ index: Int) throws -> String {
        try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/lenet5.onnx"))).graph.node[index].name
    }
}
