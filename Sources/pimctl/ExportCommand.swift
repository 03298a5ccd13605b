import ArgumentParser
import Foundation
import PIMQAT

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a checkpoint's network as an ONNX model, its quantizers as QuantizeLinear/DequantizeLinear pairs.",
        discussion: """
            The model is the network's digital computation, as pimctl evaluate runs a QAT \
            checkpoint: float weights on their integer grid, each followed by QuantizeLinear → \
            DequantizeLinear with the quantizer's scale (zero point 0, int8); each PACT \
            activation as Clip(0, α) → QuantizeLinear → DequantizeLinear with scale α/(2^b − 1) \
            (uint8); batch norm as BatchNormalization (its statistics as trained or calibrated). \
            What a chip adds — converters, noise, PIM-QAT's rescaling — is not part of the \
            network and is not written. Opset 17, or 21 for quantizers above 8 bits. pimctl \
            import, and every --model, read the file back into the same network: the same \
            integer grids, bits, names and input normalisation.

            Examples:
              pimctl export --model pim-r20.safetensors --out pim-r20.onnx
              pimctl evaluate --model pim-r20.onnx --data fashion-mnist
              pimctl simulate network --chip cap-ram --model pim-r20.onnx --chip-seeds 2
            """)

    @Option(help: "Checkpoint (safetensors, or an ONNX file) of a float, QAT or PIM-QAT network.") var model: String
    @Option(help: "ONNX file to write.") var out: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let loaded = try TrainingRun.model(from: model)
        let data = try ONNXExport.data(of: loaded)
        try OutputFile.write(data, to: out)
        let quantized = loaded.model.allLayers.compactMap { ($0 as? any IntegerProductLayer)?.product.quantizer }.count
        let activations = loaded.model.allLayers.filter { $0 is PACT }.count
        if json {
            struct Record: Encodable { var model: String; var out: String; var bytes: Int; var quantizedLayers: Int; var quantizedActivations: Int }
            print(try Terminal.json(Record(model: model, out: out, bytes: data.count, quantizedLayers: quantized, quantizedActivations: activations)))
        } else {
            print("\(loaded.architecture) → \(out) (\(data.count) bytes; \(quantized) quantized layers, \(activations) quantized activations)")
        }
    }
}
