internal import CNumerics
import Foundation

/// A gzip stream that is truncated or corrupt.
package struct GzipError: Error, Sendable, CustomStringConvertible {
    package var description: String
}

/// gzip (and zlib) decompression through zlib.
package enum Gzip {
    /// Whether `data` starts with the gzip signature 1f 8b.
    package static func isCompressed(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1F && data[data.startIndex + 1] == 0x8B
    }

    /// Inflates a gzip stream: all of it, or only its first `limit` bytes (the rest is never
    /// inflated, so a small file that expands to gigabytes costs only what is asked for).
    /// - Throws: ``GzipError`` for a corrupt stream, or one truncated before `limit` bytes.
    package static func decompress(_ data: Data, limit: Int? = nil) throws(GzipError) -> Data {
        var stream = z_stream()
        // 15 window bits + 32: detect gzip or zlib headers automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw GzipError(description: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output = Data()
        var failure: GzipError?
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var input = [UInt8](data)
        input.withUnsafeMutableBufferPointer { input in
            stream.next_in = input.baseAddress
            stream.avail_in = uInt(input.count)
            var status: Int32 = Z_OK
            repeat {
                status = buffer.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    failure = GzipError(description: status == Z_BUF_ERROR ? "truncated gzip stream" : "corrupt gzip stream (\(reason))")
                    return
                }
                output.append(contentsOf: buffer[0..<(chunk - Int(stream.avail_out))])
                if let limit, output.count >= limit {
                    output.removeSubrange(limit...)
                    return
                }
                if status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0 {
                    failure = GzipError(description: "truncated gzip stream (ends after \(data.count) bytes)")
                    return
                }
            } while status != Z_STREAM_END
        }
        if let failure { throw failure }
        return output
    }
}
