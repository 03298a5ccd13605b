import ArgumentParser
import Foundation
import PIMQAT

/// The options of a matrix workload: its shape or operand files, precisions, range policy and
/// the real-valued front end.
struct MatmulOptions: ParsableArguments {
    @Option(help: "Shape MxKxN of random operands (or of the given .npy files).")
    var matmul: String?

    @Option(help: "Input bits (default: one DAC cycle's worth).")
    var inputBits: Int?

    @Option(help: "Weight bits (default: 4 if the mode supports it, else its widest ≤ 8).")
    var weightBits: Int?

    @Option(help: "Weights W (M×K) as .npy: integers on the grid, or floats for the front end.")
    var weights: String?

    @Option(help: "Inputs X (K×N) as .npy: integer levels, or floats for the front end.")
    var inputs: String?

    @Option(help: "ADC range policy override: max, calibrated (percentile of this run's partial sums), oracle (non-physical).")
    var rangePolicy: ADCConfig.RangePolicy?

    @Option(help: "Front end: weight scaling per-tensor or per-row.")
    var weightScaling: RealValuedFrontEnd.WeightScaling = .perRow

    @Option(help: "Front end: fixed DAC bound (default: abs-max per input column).")
    var inputBound: Double?

    @Option(help: "Front end: output ADC bits (with --output-bound).")
    var outputBits: Int?

    @Option(help: "Front end: output ADC bound ±V.")
    var outputBound: Double?

    @Option(help: "Write Y to this .npy file (float64).")
    var out: String?

    /// The first option given that only a matrix workload takes, if any.
    var firstGiven: String? {
        [(matmul != nil, "--matmul"), (weights != nil, "--weights"), (out != nil, "--out"), (rangePolicy != nil, "--range-policy"),
         (inputBits != nil, "--input-bits"), (weightBits != nil, "--weight-bits")].first(where: { $0.0 })?.1
    }

    func validate() throws {
        guard (weights == nil) == (inputs == nil) else { throw ValidationError("give both --weights and --inputs, or neither") }
    }

    /// The checks of a matrix workload that is to run (not those of a network run's flags);
    /// `orModel`: the command could run a network instead.
    func validateWorkload(orModel: Bool) throws {
        guard weights != nil || matmul != nil else {
            throw ValidationError("give --matmul MxKxN, --weights and --inputs\(orModel ? ", or --model CHECKPOINT" : "")")
        }
        guard (outputBits == nil) == (outputBound == nil) else { throw ValidationError("give both --output-bits and --output-bound, or neither") }
        if let outputBits, outputBits < 2 { throw ValidationError("--output-bits must be at least 2") }
        if let outputBound, !(outputBound > 0) { throw ValidationError("--output-bound must be positive") }
        if let inputBound, !(inputBound > 0) { throw ValidationError("--input-bound must be positive") }
        if rangePolicy == .fixed { throw ValidationError("--range-policy fixed is the chip file's own range; omit the option to use it") }
    }

    /// Runs the matrix workload on `chip` and prints its report.
    func run(on chip: ChipConfig, _ run: ChipRunOptions) throws {
        let scheme = run.scheme ?? .chip
        let modeName = run.mode ?? (scheme == .chip ? chip.defaultResolvedMode.name : nil)
        let modeForBits = chip.resolvedModes.first { $0.name == modeName } ?? chip.defaultResolvedMode
        let weightBits = self.weightBits ?? (modeForBits.weightBits.contains(4) ? 4 : modeForBits.weightBits.filter { $0 <= 8 }.max() ?? modeForBits.weightBits[0])
        let nonIdealities = run.nonIdealities
        let mapping = try chip.mapping(scheme: scheme, mode: run.mode, inputBits: inputBits ?? chip.referenceInputBits,
                                       weightBits: weightBits, nonIdealities: nonIdealities, rangePolicy: rangePolicy)
        let shape = try matmul.map { try MatmulShape($0) }
        var m = shape?.m ?? 0, k = shape?.k ?? 0, n = shape?.n ?? 0
        let operands: MatmulSimulation.Operands
        if let weightsPath = weights, let inputsPath = inputs {
            let w = try NPYArray(contentsOf: weightsPath), x = try NPYArray(contentsOf: inputsPath)
            guard w.columns == x.rows else {
                throw CommandLineError("\(weightsPath) is \(w.rows)×\(w.columns) and \(inputsPath) is \(x.rows)×\(x.columns): W's columns must equal X's rows")
            }
            if let shape, (shape.m, shape.k, shape.n) != (w.rows, w.columns, x.columns) {
                throw CommandLineError("--matmul \(shape) does not match the files (\(w.rows)×\(w.columns)×\(x.columns))")
            }
            (m, k, n) = (w.rows, w.columns, x.columns)
            do {
                try MatmulSimulation.checkShape(m: m, k: k, n: n)
            } catch {
                throw CommandLineError("\(weightsPath) (\(w.rows)×\(w.columns)) and \(inputsPath) (\(x.rows)×\(x.columns)): \(error.description)")
            }
            if w.elementType.isInteger && x.elementType.isInteger {
                operands = .integer(weights: try integers(w, path: weightsPath), inputs: try integers(x, path: inputsPath))
            } else {
                let frontEnd = RealValuedFrontEnd(weightScaling: weightScaling, inputBound: inputBound,
                                                  outputBits: outputBits, outputBound: outputBound)
                operands = .real(weights: w.values, inputs: x.values, frontEnd: frontEnd)
            }
        } else {
            operands = try MatmulSimulation.randomOperands(mapping: mapping, m: m, k: k, n: n, seed: run.seed)
        }
        let simulation = MatmulSimulation(mapping: mapping, m: m, k: k, n: n, operands: operands,
                                          seed: run.seed, chipSeed: run.chipSeed, threads: run.threads)
        let outcome = try simulation.run()
        if let out {
            try NPYArray(rows: m, columns: n, elementType: .float64, values: outcome.output).write(to: out)
        }
        if run.json {
            print(try Terminal.json(outcome.report))
        } else {
            print(text(outcome.report))
        }
    }

