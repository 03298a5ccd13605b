import Foundation
import Testing
@testable import PIMQAT

/// Per-layer precision plans: what they read, what they set in the network and on the chip,
/// and the one-line errors for plans that do not fit.
@Suite("Precision plans")
struct PrecisionPlanTests {
    static let capRAM = PIMQATTests.capRAM

    static func resnet20(_ plan: PrecisionPlan?) throws -> Graph {
        try ModelArchitecture.resnet(depth: 20).build(channels: 1, size: 8, classes: 10, seed: 1,
                                                      quantization: Quantization(weightBits: 4, activationBits: 4, plan: plan))
    }

    static func plan(_ yaml: String) throws -> PrecisionPlan { try PrecisionPlan(yaml: yaml, file: "plan.yaml") }

    static func failure(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    @Test func yamlRoundTrips() throws {
        let plan = PrecisionPlan([
            .init(layer: "layer1.0.conv1", weightBits: 2, inputBits: 3),
            .init(layer: "layer3.2.conv2", weightBits: 5, mode: "ternary", scheme: .chip),
            .init(layer: "odd name", inputBits: 8),
        ])
        let text = plan.yaml(comment: ["a comment"])
        #expect(text.hasPrefix("# a comment\nlayers:\n"))
        #expect(try Self.plan(text) == plan)
        #expect(plan.summary == "layer1.0.conv1 W2/A3, layer3.2.conv2 W5 ternary chip, odd name A8")
    }

    /// The plan's layers get its bits and modes; every other layer keeps the uniform W4/A4
    /// (and the first convolution and classifier their 8-bit weights).
    @Test func planSetsLayersAndTheirFeedingActivations() throws {
        let plan = try Self.plan("""
            layers:
              conv1: {weight_bits: 6}
              layer1.0.conv2: {weight_bits: 2, input_bits: 3}
              layer3.2.conv2: {weight_bits: 5, mode: ternary}
            """)
        let model = try Self.resnet20(plan)
        func layer<T>(_ name: String) -> T { model.nodes.first { $0.name == name }!.layer as! T }
        let conv: (String) -> Conv2d = layer
        #expect(conv("conv1").product.quantizer?.bits == 6)
        #expect(conv("layer1.0.conv2").product.quantizer?.bits == 2 && conv("layer1.0.conv2").product.inputQuantizer?.bits == 3)
        #expect((layer("layer1.0.act1") as PACT).bits == 3)
        #expect(conv("layer1.0.conv1").product.quantizer?.bits == 4 && conv("layer1.0.conv1").product.inputQuantizer?.bits == 4)
        #expect(conv("layer3.2.conv2").product.quantizer?.bits == 5 && conv("layer3.2.conv2").product.chipMode == "ternary")
        #expect((layer("fc") as Linear).product.quantizer?.bits == 8)
        let others = model.layers.compactMap { $0 as? Conv2d }.dropFirst().filter { !["layer1.0.conv2", "layer3.2.conv2"].contains($0.product.layerName) }
        #expect(others.count == 16 && others.allSatisfy { $0.product.quantizer?.bits == 4 && $0.product.chipMode == nil })

        // On CAP-RAM each layer runs its own mode and word width.
        let target = try PIMTarget(chip: Self.capRAM, settings: PIMSettings(chip: "cap-ram"), model: model)
        let byName = Dictionary(uniqueKeysWithValues: target.layers.map { ($0.name, $0) })
        #expect(byName["layer1.0.conv2"]?.inputBits == 3 && byName["layer1.0.conv2"]?.weightBits == 2)
        #expect(byName["layer3.2.conv2"]?.trainingMapping.mode.name == "ternary")
        #expect(byName["layer3.2.conv1"]?.trainingMapping.mode.name == "twos_complement")
        // Ternary digits have no −2^(b−1): that layer's quantizer turns symmetric, the others' not.
        #expect(conv("layer3.2.conv2").product.quantizer?.symmetric == true && conv("layer3.2.conv1").product.quantizer?.symmetric == false)
    }

    /// Fewer bits cost less and more bits cost more, layer by layer and per inference.
    @Test func bitsMoveTheCostInTheirDirection() throws {
        func cost(_ plan: PrecisionPlan?) throws -> NetworkCost {
            let model = try Self.resnet20(plan)
            return try PIMTarget(chip: Self.capRAM, settings: PIMSettings(chip: "cap-ram"), model: model).networkCost(model: model, channels: 1, size: 8)
        }
        let uniform = try cost(nil)
        let fewer = try cost(PrecisionPlan([.init(layer: "layer2.1.conv1", weightBits: 2, inputBits: 3)]))
        let more = try cost(PrecisionPlan([.init(layer: "layer2.1.conv1", weightBits: 8, inputBits: 8)]))
        func layer(_ c: NetworkCost) -> NetworkCost.Layer { c.layers.first { $0.name == "layer2.1.conv1" }! }
        #expect(uniform.energyJ > 0)
        #expect(fewer.energyJ < uniform.energyJ && uniform.energyJ < more.energyJ)
        #expect(layer(fewer).placement.conversions * 2 == layer(uniform).placement.conversions)
        #expect(layer(more).placement.conversions == layer(uniform).placement.conversions * 4)
        #expect(fewer.latencyS < uniform.latencyS && uniform.latencyS < more.latencyS)
        // CAP-RAM's DAC takes 4 input bits per cycle: 3-bit inputs cost what 4-bit ones do.
        let narrower = try cost(PrecisionPlan([.init(layer: "layer2.1.conv1", inputBits: 3)]))
        #expect(layer(narrower).placement.conversions == layer(uniform).placement.conversions && narrower.energyJ == uniform.energyJ)
        // The other layers do not move.
        for (a, b) in zip(uniform.layers, fewer.layers) where a.name != "layer2.1.conv1" { #expect(a.placement.energyJ == b.placement.energyJ) }
    }

    @Test func fileErrorsAreOneLineAtTheirPlace() {
        #expect(Self.failure { _ = try Self.plan("layers:\n  conv2: {weight_bits: 1}\n") }
                == "plan.yaml:2:24: layers.conv2.weight_bits: 1-bit weights: the quantizer takes 2…16 bits")
        #expect(Self.failure { _ = try Self.plan("layers:\n  conv2: {input_bits: 17}\n") }
                == "plan.yaml:2:23: layers.conv2.input_bits: 17-bit inputs: activations take 1…16 bits")
        #expect(Self.failure { _ = try Self.plan("layers:\n  conv2: {weight_bit: 2}\n") }.hasPrefix("plan.yaml:2:11: layers.conv2.weight_bit: unknown field 'weight_bit' (did you mean 'weight_bits'?)"))
        #expect(Self.failure { _ = try Self.plan("layers:\n  conv2: {}\n") } == "plan.yaml:2:10: layers.conv2: sets nothing: give weight_bits, input_bits, mode or scheme")
        #expect(Self.failure { _ = try Self.plan("layers: {}\n") } == "plan.yaml:1:9: layers: names no layer")
        #expect(Self.failure { _ = try Self.plan("layers:\n  conv2: {scheme: serial}\n") }.hasPrefix("plan.yaml:2:19: layers.conv2.scheme: 'serial' is not one of"))
        #expect(Self.failure { _ = try Self.plan("layer:\n  conv2: {weight_bits: 2}\n") }.contains("did you mean 'layers'"))
        #expect(Self.failure { _ = try Self.plan("layers:\n  conv2: {weight_bits: 2}\n  conv2: {weight_bits: 3}\n") }.contains("duplicate key 'conv2'"))
    }

