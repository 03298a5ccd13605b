import Foundation
import PIMSim
import Testing
@testable import PIMQAT

/// ONNX files exported by PyTorch (scripts/make-onnx-fixtures.py): our logits against the
/// exporter's, and one clear error for each kind of bad file.
@Suite("ONNX import")
struct ONNXImportTests {
    static let fixtures = "\(PIMQATTests.root)/Tests/Fixtures/onnx"

    @Test(arguments: ["lenet5", "lenet5-typed", "resnet8", "mlp", "mlp-external"])
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
        let lenet = try ONNXImport.load("\(Self.fixtures)/lenet5.onnx")
        #expect(lenet.spec.nodes.map(\.name).contains("conv1.bias") && lenet.tensors["conv1.bias"]?.count == 6)
    }
}
