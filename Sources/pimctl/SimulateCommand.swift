import ArgumentParser
import Foundation
import PIMQAT

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a matrix multiply or a trained network through a chip model and report its error and cost.",
        discussion: """
            `simulate matmul` runs one Y = W·X through the chip's decomposition, ADC and \
            non-idealities and compares it with the exact product; `simulate network` deploys a \
            trained network on chip instances. Without a subcommand, --model runs the network \
            and --matmul, --weights/--inputs the matrix multiply, with the same flags.

            Examples:
              pimctl simulate matmul --chip cap-ram --matmul 256x512x128
              pimctl simulate matmul --chip ideal --weights W.npy --inputs X.npy \\
                  --out Y.npy
              pimctl simulate network --chip cap-ram --model pim.safetensors \\
                  --chip-seeds 3 --noise-seeds 3 --bn-calibrate 20
              pimctl simulate --chip cap-ram --matmul 64x256x64 --json
            """,
        subcommands: [SimulateMatmul.self, SimulateNetwork.self, SimulateShorthand.self],
        defaultSubcommand: SimulateShorthand.self)
}

/// `simulate` without a subcommand: the network with --model, else the matrix multiply.
struct SimulateShorthand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "The network with --model, else the matrix multiply (the default).",
        usage: "pimctl simulate [--matmul MxKxN | --weights W.npy --inputs X.npy | --model CHECKPOINT] <options>",
        shouldDisplay: false)

    @OptionGroup(title: "Chip and run") var options: ChipRunOptions
    @OptionGroup(title: "Matrix workload") var matmul: MatmulOptions
    @OptionGroup(title: "Network") var network: NetworkSimulationOptions

    func validate() throws {
        if network.model != nil {
            if let given = matmul.firstGiven { throw ValidationError("\(given) is for a matrix workload, not with --model") }
        } else {
            try matmul.validateWorkload(orModel: true)
        }
    }

    func run() throws {
        let (chip, _) = try ChipCatalog.standard().load(options.chip)
        if network.model != nil { try network.run(on: chip, options) } else { try matmul.run(on: chip, options) }
    }
}

/// The chip, decomposition, seeds, stages and output of any simulation.
struct ChipRunOptions: ParsableArguments {
    @Option(help: "Chip: a preset id or a YAML file.")
    var chip = "cap-ram"

    @Option(help: "Decomposition: chip (the chip's own), native, differential, bit-serial (default chip, or a PIM-QAT checkpoint's).")
    var scheme: Scheme?

    @Option(help: "The chip's operating mode (default: the chip's default mode).")
    var mode: String?

    @Option(help: "Seed of the operands and the temporal noise (a network's first noise seed).")
    var seed: UInt64 = 0

    @Option(help: "Chip instance: seed of the static draws (mismatch, ADC offsets, gains, INL); a network's first instance.")
    var chipSeed: UInt64 = 0

    @Option(help: "Worker threads (results do not depend on it).")
    var threads = 1

    @Flag(help: "Switch temporal noise off (the converter's and the cells' read noise).")
    var noNoise = false

    @Flag(help: "Switch static ADC offset, gain, INL and DNL off.")
    var noStaticErrors = false

    @Flag(help: "Switch static cell errors off: cell mismatch, bit-ratio mismatch, conductance write and relaxation errors.")
    var noMismatch = false

    @Flag(help: "Use an identity MAC transfer curve.")
    var noTransfer = false

    @Option(help: "Read the weights this many seconds after programming (chips with conductance drift, weights.drift).")
    var readTime: Double?

    @Flag(help: "Print JSON.")
    var json = false

    /// The stages the flags leave on.
    var nonIdealities: NonIdealities {
        NonIdealities(temporalNoise: !noNoise, adcStaticErrors: !noStaticErrors, cellMismatch: !noMismatch, transferCurve: !noTransfer,
                      readTimeS: readTime)
    }

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if let readTime, !(readTime > 0 && readTime.isFinite) { throw ValidationError("--read-time must be a positive number of seconds") }
    }
}
