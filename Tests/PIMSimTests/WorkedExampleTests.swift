import Foundation
import Testing
@testable import PIMSim

@Suite("Worked examples")
struct WorkedExampleTests {
    /// n = 4, x = [15, 3, 0, 7], w = [−3, 5, 7, −8] (1101, 0101, 0111, 1000).
    /// Slice sums 18, 0, 18, 22; a 3-bit unsigned ADC over 0…60 (Δ = 60/7) gives codes
    /// 2, 0, 2, 3 and Δ·(2 + 0 + 8 − 24) = −120; the exact result is −86.
    @Test func twosComplementSlicesThroughAThreeBitADC() throws {
        let chip = try TestChips.chip(n: 4, adcBits: 3, range: (0, 60), bitsPerCycle: "4", bitsPerCell: "1", encodings: ["twos_complement"])
        let layer = try ProgrammedLayer(mapping: chip.mapping(inputBits: 4, weightBits: 4), weights: [-3, 5, 7, -8], outputs: 1, fanIn: 4)
        let result = try layer.run(inputs: [15, 3, 0, 7], columns: 1)
        #expect(abs(result.output[0] - -120) < 1e-9)
        #expect(result.statistics.codeHistogram == [1, 0, 2, 1, 0, 0, 0, 0])  // codes 0, 2, 2, 3

        let lossless = try TestChips.chip(n: 4, adcBits: 6, range: (0, 63), bitsPerCycle: "4", bitsPerCell: "1", encodings: ["twos_complement"])
        let exact = try ProgrammedLayer(mapping: lossless.mapping(inputBits: 4, weightBits: 4), weights: [-3, 5, 7, -8], outputs: 1, fanIn: 4)
        #expect(try exact.run(inputs: [15, 3, 0, 7], columns: 1).output == [-86])
    }

    /// The same slices through a converter with 5 code steps over 0…60 (Δ = 12, between 2 and
    /// 3 bits: a PIM-QAT `exact` training converter): codes round(18/12) = 2 (half to even),
    /// 0, 2, round(22/12) = 2, so 12·(2 + 0 + 8 − 16) = −72; 6 codes, 2.58 bits.
    @Test func sliceSumsThroughAConverterBetweenWholeBits() throws {
        let chip = try TestChips.chip(n: 4, adcBits: 3, range: (0, 60), bitsPerCycle: "4", bitsPerCell: "1", encodings: ["twos_complement"])
        var mapping = try chip.mapping(inputBits: 4, weightBits: 4)
        mapping.adc.codeSteps = 5
        #expect(mapping.adc.lsb(reachable: 0...60) == 12)
        #expect(abs(mapping.adc.resolutionBits! - log2(6.0)) < 1e-12)
        let layer = try ProgrammedLayer(mapping: mapping, weights: [-3, 5, 7, -8], outputs: 1, fanIn: 4)
        let result = try layer.run(inputs: [15, 3, 0, 7], columns: 1)
        #expect(abs(result.output[0] - -72) < 1e-9)
        #expect(result.statistics.codeHistogram == [1, 0, 3, 0, 0, 0])
        #expect(try chip.mapping(inputBits: 4, weightBits: 4).adc.resolutionBits == 3)
    }

