import Foundation
import SwiftProtobuf

/// An ONNX file that cannot be imported, as one line: `file: node 'NAME' (Op): problem`, or
/// `file: place: problem` for what is not a node's.
public struct ONNXError: Error, Sendable, Equatable, UserInputError {
    public var description: String
    public init(_ file: String, _ problem: String) { description = "\(file): \(problem)" }
}

/// A network read from an ONNX file: its structure, its weights and BN statistics by the
/// names the network's layers give them, and the images it takes.
public struct ImportedModel: Sendable {
    public var spec: GraphSpec
    /// Parameter and buffer values by name (`conv1.weight`, `bn1.running_mean`, …).
    public var tensors: [String: Tensor]
    public var channels: Int, size: Int, classes: Int
    /// The exporter, as the file names it (`pytorch 2.15.0`).
    public var producer: String
    /// The input normalisation the file's metadata names (`input_mean`, `input_std`); nil = the
    /// dataset's.
    public var inputNormalization: InputNormalization?

    /// The network with the file's weights.
    public func graph() throws(GraphError) -> Graph {
        var initializer = TensorInitializer(seed: 0)
        let graph = try spec.build(initializer: &initializer)
        load(into: graph)
        return graph
    }

    /// A native checkpoint of the float network: its tensors, and metadata naming it `name`
    /// with its structure (`graph`), so that every command loads it without the ONNX file.
    public func checkpoint(name: String) throws -> Checkpoint {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Checkpoint(tensors: tensors, metadata: [
            "architecture": name, "graph": String(decoding: try encoder.encode(spec), as: UTF8.self),
            "channels": String(channels), "size": String(size), "classes": String(classes),
            "weight_bits": "32", "activation_bits": "32", "producer": producer,
        ].merging(inputNormalization?.metadata ?? [:]) { $1 })
    }

    /// Sets `graph`'s parameters and buffers to the file's (the graph built from ``spec``,
    /// quantized or not).
    public func load(into graph: Graph) {
        for parameter in graph.parameters {
            if let value = tensors[parameter.name] { parameter.value = value }
        }
        for (name, _) in graph.buffers {
            if let value = tensors[name] { graph.setBuffer(name, value) }
        }
    }
}

/// Reads ONNX models (opsets ``opsets``) into a ``GraphSpec`` and weights.
///
/// Operators: Conv (groups, square kernel and stride, equal pads, one dilation; its bias a
/// ``Bias`` node), Gemm and MatMul with constant weights (``Linear``), Add (of two tensors,
/// or of a constant per channel), BatchNormalization (kept as a BN layer: PIM-QAT
/// recalibrates it on a chip), Relu, Clip, MaxPool and AveragePool (kernel = stride, no
/// padding), GlobalAveragePool and ReduceMean over H and W, Flatten (axis 1), Reshape to
/// N × features, Concat on channels, Slice (subsampling H and W) followed by Pad (zero
/// channels) as a ``DownsamplingShortcut``, Identity, Dropout, Cast (to float), Constant.
/// QuantizeLinear → DequantizeLinear (one scale, zero point 0) on a constant weight gives its
/// layer a fixed grid (``WeightQuantizer/fixedScale``; bits from the metadata's
/// ``weightGridsKey``, else the integer type's); on an activation, a ``PACT`` (α the Clip max
/// before it). Initializers may be raw, typed or in external files beside the model. Layer
/// names are the file's: a convolution whose weight is `layer1.0.conv1.weight` is the layer
/// `layer1.0.conv1`. The metadata's `input_mean`/`input_std` become the model's
/// ``ImportedModel/inputNormalization``.
public enum ONNXImport {
    public static let opsets = 11...21
    /// Files larger than this (2 GiB, protobuf's own limit) are refused before reading.
    public static let maximumFileBytes = 1 << 31
    /// The most elements one tensor may hold (2²⁸).
    public static let maximumElements = 1 << 28
    public static let operators = ["Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "Conv", "DequantizeLinear", "Dropout",
                                   "Flatten", "Gemm", "GlobalAveragePool", "Identity", "MatMul", "MaxPool", "Pad", "QuantizeLinear", "ReduceMean",
                                   "Relu", "Reshape", "Slice"]

    /// Reads the model at `path` (its external data files beside it).
    public static func load(_ path: String) throws(ONNXError) -> ImportedModel {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size else { throw ONNXError(path, "cannot be read") }
        guard size <= maximumFileBytes else { throw ONNXError(path, "\(size) bytes is more than the 2 GiB a protobuf file may hold") }
        guard let data = FileManager.default.contents(atPath: path) else { throw ONNXError(path, "cannot be read") }
        return try read(data, file: path, directory: (path as NSString).deletingLastPathComponent)
    }

