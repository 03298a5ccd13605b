import Foundation

/// A network's structure without its weights: the nodes of a ``Graph`` with each operation's
/// hyperparameters. The zoo's networks and imported ONNX models are both described by one;
/// a checkpoint of an imported model carries it (`__metadata__.graph`), so the network is
/// rebuilt from the checkpoint alone.
public struct GraphSpec: Sendable, Codable, Hashable {
    public enum Operation: Sendable, Codable, Hashable {
        /// A square convolution without bias: ``Conv2d``; its taps `dilation` pixels apart
        /// (nil = 1, adjacent), its channels in `groups` groups (nil = 1).
        case conv(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, dilation: Int? = nil, groups: Int? = nil)
        /// y = x·Wᵀ + b: ``Linear``.
        case linear(inFeatures: Int, outFeatures: Int)
        case batchNorm(channels: Int, epsilon: Float)
        /// A learned offset per channel: ``Bias``, its parameter named as the node.
        case bias(channels: Int)
        case relu
        /// A ReLU quantized to `bits`-bit levels: ``PACT``, its clip level named `NAME.alpha`.
        case pact(bits: Int)
        case clip(low: Float, high: Float)
        case maxPool(size: Int)
        case averagePool(size: Int)
        case globalAveragePool(keepsSpatialAxes: Bool)
        case flatten
        case downsamplingShortcut(inChannels: Int, outChannels: Int, stride: Int)
        case add
        case concat
    }

    public struct Node: Sendable, Codable, Hashable {
        /// The node's name; a layer with parameters names them `NAME.weight`, `NAME.bias`, …
        public var name: String
        public var operation: Operation
        public var inputs: [String]
        public var output: String
        /// A convolution's or linear layer's own weight grid (an imported quantized network's,
        /// a ``WeightQuantizer/fixedScale``); nil = float, or as the run quantizes.
        public var weightQuantizer: WeightQuantizer?

        public init(name: String, operation: Operation, inputs: [String], output: String, weightQuantizer: WeightQuantizer? = nil) {
            (self.name, self.operation, self.inputs, self.output) = (name, operation, inputs, output)
            self.weightQuantizer = weightQuantizer
        }
    }

    public var input: String
    public var nodes: [Node]
    public var output: String

    public init(input: String = "input", nodes: [Node] = [], output: String = "input") {
        (self.input, self.nodes, self.output) = (input, nodes, output)
    }

    /// The most parameters a network may have (2²⁷, half a gigabyte of float weights): a
    /// description asking for more is refused before anything is allocated.
    public static let maximumParameters = 1 << 27

    /// The largest kernel, stride, padding, dilation or pooling window (2²⁰ pixels): bounds that
    /// keep every shape's arithmetic far from overflow.
    public static let maximumExtent = 1 << 20

    /// What ``build(initializer:)`` and ``shapes(input:)`` throw when ``parameterCount`` is nil.
    static let outOfRange = GraphError("a node has a hyperparameter out of range, or the network more than the \(Self.maximumParameters) parameters it may have")

    /// The number of parameters the network's layers hold, or nil when a hyperparameter is
    /// out of range (not positive, above ``maximumExtent``, groups that do not divide the
    /// channels, a weight grid off its ranges) or the count exceeds ``maximumParameters``.
    public var parameterCount: Int? {
        let extent = 1...Self.maximumExtent
        /// The product, or nil above the parameter limit (never overflowing).
        func product(_ factors: Int...) -> Int? {
            var result = 1
            for factor in factors {
                let (next, overflow) = result.multipliedReportingOverflow(by: factor)
                guard !overflow, next <= Self.maximumParameters else { return nil }
                result = next
            }
            return result
        }
        var total = 0
        for node in nodes {
            let count: Int?
            switch node.operation {
            case let .conv(c, m, k, s, p, d, g):
                let groups = g ?? 1
                guard c > 0, m > 0, extent.contains(k), extent.contains(s), (0...Self.maximumExtent).contains(p), extent.contains(d ?? 1),
                      groups > 0, c % groups == 0, m % groups == 0 else { return nil }
                count = product(c / groups, m, k, k)
            case let .linear(i, o):
                guard i > 0, o > 0 else { return nil }
                count = product(i + 1, o)
            case let .batchNorm(c, epsilon):
                guard c > 0, epsilon > 0, epsilon.isFinite else { return nil }
                count = product(2, c)
            case let .bias(c):
                guard c > 0 else { return nil }
                count = product(c)
            case let .clip(low, high):
                guard low <= high else { return nil }
                count = 0
            case let .pact(bits):
                guard (1...16).contains(bits) else { return nil }
                count = 1
            case let .maxPool(size), let .averagePool(size):
                guard extent.contains(size) else { return nil }
                count = 0
            case let .downsamplingShortcut(c, m, s):
                guard c > 0, m >= c, m <= Self.maximumParameters, extent.contains(s) else { return nil }
                count = 0
            case .relu, .globalAveragePool, .flatten, .add, .concat:
                count = 0
            }
            if let quantizer = node.weightQuantizer {
                guard quantizer.problem == nil else { return nil }
                switch node.operation {
                case .conv, .linear: break
                default: return nil
                }
            }
            guard let count, total + count <= Self.maximumParameters else { return nil }
            total += count
        }
        return total
    }

