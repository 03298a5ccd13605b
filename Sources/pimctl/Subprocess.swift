import Dispatch
import Foundation
import PIMQAT

/// A child process run to its end, with both of its output streams captured.
struct Subprocess {
    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: Data
    }

    /// Runs `executable` with `arguments` in `directory`, its environment this process's with
    /// `environment` laid over it. Both pipes are drained before waiting (standard error on
    /// another thread), so no large output can fill a pipe and block the child.
    static func run(_ executable: String, arguments: [String], in directory: String,
                    environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stderrReader = PipeReader(err)
        let stdout = readToEnd(out.fileHandleForReading)
        let stderr = stderrReader.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }
}

/// Reads a pipe to its end on a background thread.
final class PipeReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ pipe: Pipe) {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            data = readToEnd(handle)
            done.signal()
        }
    }

    /// Everything the pipe carried, once its writer has closed it.
    func wait() -> Data {
        done.wait()
        return data
    }
}