    /// CAP-RAM single-ended two's-complement mode: 4-bit inputs in one DAC cycle, 4-bit weights
    /// in four 1-bit slices (the top one negative), 128 inputs per conversion, a 6-bit
    /// effective ADC over 0…1920, so Δ = 1920/63 MAC units. Noise and static errors off.
    @Test func capRAMSingleEndedModeByHand() throws {
        let chip = try TestChips.capRAM()
        let mapping = try chip.mapping(inputBits: 4, weightBits: 4, nonIdealities: .none)
        #expect(mapping.mode.name == "twos_complement")
        let lsb = 1920.0 / 63

        // (a) x = 1 on all 128 inputs, w = 3 = 0011: slice sums 128, 128, 0, 0;
        //     128/Δ = 4.2 → code 4; Δ·(4·1 + 4·2) = 12Δ = 365.714…; exact 384.
        let a = try ProgrammedLayer(mapping: mapping, weights: Array(repeating: 3, count: 128), outputs: 1, fanIn: 128)
        let ya = try a.run(inputs: Array(repeating: 1, count: 128), columns: 1)
        #expect(abs(ya.output[0] - 12 * lsb) < 1e-9)
        #expect(abs(ya.output[0] - 365.714_285_714_285_7) < 1e-9)

        // (b) x = 15 on the first 64 inputs and 0 on the rest, w = −3 = 1101: slice sums 960,
        //     0, 960, 960; 960/Δ = 31.5 exactly → round half to even → 32. Codes 32, 0, 32, 32:
        //     Δ·(32 + 0 + 4·32 − 8·32) = −96Δ = −2925.714…; exact −2880.
        let b = try ProgrammedLayer(mapping: mapping, weights: Array(repeating: -3, count: 128), outputs: 1, fanIn: 128)
        let yb = try b.run(inputs: Array(repeating: 15, count: 64) + Array(repeating: 0, count: 64), columns: 1)
        #expect(abs(yb.output[0] - -96 * lsb) < 1e-9)
        #expect(abs(yb.output[0] - -2925.714_285_714_286) < 1e-9)

        // (c) K = 256: two groups of 128. Group 1: x = 15, w = 5 = 0101 → slice sums 1920, 0,
        //     1920, 0 → codes 63, 0, 63, 0 → 315Δ = 9600 (exact). Group 2: x = 2, w = 7 = 0111 →
        //     256, 256, 256, 0 → 256/Δ = 8.4 → code 8 → 56Δ = 1706.667. Sum 11306.667; exact 11392.
        let c = try ProgrammedLayer(mapping: mapping, weights: Array(repeating: 5, count: 128) + Array(repeating: 7, count: 128),
                                    outputs: 1, fanIn: 256)
        let yc = try c.run(inputs: Array(repeating: 15, count: 128) + Array(repeating: 2, count: 128), columns: 1)
        #expect(abs(yc.output[0] - 371 * lsb) < 1e-9)
        #expect(abs(yc.output[0] - 11_306.666_666_666_67) < 1e-8)
        #expect(yc.statistics.conversions == 8)
        #expect(yc.statistics.clippedHigh == 0)
    }

    /// With everything on, the CAP-RAM model stays near the exact result but is not exact.
    @Test func capRAMWithNonIdealitiesIsCloseButNotExact() throws {
        let chip = try TestChips.capRAM()
        let operands = Operands(m: 8, k: 256, n: 64, weightRange: -8...7, inputBits: 4)
        let layer = try ProgrammedLayer(mapping: chip.mapping(inputBits: 4, weightBits: 4), weights: operands.weights,
                                        outputs: 8, fanIn: 256, chipSeed: 3)
        let result = try layer.run(inputs: operands.inputs, columns: 64, options: RunOptions(noiseSeed: 1))
        #expect(result.output != operands.exact)
        let stats = result.statistics
        #expect(stats.conversions == 8 * 64 * 2 * 4)
        #expect(stats.errorSigmaLSB > 0.3 && stats.errorSigmaLSB < 1.5, "σ \(stats.errorSigmaLSB) LSB")
    }
}

@Suite("Engine stages")
struct EngineStageTests {
    @Test func cellMismatchHasTheConfiguredRelativeSigmaAndFollowsTheChipSeed() throws {
        let chip = try TestChips.chip(n: 1, compute: "  cell_mismatch_rel: 0.02\n")
        let mapping = try chip.mapping(scheme: .native, inputBits: 4, weightBits: 4)
        let m = 2000
        let weights = [Int32](repeating: 5, count: m)
        let layer1 = try ProgrammedLayer(mapping: mapping, weights: weights, outputs: m, fanIn: 1, chipSeed: 1)
        let layer2 = try ProgrammedLayer(mapping: mapping, weights: weights, outputs: m, fanIn: 1, chipSeed: 2)
        let y1 = try layer1.run(inputs: [10], columns: 1).output
        let y2 = try layer2.run(inputs: [10], columns: 1).output
        #expect(y1 != y2)
        let relative = y1.map { $0 / 50 - 1 }
        let mean = relative.reduce(0, +) / Double(m)
        let sigma = (relative.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(m - 1)).squareRoot()
        #expect(abs(sigma - 0.02) < 0.002, "σ \(sigma)")
        #expect(abs(mean) < 0.002)
        // Switched off, mismatch is gone.
        let off = try ProgrammedLayer(mapping: chip.mapping(scheme: .native, inputBits: 4, weightBits: 4, nonIdealities: .none),
                                      weights: weights, outputs: m, fanIn: 1, chipSeed: 1)
        #expect(try off.run(inputs: [10], columns: 1).output.allSatisfy { $0 == 50 })
    }