    /// Integer values of an integer array (already whole numbers by type).
    func integers(_ array: NPYArray, path: String) throws -> [Int32] {
        if let bad = array.values.firstIndex(where: { abs($0) > Double(Int32.max) }) {
            throw NPYError(file: path, place: "data", problem: "element \(bad) = \(array.values[bad]) does not fit 32 bits")
        }
        return array.values.map { Int32($0) }
    }

    func text(_ r: MatmulReport) -> String {
        var lines: [String] = []
        lines.append("\(r.chip), scheme \(r.scheme) (mode \(r.mode)), \(r.shape[0])×\(r.shape[1])×\(r.shape[2]), \(r.inputBits)-bit inputs × \(r.weightBits)-bit weights")
        if let bits = r.adcBits, let lsb = r.lsbMACUnits, let scale = r.fullScale {
            lines.append("ADC \(bits) bits, range \(r.rangePolicy) \(Format.number(scale[0]))…\(Format.number(scale[1])) MAC units, LSB \(Format.number(lsb)) MAC units")
        } else {
            lines.append("ADC lossless")
        }
        if let warning = r.nonPhysical { lines.append("NOTE: \(warning)") }
        var rows: [[String]] = [
            ["conversions", "\(r.conversions) (\(Format.number(r.conversionsPerMAC)) per MAC, \(r.macs) MACs)"],
            ["clipped", "\(Format.percent(r.clipRateLow)) low, \(Format.percent(r.clipRateHigh)) high"],
            ["conversion error", "mean \(Format.number(r.conversionErrorMeanLSB)) LSB, σ \(Format.number(r.conversionErrorSigmaLSB)) LSB"
                + (r.csnrDecibels.map { ", CSNR \(Format.number($0)) dB" } ?? "")
                + (r.effectiveBits.map { ", effective bits \(Format.number($0))" } ?? "")],
            ["output error", "mean \(Format.number(r.outputErrorMean)), σ \(Format.number(r.outputErrorSigma))"
                + (r.sqnrDecibels.map { ", SQNR \(Format.number($0)) dB" } ?? ", exact")],
            ["codes", "\(r.distinctCodes) distinct"],
            ["latency", Format.si(r.latencyS, "s") + " at the chip clock"],
        ]
        if let energy = r.energyJ { rows.append(["energy", Format.si(energy, "J")]) }
        rows.append(["simulated in", Format.si(r.seconds, "s")])
        lines.append(Format.table(["", ""], rows).split(separator: "\n").dropFirst().joined(separator: "\n"))
        return lines.joined(separator: "\n")
    }
}

struct SimulateMatmul: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matmul",
        abstract: "Run one matrix multiply through a chip model and report its error and cost.",
        discussion: """
            Y (M×N) = W (M×K) · X (K×N) is cut into conversions as the chip (or --scheme) \
            decomposes it, converted with the chip's ADC and non-idealities, and compared \
            with the exact product. Operands are random (seeded) unless given as .npy files: \
            integer arrays must lie on the chip's grids; float arrays go through the \
            real-valued front end (weights to the grid by abs-max, inputs through the DAC).

            Examples:
              pimctl simulate matmul --chip cap-ram --matmul 256x512x128
              pimctl simulate matmul --chip cap-ram --matmul 64x256x64 \\
                  --scheme bit-serial --json
              pimctl simulate matmul --chip ideal --weights W.npy --inputs X.npy \\
                  --out Y.npy
              pimctl simulate matmul --chip cap-ram --matmul 64x128x64 --no-noise \\
                  --no-static-errors
            """)

    @OptionGroup(title: "Chip and run") var options: ChipRunOptions
    @OptionGroup(title: "Matrix workload") var workload: MatmulOptions

    func validate() throws { try workload.validateWorkload(orModel: false) }

    func run() throws {
        try workload.run(on: try ChipCatalog.standard().load(options.chip).0, options)
    }
}
