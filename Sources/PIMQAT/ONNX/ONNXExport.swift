import Foundation
import PIMSim
import SwiftProtobuf

/// Writes a network as an ONNX model that other tools run and ``ONNXImport`` reads back into
/// the same network.
///
/// The model is the network's digital computation, as `pimctl evaluate` runs a conventional
/// QAT checkpoint; what a chip adds (converters, noise, PIM-QAT's rescaling) is the chip's, not
/// the network's, and is not part of it. Quantized weights are stored as their float values on
/// the grid (integer × scale) followed by QuantizeLinear → DequantizeLinear with the
/// quantizer's scale and zero point 0 (int8, or int16 above 8 bits); a PACT activation is
/// Clip(0, α) → QuantizeLinear → DequantizeLinear with scale α / (2^b − 1) (uint8, or uint16
/// above 8 bits). Layer and tensor names are the network's (`conv1.weight`, `act1.alpha`, …).
/// An option-A shortcut is Slice (subsampling) → Pad (new channels).
///
/// Metadata (`metadata_props`): `weight_grids` (each quantized layer's bits and whether its
/// grid is symmetric, which the integer type alone does not say), `input_mean`/`input_std`
/// when the network has its own input normalisation, and `architecture`.
///
/// Opset 17 (IR version 8); 21 (IR version 10) when a quantizer has more than 8 bits, for the
/// 16-bit integer types.
public enum ONNXExport {
    /// The serialized model of `loaded`'s network.
    public static func data(of loaded: TrainingRun.LoadedModel) throws -> Data {
        let spec = loaded.architecture.spec(channels: loaded.channels, size: loaded.size, classes: loaded.classes)
        var writer = Writer()
        try writer.write(spec, graph: loaded.model, channels: loaded.channels, size: loaded.size, classes: loaded.classes)
        var model = Onnx_ModelProto()
        let wide = writer.wide
        model.irVersion = wide ? 10 : 8
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = wide ? 21 : 17
        model.opsetImport = [opset]
        model.producerName = "pimctl"
        model.producerVersion = ToolVersion.current
        model.graph = writer.graph
        model.graph.name = loaded.architecture.description
        var metadata = ["architecture": loaded.architecture.description]
        if !writer.weightGrids.isEmpty {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            metadata[ONNXImport.weightGridsKey] = String(decoding: try encoder.encode(writer.weightGrids), as: UTF8.self)
        }
        if let normalization = loaded.inputNormalization { metadata.merge(normalization.metadata) { $1 } }
        model.metadataProps = metadata.sorted { $0.key < $1.key }.map { entry in
            var pair = Onnx_StringStringEntryProto()
            (pair.key, pair.value) = (entry.key, entry.value)
            return pair
        }
        return try model.serializedData()
    }

    /// TensorProto data types.
    enum DataType: Int32 { case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int64 = 7 }

    struct Writer {
        var graph = Onnx_GraphProto()
        var weightGrids: [String: ONNXImport.WeightGrid] = [:]
        /// Whether a quantizer needs 16-bit integers (opset 21).
        var wide = false

        mutating func write(_ spec: GraphSpec, graph network: Graph, channels: Int, size: Int, classes: Int) throws {
            graph.input = [valueInfo(spec.input, dims: [nil, channels, size, size])]
            graph.output = [valueInfo(spec.output, dims: [nil, classes])]
            let shapes = try spec.shapes(input: [1, channels, size, size])
            for (node, built) in zip(spec.nodes, network.nodes) {
                try write(node, layer: built.layer, inputShape: shapes[node.inputs[0]] ?? [])
            }
        }

        // MARK: Nodes