    @Test func transferCurveBendsPartialSumsAndMasterCalibrationStraightensThem() throws {
        let compute = "  transfer: {model: rational, a: 0.3}\n"
        let chip = try TestChips.chip(n: 16, compute: compute)
        let mapping = try chip.mapping(scheme: .native, inputBits: 4, weightBits: 4)
        // One conversion per output: y' = y_fs · u/(1 + 0.3|u|) with u = y / y_fs, y_fs = 16·15·8.
        let layer = try ProgrammedLayer(mapping: mapping, weights: [Int32](repeating: 7, count: 16), outputs: 1, fanIn: 16)
        let y = try layer.run(inputs: [Int32](repeating: 15, count: 16), columns: 1).output[0]
        let fs = 16.0 * 15 * 8, u = 16.0 * 15 * 7 / fs
        #expect(abs(y - fs * u / (1 + 0.3 * u)) < 1e-6)

        func error(_ calibration: String) throws -> Double {
            let chip = try TestChips.chip(n: 16, adcBits: 8, signed: true, range: (-1920, 1920),
                                          extraADC: "  calibration: \(calibration)\n", compute: compute)
            let operands = Operands(m: 8, k: 16, n: 128, weightRange: -8...7, inputBits: 4)
            let layer = try ProgrammedLayer(mapping: chip.mapping(scheme: .native, inputBits: 4, weightBits: 4),
                                            weights: operands.weights, outputs: 8, fanIn: 16)
            return try layer.run(inputs: operands.inputs, columns: 128).statistics.errorSigmaLSB
        }
        // A linear fit over the whole full scale follows the compressed ends, so for data near
        // zero it can be worse than no calibration; the master curve removes the bend itself.
        let raw = try error("none"), linear = try error("linear"), master = try error("linear+master")
        #expect(master < linear && master < raw, "none \(raw), linear \(linear), master \(master)")
        #expect(master < 0.35)
    }

    @Test func oracleRangeCoversTheDataAndCalibratedRangeFollowsThePercentile() throws {
        let chip = try TestChips.chip(n: 32, adcBits: 4, signed: true, range: (-100, 100))
        let operands = Operands(m: 4, k: 32, n: 64, weightRange: -8...7, inputBits: 4)
        let oracle = try ProgrammedLayer(mapping: chip.mapping(scheme: .native, inputBits: 4, weightBits: 4, rangePolicy: .oracle),
                                         weights: operands.weights, outputs: 4, fanIn: 32)
        let stats = try oracle.run(inputs: operands.inputs, columns: 64).statistics
        #expect(stats.clippedLow + stats.clippedHigh == 0)
        let fixed = try ProgrammedLayer(mapping: chip.mapping(scheme: .native, inputBits: 4, weightBits: 4),
                                        weights: operands.weights, outputs: 4, fanIn: 32)
        #expect(try fixed.run(inputs: operands.inputs, columns: 64).statistics.clippedHigh > 0)

        let calibratedMapping = try chip.mapping(scheme: .native, inputBits: 4, weightBits: 4, rangePolicy: .calibrated)
        let calibrated = try ProgrammedLayer(mapping: calibratedMapping, weights: operands.weights, outputs: 4, fanIn: 32)
            .calibratingRange(inputs: operands.inputs, columns: 64, percentile: 90)
        let clipped = try calibrated.run(inputs: operands.inputs, columns: 64).statistics
        let rate = clipped.clipRateLow + clipped.clipRateHigh
        #expect(rate > 0.05 && rate < 0.15, "clip rate \(rate)")
        // A fixed range cannot be asked of a chip whose file gives none.
        let rangeless = try TestChips.chip(n: 32, adcBits: 4, signed: true)
        #expect(rangeless.adc.range.policy == .max)
        #expect(throws: MappingError.self) { try rangeless.mapping(scheme: .native, inputBits: 4, weightBits: 4, rangePolicy: .fixed) }
    }

