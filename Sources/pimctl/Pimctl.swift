import ArgumentParser
import Foundation
import PIMQAT
#if canImport(Glibc)
import Glibc
#endif

/// The `pimctl` command line: parse, call the libraries, print. No numerics here.
@main
struct Pimctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pimctl",
        abstract: "Simulate processing-in-memory chips and train networks that survive them.",
        discussion: """
            Examples:
              pimctl chips list
              pimctl chips show cap-ram
              pimctl chips validate chips/*.yaml
              pimctl simulate matmul --chip cap-ram --matmul 256x512x128
              pimctl train --model resnet20 --wbits 4 --abits 4 --out r20-w4a4.safetensors
              pimctl train-qat --chip cap-ram --model resnet20 \\
                  --init r20-w4a4.safetensors --adjust-precision auto \\
                  --out r20-pim.safetensors
              pimctl simulate network --chip cap-ram --model r20-pim.safetensors \\
                  --chip-seeds 3 --noise-seeds 3 --bn-calibrate 100
              pimctl report
              pimctl sweep run spec.yaml --out results.jsonl
              pimctl bench --suite sgemm
            """,
        version: ToolVersion.current,
        subcommands: [Chips.self, Simulate.self, MapCommand.self, Import.self, Export.self, Train.self, TrainQAT.self, Evaluate.self, CalibrateBN.self, Report.self, SearchPrecision.self, Sweep.self, Check.self, Notebook.self, Bench.self])

    /// Runs the command; a user error (bad file, bad flag value) or a failed write to standard
    /// output ends with one line on standard error and exit status 1, never a trap.
    static func main() {
        keepLargeBuffersInTheHeap()
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            var command = command
            try command.run()
        } catch let error as any UserInputError {
            Terminal.error(error.description)
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
        // A result that did not reach standard output (a full disk, a closed pipe) is a failure.
        if let problem = OutputFile.finishStandardOutput() {
            Terminal.error("standard output: \(problem)")
            Foundation.exit(1)
        }
    }
}

/// Training allocates and frees the same multi-megabyte activation buffers every step; by
/// default glibc returns such blocks to the kernel and the next step faults them back in as
/// zeroed pages (≈ 3 % of a training step in `perf`). Blocks up to 32 MiB (glibc's maximum)
/// come from the heap instead, and up to 1 GiB of freed heap stays with the process rather
/// than going back to the kernel (peak resident memory of ResNet-20 training: 561 MB).
func keepLargeBuffersInTheHeap() {
    #if canImport(Glibc)
    // mallopt(3) is not in Swift's Glibc module; parameters from <malloc.h>.
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3
    _ = mallopt(mmapThreshold, 32 << 20)
    _ = mallopt(trimThreshold, 1 << 30)
    #endif
}

/// A problem with what the user asked for that only the command line can see (an output
/// path that cannot be written, operand files that do not fit together).
struct CommandLineError: UserInputError {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Writing to the terminal: results to standard output, diagnostics to standard error.
enum Terminal {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("pimctl: error: \(message)\n".utf8))
    }

    static func warning(_ message: String) {
        FileHandle.standardError.write(Data("pimctl: warning: \(message)\n".utf8))
    }

    /// Pushes buffered standard output out now (a long run's lines reach a pipe or file as they happen).
    static func flush() { fflush(nil) }

    /// Whether standard error is an interactive terminal (progress bars only then).
    static var isInteractive: Bool { isatty(STDERR_FILENO) != 0 }

    /// Pretty-printed JSON with sorted, snake_case keys.
    static func json<Value: Encodable>(_ value: Value) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
