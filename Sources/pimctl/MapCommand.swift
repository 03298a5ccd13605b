import ArgumentParser
import Foundation
import PIMExperiments
import PIMQAT

/// `pimctl map`: a trained network placed on a chip, with the conversions, time and energy of
/// one inference per layer.
struct MapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Place a trained network on a chip: per-layer pages, conversions, latency and energy of one inference.",
        discussion: """
            Every layer that runs on the chip is cut into row groups of the chip's inputs per \
            conversion and column tiles of whole outputs (a page each); its conversions run in \
            rounds of the chip's parallel converters, one inference at a time, layer by layer, \
            on all of the chip's arrays (times --macros). Energy counts only what the chip file \
            prices (per conversion, per analog product, per DAC drive); the report names the \
            terms it does not model. Ops are counted both ways: full-precision W×A ops (2 per \
            MAC) and the chip's own (2 per analog product of one conversion).

            --model takes a trained checkpoint, or a network of the zoo or an ONNX file at --wbits/--abits \
            for --data's image size (its first convolution, on unquantized pixels, and its \
            classifier stay digital, as in PIM-QAT).

            Examples:
              pimctl map --chip cap-ram --model pim.safetensors
              pimctl map --chip cap-ram --model resnet20 --wbits 4 --abits 4 --data cifar10
              pimctl map --chip neurram-nature2022 --model qat-w8a7.safetensors --json
              pimctl map --chip cap-ram --model r20-pim.safetensors --macros 20 --svg r20-cost.svg
              pimctl map --chip neurram-nature2022 --model resnet20 --abits 7 --replicate
            """)

    @Option(help: "Chip: a preset id or a YAML file.") var chip = "cap-ram"
    @Option(help: "Checkpoint (safetensors) of a QAT or PIM-QAT network, or a network of the zoo (small-cnn, resnet20, resnet32, resnet44, resnet56) at --wbits/--abits.")
    var model: String
    @Option(help: "Weight bits of a zoo network's inner layers.") var wbits = 4
    @Option(help: "Activation bits of a zoo network.") var abits = 4
    @Option(help: "Dataset whose image size a zoo network is built for.") var data: DatasetName = .fashionMNIST
    @Option(help: "Precision plan (YAML: layer name → weight_bits, input_bits, mode, scheme): over --wbits/--abits for a zoo network, in place of a checkpoint's own.")
    var plan: String?
    @Option(help: "Decomposition: chip (the chip's own), native, differential, bit-serial (default chip, or a PIM-QAT checkpoint's).")
    var scheme: Scheme?
    @Option(help: "The chip's operating mode (default: the chip's default mode, or a PIM-QAT checkpoint's).") var mode: String?
    @Option(help: "Copies of the chip file's arrays computing side by side.") var macros = 1
    @Flag(help: "Copy each layer onto as many sets of arrays as fit, the copies sharing its input vectors.") var replicate = false
    @Option(help: "SVG file to write: each layer's latency and energy per inference as bars.") var svg: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard (1...(1 << 20)).contains(macros) else { throw ValidationError("--macros must be 1…1048576") }
        guard (2...16).contains(wbits), (1...16).contains(abits) else { throw ValidationError("--wbits takes 2…16 and --abits 1…16 bits") }
    }

    func run() throws {
        if !FileManager.default.fileExists(atPath: model) && ModelArchitecture(name: model) == nil {
            throw CommandLineError("\(model): no such checkpoint, and not a network of the zoo (small-cnn, resnet20, resnet32, resnet44, resnet56)")
        }
        let (chipConfig, _) = try ChipCatalog.standard().load(chip)
        let plan = try plan.map { path throws(ConfigError) in try PrecisionPlan(contentsOf: path) }
        let network: Graph, target: PIMTarget, architecture: String, channels: Int, size: Int
        // A network of the zoo, or an ONNX file's, at --wbits/--abits (what the file quantizes itself stays).
        var untrained: (architecture: ModelArchitecture, shape: (channels: Int, size: Int, classes: Int))?
        if model.hasSuffix(".onnx") {
            let imported = try ONNXImport.load(model)
            untrained = (.graph(imported.spec, name: model), (imported.channels, imported.size, imported.classes))
        } else if let zoo = ModelArchitecture(name: model), !FileManager.default.fileExists(atPath: model) {
            untrained = (zoo, data.shape)
        }
        if let (zoo, shape) = untrained {
            network = try zoo.build(channels: shape.channels, size: shape.size, classes: shape.classes, seed: 0,
                                    quantization: Quantization(weightBits: wbits, activationBits: abits, plan: plan))
            do {
                target = try PIMTarget(chip: chipConfig, settings: PIMSettings(chip: chip, scheme: scheme ?? .chip, mode: mode), model: network)
            } catch {
                throw plan?.positioned(error) ?? error
            }
            // A quantized file keeps its own grids and activations; --wbits/--abits set only the rest.
            let ownPrecision = zoo.graphSpec?.nodes.contains { node in
                if case .pact = node.operation { return true }
                return node.weightQuantizer != nil
            } ?? false
            let precision = ownPrecision ? "at its own precisions (W\(wbits)/A\(abits) where it has none)" : "W\(wbits)/A\(abits)"
            (architecture, channels, size) = ("\(zoo.description) \(precision)\(plan.map { " with plan \($0.summary)" } ?? "")\(zoo.graphSpec == nil ? " for \(data.rawValue)" : "")", shape.channels, shape.size)
        } else {
            let loaded = try DeployedModel.load(model, chip: chipConfig, chipName: chip, scheme: scheme, mode: mode, plan: plan)
            (network, target) = (loaded.model.model, loaded.target)
            (architecture, channels, size) = (loaded.model.architecture.description, loaded.model.channels, loaded.model.size)
        }
        let cost = try target.networkCost(model: network, channels: channels, size: size, macros: macros, replicate: replicate)
        if let svg {
            let chart = CostChart(cost: cost, title: "\(architecture) on \(cost.chip): one inference per layer")
            try OutputFile.write(Data(chart.svg.utf8), to: svg)
        }
        if json {
            print(try Terminal.json(cost))
            return
        }
        print(Self.describe(cost, model: model, architecture: architecture))
    }

    static func describe(_ cost: NetworkCost, model: String, architecture: String) -> String {
        var lines = ["\(architecture) (\(model)) on \(cost.chip): one inference, layer by layer on \(cost.arrays) array(s) at \(Format.si(cost.clockHz, "Hz"))"]
        let total = max(cost.energyJ, .leastNonzeroMagnitude)
        lines.append(Format.table(
            ["layer", "K×N×V", "A/W bits", "mode", "pages", "arrays", "copies", "storage", "compute", "conversions", "cycles", "latency", "energy", "share"],
            cost.layers.map { l in
                let p = l.placement
                return [l.name, "\(p.shape.fanIn)×\(p.shape.outputs)×\(p.shape.vectors)", "\(l.inputBits)/\(l.weightBits)", l.mode,
                        String(p.pages), String(p.arrays), String(l.replicas), Format.percent(p.storageUtilization), Format.percent(l.computeUtilization),
                        String(p.conversions), Format.number(l.cycles), Format.si(l.latencyS, "s"),
                        cost.energyJ > 0 ? Format.si(p.energyJ, "J") : "–",
                        cost.energyJ > 0 ? Format.percent(p.energyJ / total) : "–"]
            }))
        lines.append("totals")
        var totals: [[String]] = []
        totals.append(["latency", "\(Format.si(cost.latencyS, "s")) layer by layer (\(Format.number(1 / cost.latencyS, digits: 4)) inferences/s)"])
        if let pipelined = cost.pipelinedInferencesPerS {
            totals.append(["pipelined", "\(Format.number(pipelined, digits: 4)) inferences/s with every layer resident, one per slowest layer"])
        }
        totals.append(["weights", "\(cost.layers.map(\.placement.pages).reduce(0, +)) pages on \(cost.arraysToHoldAll) array(s) at once"
                       + (cost.resident ? " (resident)" : "; only \(cost.arrays) available, so weights are rewritten between layers (not priced)")])
        totals.append(["energy", cost.energyJ > 0 ? "\(Format.si(cost.energyJ, "J")) per inference" : "not modelled (the chip file gives no energy figure)"])
        totals.append(["ops", "\(cost.ops) W×A ops, \(cost.chipOps) chip ops (per analog product) per inference"])
        if let efficiency = cost.opsPerJ {
            totals.append(["efficiency", "\(Format.si(efficiency, "OPS/W")) in W×A ops, \(Format.si(Double(cost.chipOps) / cost.energyJ, "OPS/W")) in chip ops"])
        }
        if !cost.offChip.isEmpty { totals.append(["off the chip", cost.offChip.joined(separator: ", ") + " (computed digitally, not priced)"]) }
        totals.append(["not modelled", cost.notModelled.joined(separator: "; ")])
        lines.append(contentsOf: Format.table(["", ""], totals, indent: "  ").split(separator: "\n").dropFirst().map(String.init))
        return lines.joined(separator: "\n")
    }
}
