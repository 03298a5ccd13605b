import Foundation

/// The version of the simulator and trainer, recorded in every checkpoint and result file.
public enum ToolVersion {
    public static let current = "0.1.0"

    /// The running executable's absolute path: the kernel's link `/proc/self/exe`, so a binary
    /// started through `PATH` resolves too; else `argv[0]` made absolute. Preset search and
    /// commands that run or print pimctl again use it.
    public static let executablePath: String = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        ?? URL(fileURLWithPath: CommandLine.arguments.first ?? "").standardizedFileURL.path
}
