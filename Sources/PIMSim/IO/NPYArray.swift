import Foundation

/// A malformed or unsupported `.npy` file: `file: place: problem`.
public struct NPYError: Error, Sendable, Hashable, UserInputError {
    public var file: String
    public var place: String
    public var problem: String

    public init(file: String, place: String, problem: String) {
        self.file = file
        self.place = place
        self.problem = problem
    }

    public var description: String { "\(file): \(place): \(problem)" }
}

/// A two-dimensional NumPy array read from or written to a `.npy` file (format versions 1–3).
///
/// Element types read: float32, float64, int8, uint8, int16, int32, int64 in either byte
/// order, C or Fortran order; values are held row-major as `Double` (integers exactly up to
/// 2^53). One-dimensional arrays read as a single column.
public struct NPYArray: Sendable, Equatable {
    public enum ElementType: String, Sendable, CaseIterable {
        case float32 = "f4", float64 = "f8", int8 = "i1", uint8 = "u1", int16 = "i2", int32 = "i4", int64 = "i8"

        var size: Int { Int(rawValue.dropFirst())! }
        public var isInteger: Bool { self != .float32 && self != .float64 }
    }

    public var rows: Int
    public var columns: Int
    public var elementType: ElementType
    /// Row-major values.
    public var values: [Double]

    public init(rows: Int, columns: Int, elementType: ElementType, values: [Double]) {
        precondition(values.count == rows * columns, "NPYArray: \(values.count) values for \(rows)×\(columns)")
        self.rows = rows
        self.columns = columns
        self.elementType = elementType
        self.values = values
    }

    // MARK: - Reading