    /// Reads a serialized ModelProto; external data files are looked up in `directory`.
    public static func read(_ data: Data, file: String, directory: String) throws(ONNXError) -> ImportedModel {
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: data)
        } catch {
            throw ONNXError(file, "not an ONNX model: the protobuf does not parse (\(error)); the file may be truncated")
        }
        guard model.hasGraph else { throw ONNXError(file, "not an ONNX model: it holds no graph") }
        let opset = model.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }?.version
        guard let opset else { throw ONNXError(file, "opset_import: no version of the standard operator set (ai.onnx)") }
        guard opsets.contains(Int(opset)) else { throw ONNXError(file, "opset_import: opset \(opset) is outside the \(opsets.lowerBound)…\(opsets.upperBound) pimctl reads") }
        let metadata = Dictionary(model.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        var reader = Reader(file: file, directory: directory)
        if let text = metadata[weightGridsKey] {
            guard let grids = try? JSONDecoder().decode([String: WeightGrid].self, from: Data(text.utf8)),
                  grids.values.allSatisfy({ (2...16).contains($0.bits) }) else {
                throw ONNXError(file, "metadata_props \(weightGridsKey): not a JSON object of layer names to {\"bits\": 2…16, \"symmetric\": true|false}")
            }
            reader.weightGrids = grids
        }
        let normalization: InputNormalization?
        do {
            normalization = try InputNormalization(metadata: metadata, file: file)
        } catch {
            throw ONNXError(file, error.description.replacingOccurrences(of: "\(file): ", with: ""))
        }
        var imported = try reader.read(model.graph, producer: "\(model.producerName) \(model.producerVersion)".trimmingCharacters(in: .whitespaces))
        imported.inputNormalization = normalization
        return imported
    }

    /// A constant: a tensor's shape and values.
    struct Constant {
        var shape: [Int]
        var values: [Float]
        /// The exact integers of an integer tensor (shapes, axes, quantized weights).
        var integers: [Int64]?
        /// Its TensorProto data type (1 float, 2 uint8, 3 int8, 4 uint16, 5 int16, 6 int32, 7 int64).
        var type = 1
        /// The integer grid of dequantized weights: values = integers × scale, the integers
        /// within `range` (their data type's).
        var grid: (scale: Float, range: ClosedRange<Int64>)?
        /// The initializer it was computed from (a quantized weight's float original).
        var origin: String?
    }

    /// The integers a quantized data type holds.
    static func integerRange(_ type: Int) -> ClosedRange<Int64>? {
        switch type {
        case 2: 0...255
        case 3: -128...127
        case 4: 0...65_535
        case 5: -32_768...32_767
        case 6: Int64(Int32.min)...Int64(Int32.max)
        default: nil
        }
    }

    /// The metadata entry of a quantized network's weight precisions: a JSON object of layer
    /// names to `{"bits": b, "symmetric": s}`. Without it a layer's weight bits are its
    /// integer type's (8 for int8).
    public static let weightGridsKey = "weight_grids"

    /// One layer's entry in ``weightGridsKey``.
    public struct WeightGrid: Codable, Hashable, Sendable {
        public var bits: Int
        public var symmetric: Bool
        public init(bits: Int, symmetric: Bool) { (self.bits, self.symmetric) = (bits, symmetric) }
    }

    struct Reader {
        let file: String, directory: String
        var constants: [String: Constant] = [:]
        /// Tensor names that are another's (Identity, Cast, Dropout in inference).
        var aliases: [String: String] = [:]
        var shapes: [String: [Int]] = [:]
        var spec = GraphSpec()
        var tensors: [String: Tensor] = [:]
        var names = Set<String>()
        /// Weight precisions the model's metadata gives, by layer.
        var weightGrids: [String: WeightGrid] = [:]
        /// How many nodes (and graph outputs) read each tensor.
        var readers: [String: Int] = [:]
        /// Computed tensors a QuantizeLinear made integers: its input, scale and integer range.
        var quantized: [String: (source: String, scale: Float, range: ClosedRange<Int64>)] = [:]
        /// The batch size the graph's input fixes (an exporter's example batch), if it fixes one.
        var fixedBatch: Int64?
        /// Computed tensors a Slice subsampled: its input and the steps along H and W.
        var subsampled: [String: (source: String, steps: [Int])] = [:]

        init(file: String, directory: String) { (self.file, self.directory) = (file, directory) }

        func resolved(_ name: String) -> String {
            var name = name
            while let next = aliases[name] { name = next }
            return name
        }

        // MARK: The graph

        mutating func read(_ graph: Onnx_GraphProto, producer: String) throws(ONNXError) -> ImportedModel {
            for tensor in graph.initializer { constants[tensor.name] = try decode(tensor, place: "initializer '\(tensor.name)'") }
            let inputs = graph.input.filter { constants[$0.name] == nil }
            guard inputs.count == 1, let input = inputs.first else {
                throw ONNXError(file, "graph.input: \(inputs.count) inputs besides the initializers; pimctl takes networks of one image input")
            }
            let dims = input.type.tensorType.shape.dim
            guard input.type.tensorType.elemType == 1, dims.count == 4,
                  case let .dimValue(c)? = dims[1].value, case let .dimValue(h)? = dims[2].value, case let .dimValue(w)? = dims[3].value,
                  c > 0, h > 0, h == w else {
                throw ONNXError(file, "graph.input '\(input.name)': pimctl takes float images N × C × H × H with C and H fixed")
            }
            guard ModelArchitecture.channelRange.contains(Int(c)), ModelArchitecture.sizeRange.contains(Int(h)) else {
                throw ONNXError(file, "graph.input '\(input.name)': \(c) channels of \(h) × \(h) pixels are outside \(ModelArchitecture.channelRange) channels of \(ModelArchitecture.sizeRange) pixels")
            }
            if case let .dimValue(n)? = dims[0].value { fixedBatch = n }
            for node in graph.node { for name in node.input { readers[name, default: 0] += 1 } }
            for output in graph.output { readers[output.name, default: 0] += 1 }
            spec = GraphSpec(input: input.name, nodes: [], output: input.name)
            shapes[input.name] = [1, Int(c), Int(h), Int(w)]
            for (index, node) in graph.node.enumerated() { try read(node, index: index) }
            for (layer, _) in weightGrids where !spec.nodes.contains(where: { $0.name == layer && $0.weightQuantizer != nil }) {
                throw ONNXError(file, "metadata_props \(ONNXImport.weightGridsKey): '\(layer)' is not a layer with quantized weights")
            }
            guard graph.output.count == 1, let output = graph.output.first else {
                throw ONNXError(file, "graph.output: \(graph.output.count) outputs; pimctl takes networks with one output (the logits)")
            }
            let result = resolved(output.name)
            guard let shape = shapes[result] else { throw ONNXError(file, "graph.output '\(output.name)': no node produces it") }
            guard shape.count == 2, ModelArchitecture.classRange.contains(shape[1]) else {
                throw ONNXError(file, "graph.output '\(output.name)': shape \(shape.map(String.init).joined(separator: "×")); pimctl takes logits N × classes (2…100 000)")
            }
            spec.output = result
            // The structure builds and runs (every shape was checked node by node).
            var initializer = TensorInitializer(seed: 0)
            do {
                _ = try spec.build(initializer: &initializer).forward(Tensor(zeros: [1, Int(c), Int(h), Int(w)]), training: false)
            } catch {
                throw ONNXError(file, "graph: \(error.description)")
            }
            return ImportedModel(spec: spec, tensors: tensors, channels: Int(c), size: Int(h), classes: shape[1], producer: producer)
        }

        // MARK: Nodes

        mutating func read(_ node: Onnx_NodeProto, index: Int) throws(ONNXError) {
            let name = node.name.isEmpty ? "\(node.opType)_\(index)" : node.name
            let file = file
            func fail(_ problem: String) -> ONNXError { ONNXError(file, "node '\(name)' (\(node.opType)): \(problem)") }
            guard node.domain.isEmpty || node.domain == "ai.onnx" else { throw fail("operator \(node.opType) of domain '\(node.domain)' is not supported") }
            var attributes: [String: Onnx_AttributeProto] = [:]
            for attribute in node.attribute {
                guard attributes.updateValue(attribute, forKey: attribute.name) == nil else { throw fail("attribute '\(attribute.name)' is given twice") }
            }
            func int(_ key: String, _ fallback: Int) -> Int { attributes[key].map { Int($0.i) } ?? fallback }
            func ints(_ key: String) -> [Int]? { attributes[key].map { $0.ints.map { Int($0) } } }
            func float(_ key: String, _ fallback: Float) -> Float { attributes[key].map(\.f) ?? fallback }
            func string(_ key: String) -> String? { attributes[key].map { String(decoding: $0.s, as: UTF8.self) } }
            let inputs = node.input.map(resolved)
            // An empty input name is an optional input left out.
            func constant(_ position: Int) throws(ONNXError) -> Constant? {
                guard position < inputs.count, !inputs[position].isEmpty else { return nil }
                guard let value = constants[inputs[position]] else { throw fail("input \(position) '\(inputs[position])' must be a constant (an initializer)") }
                return value
            }
            func activation(_ position: Int) throws(ONNXError) -> (name: String, shape: [Int]) {
                guard position < inputs.count, !inputs[position].isEmpty else { throw fail("input \(position) is missing") }
                let tensor = inputs[position]
                guard let shape = shapes[tensor] else {
                    if quantized[tensor] != nil { throw fail("input \(position) '\(tensor)' holds a QuantizeLinear's integers; pimctl reads them only through a DequantizeLinear") }
                    if subsampled[tensor] != nil {
                        throw fail("input \(position) '\(tensor)' is a Slice's; pimctl reads a Slice only as a shortcut's subsampling, followed by a Pad of the channels")
                    }
                    if constants[tensor] != nil { throw fail("input \(position) '\(tensor)' is a constant where pimctl needs a computed tensor") }
                    throw fail("input \(position) '\(tensor)' is produced by no earlier node and is not an initializer")
                }
                return (tensor, shape)
            }
            guard node.output.count >= 1, !node.output[0].isEmpty else { throw fail("it has no output") }
            let output = node.output[0]
            if node.output.count > 1, node.output.dropFirst().contains(where: { !$0.isEmpty }) {
                throw fail("\(node.output.count) outputs; pimctl reads only the first (inference)")
            }
            /// A unique layer name: the weight's own (`conv1` for `conv1.weight`), else the node's.
            func layerName(_ weight: String?) -> String {
                var base = name
                if let weight, weight.hasSuffix(".weight"), !weight.hasPrefix("onnx::") { base = String(weight.dropLast(7)) }
                return unique(base)
            }
            func append(_ operation: GraphSpec.Operation, name nodeName: String, inputs sources: [String], output tensor: String) throws(ONNXError) {
                try appendNode(operation, name: nodeName, inputs: sources, output: tensor, fail: fail)
            }

            switch node.opType {
            case "Identity", "Dropout":
                guard let source = inputs.first else { throw fail("input 0 is missing") }
                if let value = constants[source] { constants[output] = value } else { aliases[output] = source }
            case "Cast":
                guard let source = inputs.first else { throw fail("input 0 is missing") }
                let to = int("to", 0)
                if let value = constants[source] {
                    constants[output] = value
                } else {
                    guard to == 1 else { throw fail("a cast of a computed tensor to data type \(to): pimctl computes in float (1)") }
                    aliases[output] = source
                }
            case "Constant":
                if let tensor = attributes["value"], tensor.hasT {
                    constants[output] = try decode(tensor.t, place: "node '\(name)' (Constant) value")
                } else if let value = attributes["value_float"] {
                    constants[output] = Constant(shape: [], values: [value.f])
                } else if let value = attributes["value_floats"] {
                    constants[output] = Constant(shape: [value.floats.count], values: value.floats)
                } else if let value = attributes["value_int"] {
                    constants[output] = Constant(shape: [], values: [Float(value.i)], integers: [value.i])
                } else if let value = attributes["value_ints"] {
                    constants[output] = Constant(shape: [value.ints.count], values: value.ints.map(Float.init), integers: value.ints)
                } else {
                    throw fail("a Constant without value, value_float(s) or value_int(s)")
                }
            case "Conv":
                let x = try activation(0)
                guard let weight = try constant(1) else { throw fail("input 1 (the weight) is missing") }
                guard weight.shape.count == 4 else { throw fail("a weight of shape \(weight.shape); pimctl takes 2-D convolutions (M × C × k × k)") }
                let group = int("group", 1)
                guard group >= 1, group <= weight.shape[0], weight.shape[0] % group == 0 else {
                    throw fail("group \(group) does not divide the \(weight.shape[0]) output channels")
                }
                let (m, c, kh, kw) = (weight.shape[0], weight.shape[1] * group, weight.shape[2], weight.shape[3])
                guard kh == kw else { throw fail("a \(kh) × \(kw) kernel: pimctl takes square kernels") }
                if let kernel = ints("kernel_shape"), kernel != [kh, kw] { throw fail("kernel_shape \(kernel) does not match the weight's \(kh) × \(kw)") }
                let dilations = ints("dilations") ?? [1, 1]
                guard dilations.count == 2, dilations[0] == dilations[1], (1...1024).contains(dilations[0]) else {
                    throw fail("dilations \(dilations): pimctl takes one dilation (1…1024) for both axes")
                }
                let strides = ints("strides") ?? [1, 1]
                guard strides.count == 2, strides[0] == strides[1], strides[0] >= 1 else { throw fail("strides \(strides): pimctl takes one stride for both axes") }
                let autoPad = string("auto_pad") ?? "NOTSET"
                guard ["NOTSET", "VALID", ""].contains(autoPad) else { throw fail("auto_pad \(autoPad) is not supported; give explicit pads") }
                let pads = autoPad == "VALID" ? [0, 0, 0, 0] : (ints("pads") ?? [0, 0, 0, 0])
                guard pads.count == 4, pads.allSatisfy({ $0 == pads[0] }), pads[0] >= 0 else { throw fail("pads \(pads): pimctl takes equal padding on every side") }
                let layer = layerName(weight.origin ?? node.input[1])
                let bias = try constant(2)
                try append(.conv(inChannels: c, outChannels: m, kernel: kh, stride: strides[0], padding: pads[0], dilation: dilations[0] == 1 ? nil : dilations[0],
                                  groups: group == 1 ? nil : group), name: layer, inputs: [x.name],
                           output: bias == nil ? output : "\(output)#conv")
                spec.nodes[spec.nodes.count - 1].weightQuantizer = try weightQuantizer(weight, layer: layer, fail: fail)
                tensors["\(layer).weight"] = Tensor(shape: weight.shape, data: weight.values)
                if let bias {
                    guard bias.values.count == m else { throw fail("a bias of \(bias.values.count) values for \(m) outputs") }
                    let biasName = unique("\(layer).bias")
                    try append(.bias(channels: m), name: biasName, inputs: ["\(output)#conv"], output: output)
                    tensors[biasName] = Tensor(shape: [m], data: bias.values)
                }
            case "Gemm", "MatMul":
                let x = try activation(0)
                guard let b = try constant(1) else { throw fail("input 1 must be a constant weight matrix") }
                guard b.shape.count == 2 else { throw fail("a weight of shape \(b.shape); pimctl takes a matrix") }
                let transposed = node.opType == "Gemm" && int("transB", 0) == 1
                if node.opType == "Gemm", int("transA", 0) != 0 { throw fail("transA 1 is not supported") }
                let (k, n) = transposed ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
                let alpha = node.opType == "Gemm" ? float("alpha", 1) : 1, beta = node.opType == "Gemm" ? float("beta", 1) : 1
                if b.grid != nil, alpha != 1 { throw fail("alpha \(alpha) scales quantized weights off their grid; pimctl takes alpha 1 with DequantizeLinear weights") }
                // Linear's weight is N × K.
                var w = [Float](repeating: 0, count: n * k)
                for row in 0..<n {
                    for column in 0..<k { w[row * k + column] = alpha * (transposed ? b.values[row * k + column] : b.values[column * n + row]) }
                }
                var bias = [Float](repeating: 0, count: n)
                if node.opType == "Gemm", let c = try constant(2) {
                    guard c.values.count == n || c.values.count == 1 else { throw fail("a bias C of \(c.values.count) values for \(n) outputs") }
                    for j in 0..<n { bias[j] = beta * c.values[c.values.count == 1 ? 0 : j] }
                }
                let layer = layerName(b.origin ?? node.input[1])
                try append(.linear(inFeatures: k, outFeatures: n), name: layer, inputs: [x.name], output: output)
                spec.nodes[spec.nodes.count - 1].weightQuantizer = try weightQuantizer(b, layer: layer, fail: fail)
                tensors["\(layer).weight"] = Tensor(shape: [n, k], data: w)
                tensors["\(layer).bias"] = Tensor(shape: [n], data: bias)
            case "Add":
                guard inputs.count == 2 else { throw fail("\(inputs.count) inputs; Add takes two") }
                let constantSide = inputs.firstIndex { constants[$0] != nil && shapes[$0] == nil }
                if let side = constantSide {
                    let x = try activation(1 - side), value = constants[inputs[side]]!
                    let channels = x.shape[1], expected = x.shape.count == 4 ? [[channels], [channels, 1, 1], [1, channels, 1, 1]] : [[channels], [1, channels]]
                    guard expected.contains(value.shape) else {
                        throw fail("a constant of shape \(value.shape) added to \(x.shape): pimctl takes a constant per channel (a bias)")
                    }
                    let biasName = unique(inputs[side].hasPrefix("onnx::") ? "\(name).bias" : inputs[side])
                    try append(.bias(channels: channels), name: biasName, inputs: [x.name], output: output)
                    tensors[biasName] = Tensor(shape: [channels], data: value.values)
                } else {
                    let a = try activation(0), b = try activation(1)
                    try append(.add, name: unique(name), inputs: [a.name, b.name], output: output)
                }
            case "BatchNormalization":
                let x = try activation(0)
                guard let scale = try constant(1), let shift = try constant(2), let mean = try constant(3), let variance = try constant(4) else {
                    throw fail("scale, B, mean and var must all be given")
                }
                guard int("training_mode", 0) == 0 else { throw fail("training_mode 1: pimctl imports inference graphs") }
                let channels = x.shape.count > 1 ? x.shape[1] : 0
                guard [scale, shift, mean, variance].allSatisfy({ $0.values.count == channels }) else { throw fail("scale, B, mean and var must hold \(channels) values, one per channel") }
                guard variance.values.allSatisfy({ $0 >= 0 }) else { throw fail("a negative variance") }
                let epsilon = float("epsilon", 1e-5)
                guard epsilon > 0, epsilon.isFinite else { throw fail("epsilon \(epsilon) must be positive") }
                let layer = layerName(node.input[1])
                try append(.batchNorm(channels: channels, epsilon: epsilon), name: layer, inputs: [x.name], output: output)
                tensors["\(layer).weight"] = Tensor(shape: [channels], data: scale.values)
                tensors["\(layer).bias"] = Tensor(shape: [channels], data: shift.values)
                tensors["\(layer).running_mean"] = Tensor(shape: [channels], data: mean.values)
                tensors["\(layer).running_var"] = Tensor(shape: [channels], data: variance.values)
            case "Relu":
                let x = try activation(0)
                try append(.relu, name: unique(name), inputs: [x.name], output: output)
            case "Clip":
                let x = try activation(0)
                let low = try constant(1)?.values.first ?? -.infinity, high = try constant(2)?.values.first ?? .infinity
                guard low <= high else { throw fail("min \(low) above max \(high)") }
                try append(.clip(low: low, high: high), name: unique(name), inputs: [x.name], output: output)
            case "MaxPool", "AveragePool":
                let x = try activation(0)
                guard let kernel = ints("kernel_shape"), kernel.count == 2, kernel[0] == kernel[1], kernel[0] >= 1 else {
                    throw fail("kernel_shape \(ints("kernel_shape") ?? []): pimctl takes square 2-D windows")
                }
                let strides = ints("strides") ?? [1, 1], pads = ints("pads") ?? [0, 0, 0, 0], dilations = ints("dilations") ?? [1, 1]
                guard strides == kernel else { throw fail("strides \(strides) with kernel \(kernel): pimctl pools windows that do not overlap (stride = kernel)") }
                guard pads.allSatisfy({ $0 == 0 }), ["NOTSET", "VALID", ""].contains(string("auto_pad") ?? "NOTSET") else { throw fail("padding \(pads) is not supported") }
                guard dilations.allSatisfy({ $0 == 1 }), int("ceil_mode", 0) == 0 else { throw fail("dilations or ceil_mode are not supported") }
                let size = kernel[0]
                try append(node.opType == "MaxPool" ? .maxPool(size: size) : .averagePool(size: size), name: unique(name), inputs: [x.name], output: output)
            case "GlobalAveragePool":
                let x = try activation(0)
                try append(.globalAveragePool(keepsSpatialAxes: true), name: unique(name), inputs: [x.name], output: output)
            case "ReduceMean":
                // The mean over H and W: a global average pool (PyTorch's adaptive pooling to 1 × 1).
                let x = try activation(0)
                let given = try constant(1)?.integers ?? ints("axes").map { $0.map(Int64.init) }
                let axes = Set((given ?? []).map { Int($0 < 0 ? $0 + Int64(x.shape.count) : $0) })
                guard x.shape.count == 4, axes == [2, 3] else {
                    throw fail("axes \(given.map { $0.map(String.init).joined(separator: ", ") } ?? "all"): pimctl reads a ReduceMean only over H and W (axes 2, 3) of an image")
                }
                try append(.globalAveragePool(keepsSpatialAxes: int("keepdims", 1) == 1), name: unique(name), inputs: [x.name], output: output)
            case "Flatten":
                let x = try activation(0)
                let axis = int("axis", 1)
                guard axis == 1 || axis == 1 - x.shape.count else { throw fail("axis \(axis): pimctl flattens everything after the batch axis (axis 1)") }
                try append(.flatten, name: unique(name), inputs: [x.name], output: output)
            case "Reshape":
                let x = try activation(0)
                guard let target = try constant(1), let dims = target.integers else { throw fail("the shape must be a constant integer tensor") }
                let features = x.shape.dropFirst().reduce(1, *)
                // The batch axis kept: 0 (copy), -1 (inferred), or the file's own fixed batch size.
                let batch: [Int64] = [0, -1, 1] + (fixedBatch.map { [$0] } ?? [])
                let flat = dims.count == 2 && batch.contains(dims[0]) && (dims[1] == -1 || Int(dims[1]) == features) && !(dims[0] == -1 && dims[1] == -1)
                guard flat else { throw fail("a reshape to \(dims): pimctl takes only a reshape to N × features, a flatten") }
                try append(.flatten, name: unique(name), inputs: [x.name], output: output)
            case "Concat":
                let parts = try (0..<inputs.count).map { i throws(ONNXError) in try activation(i) }
                let rank = parts.first?.shape.count ?? 0
                var axis = int("axis", 1)
                if axis < 0 { axis += rank }
                guard axis == 1 else { throw fail("axis \(int("axis", 1)): pimctl concatenates channels (axis 1)") }
                guard parts.count >= 2 else { throw fail("fewer than two inputs") }
                try append(.concat, name: unique(name), inputs: parts.map(\.name), output: output)
            case "QuantizeLinear", "DequantizeLinear":
                guard let scaleTensor = try constant(1) else { throw fail("input 1 (the scale) is missing") }
                guard scaleTensor.values.count == 1, let scale = scaleTensor.values.first, scale > 0, scale.isFinite else {
                    throw fail("a scale of \(scaleTensor.values.count) values: pimctl takes one positive scale per tensor (no per-axis quantization)")
                }
                let zeroPoint = try constant(2)
                if let zeroPoint, zeroPoint.values.count != 1 || zeroPoint.values[0] != 0 {
                    throw fail("zero point \(zeroPoint.values.prefix(4)): pimctl takes zero point 0 (activations from 0, weights symmetric about 0)")
                }
                guard let source = inputs.first, !source.isEmpty else { throw fail("input 0 is missing") }
                if node.opType == "QuantizeLinear" {
                    let type = zeroPoint?.type ?? int("output_dtype", 2)
                    guard let range = ONNXImport.integerRange(type), type != 6 else {
                        throw fail("quantizing to data type \(type); pimctl reads uint8, int8, uint16 and int16 (2…5)")
                    }
                    if let value = constants[source] {
                        // A weight: its integers, to be dequantized into the grid of its layer.
                        let (low, high) = (Float(range.lowerBound), Float(range.upperBound))
                        let integers = value.values.map { Int64(roundedHalfEven(min(max($0 / scale, low), high))) }
                        constants[output] = Constant(shape: value.shape, values: integers.map(Float.init), integers: integers, type: type,
                                                     origin: value.origin ?? source)
                    } else {
                        let x = try activation(0)
                        guard range.lowerBound == 0 else {
                            throw fail("activations quantized to signed data type \(type): pimctl's activation levels start at 0 (uint8, uint16)")
                        }
                        quantized[output] = (x.name, scale, range)
                    }
                } else if let levels = quantized[source] {
                    guard levels.scale == scale else { throw fail("scale \(scale) differs from its QuantizeLinear's \(levels.scale)") }
                    try appendActivation(levels, name: name, output: output, fail: fail)
                } else if let value = constants[source] {
                    guard let integers = value.integers, let range = ONNXImport.integerRange(value.type) else {
                        throw fail("input 0 '\(source)' must be integers (uint8, int8, uint16, int16, int32)")
                    }
                    constants[output] = Constant(shape: value.shape, values: integers.map { Float($0) * scale }, integers: integers, type: value.type,
                                                 grid: (scale, range), origin: value.origin ?? source)
                } else {
                    _ = try activation(0)
                    throw fail("input 0 '\(source)' is a float tensor; DequantizeLinear takes a QuantizeLinear's integers")
                }
            case "Slice":
                guard let source = inputs.first, !source.isEmpty else { throw fail("input 0 is missing") }
                let base = subsampled[source] ?? (source, [1, 1])
                let x = subsampled[source] == nil ? try activation(0) : (name: base.source, shape: shapes[base.source]!)
                guard x.shape.count == 4 else { throw fail("a slice of \(x.shape); pimctl reads a Slice only as the subsampling of an image's rows and columns") }
                guard let starts = try constant(1)?.integers, let ends = try constant(2)?.integers else { throw fail("starts and ends must be constant integers") }
                let axes = try constant(3)?.integers ?? (0..<Int64(starts.count)).map { $0 }
                let steps = try constant(4)?.integers ?? Array(repeating: 1, count: starts.count)
                guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count else { throw fail("starts, ends, axes and steps differ in length") }
                var total = base.steps
                for i in axes.indices {
                    let axis = Int(axes[i] < 0 ? axes[i] + 4 : axes[i])
                    guard axis == 2 || axis == 3, starts[i] == 0, steps[i] >= 1, steps[i] <= Int64(x.shape[axis]),
                          ends[i] >= Int64((x.shape[axis] + base.steps[axis - 2] - 1) / base.steps[axis - 2]) else {
                        throw fail("pimctl reads a Slice only as a subsampling from pixel 0 to the end along H and W (axis \(axes[i]), start \(starts[i]), end \(ends[i]), step \(steps[i]))")
                    }
                    total[axis - 2] *= Int(steps[i])
                }
                subsampled[output] = (x.name, total)
            case "Pad":
                guard let source = inputs.first, !source.isEmpty else { throw fail("input 0 is missing") }
                let sampled = subsampled[source]
                let x: (String, [Int])
                if let sampled { x = (sampled.source, shapes[sampled.source]!) } else { x = try activation(0) }
                let fill = try constant(2)?.values ?? [0]
                guard (string("mode") ?? "constant") == "constant", fill.allSatisfy({ $0 == 0 }) else {
                    throw fail("pimctl reads a Pad only with zeros (mode constant, constant_value 0)")
                }
                guard let given = try constant(1)?.integers else { throw fail("the pads must be constant integers") }
                let rank = x.1.count
                let axes = try constant(3)?.integers.map { $0.map { Int($0 < 0 ? $0 + Int64(rank) : $0) } } ?? Array(0..<rank)
                guard given.count == 2 * axes.count, axes.allSatisfy({ (0..<rank).contains($0) }) else { throw fail("\(given.count) pads for \(axes.count) axes") }
                var pads = [Int](repeating: 0, count: 2 * rank)
                for (i, axis) in axes.enumerated() { (pads[axis], pads[rank + axis]) = (Int(given[i]), Int(given[axes.count + i])) }
                let steps = sampled?.steps ?? [1, 1]
                let (before, after) = (pads[1], pads[rank + 1])
                let onlyChannels = rank == 4 && pads.enumerated().allSatisfy { $0.offset % rank == 1 || $0.element == 0 }
                guard given.allSatisfy({ (0...Int64(GraphSpec.maximumParameters)).contains($0) }) else {
                    throw fail("pads \(given): pimctl takes pads of 0…\(GraphSpec.maximumParameters)")
                }
                guard onlyChannels, before == (before + after) / 2, steps[0] == steps[1] else {
                    throw fail("pads \(pads): pimctl reads a Pad only as a shortcut's new channels, zeros split evenly before and after (more after when odd), on a subsampling with one step for H and W")
                }
                let c = x.1[1]
                try append(.downsamplingShortcut(inChannels: c, outChannels: c + before + after, stride: steps[0]), name: unique(name), inputs: [x.0], output: output)
            default:
                throw fail("operator \(node.opType) is not supported (pimctl reads \(ONNXImport.operators.joined(separator: ", ")))")
            }
        }

        /// The fixed grid of a layer whose weights are dequantized integers (nil for float
        /// weights): its scale, and the bits the model's metadata gives, else its type's.
        func weightQuantizer(_ weight: Constant, layer: String, fail: (String) -> ONNXError) throws(ONNXError) -> WeightQuantizer? {
            guard let grid = weight.grid else {
                if weightGrids[layer] != nil { throw fail("metadata_props \(ONNXImport.weightGridsKey) names '\(layer)', whose weights are float") }
                return nil
            }
            guard grid.range.lowerBound < 0 else { throw fail("unsigned weights (data type \(weight.type)): pimctl takes signed weight integers") }
            let typeBits = min(16, 64 - grid.range.upperBound.leadingZeroBitCount + 1)
            let given = weightGrids[layer] ?? WeightGrid(bits: typeBits, symmetric: false)
            let quantizer = WeightQuantizer(bits: min(given.bits, typeBits), rescale: false, symmetric: given.symmetric, fixedScale: grid.scale)
            let range = quantizer.integerRange
            if let integers = weight.integers, let outside = integers.first(where: { !range.contains(Int32(clamping: $0)) }) {
                throw fail("weight integer \(outside) is outside the \(quantizer.bits)-bit grid \(range.lowerBound)…\(range.upperBound)")
            }
            return quantizer
        }

        /// Appends the quantized activation `levels` (a DequantizeLinear of a QuantizeLinear) as a
        /// ``PACT``: the Clip(0, α) before it becomes one (named as the Clip, α its max), or a new
        /// one clips at the top level of the integer type.
        mutating func appendActivation(_ levels: (source: String, scale: Float, range: ClosedRange<Int64>), name: String, output: String,
                                       fail: (String) -> ONNXError) throws(ONNXError) {
            let producer = spec.nodes.lastIndex { $0.output == levels.source }
            if let index = producer, case let .clip(low, high) = spec.nodes[index].operation, low == 0, high.isFinite, high > 0,
               readers[levels.source] == 1 {
                let count = (high / levels.scale).rounded()
                let bits = Int(log2(Double(count) + 1).rounded())
                guard count >= 1, bits <= 16, Double(1 << bits) == Double(count) + 1, Int64(count) <= levels.range.upperBound,
                      abs(high / count - levels.scale) <= 1e-5 * levels.scale else {
                    throw fail("Clip max \(high) at scale \(levels.scale) gives \(high / levels.scale) levels; pimctl's quantized activations have 2^b − 1 (max = (2^b − 1) · scale)")
                }
                // The Clip's output is read by the QuantizeLinear alone: the PACT writes the
                // DequantizeLinear's output in its place.
                let pact = spec.nodes[index].name
                spec.nodes[index].operation = .pact(bits: bits)
                spec.nodes[index].output = output
                shapes[output] = shapes[levels.source]
                tensors["\(pact).alpha"] = Tensor(shape: [1], data: [high])
            } else {
                let top = Float(levels.range.upperBound), bits = levels.range.upperBound == 255 ? 8 : 16
                let pact = unique(name)
                try appendNode(.pact(bits: bits), name: pact, inputs: [levels.source], output: output, fail: fail)
                tensors["\(pact).alpha"] = Tensor(shape: [1], data: [top * levels.scale])
            }
        }

        /// Appends node `name`, its output's shape checked against its inputs'.
        mutating func appendNode(_ operation: GraphSpec.Operation, name: String, inputs sources: [String], output tensor: String,
                                 fail: (String) -> ONNXError) throws(ONNXError) {
            let shape: [Int]
            do {
                shape = try GraphSpec.outputShape(operation, inputs: sources.map { shapes[$0]! }, node: name)
            } catch {
                throw fail(error.description.replacingOccurrences(of: "node '\(name)': ", with: ""))
            }
            spec.nodes.append(GraphSpec.Node(name: name, operation: operation, inputs: sources, output: tensor))
            names.insert(name)
            shapes[tensor] = shape
        }

        /// `base`, or `base#2`, `base#3`, … when a node has that name.
        func unique(_ base: String) -> String {
            var candidate = base, n = 2
            while names.contains(candidate) { candidate = "\(base)#\(n)"; n += 1 }
            return candidate
        }

        // MARK: Tensors

        func decode(_ tensor: Onnx_TensorProto, place: String) throws(ONNXError) -> Constant {
            func fail(_ problem: String) -> ONNXError { ONNXError(file, "\(place): \(problem)") }
            var count = 1
            for dim in tensor.dims {
                guard dim >= 0 else { throw fail("a negative dimension \(dim)") }
                let (product, overflow) = count.multipliedReportingOverflow(by: Int(dim))
                guard !overflow, product <= ONNXImport.maximumElements else {
                    throw fail("dimensions \(tensor.dims) claim more than the \(ONNXImport.maximumElements) elements a tensor may hold")
                }
                count = product
            }
            let shape = tensor.dims.map { Int($0) }
            let type = Int(tensor.dataType)
            let width: Int
            switch type {
            case 2, 3: width = 1
            case 4, 5: width = 2
            case 1, 6: width = 4
            case 7, 11: width = 8
            default: throw fail("data type \(type) is not read (float 1, uint8 2, int8 3, uint16 4, int16 5, int32 6, int64 7, double 11)")
            }
            let isInteger = (2...7).contains(type)
            var raw: Data?
            if tensor.dataLocation == .external {
                raw = try external(tensor, bytes: count * width, fail: fail)
            } else if tensor.hasRawData {
                guard tensor.rawData.count == count * width else {
                    throw fail("raw_data holds \(tensor.rawData.count) bytes; \(shape) of data type \(type) needs \(count * width)")
                }
                raw = tensor.rawData
            }
            if let raw {
                var values = [Float](repeating: 0, count: count)
                var integers = [Int64](repeating: 0, count: isInteger ? count : 0)
                raw.withUnsafeBytes { bytes in
                    for i in 0..<count {
                        let offset = width * i
                        switch type {
                        case 1: values[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                        case 11: values[i] = Float(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))))
                        case 2: integers[i] = Int64(bytes[offset])
                        case 3: integers[i] = Int64(Int8(bitPattern: bytes[offset]))
                        case 4: integers[i] = Int64(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
                        case 5: integers[i] = Int64(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
                        case 6: integers[i] = Int64(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
                        default: integers[i] = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
                        }
                        if isInteger { values[i] = Float(integers[i]) }
                    }
                }
                return try finite(Constant(shape: shape, values: values, integers: isInteger ? integers : nil, type: type))
            }
            // Typed fields: integers narrower than 64 bits are stored in int32_data.
            let stored: Int
            switch type {
            case 1: stored = tensor.floatData.count
            case 2...6: stored = tensor.int32Data.count
            case 7: stored = tensor.int64Data.count
            default: stored = tensor.doubleData.count
            }
            guard stored == count else { throw fail("holds \(stored) values; its shape \(shape) needs \(count)") }
            switch type {
            case 1: return try finite(Constant(shape: shape, values: tensor.floatData))
            case 2...6:
                let integers = tensor.int32Data.map(Int64.init)
                if let range = ONNXImport.integerRange(type), let outside = integers.first(where: { !range.contains($0) }) {
                    throw fail("value \(outside) does not fit data type \(type)")
                }
                return Constant(shape: shape, values: integers.map(Float.init), integers: integers, type: type)
            case 7: return Constant(shape: shape, values: tensor.int64Data.map(Float.init), integers: tensor.int64Data, type: type)
            default: return try finite(Constant(shape: shape, values: tensor.doubleData.map(Float.init), type: type))
            }

            /// The constant, unless a value is NaN (nothing in a network means one; infinities
            /// may bound a Clip).
            func finite(_ constant: Constant) throws(ONNXError) -> Constant {
                if let index = constant.values.firstIndex(where: \.isNaN) { throw fail("value \(index) is NaN") }
                return constant
            }
        }

        /// The `bytes` bytes of an externally stored tensor, from the file its `location`
        /// names beside the model, at its `offset`.
        func external(_ tensor: Onnx_TensorProto, bytes: Int, fail: (String) -> ONNXError) throws(ONNXError) -> Data {
            let entries = Dictionary(tensor.externalData.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            guard let location = entries["location"], !location.isEmpty else { throw fail("external data without a location") }
            guard !location.hasPrefix("/"), !location.split(separator: "/").contains("..") else {
                throw fail("external data location '\(location)' must be a file beside the model, not a path out of its directory")
            }
            let offset = Int(entries["offset"] ?? "0") ?? -1, length = Int(entries["length"] ?? String(bytes)) ?? -1
            guard offset >= 0, length >= 0 else { throw fail("external data offset or length is not a whole number") }
            guard length == bytes else { throw fail("external data length \(length) bytes; the tensor needs \(bytes)") }
            let path = directory.isEmpty ? location : "\(directory)/\(location)"
            guard let handle = FileHandle(forReadingAtPath: path) else { throw fail("external data file \(path) cannot be read") }
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()).map(Int.init) ?? 0
            guard offset + length <= size else {
                throw fail("external data claims bytes \(offset)…\(offset + length) of \(path), which holds \(size)")
            }
            do {
                try handle.seek(toOffset: UInt64(offset))
                guard let data = try handle.read(upToCount: length), data.count == length else { throw fail("external data file \(path) ends early") }
                return data
            } catch let error as ONNXError {
                throw error
            } catch {
                throw fail("external data file \(path): \(error)")
            }
        }
    }
}