    /// The oracle and calibrated ranges survey every partial sum: with 16-column blocks, two
    /// input cycles and a partial last block, the survey of all columns visits exactly what the
    /// columns visit one by one (same count, same sum, same extent).
    @Test func partialSumSurveyCoversEveryCycleAndColumnOnce() throws {
        let chip = try TestChips.chip(n: 4, adcBits: 6, signed: true, range: (-500, 500), bitsPerCycle: "2")
        let mapping = try chip.mapping(inputBits: 4, weightBits: 4)  // the chip's 2-bit DAC cycles: two per input
        #expect(mapping.decomposition.inputCycles == 2)
        let m = 8192, k = 4, n = 37
        let operands = Operands(m: m, k: k, n: n, weightRange: -8...7, inputBits: 4, seed: 3)
        let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: m, fanIn: k)
        let whole = try layer.partialSumExtent(inputs: operands.inputs, columns: n)
        var count = 0, sum = 0.0
        try layer.forEachPartialSum(inputs: operands.inputs, columns: n) { count += 1; sum += $0 }
        var low = Double.infinity, high = -Double.infinity, columnCount = 0, columnSum = 0.0
        for column in 0..<n {
            let inputs = (0..<k).map { operands.inputs[$0 * n + column] }
            let one = try layer.partialSumExtent(inputs: inputs, columns: 1)
            low = min(low, one.lowerBound)
            high = max(high, one.upperBound)
            try layer.forEachPartialSum(inputs: inputs, columns: 1) { columnCount += 1; columnSum += $0 }
        }
        #expect(whole == low...high)
        #expect(count == m * n * 2 && count == columnCount)  // one group, one matrix, two input cycles
        #expect(sum == columnSum)
    }

    @Test func impossibleCombinationsAreMappingErrors() throws {
        let capRAM = try TestChips.capRAM()
        let weightBits = #expect(throws: MappingError.self) { try capRAM.mapping(inputBits: 4, weightBits: 6) }
        #expect(weightBits?.description.contains("6-bit weights") == true)
        #expect(throws: MappingError.self) { try capRAM.mapping(inputBits: 9, weightBits: 4) }
        #expect(throws: MappingError.self) { try capRAM.mapping(mode: "turbo", inputBits: 4, weightBits: 4) }
        #expect(throws: MappingError.self) { try capRAM.mapping(mode: "ternary", inputBits: 4, weightBits: 4) }
        // Bit-serial needs signed conversions: CAP-RAM's differential converter serves it.
        let bitSerial = try capRAM.mapping(scheme: .bitSerial, inputBits: 4, weightBits: 4)
        #expect(bitSerial.mode.name == "ternary" && bitSerial.adc.signed)
        #expect(try capRAM.mapping(scheme: .differential, inputBits: 4, weightBits: 4).mode.name == "twos_complement")
        // A chip with only an unsigned converter cannot run a scheme with signed partial sums.
        let unsignedOnly = try TestChips.chip(n: 8, adcBits: 6, range: (0, 100))
        let error = #expect(throws: MappingError.self) { try unsignedOnly.mapping(scheme: .native, inputBits: 4, weightBits: 4) }
        #expect(error?.description.contains("signed") == true)
        // Operands off the grid are user errors, not traps.
        let mapping = try capRAM.mapping(inputBits: 4, weightBits: 4)
        let offGrid = #expect(throws: ProgrammingError.self) { try ProgrammedLayer(mapping: mapping, weights: [9], outputs: 1, fanIn: 1) }
        if case .weight = offGrid {} else { Issue.record("a weight off the grid is a weight error, not \(String(describing: offGrid))") }
        let layer = try ProgrammedLayer(mapping: mapping, weights: [3], outputs: 1, fanIn: 1)
        #expect(throws: OperandRangeError.self) { try layer.run(inputs: [16], columns: 1) }
        // Partial sums beyond 2^24 (1024 × 255 × 127 on an ideal converter) cannot be summed
        // exactly: a mapping error, typed as such.
        let wide = try TestChips.chip(n: 1024).mapping(scheme: .native, inputBits: 8, weightBits: 8)
        let tooWide = #expect(throws: ProgrammingError.self) { try ProgrammedLayer(mapping: wide, weights: [1], outputs: 1, fanIn: 1) }
        if case .mapping = tooWide {} else { Issue.record("partial sums beyond 2^24 are a mapping error, not \(String(describing: tooWide))") }
    }
}
