import PIMSim

/// The networks the trainer builds.
public enum ModelArchitecture: Sendable, Hashable, Codable, CustomStringConvertible {
    /// CIFAR-style ResNet of depth 6n + 2 (20, 32, 44, 56): stages of 16, 32, 64 channels with
    /// n basic blocks each, global average pooling and a linear classifier.
    case resnet(depth: Int)
    /// conv3×3(16) → BN → ReLU → max-pool 2 → conv3×3(32) → BN → ReLU → max-pool 2 → linear:
    /// for quick runs and tests.
    case smallCNN
    /// A network of the user's (an imported ONNX model), by its structure and the name it was
    /// given (the file it came from).
    case graph(GraphSpec, name: String)

    /// Parses `resnet20`, `resnet32`, `resnet44`, `resnet56`, `small-cnn`.
    public init?(name: String) {
        switch name.lowercased() {
        case "small-cnn", "smallcnn": self = .smallCNN
        case let text where text.hasPrefix("resnet"):
            guard let depth = Int(text.dropFirst(6)), [20, 32, 44, 56].contains(depth) else { return nil }
            self = .resnet(depth: depth)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case let .resnet(depth): "resnet\(depth)"
        case .smallCNN: "small-cnn"
        case let .graph(_, name): name
        }
    }

    /// The structure of a user's network (nil for the zoo's).
    public var graphSpec: GraphSpec? {
        if case let .graph(spec, _) = self { return spec }
        return nil
    }

    /// The shapes of the first convolution's and the classifier's weights for this input and
    /// class count: what a checkpoint's tensors must show before the network is built.
    public func edgeWeightShapes(channels: Int, size: Int, classes: Int) -> [String: [Int]] {
        let features: Int
        switch self {
        case .smallCNN: features = 32 * (size / 4) * (size / 4)
        case .resnet: features = 64
        case .graph: return [:]
        }
        return ["conv1.weight": [16, channels, 3, 3], "fc.weight": [classes, features]]
    }

    /// The input and class counts a network is built for: 1…64 channels, square images of
    /// 4…1024 pixels, 2…100 000 classes.
    public static let channelRange = 1...64, sizeRange = 4...1024, classRange = 2...100_000

    /// Builds the network for `channels`-channel square images of `size` pixels and `classes` outputs.
    ///
    /// With `quantization`, convolutions get b_w-bit DoReFa weights (the first convolution and
    /// the classifier 8-bit), and every ReLU becomes a b_a-bit PACT activation (α = 8; 10 before
    /// the classifier); the input image stays unquantized. Its ``Quantization/plan`` then sets
    /// the layers it names.
    /// - Throws: ``PrecisionPlanError`` when the plan does not fit the network; ``GraphError``
    ///   when a user's network does not fit `channels` × `size` × `size` images and `classes`.
    public func build(channels: Int, size: Int, classes: Int, seed: UInt64, quantization: Quantization? = nil) throws -> Graph {
        var initializer = TensorInitializer(seed: seed)
        let network = try buildFloat(channels: channels, size: size, classes: classes, initializer: &initializer)
        guard let quantization else { return network }
        return try quantization.apply(to: network)
    }

    func buildFloat(channels: Int, size: Int, classes: Int, initializer: inout TensorInitializer) throws(GraphError) -> Graph {
        let spec = spec(channels: channels, size: size, classes: classes)
        if case .graph = self {
            let output = try spec.shapes(input: [1, channels, size, size])[spec.output]
            guard output == [1, classes] else {
                throw GraphError("the network gives \(output.map { $0.map(String.init).joined(separator: "×") } ?? "nothing") for a 1×\(channels)×\(size)×\(size) input, not 1×\(classes) logits")
            }
        }
        return try spec.build(initializer: &initializer)
    }

    /// The network's structure for `channels`-channel square images of `size` pixels and
    /// `classes` outputs.
    public func spec(channels: Int, size: Int, classes: Int) -> GraphSpec {
        var net = GraphSpec()
        switch self {
        case let .graph(spec, _):
            return spec
        case .smallCNN:
            let reduced = size / 4
            net.append(.conv(inChannels: channels, outChannels: 16, kernel: 3, stride: 1, padding: 1), name: "conv1")
            net.append(.batchNorm(channels: 16, epsilon: 1e-5), name: "bn1")
            net.append(.relu, name: "act1")
            net.append(.maxPool(size: 2), name: "pool1")
            net.append(.conv(inChannels: 16, outChannels: 32, kernel: 3, stride: 1, padding: 1), name: "conv2")
            net.append(.batchNorm(channels: 32, epsilon: 1e-5), name: "bn2")
            net.append(.relu, name: "act2")
            net.append(.maxPool(size: 2), name: "pool2")
            net.append(.flatten, name: "flatten")
            net.append(.linear(inFeatures: 32 * reduced * reduced, outFeatures: classes), name: "fc")
        case let .resnet(depth):
            let blocks = (depth - 2) / 6
            net.append(.conv(inChannels: channels, outChannels: 16, kernel: 3, stride: 1, padding: 1), name: "conv1")
            net.append(.batchNorm(channels: 16, epsilon: 1e-5), name: "bn1")
            net.append(.relu, name: "act1")
            var width = 16
            for (stage, stageWidth) in [16, 32, 64].enumerated() {
                for block in 0..<blocks {
                    net.appendBasicBlock(width, stageWidth, stride: stage > 0 && block == 0 ? 2 : 1, name: "layer\(stage + 1).\(block)")
                    width = stageWidth
                }
            }
            net.append(.globalAveragePool(keepsSpatialAxes: false), name: "pool")
            net.append(.linear(inFeatures: 64, outFeatures: classes), name: "fc")
        }
        return net
    }
}