        mutating func write(_ node: GraphSpec.Node, layer: (any Layer)?, inputShape: [Int]) throws {
            let (name, x, y) = (node.name, node.inputs.first ?? "", node.output)
            switch node.operation {
            case let .conv(_, _, k, s, p, d, g):
                guard let conv = layer as? Conv2d else { throw GraphError("node '\(name)': not a convolution") }
                let weight = weightInput(conv.product, shape: conv.weight.value.shape, layer: name)
                add("Conv", name: name, inputs: [x, weight], output: y, attributes: [
                    ints("kernel_shape", [k, k]), ints("strides", [s, s]), ints("pads", [p, p, p, p]), ints("dilations", [d ?? 1, d ?? 1]), int("group", g ?? 1),
                ])
            case .linear:
                guard let linear = layer as? Linear else { throw GraphError("node '\(name)': not a linear layer") }
                let weight = weightInput(linear.product, shape: linear.weight.value.shape, layer: name)
                initializer(linear.bias.name, linear.bias.value.shape, linear.bias.value.data)
                add("Gemm", name: name, inputs: [x, weight, linear.bias.name], output: y, attributes: [int("transB", 1)])
            case let .batchNorm(_, epsilon):
                guard let norm = layer as? BatchNorm2d else { throw GraphError("node '\(name)': not a batch norm") }
                let buffers = Dictionary(norm.buffers.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
                for parameter in norm.parameters { initializer(parameter.name, parameter.value.shape, parameter.value.data) }
                let mean = "\(name).running_mean", variance = "\(name).running_var"
                for buffer in [mean, variance] {
                    guard let value = buffers[buffer] else { throw GraphError("node '\(name)': no \(buffer)") }
                    initializer(buffer, value.shape, value.data)
                }
                add("BatchNormalization", name: name, inputs: [x, norm.gamma.name, norm.beta.name, mean, variance], output: y,
                    attributes: [float("epsilon", epsilon)])
            case let .bias(c):
                guard let bias = layer as? Bias else { throw GraphError("node '\(name)': not a bias") }
                // Broadcast over the pixels of an image: C × 1 × 1.
                initializer(bias.bias.name, inputShape.count == 4 ? [c, 1, 1] : [c], bias.bias.value.data)
                add("Add", name: name, inputs: [x, bias.bias.name], output: y)
            case .relu, .pact:
                if let pact = layer as? PACT {
                    writeActivation(pact, name: name, input: x, output: y)
                } else {
                    add("Relu", name: name, inputs: [x], output: y)
                }
            case let .clip(low, high):
                var inputs = [x]
                for (suffix, bound) in [("min", low), ("max", high)] {
                    guard bound.isFinite else { inputs.append(""); continue }
                    initializer("\(name).\(suffix)", [], [bound])
                    inputs.append("\(name).\(suffix)")
                }
                while inputs.last == "" { inputs.removeLast() }
                add("Clip", name: name, inputs: inputs, output: y)
            case let .maxPool(size), let .averagePool(size):
                let op = if case .maxPool = node.operation { "MaxPool" } else { "AveragePool" }
                add(op, name: name, inputs: [x], output: y, attributes: [ints("kernel_shape", [size, size]), ints("strides", [size, size])])
            case let .globalAveragePool(keeps):
                add("GlobalAveragePool", name: name, inputs: [x], output: keeps ? y : "\(y).pooled")
                if !keeps { add("Flatten", name: "\(name).flatten", inputs: ["\(y).pooled"], output: y, attributes: [int("axis", 1)]) }
            case .flatten:
                add("Flatten", name: name, inputs: [x], output: y, attributes: [int("axis", 1)])
            case let .downsamplingShortcut(c, m, s):
                // The input sampled every s pixels from 0, then zero channels before and after.
                integers("\(name).starts", [0, 0])
                integers("\(name).ends", [Int64.max, Int64.max])
                integers("\(name).axes", [2, 3])
                integers("\(name).steps", [Int64(s), Int64(s)])
                add("Slice", name: "\(name).subsample", inputs: [x, "\(name).starts", "\(name).ends", "\(name).axes", "\(name).steps"],
                    output: "\(y).subsampled")
                let before = Int64((m - c) / 2), after = Int64(m - c) - before
                integers("\(name).pads", [0, before, 0, 0, 0, after, 0, 0])
                add("Pad", name: name, inputs: ["\(y).subsampled", "\(name).pads"], output: y)
            case .add:
                add("Add", name: name, inputs: node.inputs, output: y)
            case .concat:
                add("Concat", name: name, inputs: node.inputs, output: y, attributes: [int("axis", 1)])
            }
        }

        /// The weight input of a product's layer: its float weights, or its quantized ones
        /// through QuantizeLinear → DequantizeLinear. Returns the tensor the layer reads.
        mutating func weightInput(_ product: IntegerProduct, shape: [Int], layer: String) -> String {
            let name = product.weight.name
            guard let quantizer = product.quantizer else {
                initializer(name, shape, product.weight.value.data)
                return name
            }
            let quantized = quantizer.quantize(product.weight.value.data, fan: product.quantizationFan)
            initializer(name, shape, quantized.values)
            let type: DataType = quantizer.bits > 8 ? .int16 : .int8
            wide = wide || quantizer.bits > 8
            weightGrids[layer] = ONNXImport.WeightGrid(bits: quantizer.bits, symmetric: quantizer.symmetric)
            quantizePair(name, scale: quantized.scale, type: type, output: "\(name)_dequantized", names: "\(name)")
            return "\(name)_dequantized"
        }

        /// A PACT: Clip(0, α) named as the activation, then its levels through a
        /// QuantizeLinear → DequantizeLinear pair.
        mutating func writeActivation(_ pact: PACT, name: String, input: String, output: String) {
            let alpha = max(pact.alpha.value.data[0], 1e-6)
            initializer("\(name).min", [], [0])
            initializer(pact.alpha.name, [], [alpha])
            add("Clip", name: name, inputs: [input, "\(name).min", pact.alpha.name], output: "\(output).clipped")
            wide = wide || pact.bits > 8
            quantizePair("\(output).clipped", scale: pact.scale, type: pact.bits > 8 ? .uint16 : .uint8, output: output, names: name)
        }

        /// QuantizeLinear → DequantizeLinear of `tensor` at `scale` (zero point 0 of `type`),
        /// its nodes and constants named from `names`.
        mutating func quantizePair(_ tensor: String, scale: Float, type: DataType, output: String, names: String) {
            let (scaleName, zeroName) = ("\(names).scale", "\(names).zero_point")
            initializer(scaleName, [], [scale])
            var zero = Onnx_TensorProto()
            zero.name = zeroName
            zero.dataType = type.rawValue
            zero.rawData = Data(count: type == .uint8 || type == .int8 ? 1 : 2)
            graph.initializer.append(zero)
            add("QuantizeLinear", name: "\(names).quantize", inputs: [tensor, scaleName, zeroName], output: "\(names).levels")
            add("DequantizeLinear", name: "\(names).dequantize", inputs: ["\(names).levels", scaleName, zeroName], output: output)
        }

        // MARK: Protobuf pieces

        mutating func add(_ op: String, name: String, inputs: [String], output: String, attributes: [Onnx_AttributeProto] = []) {
            var node = Onnx_NodeProto()
            (node.opType, node.name, node.input, node.output, node.attribute) = (op, name, inputs, [output], attributes)
            graph.node.append(node)
        }

        mutating func initializer(_ name: String, _ shape: [Int], _ values: [Float]) {
            var tensor = Onnx_TensorProto()
            tensor.name = name
            tensor.dims = shape.map(Int64.init)
            tensor.dataType = DataType.float.rawValue
            var bytes = Data(capacity: 4 * values.count)
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            tensor.rawData = bytes
            graph.initializer.append(tensor)
        }

        mutating func integers(_ name: String, _ values: [Int64]) {
            var tensor = Onnx_TensorProto()
            tensor.name = name
            tensor.dims = [Int64(values.count)]
            tensor.dataType = DataType.int64.rawValue
            var bytes = Data(capacity: 8 * values.count)
            for value in values { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
            tensor.rawData = bytes
            graph.initializer.append(tensor)
        }

        func valueInfo(_ name: String, dims: [Int?]) -> Onnx_ValueInfoProto {
            var info = Onnx_ValueInfoProto()
            info.name = name
            var type = Onnx_TypeProto.Tensor()
            type.elemType = DataType.float.rawValue
            type.shape.dim = dims.map { size in
                var dim = Onnx_TensorShapeProto.Dimension()
                if let size { dim.dimValue = Int64(size) } else { dim.dimParam = "N" }
                return dim
            }
            info.type.tensorType = type
            return info
        }

        func ints(_ name: String, _ values: [Int]) -> Onnx_AttributeProto {
            var attribute = Onnx_AttributeProto()
            (attribute.name, attribute.type, attribute.ints) = (name, .ints, values.map(Int64.init))
            return attribute
        }

        func int(_ name: String, _ value: Int) -> Onnx_AttributeProto {
            var attribute = Onnx_AttributeProto()
            (attribute.name, attribute.type, attribute.i) = (name, .int, Int64(value))
            return attribute
        }

        func float(_ name: String, _ value: Float) -> Onnx_AttributeProto {
            var attribute = Onnx_AttributeProto()
            (attribute.name, attribute.type, attribute.f) = (name, .float, value)
            return attribute
        }
    }
}
