import ArgumentParser
import Foundation
import PIMQAT

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the standard benchmarks beside this machine's own SGEMM rate.",
        discussion: """
            Absolute times on shared machines are noisy; ratios to the SGEMM rate measured in \
            the same run are not. A shared host's rate drifts within minutes, so each engine row \
            is divided by an SGEMM median taken right before it, and each training step is \
            paired with one SGEMM right before it ("SGEMM beside": the median of those; "of \
            SGEMM": the median of the per-step ratios). The table at the top is the run's main \
            SGEMM measurement.

            Examples:
              pimctl bench
              pimctl bench --suite sgemm --threads 1,2 --json
              pimctl bench --suite engine --engine-chips cap-ram \\
                  --engine-shape 1024x512x512
              pimctl bench --suite engine --engine-chips cap-ram --no-noise \\
                  --no-static-errors
              pimctl bench --suite train --threads 1,2
              pimctl bench --suite train --train-chip cap-ram --train-scheme chip
            """)

    enum Suite: String, ExpressibleByArgument, CaseIterable {
        case sgemm
        case engine
        case train
    }

    @Option(help: "Suites to run: \(Suite.allCases.map(\.rawValue).joined(separator: ", ")).")
    var suite: [Suite] = Suite.allCases

    @Option(help: "Comma-separated thread counts.", transform: Bench.parseThreads)
    var threads: [Int] = [1, 2]

    @Option(help: "Square SGEMM size.")
    var sgemmSize = 1024

    @Option(help: "Minimum seconds per measurement.")
    var seconds = 1.0

    @Option(help: "Engine benchmark shape MxKxN.")
    var engineShape = "1024x512x512"

    @Option(help: "Chips for the engine benchmark (ids or files; repeat the option or separate with commas).")
    var engineChips: [String] = ["cap-ram", "ideal"]

    @Option(help: "Columns per engine block (default: about 2^18 stacked inputs or partial sums per block, whichever is more).")
    var engineBlockColumns: Int?

    @Option(help: "Batch size of the training benchmark (ResNet-20 on 1×28×28 images).")
    var trainBatch = 128

    @Option(help: "Chip of the PIM-QAT training benchmark.")
    var trainChip = "cap-ram"

    @Option(help: "Scheme of the PIM-QAT training benchmark.")
    var trainScheme: Scheme = .bitSerial

    @Flag(help: "Engine benchmark without temporal noise (to see what each stage costs).")
    var noNoise = false

    @Flag(help: "Engine benchmark without static ADC errors.")
    var noStaticErrors = false

    @Flag(help: "Print JSON.")
    var json = false

    func progress(_ message: String) {
        if Terminal.isInteractive { FileHandle.standardError.write(Data("\u{1B}[2K\r\(message)…".utf8)) }
    }

    static func parseThreads(_ text: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--threads '\(text)': expected positive integers separated by commas")
        }
        return values.map { $0! }
    }

    func validate() throws {
        // Three square operands of 8192² floats are 768 MiB: beyond that a typo, not a benchmark.
        guard (16...8192).contains(sgemmSize) else { throw ValidationError("--sgemm-size must be 16…8192, got \(sgemmSize)") }
        // An infinite minimum would time forever.
        guard seconds.isFinite, seconds > 0 else { throw ValidationError("--seconds must be a positive finite number, got \(seconds)") }
        guard trainBatch >= 1 else { throw ValidationError("--train-batch must be positive") }
        if let engineBlockColumns, engineBlockColumns < 1 { throw ValidationError("--engine-block-columns must be positive") }
    }

    func run() throws {
        struct EngineRow: Encodable {
            var result: EngineBenchmark
            /// The SGEMM median measured right before this row, at its thread count, GFLOP/s.
            var adjacentSGEMMGFLOPS: Double
            /// effective GEMM rate / that adjacent SGEMM rate.
            var fractionOfSGEMM: Double
        }
        struct Report: Encodable {
            var toolVersion: String
            var processors: Int
            /// Which conversion loops the engine ran: "avx2" or "portable" (same results).
            var engineKernels: String
            var sgemm: [SGEMMRate]
            var engine: [EngineRow]
            var training: [TrainingRow]
        }
        struct TrainingRow: Encodable {
            var result: TrainingBenchmark
            /// The median of the SGEMM rates measured right before each training step, at the
            /// row's thread count, GFLOP/s.
            var adjacentSGEMMGFLOPS: Double
            /// The median over steps of (the step's GEMM rate / the SGEMM rate right before it).
            var fractionOfSGEMM: Double
            /// PIM-QAT images/s over conventional QAT's at the same thread count.
            var relativeToQAT: Double?
        }
        let shape = try MatmulShape(engineShape)
        let catalog = ChipCatalog.standard()
        let chipNames = engineChips.flatMap { $0.split(separator: ",").map(String.init) }
        let chips = try suite.contains(.engine) ? chipNames.map { try catalog.load($0).chip } : []
        var report = Report(toolVersion: ToolVersion.current, processors: ProcessInfo.processInfo.activeProcessorCount,
                            engineKernels: CPUFeatures.avx2 ? "avx2" : "portable", sgemm: [], engine: [], training: [])
        // The SGEMM rate is always measured: every other figure is a fraction of it. On a shared
        // host the rate drifts within minutes, so each row is divided by an SGEMM median taken
        // right before it (half the time of the main measurement), not by the one at the top.
        let probe = SGEMMProbe(size: sgemmSize)
        for count in threads {
            progress("sgemm \(sgemmSize)³ at \(count) thread(s)")
            report.sgemm.append(SGEMMRate.measure(probe, threads: count, minimumSeconds: seconds))
        }
        func adjacentSGEMM(_ count: Int) -> Double {
            SGEMMRate.measure(probe, threads: count, minimumSeconds: seconds / 2).medianGFLOPS
        }
        for chip in chips {
            for count in threads {
                progress("engine \(shape) on \(chip.meta.id) at \(count) thread(s)")
                let stages = NonIdealities(temporalNoise: !noNoise, adcStaticErrors: !noStaticErrors)
                let sgemm = adjacentSGEMM(count)
                let result = try EngineBenchmark.measure(chip: chip, m: shape.m, k: shape.k, n: shape.n, nonIdealities: stages,
                                                        threads: count, blockColumns: engineBlockColumns)
                report.engine.append(EngineRow(result: result, adjacentSGEMMGFLOPS: sgemm, fractionOfSGEMM: result.effectiveGFLOPS / sgemm))
            }
        }
        if suite.contains(.train) {
            let quantization = Quantization(weightBits: 4, activationBits: 4)
            let pimChip = try catalog.load(trainChip).chip
            let pim = (chip: pimChip, settings: PIMSettings(chip: trainChip, scheme: trainScheme))
            for count in threads {
                var qatRate: Double?
                for variant in ["float", "qat", "pim-qat"] {
                    progress("training resnet20 (\(variant)) at batch \(trainBatch), \(count) thread(s)")
                    // Every step is paired with one SGEMM right before it: a step's ratio is then
                    // measured under the same host load as its denominator.
                    var sgemmRates: [Double] = []
                    let result = try TrainingBenchmark.measure(.resnet(depth: 20), channels: 1, size: 28, batchSize: trainBatch, threads: count,
                                                               minimumSeconds: seconds,
                                                               quantization: variant == "float" ? nil : quantization,
                                                               pim: variant == "pim-qat" ? pim : nil,
                                                               beforeEachStep: { sgemmRates.append(probe.gflops()) })
                    let flopsPerStep = result.gemmFLOPsPerImage * Double(trainBatch)
                    let ratios = zip(result.stepSeconds, sgemmRates).map { flopsPerStep / $0 / 1e9 / $1 }.sorted()
                    let sgemm = sgemmRates.sorted()[sgemmRates.count / 2]
                    if variant == "qat" { qatRate = result.imagesPerS }
                    report.training.append(TrainingRow(result: result, adjacentSGEMMGFLOPS: sgemm, fractionOfSGEMM: ratios[ratios.count / 2],
                                                       relativeToQAT: variant == "pim-qat" ? qatRate.map { result.imagesPerS / $0 } : nil))
                }
            }
        }
        if Terminal.isInteractive { FileHandle.standardError.write(Data("\u{1B}[2K\r".utf8)) }
        if json {
            print(try Terminal.json(report))
        } else {
            print("SGEMM \(sgemmSize)×\(sgemmSize)×\(sgemmSize), OpenBLAS, \(report.processors) processors")
            print(Format.table(["threads", "median GFLOP/s", "best GFLOP/s", "repetitions"], report.sgemm.map { rate in
                [String(rate.threads), Format.number(rate.medianGFLOPS, digits: 4), Format.number(rate.bestGFLOPS, digits: 4), String(rate.repetitions)]
            }))
            if !report.engine.isEmpty {
                print("")
                print("PIM engine \(shape), 4-bit inputs × 4-bit weights, chip's own decomposition, \(report.engineKernels) conversion loops, best of 3")
                print(Format.table(["chip", "threads", "noise", "static errors", "time", "conversions/s", "GEMM GFLOP/s", "SGEMM beside", "of SGEMM"], report.engine.map { row in
                    let r = row.result
                    return [r.chip, String(r.threads), r.noise ? "on" : "off", r.staticErrors ? "on" : "off", Format.si(r.seconds, "s"),
                            Format.si(r.conversionsPerS, ""), Format.number(r.effectiveGFLOPS, digits: 4),
                            Format.number(row.adjacentSGEMMGFLOPS, digits: 4), Format.percent(row.fractionOfSGEMM)]
                }))
            }
            if !report.training.isEmpty {
                print("")
                print("Training ResNet-20, 1×28×28 images, batch \(trainBatch) (forward + backward + SGD step, median step; GEMM work of the digital network)")
                print(Format.table(["variant", "threads", "images/s", "s/step", "GEMM GFLOP/s", "SGEMM beside", "of SGEMM", "vs QAT"], report.training.map { row in
                    let r = row.result
                    return [r.variant, String(r.threads), Format.number(r.imagesPerS, digits: 4), Format.number(r.secondsPerStep, digits: 3),
                            Format.number(r.effectiveGFLOPS, digits: 4), Format.number(row.adjacentSGEMMGFLOPS, digits: 4),
                            Format.percent(row.fractionOfSGEMM),
                            row.relativeToQAT.map { Format.number($0, digits: 3) + "×" } ?? ""]
                }))
            }
        }
    }
}
