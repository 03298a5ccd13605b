import Foundation
internal import CKernels

/// An output path that cannot take the result, as one line naming it and the reason.
public struct OutputFileError: Error, Sendable, UserInputError {
    public var description: String
    public init(_ path: String, _ problem: String) { description = "\(path): \(problem)" }
}

/// Writes a result file in one step: a reader never sees half a file, and a failed write
/// leaves whatever was at the path as it was.
public enum OutputFile {
    /// Writes `data` to `path`:
    /// - a symbolic link is followed (its final target gets the data; the link stays);
    /// - a regular file, or nothing, is replaced atomically: a temporary file beside it, then
    ///   a rename;
    /// - a character device or a FIFO (`/dev/stdout`, `/dev/null`, a named pipe) is written
    ///   in place;
    /// - anything else (a directory, a socket, a block device) is refused.
    /// - Throws: ``OutputFileError`` naming the path and the reason (a full disk included).
    public static func write(_ data: Data, to path: String) throws(OutputFileError) {
        let target = try resolve(path)
        var info = stat()
        if lstat(target, &info) == 0 {
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                break
            case S_IFCHR, S_IFIFO:
                return try writeInPlace(data, to: target, named: path)
            case S_IFDIR:
                throw OutputFileError(path, "is a directory, not a file to write")
            default:
                throw OutputFileError(path, "is not a regular file, a character device or a pipe; refusing to replace it")
            }
        }
        let directory = (target as NSString).deletingLastPathComponent
        var isDirectory: ObjCBool = false
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) || !isDirectory.boolValue {
            throw OutputFileError(path, "cannot be written: the directory \(directory) does not exist")
        }
        do {
            try data.write(to: URL(fileURLWithPath: target), options: .atomic)
        } catch {
            throw OutputFileError(path, "cannot be written (\((error as NSError).localizedDescription))")
        }
    }

    /// The path a chain of symbolic links ends at (relative links against their directory).
    static func resolve(_ path: String) throws(OutputFileError) -> String {
        var current = path
        for _ in 0..<40 {
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return current }
            current = destination.hasPrefix("/") ? destination
                : ((current as NSString).deletingLastPathComponent as NSString).appendingPathComponent(destination)
        }
        throw OutputFileError(path, "too many levels of symbolic links")
    }

    static func writeInPlace(_ data: Data, to target: String, named path: String) throws(OutputFileError) {
        let descriptor = open(target, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw OutputFileError(path, "cannot be opened for writing (\(String(cString: strerror(errno))))") }
        defer { close(descriptor) }
        var failure: Int32 = 0
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure != 0 { throw OutputFileError(path, "cannot be written (\(String(cString: strerror(failure))))") }
    }

    /// Flushes standard output; why what was printed did not all reach it (a full disk, a
    /// closed pipe), or nil when it did. A command's last step: a failed write is a failure.
    public static func finishStandardOutput() -> String? {
        let failure = pim_finish_standard_output()
        return failure == 0 ? nil : "cannot be written (\(String(cString: strerror(failure))))"
    }
}
