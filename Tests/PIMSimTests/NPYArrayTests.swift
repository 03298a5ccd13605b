import Foundation
import Testing
@testable import PIMSim

@Suite("NPY files")
struct NPYArrayTests {
    /// A file as NumPy writes it, assembled byte by byte: magic, version 1.0, header length,
    /// the header dictionary padded with spaces to a 64-byte boundary and ending in a newline.
    static func numpyFile(descr: String, fortran: Bool = false, shape: String, payload: [UInt8]) -> Data {
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
        header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 0x01, 0x00, UInt8(header.count & 0xFF), UInt8(header.count >> 8)]
        bytes += Array(header.utf8) + payload
        return Data(bytes)
    }

    static func littleEndian(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
    }

    @Test func readsAFileWrittenByAnIndependentWriter() throws {
        let data = Self.numpyFile(descr: "<f4", shape: "(2, 3)", payload: Self.littleEndian([1, 2, 3, 4, 5, 6.5]))
        let array = try NPYArray(data: data, file: "w.npy")
        #expect(array.rows == 2 && array.columns == 3 && array.elementType == .float32)
        #expect(array.values == [1, 2, 3, 4, 5, 6.5])
    }

    @Test func readsFortranOrderBigEndianIntegersAndVectors() throws {
        // Column-major 2×2 [[1, 2], [3, 4]] is stored 1, 3, 2, 4.
        let fortran = Self.numpyFile(descr: "<f4", fortran: true, shape: "(2, 2)", payload: Self.littleEndian([1, 3, 2, 4]))
        #expect(try NPYArray(data: fortran, file: "f.npy").values == [1, 2, 3, 4])
        let big = Self.numpyFile(descr: ">i4", shape: "(1, 2)", payload: [0, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFE])
        #expect(try NPYArray(data: big, file: "b.npy").values == [7, -2])
        let int8 = Self.numpyFile(descr: "|i1", shape: "(3,)", payload: [0x80, 0x00, 0x7F])
        let vector = try NPYArray(data: int8, file: "v.npy")
        #expect(vector.rows == 3 && vector.columns == 1 && vector.values == [-128, 0, 127])
        #expect(vector.elementType.isInteger)
    }

    @Test func roundTripsThroughItsOwnWriter() throws {
        let array = NPYArray(rows: 2, columns: 2, elementType: .float64, values: [0.1, -2, 3e10, 4])
        let data = array.data()
        #expect((data.count - 32) % 64 == 0)  // header padded to 64 bytes; 4 doubles of payload
        #expect(try NPYArray(data: data, file: "r.npy") == array)
        let asInt = try NPYArray(data: array.data(as: .int32), file: "i.npy")
        #expect(asInt.values == [0, -2, Double(Int32.max), 4])
    }

    struct Broken: CustomTestStringConvertible, Sendable {
        let name: String, data: Data, place: String, problem: String
        var testDescription: String { name }
    }

    static let broken: [Broken] = [
        Broken(name: "not npy", data: Data("hello world, no magic".utf8), place: "magic", problem: "not a .npy file"),
        Broken(name: "unknown version", data: Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 9, 0, 0, 0]), place: "version", problem: "9.0"),
        Broken(name: "header past the end", data: Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0xFF, 0x00, 0x7B]), place: "header", problem: "declares 255 bytes"),
        Broken(name: "truncated data", data: numpyFile(descr: "<f4", shape: "(2, 3)", payload: littleEndian([1, 2, 3])), place: "data", problem: "needs 24 bytes, the file has 12"),
        Broken(name: "trailing bytes", data: numpyFile(descr: "<f4", shape: "(1, 1)", payload: littleEndian([1, 2])), place: "data", problem: "4 bytes after"),
        Broken(name: "complex type", data: numpyFile(descr: "<c8", shape: "(1, 1)", payload: [UInt8](repeating: 0, count: 8)), place: "descr", problem: "'<c8' is not supported"),
        Broken(name: "three dimensions", data: numpyFile(descr: "<f4", shape: "(1, 1, 1)", payload: littleEndian([1])), place: "shape", problem: "3 dimensions"),
        Broken(name: "bad shape", data: numpyFile(descr: "<f4", shape: "(a, 1)", payload: littleEndian([1])), place: "shape", problem: "not a tuple"),
        Broken(name: "not finite", data: numpyFile(descr: "<f4", shape: "(1, 2)", payload: littleEndian([1, .nan])), place: "data", problem: "element (0, 1) is nan"),
        Broken(name: "no shape", data: Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 30, 0] + Array("{'descr': '<f4', 'fortran_order': False}".utf8.prefix(30))), place: "header", problem: "not a dictionary"),
    ]

    @Test(arguments: broken)
    func malformedFilesAreRejectedWithThePlace(_ file: Broken) {
        let error = #expect(throws: NPYError.self) { try NPYArray(data: file.data, file: "bad.npy") }
        #expect(error?.place == file.place, "\(String(describing: error))")
        #expect(error?.problem.contains(file.problem) == true, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("bad.npy: \(file.place): ") == true)
    }
}
