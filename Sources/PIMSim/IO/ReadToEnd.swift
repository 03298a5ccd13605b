import Foundation

/// Everything `handle` yields until its writer closes it. Reads with `read(2)` and retries
/// when a signal interrupts it (Foundation's `readDataToEndOfFile` traps on `EINTR`).
package func readToEnd(_ handle: FileHandle) -> Data {
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    let descriptor = handle.fileDescriptor
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count > 0 {
            buffer.withUnsafeBufferPointer { data.append($0.baseAddress!, count: count) }
        } else if count == 0 || errno != EINTR {
            return data
        }
    }
}
