/// A network as named nodes over named tensors, run in order: every model is one (the zoo
/// builds its networks as graphs; imported networks are graphs).
///
/// A node applies one operation to the tensors its `inputs` name and produces the tensor its
/// `output` names. Nodes are kept in an order where every input is the graph's input or an
/// earlier node's output (checked when the graph is made), so forward runs them first to
/// last and backward last to first, adding up the gradients of tensors read more than once
/// (a residual's input) in that reverse order, so results are the same run after run.
public final class Graph: Layer {
    public enum Operation {
        /// A layer on one input tensor.
        case layer(any Layer)
        /// The element-wise sum of two or more tensors of one shape.
        case add
        /// Two or more N × Cᵢ × … tensors joined along the channel axis.
        case concat
    }

    public struct Node {
        /// The node's name: for a layer with parameters, its parameters' prefix.
        public let name: String
        public internal(set) var operation: Operation
        public let inputs: [String]
        public let output: String

        public init(name: String, operation: Operation, inputs: [String], output: String) {
            (self.name, self.operation, self.inputs, self.output) = (name, operation, inputs, output)
        }

        /// The node's layer, if it applies one.
        public var layer: (any Layer)? {
            if case let .layer(layer) = operation { return layer }
            return nil
        }
    }

    /// The name of the tensor the graph is fed, and of the one it returns.
    public let input: String, output: String
    public private(set) var nodes: [Node]
    /// The index of the node producing each tensor.
    private let producers: [String: Int]
    /// The last node reading each tensor (forward drops a tensor after it).
    private let lastReader: [String: Int]
    /// Per concat node, the channel count of each input in the last forward pass.
    private var concatChannels: [Int: [Int]] = [:]
    private var inputShape: [Int] = []

    /// - Throws: ``GraphError`` when a node reads a tensor nothing before it produces, two
    ///   nodes produce one tensor, an operation has the wrong number of inputs, or nothing
    ///   produces the output.
    public init(input: String, nodes: [Node], output: String) throws(GraphError) {
        var producers: [String: Int] = [:], lastReader: [String: Int] = [:]
        var names = Set<String>()
        for (index, node) in nodes.enumerated() {
            guard names.insert(node.name).inserted else { throw GraphError("two nodes are named '\(node.name)'") }
            switch node.operation {
            case .layer: guard node.inputs.count == 1 else { throw GraphError("node '\(node.name)' takes one input, not \(node.inputs.count)") }
            case .add, .concat: guard node.inputs.count >= 2 else { throw GraphError("node '\(node.name)' needs at least two inputs") }
            }
            for tensor in node.inputs {
                guard tensor == input || producers[tensor] != nil else {
                    throw GraphError("node '\(node.name)' reads '\(tensor)', which neither the graph's input nor an earlier node produces")
                }
                lastReader[tensor] = index
            }
            guard node.output != input, producers[node.output] == nil else { throw GraphError("tensor '\(node.output)' is produced twice (again by node '\(node.name)')") }
            producers[node.output] = index
        }
        guard output == input || producers[output] != nil else { throw GraphError("nothing produces the graph's output '\(output)'") }
        lastReader[output] = nodes.count
        (self.input, self.nodes, self.output, self.producers, self.lastReader) = (input, nodes, output, producers, lastReader)
    }

    /// Layers applied one after another, each node named by the layer's ``Layer/nodeName``
    /// (or `node<i>`) and its output after the node.
    public convenience init(chain layers: [any Layer]) {
        var nodes: [Node] = [], previous = "input", used = Set<String>()
        for (index, layer) in layers.enumerated() {
            var name = layer.nodeName ?? "node\(index)"
            if used.contains(name) { name = "\(name)#\(index)" }
            used.insert(name)
            nodes.append(Node(name: name, operation: .layer(layer), inputs: [previous], output: name))
            previous = name
        }
        // A chain is valid by construction.
        try! self.init(input: "input", nodes: nodes, output: previous)
    }

    /// The node producing `tensor`, if a node does (nil for the graph's input).
    public func producer(of tensor: String) -> Node? { producers[tensor].map { nodes[$0] } }

