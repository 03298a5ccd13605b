import ArgumentParser
import Foundation
import PIMQAT

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert an ONNX model into a native checkpoint, for every command that takes --model.",
        discussion: """
            Reads the ONNX file (opsets 11–21; operators Conv, Gemm, MatMul, Add, \
            BatchNormalization, Relu, Clip, MaxPool, AveragePool, GlobalAveragePool, \
            ReduceMean, Flatten, Reshape, Concat, Slice + Pad as a shortcut, QuantizeLinear + \
            DequantizeLinear, Identity, Dropout, Cast, Constant; initializers raw, typed or in \
            external files beside it) and writes its weights with its structure, the layers \
            named as in the file. Every command also takes the .onnx file itself; the \
            checkpoint spares reading it again and travels alone. BatchNormalization stays a \
            BN layer, so PIM-QAT can recalibrate it on a chip. A quantized model (pimctl \
            export writes one) keeps its integer weight grids and PACT activations; the \
            metadata's input_mean/input_std, if given, become the network's input \
            normalisation.

            Examples:
              pimctl import lenet5.onnx --out lenet5.safetensors
              pimctl train --model lenet5.onnx --wbits 4 --abits 4 --epochs 2 --out lenet5-w4a4.safetensors
              pimctl train-qat --chip cap-ram --model lenet5.onnx --epochs 2 --out lenet5-pim.safetensors
              pimctl simulate network --chip cap-ram --model lenet5-pim.safetensors --chip-seeds 2
              pimctl export --model lenet5-pim.safetensors --out lenet5-pim.onnx
            """)

    @Argument(help: "The ONNX model.") var model: String
    @Option(help: "Checkpoint to write (safetensors).") var out: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let imported = try ONNXImport.load(model)
        let name = ((model as NSString).lastPathComponent as NSString).deletingPathExtension
        try imported.checkpoint(name: name).write(to: out)
        let layers = imported.spec.nodes.count
        let parameters = imported.spec.parameterCount ?? 0
        if json {
            struct Record: Encodable { var model: String; var out: String; var nodes: Int; var parameters: Int; var channels: Int; var size: Int; var classes: Int; var producer: String }
            print(try Terminal.json(Record(model: model, out: out, nodes: layers, parameters: parameters, channels: imported.channels, size: imported.size,
                                           classes: imported.classes, producer: imported.producer)))
        } else {
            print("\(model) (\(imported.producer.isEmpty ? "unknown exporter" : imported.producer)): \(layers) nodes, \(parameters) parameters, \(imported.channels)×\(imported.size)×\(imported.size) images, \(imported.classes) classes → \(out)")
        }
    }
}