    public init(contentsOf path: String) throws(NPYError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NPYError(file: path, place: "file", problem: "cannot be read")
        }
        try self.init(data: data, file: path)
    }

    public init(data: Data, file: String) throws(NPYError) {
        func fail(_ place: String, _ problem: String) -> NPYError { NPYError(file: file, place: place, problem: problem) }
        let bytes = [UInt8](data)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw fail("magic", "not a .npy file (no \\x93NUMPY signature)") }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("header", "truncated before the header length") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw fail("version", "format version \(major).\(bytes[7]) is not supported (1.0–3.0)")
        }
        guard headerStart + headerLength <= bytes.count else {
            throw fail("header", "declares \(headerLength) bytes but the file ends after \(bytes.count - headerStart)")
        }
        guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw fail("header", "is not text")
        }
        let dictionary = try NPYArray.parseHeader(header, fail: fail)
        guard let descr = dictionary["descr"] else { throw fail("header", "has no 'descr'") }
        guard let fortranText = dictionary["fortran_order"] else { throw fail("header", "has no 'fortran_order'") }
        guard let shapeText = dictionary["shape"] else { throw fail("header", "has no 'shape'") }
        var typeCode = descr
        var bigEndian = false
        if let first = typeCode.first, "<>|=".contains(first) {
            bigEndian = first == ">"
            typeCode.removeFirst()
        }
        guard let type = ElementType(rawValue: typeCode) else {
            throw fail("descr", "element type '\(descr)' is not supported (float32, float64, int8, uint8, int16, int32, int64)")
        }
        let fortran: Bool
        switch fortranText {
        case "True": fortran = true
        case "False": fortran = false
        default: throw fail("fortran_order", "'\(fortranText)' is not True or False")
        }
        let dimensions = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let shape = Optional(dimensions.compactMap { Int($0) }), shape.count == dimensions.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw fail("shape", "'\(shapeText)' is not a tuple of sizes")
        }
        let rows: Int, columns: Int
        switch shape.count {
        case 1: (rows, columns) = (shape[0], 1)
        case 2: (rows, columns) = (shape[0], shape[1])
        default: throw fail("shape", "\(shapeText) has \(shape.count) dimensions; a matrix needs 2 (or 1 for a column)")
        }
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, count <= Int(Int32.max) else { throw fail("shape", "\(shapeText) is too large") }
        let dataStart = headerStart + headerLength
        let needed = count * type.size
        guard bytes.count - dataStart >= needed else {
            throw fail("data", "shape \(shapeText) of \(descr) needs \(needed) bytes, the file has \(bytes.count - dataStart)")
        }
        guard bytes.count - dataStart == needed else {
            throw fail("data", "\(bytes.count - dataStart - needed) bytes after the array's \(needed)")
        }
        var values = [Double](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart
            for i in 0..<count {
                let p = base + i * type.size
                func load<T: FixedWidthInteger>(_: T.Type) -> T {
                    let v = p.loadUnaligned(as: T.self)
                    return bigEndian ? T(bigEndian: v) : T(littleEndian: v)
                }
                let value: Double
                switch type {
                case .float32: value = Double(Float(bitPattern: load(UInt32.self)))
                case .float64: value = Double(bitPattern: load(UInt64.self))
                case .int8: value = Double(p.load(as: Int8.self))
                case .uint8: value = Double(p.load(as: UInt8.self))
                case .int16: value = Double(load(Int16.self))
                case .int32: value = Double(load(Int32.self))
                case .int64: value = Double(load(Int64.self))
                }
                // Fortran order stores columns contiguously.
                let index = fortran ? (i % rows) * columns + i / rows : i
                values[index] = value
            }
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw fail("data", "element (\(bad / max(columns, 1)), \(bad % max(columns, 1))) is \(values[bad]), not a finite number")
        }
        self.init(rows: rows, columns: columns, elementType: type, values: values)
    }

    /// Parses the Python dictionary literal of a `.npy` header into key → value text.
    static func parseHeader(_ header: String, fail: (String, String) -> NPYError) throws(NPYError) -> [String: String] {
        var text = Substring(header.trimmingCharacters(in: .whitespacesAndNewlines))
        guard text.first == "{", text.last == "}" else { throw fail("header", "is not a dictionary literal") }
        text = text.dropFirst().dropLast()
        var result: [String: String] = [:]
        while true {
            text = text.drop { $0 == " " || $0 == "," }
            guard let quote = text.first else { break }
            guard quote == "'" || quote == "\"" else { throw fail("header", "expected a quoted key at '\(text.prefix(12))'") }
            text = text.dropFirst()
            guard let close = text.firstIndex(of: quote) else { throw fail("header", "unterminated key") }
            let key = String(text[..<close])
            text = text[text.index(after: close)...].drop { $0 == " " }
            guard text.first == ":" else { throw fail("header", "expected ':' after '\(key)'") }
            text = text.dropFirst().drop { $0 == " " }
            let value: Substring
            if text.first == "(" {
                guard let end = text.firstIndex(of: ")") else { throw fail("header", "unterminated tuple for '\(key)'") }
                value = text[...end]
                text = text[text.index(after: end)...]
            } else {
                let end = text.firstIndex(of: ",") ?? text.endIndex
                value = text[..<end]
                text = text[end...]
            }
            result[key] = value.trimmingCharacters(in: CharacterSet(charactersIn: " '\""))
        }
        return result
    }

    // MARK: - Writing

    /// The `.npy` bytes (version 1.0, little-endian, C order) of this array as `type`.
    public func data(as type: ElementType? = nil) -> Data {
        let type = type ?? elementType
        var header = "{'descr': '<\(type.rawValue)', 'fortran_order': False, 'shape': (\(rows), \(columns)), }"
        // Pad so that the data starts on a 64-byte boundary; the header ends with a newline.
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.reserveCapacity(data.count + values.count * type.size)
        for value in values {
            let whole = min(max(value.rounded(), -9.2e18), 9.2e18)  // integer types clamp; never trap
            switch type {
            case .float32: withUnsafeBytes(of: Float(value).bitPattern.littleEndian) { data.append($0.assumingMemoryBound(to: UInt8.self)) }
            case .float64: withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append($0.assumingMemoryBound(to: UInt8.self)) }
            case .int8: data.append(UInt8(bitPattern: Int8(clamping: Int64(whole))))
            case .uint8: data.append(UInt8(clamping: Int64(whole)))
            case .int16: withUnsafeBytes(of: Int16(clamping: Int64(whole)).littleEndian) { data.append($0.assumingMemoryBound(to: UInt8.self)) }
            case .int32: withUnsafeBytes(of: Int32(clamping: Int64(whole)).littleEndian) { data.append($0.assumingMemoryBound(to: UInt8.self)) }
            case .int64: withUnsafeBytes(of: Int64(whole).littleEndian) { data.append($0.assumingMemoryBound(to: UInt8.self)) }
            }
        }
        return data
    }

    /// Writes the file in one step (``OutputFile``): a crash never leaves half a file.
    public func write(to path: String, as type: ElementType? = nil) throws {
        try OutputFile.write(data(as: type), to: path)
    }
}