    /// The graph, its weights drawn from `initializer` node by node.
    /// - Throws: ``GraphError`` for a description that cannot be built: bad hyperparameters,
    ///   more than ``maximumParameters``, or a graph whose tensors do not connect.
    public func build(initializer: inout TensorInitializer) throws(GraphError) -> Graph {
        guard parameterCount != nil else { throw Self.outOfRange }
        var nodes: [Graph.Node] = []
        for node in self.nodes {
            let operation: Graph.Operation
            switch node.operation {
            case let .conv(c, m, k, s, p, d, g): operation = .layer(Conv2d(c, m, kernel: k, stride: s, padding: p, dilation: d ?? 1, groups: g ?? 1, initializer: &initializer, name: node.name))
            case let .linear(i, o): operation = .layer(Linear(i, o, initializer: &initializer, name: node.name))
            case let .batchNorm(c, epsilon): operation = .layer(BatchNorm2d(c, name: node.name, epsilon: epsilon))
            case let .bias(c): operation = .layer(Bias(c, parameterName: node.name))
            case .relu: operation = .layer(ReLU())
            case let .pact(bits): operation = .layer(PACT(bits: bits, initialAlpha: 8, name: node.name))
            case let .clip(low, high): operation = .layer(Clip(low: low, high: high))
            case let .maxPool(size): operation = .layer(MaxPool2d(size))
            case let .averagePool(size): operation = .layer(AveragePool2d(size))
            case let .globalAveragePool(keeps): operation = .layer(GlobalAveragePool(keepsSpatialAxes: keeps))
            case .flatten: operation = .layer(Flatten())
            case let .downsamplingShortcut(c, m, s): operation = .layer(DownsamplingShortcut(c, m, stride: s))
            case .add: operation = .add
            case .concat: operation = .concat
            }
            nodes.append(Graph.Node(name: node.name, operation: operation, inputs: node.inputs, output: node.output))
        }
        let graph = try Graph(input: input, nodes: nodes, output: output)
        for (node, built) in zip(self.nodes, graph.nodes) {
            if let quantizer = node.weightQuantizer, let layer = built.layer as? any IntegerProductLayer { layer.product.quantizer = quantizer }
        }
        graph.connectIntegerInputs()
        return graph
    }

    // MARK: - Shapes

