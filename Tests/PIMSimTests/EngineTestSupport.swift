@testable import PIMSim

/// Builds small chips for engine tests from a few knobs.
enum TestChips {
    /// A chip whose ADC is a real quantizer with the given range; all non-idealities off
    /// unless given.
    static func chip(n: Int, adcBits: Int? = nil, signed: Bool = false, range: (Double, Double)? = nil,
                     bitsPerCycle: String = "all", bitsPerCell: String = "all",
                     encodings: [String] = ChipConfig.WeightEncoding.allCases.filter { $0 != .bipolarXNOR }.map(\.rawValue),
                     subtraction: String = "digital", extraADC: String = "", compute: String = "",
                     adcCount: Int = 4, inputEncoding: String = "unsigned", phases: String? = nil,
                     memory: String = "{type: sram}") throws -> ChipConfig {
        var adc = adcBits.map { "  type: sar\n  bits: \($0)\n" } ?? "  type: ideal\n"
        adc += "  count: \(adcCount)\n  signed: \(signed)\n  subtraction: \(subtraction)\n"
        if let range { adc += "  range: {policy: fixed, min: \(range.0), max: \(range.1)}\n" }
        adc += extraADC
        let yaml = """
            meta: {id: test, title: Test}
            memory: \(memory)
            array: {rows: \(max(n, 1)), cols: 64, inputs_per_conversion: \(n)}
            \(compute.isEmpty ? "" : "compute:\n" + compute)
            inputs: {supported_bits: [\(inputEncoding == "sign_magnitude" ? "" : "1, ")2, 3, 4, 5, 6, 7, 8], encoding: \(inputEncoding), dac: {type: ideal, bits: 8}, bits_per_cycle: \(bitsPerCycle)\(phases.map { ", phases: \($0)" } ?? "")}
            weights: {supported_bits: [\(encodings == ["ternary_signed_digit"] ? "" : "1, ")2, 3, 4, 5, 6, 7, 8], encodings: [\(encodings.joined(separator: ", "))], bits_per_cell: \(bitsPerCell)}
            adc:
            \(adc)
            timing: {clock_hz: 1.0e8}
            """
        return try ChipConfig(yaml: yaml, file: "test.yaml")
    }

    /// A chip whose converter is lossless for `inputBits` × `weightBits` (a unit LSB over a
    /// range covering every reachable partial sum), with its decomposition.
    static func lossless(n: Int = 8, inputBits: Int, weightBits: Int, bitsPerCycle: String, bitsPerCell: String,
                         encoding: String, subtraction: String = "digital",
                         inputEncoding: String = "unsigned") throws -> (chip: ChipConfig, decomposition: Decomposition) {
        let probe = try chip(n: n, bitsPerCycle: bitsPerCycle, bitsPerCell: bitsPerCell, encodings: [encoding],
                             subtraction: subtraction, inputEncoding: inputEncoding)
        let d = try probe.mapping(inputBits: inputBits, weightBits: weightBits).decomposition
        let r = d.partialSumRange, reach = max(abs(r.lowerBound), abs(r.upperBound))
        let signed = d.needsSignedConversion
        let bits = (Int.bitWidth - reach.leadingZeroBitCount) + (signed ? 1 : 0)
        let top = signed ? Double((1 << (bits - 1)) - 1) : Double((1 << bits) - 1)
        let lossless = try chip(n: n, adcBits: bits, signed: signed, range: (signed ? -top : 0, top), bitsPerCycle: bitsPerCycle,
                                bitsPerCell: bitsPerCell, encodings: [encoding], subtraction: subtraction, inputEncoding: inputEncoding)
        return (lossless, d)
    }

    static func capRAM() throws -> ChipConfig {
        try ChipConfig(contentsOf: "\(packageRoot)/chips/cap-ram.yaml")
    }
}

/// Deterministic operands for tests.
struct Operands {
    var weights: [Int32]
    var inputs: [Int32]
    let m: Int, k: Int, n: Int

    init(m: Int, k: Int, n: Int, weightRange: ClosedRange<Int>, inputBits: Int, seed: UInt64 = 7) {
        self.m = m; self.k = k; self.n = n
        let stream = RandomStream(seed: seed, purpose: .workload)
        let span = UInt64(weightRange.count)
        weights = (0..<(m * k)).map { i in Int32(weightRange.lowerBound + Int(stream.bits(UInt64(i)).0 % UInt32(span))) }
        let top = UInt32(1 << inputBits)
        inputs = (0..<(k * n)).map { i in Int32(stream.bits(UInt64(1 << 40 + i)).1 % top) }
    }

    /// W·X exactly.
    /// Inputs drawn evenly from `range` (its two ends first), for DACs that drive signed levels.
    mutating func spreadInputs(over range: ClosedRange<Int>, seed: UInt64) {
        let span = UInt32(range.count), stream = RandomStream(seed: seed, purpose: .workload)
        inputs = inputs.indices.map { i in Int32(range.lowerBound + Int(stream.bits(UInt64(i)).0 % span)) }
        inputs[0] = Int32(range.lowerBound)
        inputs[1] = Int32(range.upperBound)
    }

    var exact: [Double] {
        BLAS.multiply(weights.map(Double.init), inputs.map(Double.init), m: m, n: n, k: k)
    }
}
