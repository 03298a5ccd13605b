import Testing
@testable import PIMSim

@Suite("Decomposition")
struct DecompositionTests {
    static let encodings = ChipConfig.WeightEncoding.allCases
    static let widths: [ChipConfig.SliceWidth] = [.bits(1), .bits(2), .bits(3), .whole]

    /// Splits `w` into slice digits the way each encoding lays it onto cells.
    static func digits(of w: Int, _ d: Decomposition) -> [[Int]] {
        let slices = d.slices
        switch d.encoding {
        case .twosComplement:
            // Greedy from the top: the sign slice first, then unsigned lower slices.
            var remainder = w
            var result = Array(repeating: 0, count: slices.count)
            for j in stride(from: slices.count - 1, through: 0, by: -1) {
                let s = slices[j]
                var digit = remainder >= 0 ? remainder / s.weight : -((-remainder + abs(s.weight) - 1) / abs(s.weight))
                if s.weight < 0 { digit = remainder < 0 ? 1 : 0 }
                digit = min(max(digit, s.minDigit), s.maxDigit)
                result[j] = digit
                remainder -= digit * s.weight
            }
            return [result]
        case .offsetBinary:
            let u = w + (1 << (d.weightBits - 1))
            return [slices.map { (u / $0.weight) % ($0.maxDigit + 1) }]
        case .differential:
            let plus = max(w, 0), minus = max(-w, 0)
            let width = slices.count > 1 ? slices[1].weight : 1 << d.weightBits
            return [plus, minus].map { m in slices.map { (m / $0.weight) % width } }
        case .ternarySignedDigit:
            // Balanced digits: binary of |w| with the sign of w.
            let sign = w < 0 ? -1 : 1
            return [slices.map { sign * ((abs(w) / $0.weight) % 2) }]
        case .bipolarXNOR:
            // ±1 per bit of the two's-complement pattern.
            return [slices.indices.map { j in 2 * ((w >> j) & 1) - 1 }]
        }
    }

    @Test(arguments: encodings, widths)
    func slicesRecombineToEveryWeightOfTheGrid(_ encoding: ChipConfig.WeightEncoding, _ width: ChipConfig.SliceWidth) {
        for bits in 2...6 {
            let d = Decomposition(inputBits: 4, weightBits: bits, inputBitsPerCycle: .bits(4), encoding: encoding,
                                  bitsPerCell: width, subtraction: .digital, inputsPerConversion: 8)
            for w in d.weightRange {
                let polarities = Self.digits(of: w, d)
                var value = 0
                for (index, digits) in polarities.enumerated() {
                    for (slice, digit) in zip(d.slices, digits) {
                        #expect((slice.minDigit...slice.maxDigit).contains(digit), "w=\(w) \(encoding) \(width) digit \(digit)")
                        value += (index == 0 ? 1 : -1) * slice.weight * digit
                    }
                }
                #expect(value == d.weightScale * w + d.weightOffset, "w=\(w) bits=\(bits) \(encoding) width \(width)")
            }
        }
    }

    @Test func workedExampleOfTwosComplementSlices() {
        // n = 4, 4-bit inputs, 4-bit weights, 1 bit per slice.
        let d = Decomposition(inputBits: 4, weightBits: 4, inputBitsPerCycle: .bits(4), encoding: .twosComplement,
                              bitsPerCell: .bits(1), subtraction: .digital, inputsPerConversion: 4)
        #expect(d.slices.map(\.weight) == [1, 2, 4, -8])
        #expect(d.partialSumRange == 0...60)
        #expect(d.conversionsPerGroup == 4)
        #expect(!d.needsSignedConversion)
        let x = [15, 3, 0, 7], w = [-3, 5, 7, -8]
        let sliceSums = (0..<4).map { bit in zip(x, w).map { x, w in x * ((w & 0xF) >> bit & 1) }.reduce(0, +) }
        #expect(sliceSums == [18, 0, 18, 22])
        #expect(zip(sliceSums, d.slices).map { $0 * $1.weight }.reduce(0, +) == -86)
    }

    @Test func conversionCountsOfTheNamedSchemes() {
        func make(_ encoding: ChipConfig.WeightEncoding, cycle: ChipConfig.SliceWidth, cell: ChipConfig.SliceWidth,
                  _ subtraction: ADCConfig.Subtraction = .digital) -> Decomposition {
            Decomposition(inputBits: 4, weightBits: 4, inputBitsPerCycle: cycle, encoding: encoding,
                          bitsPerCell: cell, subtraction: subtraction, inputsPerConversion: 16)
        }
        let native = make(.twosComplement, cycle: .whole, cell: .whole)
        #expect(native.conversionsPerGroup == 1 && native.needsSignedConversion)
        #expect(native.partialSumRange == -(16 * 15 * 8)...(16 * 15 * 7))
        let differential = make(.differential, cycle: .whole, cell: .whole)
        #expect(differential.conversionsPerGroup == 2 && !differential.needsSignedConversion)
        #expect(differential.partialSumRange == 0...(16 * 15 * 8))
        let bitSerial = make(.twosComplement, cycle: .bits(1), cell: .whole)
        #expect(bitSerial.conversionsPerGroup == 4 && bitSerial.inputSlices.allSatisfy { $0.maxDigit == 1 })
        #expect(make(.differential, cycle: .whole, cell: .whole, .analog).conversionsPerGroup == 1)
        #expect(make(.differential, cycle: .whole, cell: .whole, .analog).partialSumRange == -(16 * 15 * 8)...(16 * 15 * 8))
    }

    @Test func losslessBitsCoverTheReachableSpan() {
        let d = Decomposition(inputBits: 4, weightBits: 1, inputBitsPerCycle: .bits(4), encoding: .twosComplement,
                              bitsPerCell: .bits(1), subtraction: .digital, inputsPerConversion: 128)
        #expect(d.partialSumRange == 0...1920)
        #expect(d.losslessADCBits == 11)  // 2^11 − 1 = 2047 ≥ 1920 > 1023
        #expect([0, 1, 2, 3, 4, 40, 63, 64].map(ADCConfig.bits(holding:)) == [1, 1, 2, 2, 3, 6, 6, 7])
    }
}