    /// The shape `operation` gives for inputs of `shapes` (the batch axis first).
    /// - Throws: ``GraphError`` naming `node` when the inputs do not fit the operation.
    public static func outputShape(_ operation: Operation, inputs shapes: [[Int]], node: String) throws(GraphError) -> [Int] {
        func fail(_ expected: String) -> GraphError {
            GraphError("node '\(node)': input \(shapes.map { $0.map(String.init).joined(separator: "×") }.joined(separator: ", ")), expected \(expected)")
        }
        let x = shapes[0]
        switch operation {
        case let .conv(c, m, k, s, p, d, _):
            guard x.count == 4, x[1] == c else { throw fail("N×\(c)×H×W") }
            guard [k, s, d ?? 1].allSatisfy({ (1...maximumExtent).contains($0) }), (0...maximumExtent).contains(p) else {
                throw fail("kernel, stride, dilation 1…\(maximumExtent) and padding 0…\(maximumExtent)")
            }
            let span = (k - 1) * (d ?? 1) + 1
            guard x[2] + 2 * p >= span, x[3] + 2 * p >= span else { throw fail("an image of at least \(span) pixels after padding") }
            return [x[0], m, (x[2] + 2 * p - span) / s + 1, (x[3] + 2 * p - span) / s + 1]
        case let .linear(i, o):
            guard x.count == 2, x[1] == i else { throw fail("N×\(i)") }
            return [x[0], o]
        case let .batchNorm(c, _):
            guard x.count == 4, x[1] == c else { throw fail("N×\(c)×H×W") }
            return x
        case let .bias(c):
            guard x.count >= 2, x[1] == c else { throw fail("N×\(c)×…") }
            return x
        case .relu, .pact, .clip:
            return x
        case let .maxPool(size), let .averagePool(size):
            guard x.count == 4, size >= 1, x[2] >= size, x[3] >= size else { throw fail("N×C×H×W with H, W ≥ \(size)") }
            return [x[0], x[1], x[2] / size, x[3] / size]
        case let .globalAveragePool(keeps):
            guard x.count == 4 else { throw fail("N×C×H×W") }
            return keeps ? [x[0], x[1], 1, 1] : [x[0], x[1]]
        case .flatten:
            guard x.count >= 2 else { throw fail("N×…") }
            return [x[0], x.dropFirst().reduce(1, *)]
        case let .downsamplingShortcut(c, m, s):
            guard x.count == 4, x[1] == c, m >= c, m <= maximumParameters, (1...maximumExtent).contains(s) else {
                throw fail("N×\(c)×H×W, at most \(maximumParameters) channels out and a stride 1…\(maximumExtent)")
            }
            return [x[0], m, (x[2] + s - 1) / s, (x[3] + s - 1) / s]
        case .add:
            guard shapes.allSatisfy({ $0 == x }) else { throw fail("inputs of one shape") }
            return x
        case .concat:
            guard x.count >= 2, shapes.allSatisfy({ $0.count == x.count && $0[0] == x[0] && Array($0.dropFirst(2)) == Array(x.dropFirst(2)) }) else {
                throw fail("inputs that differ only in their channels")
            }
            var out = x
            out[1] = shapes.map { $0[1] }.reduce(0, +)
            return out
        }
    }

    /// The shape of every tensor for an input of `input` (the batch axis first), and so of the
    /// output.
    /// - Throws: ``GraphError`` at the first node whose inputs do not fit.
    public func shapes(input shape: [Int]) throws(GraphError) -> [String: [Int]] {
        guard parameterCount != nil else { throw Self.outOfRange }
        var shapes = [input: shape]
        for node in nodes {
            var inputs: [[Int]] = []
            for tensor in node.inputs {
                guard let known = shapes[tensor] else { throw GraphError("node '\(node.name)' reads '\(tensor)', which neither the graph's input nor an earlier node produces") }
                inputs.append(known)
            }
            shapes[node.output] = try Self.outputShape(node.operation, inputs: inputs, node: node.name)
        }
        return shapes
    }

    // MARK: - Building one node by node

    /// Appends `operation` as node `name` reading `source` (default: the last node's output),
    /// its output named after the node; the graph's output follows.
    public mutating func append(_ operation: Operation, name: String, from source: String? = nil) {
        nodes.append(Node(name: name, operation: operation, inputs: [source ?? output], output: name))
        output = name
    }

    /// Appends a node of several inputs (an add or a concat).
    public mutating func join(_ operation: Operation, name: String, inputs: [String]) {
        nodes.append(Node(name: name, operation: operation, inputs: inputs, output: name))
        output = name
    }

    /// The CIFAR ResNet basic block `name`: conv3×3 → BN → ReLU → conv3×3 → BN, plus the
    /// shortcut (the input, or a ``DownsamplingShortcut`` when the block halves the resolution
    /// and widens the channels), → ReLU. Nodes `NAME.conv1` … `NAME.bn2`, `NAME.shortcut`,
    /// `NAME.add`, `NAME.act2`; the first ReLU is `NAME.act1`.
    public mutating func appendBasicBlock(_ inChannels: Int, _ outChannels: Int, stride: Int, name: String) {
        let blockInput = output
        append(.conv(inChannels: inChannels, outChannels: outChannels, kernel: 3, stride: stride, padding: 1), name: "\(name).conv1")
        append(.batchNorm(channels: outChannels, epsilon: 1e-5), name: "\(name).bn1")
        append(.relu, name: "\(name).act1")
        append(.conv(inChannels: outChannels, outChannels: outChannels, kernel: 3, stride: 1, padding: 1), name: "\(name).conv2")
        append(.batchNorm(channels: outChannels, epsilon: 1e-5), name: "\(name).bn2")
        let residual = output
        var shortcut = blockInput
        if stride != 1 || inChannels != outChannels {
            append(.downsamplingShortcut(inChannels: inChannels, outChannels: outChannels, stride: stride), name: "\(name).shortcut", from: blockInput)
            shortcut = output
        }
        join(.add, name: "\(name).add", inputs: [residual, shortcut])
        append(.relu, name: "\(name).act2")
    }
}
