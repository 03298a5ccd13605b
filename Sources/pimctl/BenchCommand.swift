import ArgumentParser
import Foundation
import PIMQAT

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the standard benchmarks beside this machine's own SGEMM rate.",
        discussion: """
            Absolute times on shared machines are noisy; ratios to the SGEMM rate measured in
            the same run are not. Every suite reports against that rate.

            Examples:
              pimctl bench
              pimctl bench --suite sgemm --threads 1,2 --json
            """)

    enum Suite: String, ExpressibleByArgument, CaseIterable {
        case sgemm
    }

    @Option(help: "Suites to run: \(Suite.allCases.map(\.rawValue).joined(separator: ", ")).")
    var suite: [Suite] = Suite.allCases

    @Option(help: "Comma-separated thread counts.", transform: Bench.parseThreads)
    var threads: [Int] = [1, 2]

    @Option(help: "Square SGEMM size.")
    var sgemmSize = 1024

    @Option(help: "Minimum seconds per measurement.")
    var seconds = 1.0

    @Flag(help: "Print JSON.")
    var json = false

    static func parseThreads(_ text: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("--threads '\(text)': expected positive integers separated by commas")
        }
        return values.map { $0! }
    }

    func validate() throws {
        guard sgemmSize >= 16 else { throw ValidationError("--sgemm-size must be at least 16") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
    }

    func run() throws {
        struct Report: Encodable {
            var toolVersion: String
            var processors: Int
            var sgemm: [SGEMMRate]
        }
        var report = Report(toolVersion: ToolVersion.current, processors: ProcessInfo.processInfo.activeProcessorCount, sgemm: [])
        for count in threads where suite.contains(.sgemm) {
            if Terminal.isInteractive { FileHandle.standardError.write(Data("sgemm \(sgemmSize)³ at \(count) thread(s)…\r".utf8)) }
            report.sgemm.append(SGEMMRate.measure(size: sgemmSize, threads: count, minimumSeconds: seconds))
        }
        if json {
            print(try Terminal.json(report))
        } else {
            print("SGEMM \(sgemmSize)×\(sgemmSize)×\(sgemmSize), OpenBLAS, \(report.processors) processors")
            print(Format.table(["threads", "median GFLOP/s", "best GFLOP/s", "repetitions"], report.sgemm.map { rate in
                [String(rate.threads), Format.number(rate.medianGFLOPS, digits: 4), Format.number(rate.bestGFLOPS, digits: 4), String(rate.repetitions)]
            }))
        }
    }
}