    @Test func plansThatDoNotFitTheNetworkOrChipArePositioned() throws {
        #expect(Self.failure { _ = try Self.resnet20(try Self.plan("layers:\n  layer1.0.conv3: {weight_bits: 2}\n")) }
                == "plan.yaml:2:19: layers.layer1.0.conv3: the network has no layer 'layer1.0.conv3' (did you mean 'layer1.0.conv1'?)")
        #expect(Self.failure { _ = try Self.resnet20(try Self.plan("layers:\n  conv1: {input_bits: 3}\n")) }
                == "plan.yaml:2:10: layers.conv1: its inputs are not quantized activations (the first convolution takes the image itself), so it takes no input_bits")
        // A mode CAP-RAM lacks, a precision its mode lacks, a mode on a layer that stays digital.
        func attach(_ yaml: String) throws {
            let plan = try Self.plan(yaml)
            let model = try Self.resnet20(plan)
            do {
                _ = try PIMTarget(chip: Self.capRAM, settings: PIMSettings(chip: "cap-ram"), model: model)
            } catch {
                throw plan.positioned(error)
            }
        }
        #expect(Self.failure { try attach("layers:\n  layer2.0.conv1: {mode: fast}\n") }
                == "plan.yaml:2:19: layers.layer2.0.conv1: chip 'cap-ram' has no mode 'fast'; modes: twos_complement, ternary")
        #expect(Self.failure { try attach("layers:\n  layer2.0.conv1: {weight_bits: 3, mode: twos_complement}\n") }
                .hasPrefix("plan.yaml:2:19: layers.layer2.0.conv1: "))
        #expect(Self.failure { try attach("layers:\n  fc: {mode: ternary}\n") }
                == "plan.yaml:2:7: layers.fc: runs digitally (the classifier is on the chip only with --classifier-on-chip), so a chip mode or scheme does not apply")
    }

    /// Two layers fed by one activation cannot ask it for different bits: in a network whose
    /// only ReLU feeds both the second convolution and the classifier.
    @Test func layersSharingAnActivationMustAgree() throws {
        var initializer = TensorInitializer(seed: 3)
        let network = Graph(chain: [
            Conv2d(1, 4, kernel: 3, padding: 1, initializer: &initializer, name: "conv1"), ReLU(),
            Conv2d(4, 4, kernel: 3, padding: 1, initializer: &initializer, name: "conv2"), Flatten(),
            Linear(4 * 8 * 8, 3, initializer: &initializer, name: "fc"),
        ])
        let plan = try Self.plan("layers:\n  conv2: {input_bits: 3}\n  fc: {input_bits: 5}\n")
        #expect(Self.failure { _ = try Quantization(weightBits: 4, activationBits: 4, plan: plan).apply(to: network) }
                == "plan.yaml:3:7: layers.fc: input_bits 5 conflicts with conv2's input_bits 3: both take the levels of activation node1")
        let agreeing = try Self.plan("layers:\n  conv2: {input_bits: 3}\n  fc: {input_bits: 3}\n")
        let quantized = try Quantization(weightBits: 4, activationBits: 4, plan: agreeing).apply(to: network)
        #expect((quantized.layers[1] as! PACT).bits == 3 && (quantized.layers[1] as! PACT).name == "node1")
    }
}