/// Conventional QAT precisions.
public struct Quantization: Sendable, Hashable, Codable {
    public var weightBits: Int
    public var activationBits: Int
    /// Bits of the first convolution's and the classifier's weights.
    public var edgeWeightBits: Int = 8
    public var rescale: Bool = true
    /// The b_w-bit weights' ``WeightQuantizer/clip`` (RMS of tanh(W), > 0); nil = plain DoReFa.
    /// The 8-bit first convolution and classifier keep their maximum.
    public var weightClip: Double?
    /// Per-layer precisions over these uniform ones; nil = uniform.
    public var plan: PrecisionPlan?

    public init(weightBits: Int, activationBits: Int, weightClip: Double? = nil, plan: PrecisionPlan? = nil) {
        self.weightBits = weightBits
        self.activationBits = activationBits
        self.weightClip = weightClip
        self.plan = plan
    }

    /// Sets weight quantizers and replaces ReLUs by PACT, in place of a float network's layers;
    /// what the network already quantizes itself (an imported quantized network's weight grids,
    /// and ReLUs feeding only its quantized activations) stays as it is. Every convolution fed by
    /// a PACT activation then runs on integers (``Graph/connectIntegerInputs()``). Then the
    /// ``plan``'s entries set their layers' weight bits, feeding activations' bits and chip
    /// mode and scheme.
    func apply(to network: Graph) throws(PrecisionPlanError) -> Graph {
        let clip = weightClip.map(Float.init)
        let lastReLU = network.nodes.lastIndex { $0.layer is ReLU }
        var products = 0
        for (index, node) in network.nodes.enumerated() {
            switch node.layer {
            case let layer as any IntegerProductLayer:
                // The first product (on the image) and the classifier keep edge precision.
                let edge = products == 0 || layer.isClassifier
                products += 1
                guard layer.product.quantizer == nil else { continue }
                layer.product.quantizer = edge ? WeightQuantizer(bits: edgeWeightBits, rescale: rescale)
                    : WeightQuantizer(bits: weightBits, rescale: rescale, clip: clip)
            case is ReLU where !network.feedsOnlyActivations(node):
                network.replaceLayer(at: index, with: PACT(bits: activationBits, initialAlpha: index == lastReLU ? 10 : 8, name: node.name))
            default:
                break
            }
        }
        network.connectIntegerInputs()
        if let plan { try apply(plan, to: network) }
        return network
    }

    private func apply(_ plan: PrecisionPlan, to network: Graph) throws(PrecisionPlanError) {
        let layers = network.allLayers.compactMap { $0 as? any IntegerProductLayer }
        let names = layers.map(\.product.layerName)
        for entry in plan.layers where !names.contains(entry.layer) {
            var message = "the network has no layer '\(entry.layer)'"
            if let near = ConfigMapping.nearest(entry.layer, in: names) { message += " (did you mean '\(near)'?)" } else {
                message += "; its layers: \(names.joined(separator: ", "))"
            }
            throw plan.error(entry.layer, message)
        }
        let lastActivation = network.allLayers.last { $0 is PACT } as? PACT
        // Which layer set each activation's bits, to catch two that disagree.
        var setBy: [ObjectIdentifier: (layer: String, bits: Int)] = [:]
        for layer in layers {
            let product = layer.product, name = product.layerName
            guard let entry = plan[name] else { continue }
            if let bits = entry.weightBits {
                product.quantizer = WeightQuantizer(bits: bits, rescale: rescale, clip: product.quantizer?.clip)
            }
            (product.chipMode, product.chipScheme) = (entry.mode, entry.scheme)
            guard let bits = entry.inputBits else { continue }
            guard let activation = product.inputQuantizer ?? (layer.isClassifier ? lastActivation : nil) else {
                throw plan.error(name, "its inputs are not quantized activations (the first convolution takes the image itself), so it takes no input_bits")
            }
            if let earlier = setBy[ObjectIdentifier(activation)], earlier.bits != bits {
                throw plan.error(name, "input_bits \(bits) conflicts with \(earlier.layer)'s input_bits \(earlier.bits): both take the levels of activation \(activation.name)")
            }
            setBy[ObjectIdentifier(activation)] = (name, bits)
            activation.bits = bits
        }
    }
}

extension Graph {
    /// Gives every ungrouped convolution fed by a PACT activation (through max pooling at most)
    /// that activation as its ``IntegerProduct/inputQuantizer``, so that, with its weights
    /// quantized, its product runs on integers (and on a chip); the others take their inputs as
    /// they are.
    func connectIntegerInputs() {
        for node in nodes {
            guard let conv = node.layer as? Conv2d else { continue }
            // A grouped convolution's block-diagonal product stays digital.
            guard conv.groups == 1 else { conv.product.inputQuantizer = nil; continue }
            var source = producer(of: node.inputs[0])
            while let pool = source, pool.layer is MaxPool2d { source = producer(of: pool.inputs[0]) }
            conv.product.inputQuantizer = source?.layer as? PACT
        }
    }

    /// Whether every node reading `node`'s output is a quantized activation (the ReLU before
    /// an imported network's own PACT, which quantization leaves as it is).
    func feedsOnlyActivations(_ node: Node) -> Bool {
        let readers = nodes.filter { $0.inputs.contains(node.output) }
        return !readers.isEmpty && readers.allSatisfy { $0.layer is PACT }
    }
}
