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
        ])
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
/// Operators: Conv (one group, square kernel and stride, equal pads, no dilation; its bias a
/// ``Bias`` node), Gemm and MatMul with constant weights (``Linear``), Add (of two tensors,
/// or of a constant per channel), BatchNormalization (kept as a BN layer: PIM-QAT
/// recalibrates it on a chip), Relu, Clip, MaxPool and AveragePool (kernel = stride, no
/// padding), GlobalAveragePool, Flatten (axis 1), Reshape to N × features, Concat on
/// channels, Identity, Cast (to float), Constant. Initializers may be raw, typed or in
/// external files beside the model. Layer names are the file's: a convolution whose weight is
/// `layer1.0.conv1.weight` is the layer `layer1.0.conv1`.
public enum ONNXImport {
    public static let opsets = 11...21
    /// Files larger than this (2 GiB, protobuf's own limit) are refused before reading.
    public static let maximumFileBytes = 1 << 31
    /// The most elements one tensor may hold (2²⁸).
    public static let maximumElements = 1 << 28
    public static let operators = ["Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "Conv", "Flatten", "Gemm",
                                   "GlobalAveragePool", "Identity", "MatMul", "MaxPool", "Relu", "Reshape"]

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
        var reader = Reader(file: file, directory: directory)
        return try reader.read(model.graph, producer: "\(model.producerName) \(model.producerVersion)".trimmingCharacters(in: .whitespaces))
    }

    /// A constant: a tensor's shape and values.
    struct Constant {
        var shape: [Int]
        var values: [Float]
        /// The exact integers of an integer tensor (shapes, axes).
        var integers: [Int64]?
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
            spec = GraphSpec(input: input.name, nodes: [], output: input.name)
            shapes[input.name] = [1, Int(c), Int(h), Int(w)]
            for (index, node) in graph.node.enumerated() { try read(node, index: index) }
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
                var candidate = base, n = 2
                while names.contains(candidate) { candidate = "\(base)#\(n)"; n += 1 }
                return candidate
            }
            func append(_ operation: GraphSpec.Operation, name nodeName: String, inputs sources: [String], output tensor: String) throws(ONNXError) {
                let shape: [Int]
                do {
                    shape = try GraphSpec.outputShape(operation, inputs: sources.map { shapes[$0]! }, node: nodeName)
                } catch {
                    throw fail(error.description.replacingOccurrences(of: "node '\(nodeName)': ", with: ""))
                }
                spec.nodes.append(GraphSpec.Node(name: nodeName, operation: operation, inputs: sources, output: tensor))
                names.insert(nodeName)
                shapes[tensor] = shape
            }
            func unique(_ base: String) -> String {
                var candidate = base, n = 2
                while names.contains(candidate) { candidate = "\(base)#\(n)"; n += 1 }
                return candidate
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
                let (m, c, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
                let group = int("group", 1)
                guard group == 1 else { throw fail("group \(group): grouped convolutions are not supported") }
                guard kh == kw else { throw fail("a \(kh) × \(kw) kernel: pimctl takes square kernels") }
                if let kernel = ints("kernel_shape"), kernel != [kh, kw] { throw fail("kernel_shape \(kernel) does not match the weight's \(kh) × \(kw)") }
                let dilations = ints("dilations") ?? [1, 1]
                guard dilations.allSatisfy({ $0 == 1 }) else { throw fail("dilations \(dilations): dilated convolutions are not supported") }
                let strides = ints("strides") ?? [1, 1]
                guard strides.count == 2, strides[0] == strides[1], strides[0] >= 1 else { throw fail("strides \(strides): pimctl takes one stride for both axes") }
                let autoPad = string("auto_pad") ?? "NOTSET"
                guard ["NOTSET", "VALID", ""].contains(autoPad) else { throw fail("auto_pad \(autoPad) is not supported; give explicit pads") }
                let pads = autoPad == "VALID" ? [0, 0, 0, 0] : (ints("pads") ?? [0, 0, 0, 0])
                guard pads.count == 4, pads.allSatisfy({ $0 == pads[0] }), pads[0] >= 0 else { throw fail("pads \(pads): pimctl takes equal padding on every side") }
                let layer = layerName(inputs.count > 1 ? node.input[1] : nil)
                let bias = try constant(2)
                try append(.conv(inChannels: c, outChannels: m, kernel: kh, stride: strides[0], padding: pads[0]), name: layer, inputs: [x.name],
                           output: bias == nil ? output : "\(output)#conv")
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
                let layer = layerName(node.input.count > 1 ? node.input[1] : nil)
                try append(.linear(inFeatures: k, outFeatures: n), name: layer, inputs: [x.name], output: output)
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
                    let biasName = unique(inputs[side].hasSuffix(".bias") ? inputs[side] : "\(name).bias")
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
            case "Flatten":
                let x = try activation(0)
                let axis = int("axis", 1)
                guard axis == 1 || axis == 1 - x.shape.count else { throw fail("axis \(axis): pimctl flattens everything after the batch axis (axis 1)") }
                try append(.flatten, name: unique(name), inputs: [x.name], output: output)
            case "Reshape":
                let x = try activation(0)
                guard let target = try constant(1), let dims = target.integers else { throw fail("the shape must be a constant integer tensor") }
                let features = x.shape.dropFirst().reduce(1, *)
                let flat = dims.count == 2 && [0, -1, 1].contains(dims[0]) && (dims[1] == -1 || Int(dims[1]) == features) && !(dims[0] == -1 && dims[1] == -1)
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
            default:
                throw fail("operator \(node.opType) is not supported (pimctl reads \(ONNXImport.operators.joined(separator: ", ")))")
            }
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
            case 1, 6: width = 4
            case 7, 11: width = 8
            default: throw fail("data type \(type) is not read (float 1, int32 6, int64 7, double 11)")
            }
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
                var integers: [Int64]? = (type == 6 || type == 7) ? [Int64](repeating: 0, count: count) : nil
                raw.withUnsafeBytes { bytes in
                    for i in 0..<count {
                        switch type {
                        case 1: values[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                        case 11: values[i] = Float(Double(bitPattern: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                        case 6:
                            let v = Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
                            (values[i], integers![i]) = (Float(v), Int64(v))
                        default:
                            let v = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                            (values[i], integers![i]) = (Float(v), v)
                        }
                    }
                }
                return Constant(shape: shape, values: values, integers: integers)
            }
            let stored: Int
            switch type {
            case 1: stored = tensor.floatData.count
            case 6: stored = tensor.int32Data.count
            case 7: stored = tensor.int64Data.count
            default: stored = tensor.doubleData.count
            }
            guard stored == count else { throw fail("holds \(stored) values; its shape \(shape) needs \(count)") }
            switch type {
            case 1: return Constant(shape: shape, values: tensor.floatData)
            case 6: return Constant(shape: shape, values: tensor.int32Data.map(Float.init), integers: tensor.int32Data.map(Int64.init))
            case 7: return Constant(shape: shape, values: tensor.int64Data.map(Float.init), integers: tensor.int64Data)
            default: return Constant(shape: shape, values: tensor.doubleData.map(Float.init))
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