    /// Replaces node `index`'s layer (conventional quantization turns ReLUs into PACT).
    func replaceLayer(at index: Int, with layer: any Layer) {
        precondition(nodes[index].layer != nil, "Graph: node \(nodes[index].name) applies no layer")
        nodes[index].operation = .layer(layer)
    }

    public func forward(_ x: Tensor, training: Bool) -> Tensor {
        inputShape = x.shape
        var values: [String: Tensor] = [input: x]
        for (index, node) in nodes.enumerated() {
            let inputs = node.inputs.map { values[$0]! }
            let y: Tensor
            switch node.operation {
            case let .layer(layer): y = layer.forward(inputs[0], training: training)
            case .add: y = inputs.dropFirst().reduce(inputs[0], +)
            case .concat:
                concatChannels[index] = inputs.map { $0.shape[1] }
                y = Self.concatenate(inputs)
            }
            for tensor in node.inputs where lastReader[tensor] == index { values[tensor] = nil }
            values[node.output] = y
        }
        return values[output]!
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        var gradients: [String: Tensor] = [output: gradient]
        func add(_ g: Tensor, to tensor: String) {
            gradients[tensor] = gradients[tensor].map { $0 + g } ?? g
        }
        for (index, node) in nodes.enumerated().reversed() {
            guard let g = gradients.removeValue(forKey: node.output) else { continue }
            switch node.operation {
            case let .layer(layer): add(layer.backward(g), to: node.inputs[0])
            case .add: for tensor in node.inputs { add(g, to: tensor) }
            case .concat:
                for (tensor, part) in zip(node.inputs, Self.split(g, channels: concatChannels[index]!)) { add(part, to: tensor) }
            }
        }
        return gradients[input] ?? Tensor(zeros: inputShape)
    }

    /// N × Cᵢ × rest tensors joined to N × ΣCᵢ × rest.
    static func concatenate(_ parts: [Tensor]) -> Tensor {
        let n = parts[0].shape[0], rest = parts[0].count / max(1, n * parts[0].shape[1])
        var shape = parts[0].shape
        shape[1] = parts.map { $0.shape[1] }.reduce(0, +)
        var data = [Float]()
        data.reserveCapacity(n * shape[1] * rest)
        for example in 0..<n {
            for part in parts {
                let size = part.shape[1] * rest
                data.append(contentsOf: part.data[(example * size)..<((example + 1) * size)])
            }
        }
        return Tensor(shape: shape, data: data)
    }

    /// The inverse of ``concatenate(_:)`` for the given channel counts.
    static func split(_ whole: Tensor, channels: [Int]) -> [Tensor] {
        let n = whole.shape[0], total = whole.shape[1], rest = whole.count / max(1, n * total)
        var offset = 0
        return channels.map { c in
            var shape = whole.shape
            shape[1] = c
            var data = [Float]()
            data.reserveCapacity(n * c * rest)
            for example in 0..<n {
                let start = (example * total + offset) * rest
                data.append(contentsOf: whole.data[start..<(start + c * rest)])
            }
            offset += c
            return Tensor(shape: shape, data: data)
        }
    }

    /// The layers of the nodes, in node order.
    public var layers: [any Layer] { nodes.compactMap(\.layer) }
    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    public var buffers: [(name: String, value: Tensor)] { layers.flatMap(\.buffers) }
    public func setBuffer(_ name: String, _ value: Tensor) { layers.forEach { $0.setBuffer(name, value) } }
    public var sublayers: [any Layer] { layers }
}

/// A graph that cannot be run: a tensor read before anything produces it, a name used twice,
/// an operation with the wrong number of inputs.
public struct GraphError: Error, Sendable, Equatable, UserInputError {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Layer {
    /// The name a graph node applying this layer takes: its parameters' prefix for layers
    /// with parameters; nil for the others.
    public var nodeName: String? {
        guard let name = parameters.first?.name, let dot = name.lastIndex(of: ".") else { return nil }
        return String(name[..<dot])
    }
}
