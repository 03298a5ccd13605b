import Foundation
@testable import pimctl

/// Runs the built `pimctl` executable and captures what it prints.
struct PimctlRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The executable beside the test bundle (same build configuration), else `.build/debug`.
    static let executable: String = {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundleDirectory.appendingPathComponent("pimctl").path,
                          bundleDirectory.deletingLastPathComponent().appendingPathComponent("pimctl").path,
                          "\(packageRoot)/.build/debug/pimctl"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "\(packageRoot)/.build/debug/pimctl"
    }()

    /// A release build for the heavy end-to-end checks: `PIMCTL_RELEASE` (scripts/test sets it),
    /// else the executable above (slower, same results).
    static let release: String = ProcessInfo.processInfo.environment["PIMCTL_RELEASE"].map {
        $0.hasPrefix("/") ? $0 : "\(packageRoot)/\($0)"
    } ?? executable

    static func run(_ arguments: [String], in directory: String = packageRoot, environment: [String: String] = [:],
                    executable: String = PimctlRunner.executable) throws -> Result {
        let result = try Subprocess.run(executable, arguments: arguments, in: directory, environment: environment)
        return Result(status: result.status,
                      stdout: String(decoding: result.stdout, as: UTF8.self),
                      stderr: String(decoding: result.stderr, as: UTF8.self))
    }
}
