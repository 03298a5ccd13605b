import Foundation
import Testing
@testable import PIMSim

/// The simulator's invariants: lossless chips are bit-exact, noise matches its configuration, results do not depend on thread count.
@Suite("Engine invariants")
struct EngineInvariantTests {
    static let encodingCases: [(String, String, String, String)] = [
        // encoding, bits per cycle, bits per cell, subtraction
        ("twos_complement", "1", "1", "digital"), ("twos_complement", "4", "2", "digital"), ("twos_complement", "all", "all", "digital"),
        ("twos_complement", "2", "3", "digital"),
        ("offset_binary", "1", "1", "digital"), ("offset_binary", "all", "2", "digital"),
        ("differential", "all", "all", "digital"), ("differential", "2", "1", "analog"), ("differential", "1", "all", "analog"),
        ("ternary_signed_digit", "4", "1", "analog"), ("ternary_signed_digit", "1", "1", "digital"),
        ("bipolar_xnor", "1", "1", "digital"), ("bipolar_xnor", "all", "1", "digital"),
    ]

    /// Invariant 1 with a finite converter: an ADC whose LSB is exactly one MAC unit and whose
    /// range covers every reachable partial sum reproduces the integer product bit for bit.
    @Test(arguments: 0..<encodingCases.count)
    func losslessADCReproducesTheIntegerProductForEveryEncoding(_ index: Int) throws {
        let (encoding, cycle, cell, subtraction) = Self.encodingCases[index]
        for (inputBits, weightBits) in [(4, 4), (3, 5), (8, 2)] {
            let (chip, d) = try TestChips.lossless(inputBits: inputBits, weightBits: weightBits, bitsPerCycle: cycle, bitsPerCell: cell,
                                                   encoding: encoding, subtraction: subtraction)
            let mapping = try chip.mapping(inputBits: inputBits, weightBits: weightBits)
            let operands = Operands(m: 5, k: 21, n: 6, weightRange: d.weightRange, inputBits: inputBits)
            let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: 5, fanIn: 21)
            #expect(layer.adc.lsb == 1)
            let result = try layer.run(inputs: operands.inputs, columns: 6)
            #expect(result.output == operands.exact, "\(encoding) cycle \(cycle) cell \(cell) \(subtraction) \(inputBits)×\(weightBits)")
            #expect(result.statistics.clippedLow + result.statistics.clippedHigh == 0)
        }
    }

    /// Invariants 1 and 2 with the ideal chip: every scheme gives the exact product, so all agree.
    @Test func everySchemeOnTheIdealChipGivesTheExactProduct() throws {
        let ideal = try ChipConfig(contentsOf: "\(packageRoot)/chips/ideal.yaml")
        let operands = Operands(m: 7, k: 600, n: 9, weightRange: -128...127, inputBits: 8)
        for scheme in Scheme.allCases {
            for mode in ideal.resolvedModes where !(scheme == .chip && mode.encoding == .ternarySignedDigit) {
                let mapping = try ideal.mapping(scheme: scheme, mode: mode.name, inputBits: 8, weightBits: 8)
                let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: 7, fanIn: 600)
                let result = try layer.run(inputs: operands.inputs, columns: 9)
                #expect(result.output == operands.exact, "\(scheme) \(mode.name)")
            }
        }
    }

    @Test func signedInputsRunAsTwoPassesAndStayExact() throws {
        let ideal = try ChipConfig(contentsOf: "\(packageRoot)/chips/ideal.yaml")
        var operands = Operands(m: 3, k: 40, n: 5, weightRange: -8...7, inputBits: 4)
        operands.inputs = operands.inputs.enumerated().map { $0.offset % 3 == 0 ? -$0.element : $0.element }
        let layer = try ProgrammedLayer(mapping: ideal.mapping(scheme: .bitSerial, inputBits: 4, weightBits: 4),
                                        weights: operands.weights, outputs: 3, fanIn: 40)
        #expect(try layer.run(inputs: operands.inputs, columns: 5).output == operands.exact)
    }

    /// Signed DACs: a lossless converter reproduces the product of inputs spread over the
    /// whole signed range in one pass, for two's-complement words (1-bit cycles whose sign bit
    /// counts negative, multi-bit cycles whose top digit is signed, one signed level) and
    /// sign-magnitude drives; the unsigned DAC needs twice the conversions for the same product.
    @Test(arguments: ["twos_complement", "sign_magnitude"])
    func signedDACsRunSignedInputsInOnePassExactly(_ inputEncoding: String) throws {
        for (cycle, cell, encoding) in [("1", "1", "twos_complement"), ("2", "all", "offset_binary"),
                                        ("3", "2", "differential"), ("all", "all", "twos_complement")] {
            for inputBits in [4, 7] {
                let (chip, d) = try TestChips.lossless(inputBits: inputBits, weightBits: 5, bitsPerCycle: cycle, bitsPerCell: cell,
                                                       encoding: encoding, inputEncoding: inputEncoding)
                let mapping = try chip.mapping(inputBits: inputBits, weightBits: 5)
                var operands = Operands(m: 4, k: 19, n: 7, weightRange: d.weightRange, inputBits: inputBits)
                operands.spreadInputs(over: d.inputRange, seed: 3)
                let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: 4, fanIn: 19)
                let result = try layer.run(inputs: operands.inputs, columns: 7)
                let label = "\(inputEncoding) cycle \(cycle) cell \(cell) \(encoding) \(inputBits) bits"
                #expect(layer.adc.lsb == 1, "\(label)")
                #expect(result.output == operands.exact, "\(label)")
                #expect(result.statistics.clippedLow + result.statistics.clippedHigh == 0, "\(label)")
                let perPass = 4 * 7 * ((19 + 7) / 8) * d.conversionsPerGroup
                #expect(result.statistics.conversions == perPass, "\(label)")
                let unsigned = try TestChips.chip(n: 8, bitsPerCycle: cycle, bitsPerCell: cell, encodings: [encoding])
                let unsignedMapping = try unsigned.mapping(inputBits: inputBits, weightBits: 5)
                let twoPass = try ProgrammedLayer(mapping: unsignedMapping, weights: operands.weights, outputs: 4, fanIn: 19)
                    .run(inputs: operands.inputs, columns: 7)
                #expect(twoPass.output == operands.exact, "\(label)")
                #expect(twoPass.statistics.conversions == 2 * 4 * 7 * ((19 + 7) / 8) * unsignedMapping.decomposition.conversionsPerGroup,
                        "\(label)")
            }
        }
    }

    /// Bipolar (XNOR) operands: ±1 input bits with the constant −1 cycle, ±1 weight cells with
    /// their offset removed digitally, alone or against every other encoding, reproduce the
    /// exact product on a lossless converter, the inputs in one pass and B + 1 cycles.
    @Test func bipolarOperandsRunExactly() throws {
        let cases: [(input: String, cycle: String, weight: String, cell: String)] = [
            ("bipolar_xnor", "1", "bipolar_xnor", "1"), ("bipolar_xnor", "1", "twos_complement", "1"),
            ("bipolar_xnor", "1", "offset_binary", "all"), ("bipolar_xnor", "1", "differential", "2"),
            ("unsigned", "2", "bipolar_xnor", "1"), ("twos_complement", "all", "bipolar_xnor", "1"),
            ("sign_magnitude", "1", "bipolar_xnor", "1"),
        ]
        for c in cases {
            for (inputBits, weightBits) in [(1, 1), (4, 5), (7, 2)] where !(c.input == "sign_magnitude" && inputBits < 2)
                && !(c.weight == "differential" && weightBits < 2) {
                let (chip, d) = try TestChips.lossless(inputBits: inputBits, weightBits: weightBits, bitsPerCycle: c.cycle,
                                                       bitsPerCell: c.cell, encoding: c.weight, inputEncoding: c.input)
                let mapping = try chip.mapping(inputBits: inputBits, weightBits: weightBits)
                var operands = Operands(m: 5, k: 21, n: 6, weightRange: d.weightRange, inputBits: inputBits)
                operands.spreadInputs(over: d.inputRange, seed: 5)
                operands.inputs[2] = 0
                let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: 5, fanIn: 21)
                let result = try layer.run(inputs: operands.inputs, columns: 6)
                let label = "\(c) \(inputBits)×\(weightBits) bits"
                #expect(result.output == operands.exact, "\(label)")
                #expect(result.statistics.clippedLow + result.statistics.clippedHigh == 0, "\(label)")
                let passes = d.inputPasses(lowest: d.inputRange.lowerBound)
                #expect(result.statistics.conversions == passes * 5 * 6 * 3 * d.conversionsPerGroup, "\(label)")
                if c.input == "bipolar_xnor" {
                    #expect(d.inputCycles == inputBits + 1 && passes == 1, "\(label)")
                }
            }
        }
    }

    /// A cycle converted at fewer bits is the same converter stopped early: with only the LSB
    /// cycle driven, a 6-bit converter whose lower cycle drops the upper cycle's 2 bits gives
    /// exactly a 4-bit converter's outputs over the same range; with only the upper cycle
    /// driven it gives the 6-bit one's. Balanced phases split 5 bits at up to 4 per cycle 2 + 3.
    @Test func reducedCycleBitsAreTheConverterStoppedEarly() throws {
        let reduced = try TestChips.chip(n: 8, adcBits: 6, range: (0, 200), bitsPerCycle: "2", bitsPerCell: "all",
                                         encodings: ["offset_binary"], phases: "{adc_bits: reduced}")
        let mapping = try reduced.mapping(inputBits: 4, weightBits: 4)
        #expect(mapping.decomposition.cycleADCBits(mapping.adc) == [4, 6])
        var operands = Operands(m: 6, k: 24, n: 10, weightRange: mapping.decomposition.weightRange, inputBits: 4)
        let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: 6, fanIn: 24)
        for (bits, keep) in [(4, 0...3), (6, 4...15)] {
            let plain = try TestChips.chip(n: 8, adcBits: bits, range: (0, 200), bitsPerCycle: "2", bitsPerCell: "all",
                                           encodings: ["offset_binary"])
            let reference = try ProgrammedLayer(mapping: plain.mapping(inputBits: 4, weightBits: 4), weights: operands.weights,
                                                outputs: 6, fanIn: 24)
            operands.inputs = operands.inputs.indices.map { i in
                let v = Int32((i * 7 + 3) % 16)
                return keep.contains(Int(v)) ? (keep.lowerBound == 4 ? v & ~3 : v) : 0
            }
            let ours = try layer.run(inputs: operands.inputs, columns: 10)
            let theirs = try reference.run(inputs: operands.inputs, columns: 10)
            #expect(ours.output == theirs.output, "\(bits)-bit cycle")
            #expect(ours.statistics.conversions == theirs.statistics.conversions)
            #expect(ours.statistics.codeHistogram.reduce(0, +) == ours.statistics.conversions)
        }
        // A signed converter keeps a sign and one bit: NeuRRAM's 3-bit mode at 8-bit inputs
        // converts its LSB phase at 2 bits, not at 3 − 4.
        let neurram = try ChipConfig(contentsOf: "\(packageRoot)/chips/neurram-nature2022.yaml").mapping(mode: "out3", inputBits: 8, weightBits: 4)
        #expect(neurram.decomposition.cycleADCBits(neurram.adc) == [2, 3])
        let few = Operands(m: 2, k: 16, n: 3, weightRange: neurram.decomposition.weightRange, inputBits: 7)
        let run = try ProgrammedLayer(mapping: neurram, weights: few.weights, outputs: 2, fanIn: 16).run(inputs: few.inputs, columns: 3)
        #expect(run.output.allSatisfy(\.isFinite) && run.statistics.codeHistogram.reduce(0, +) == run.statistics.conversions)
        let balanced = try TestChips.chip(n: 8, bitsPerCycle: "4", inputEncoding: "sign_magnitude", phases: "{split: balanced}")
        #expect(try balanced.mapping(inputBits: 6, weightBits: 4).decomposition.inputCycleWidths == [2, 3])
        #expect(try TestChips.chip(n: 8, bitsPerCycle: "4", inputEncoding: "sign_magnitude")
            .mapping(inputBits: 6, weightBits: 4).decomposition.inputCycleWidths == [4, 1])
    }

    /// Conductance-sum normalisation: each column's sum is divided by its summed conductance
    /// S = Σ_k (2c + l⁺ + l⁻), c = L·g_min/(g_max − g_min), relative to a column at full
    /// conductance, and multiplied back after the converter, so a column's step in MAC units is
    /// the LSB · S / S_full. Worked case: L = 4, g 1…41 µS (c = 0.1), weights 3, −1, 0, 2:
    /// S = 4·0.2 + 6 = 6.8 against S_full = 4·(0.2 + 4) = 16.8. A lossless converter skips it.
    @Test func conductanceSumNormalisationScalesEachColumnsStep() throws {
        let memory = "{type: rram, g_min_s: 1.0e-6, g_max_s: 41.0e-6}"
        let compute = "  normalization: conductance_sum\n"
        let chip = try TestChips.chip(n: 4, adcBits: 9, signed: true, range: (-255, 255), encodings: ["differential"],
                                      subtraction: "analog", compute: compute, memory: memory)
        let mapping = try chip.mapping(inputBits: 3, weightBits: 3)
        #expect(abs(try #require(mapping.conductanceFloorRatio) - 1.0 / 40) < 1e-12)
        let weights: [Int32] = [3, -1, 0, 2, -4, -4, -4, -4]
        let layer = try ProgrammedLayer(mapping: mapping, weights: weights, outputs: 2, fanIn: 4)
        #expect(abs(Double(layer.normalisation[0][0]) - 16.8 / 6.8) < 1e-6)
        #expect(abs(Double(layer.normalisation[0][1]) - 16.8 / 16.8) < 1e-6)
        let inputs: [Int32] = (0..<(4 * 16)).map { Int32(($0 * 5 + 1) % 8) }
        let result = try layer.run(inputs: inputs, columns: 16)
        let lsb = layer.adc.lsb
        for m in 0..<2 {
            let step = lsb * (m == 0 ? 6.8 / 16.8 : 1)
            for j in 0..<16 {
                let exact = (0..<4).reduce(0.0) { $0 + Double(weights[m * 4 + $1]) * Double(inputs[$1 * 16 + j]) }
                let y = result.output[m * 16 + j]
                #expect(abs(y / step - (y / step).rounded()) < 1e-4, "column \(m): \(y) off the step \(step)")
                #expect(abs(y - exact) <= step / 2 + 1e-9, "column \(m): \(y) vs \(exact)")
            }
        }
        // A lossless converter sees the sums themselves.
        let ideal = try TestChips.chip(n: 4, encodings: ["differential"], subtraction: "analog", compute: compute, memory: memory)
        let exactLayer = try ProgrammedLayer(mapping: ideal.mapping(inputBits: 3, weightBits: 3), weights: weights, outputs: 2, fanIn: 4)
        #expect(exactLayer.normalisation.isEmpty)
    }

    /// A level beyond a signed DAC's range is refused with its position, not wrapped.
    @Test func signedDACRefusesLevelsBeyondItsWord() throws {
        let chip = try TestChips.chip(n: 4, bitsPerCycle: "1", inputEncoding: "twos_complement")
        let layer = try ProgrammedLayer(mapping: chip.mapping(inputBits: 4, weightBits: 4), weights: [Int32](repeating: 1, count: 8),
                                        outputs: 2, fanIn: 4)
        #expect(throws: OperandRangeError.self) { try layer.run(inputs: [0, 1, -8, 8], columns: 1) }
        #expect(try layer.run(inputs: [0, 1, -8, 7], columns: 1).output == [0, 0])
        do { _ = try layer.run(inputs: [0, 1, -8, 8], columns: 1) } catch {
            #expect(error.description.contains("row 3") && error.description.contains("two's-complement DAC's -8…7"))
        }
    }

    /// Invariant 3: at most 2^b codes, and with one conversion per output the outputs lie on the code grid.
    @Test func outputsLieOnTheCodeGrid() throws {
        for bits in [2, 3, 5] {
            let chip = try TestChips.chip(n: 32, adcBits: bits, signed: true, range: (-500, 500))
            let mapping = try chip.mapping(scheme: .native, inputBits: 4, weightBits: 4)
            let operands = Operands(m: 6, k: 32, n: 40, weightRange: -8...7, inputBits: 4)
            let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: 6, fanIn: 32)
            let result = try layer.run(inputs: operands.inputs, columns: 40)
            #expect(result.statistics.distinctCodes <= 1 << bits)
            let lsb = 500.0 / Double((1 << (bits - 1)) - 1)
            for y in result.output {
                let code = y / lsb
                #expect(abs(code - code.rounded()) < 1e-9)
                #expect(abs(code) <= Double((1 << (bits - 1)) - 1))
            }
        }
    }

    /// Invariant 4: uniform full-scale input to a signed b-bit converter gives
    /// SQNR = 10·log10(4·(2^(b−1)−1)²) ≈ 6.02·b dB (the textbook 6.02·b + 1.76 dB is for a
    /// full-scale sine); the error never grows as bits grow.
    @Test func quantizationSQNRFollowsTheBitCount() throws {
        var previousError = Double.infinity
        for bits in 2...6 {
            let chip = try TestChips.chip(n: 1, adcBits: bits, signed: true, range: (-255, 255))
            let mapping = try chip.mapping(scheme: .native, inputBits: 8, weightBits: 2)
            // Partial sums ±x with x uniform on 0…255: uniform over the full scale.
            let columns = 4096
            let operands = Operands(m: 2, k: 1, n: columns, weightRange: -1...1, inputBits: 8)
            let layer = try ProgrammedLayer(mapping: mapping, weights: [1, -1], outputs: 2, fanIn: 1)
            let stats = try layer.run(inputs: operands.inputs, columns: columns).statistics
            let expected = 10 * log10(4 * pow(Double((1 << (bits - 1)) - 1), 2))
            #expect(abs(stats.csnrDecibels - expected) < 0.6, "\(bits) bits: \(stats.csnrDecibels) dB vs \(expected)")
            #expect(stats.sumErrorSquared <= previousError)
            previousError = stats.sumErrorSquared
        }
    }

    /// Invariant 5: the σ of (noisy − noiseless) codes matches the configured σ within a χ²
    /// bound, and the mean is near 0. With a unit LSB and integer partial sums the difference
    /// is round(σ·z), whose exact variance comes from the normal CDF.
    @Test(arguments: [0.35, 1.0, 2.5])
    func temporalNoiseHasTheConfiguredSigma(_ sigma: Double) throws {
        let chip = try TestChips.chip(n: 64, adcBits: 12, signed: true, range: (-2047, 2047), extraADC: "  noise_sigma_lsb: \(sigma)\n")
        let mapping = try chip.mapping(scheme: .native, inputBits: 4, weightBits: 4)
        let m = 16, k = 64, n = 500
        let operands = Operands(m: m, k: k, n: n, weightRange: -8...7, inputBits: 4)
        let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: m, fanIn: k)
        let noisy = try layer.run(inputs: operands.inputs, columns: n, options: RunOptions(noiseSeed: 11)).output
        let differences = zip(noisy, operands.exact).map { $0 - $1 }
        let count = Double(differences.count)
        let mean = differences.reduce(0, +) / count
        let variance = differences.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (count - 1)
        // Exact variance of round(σz): Σ k² · P(k − ½ < σz < k + ½).
        var expected = 0.0
        for level in 1...40 {
            let p = 0.5 * (try GSL.erf((Double(level) + 0.5) / (sigma * 2.0.squareRoot())) - (try GSL.erf((Double(level) - 0.5) / (sigma * 2.0.squareRoot()))))
            expected += 2 * Double(level * level) * p
        }
        let dof = count - 1
        let low = try GSL.chiSquaredQuantile(0.0005, degreesOfFreedom: dof) / dof * expected
        let high = try GSL.chiSquaredQuantile(0.9995, degreesOfFreedom: dof) / dof * expected
        #expect(variance > low && variance < high, "variance \(variance), expected \(expected) in \(low)…\(high)")
        #expect(abs(mean) < 4 * (expected / count).squareRoot())
    }

    /// Invariant 6: same seeds ⇒ identical output for 1 and 2 threads, any block size and any batch split.
    @Test func resultsDoNotDependOnThreadsTilesOrBatchSplits() throws {
        let chip = try TestChips.capRAM()
        let mapping = try chip.mapping(inputBits: 4, weightBits: 4)
        let m = 24, k = 300, n = 50
        let operands = Operands(m: m, k: k, n: n, weightRange: -8...7, inputBits: 4)
        let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: m, fanIn: k, layer: 3, chipSeed: 5)
        let reference = try layer.run(inputs: operands.inputs, columns: n, options: RunOptions(noiseSeed: 9, threads: 1))
        for (threads, block) in [(2, nil), (2, 7), (1, 1), (2, 50)] as [(Int, Int?)] {
            let other = try layer.run(inputs: operands.inputs, columns: n, options: RunOptions(noiseSeed: 9, threads: threads, blockColumns: block))
            #expect(other.output == reference.output, "threads \(threads) block \(String(describing: block))")
        }
        // The batch split in two runs, the second told where its columns start.
        let split = 19
        func columns(_ range: Range<Int>) -> [Int32] {
            (0..<k).flatMap { row in range.map { operands.inputs[row * n + $0] } }
        }
        let first = try layer.run(inputs: columns(0..<split), columns: split, options: RunOptions(noiseSeed: 9))
        let second = try layer.run(inputs: columns(split..<n), columns: n - split, options: RunOptions(noiseSeed: 9, columnOffset: split))
        for row in 0..<m {
            for j in 0..<n {
                let value = j < split ? first.output[row * split + j] : second.output[row * (n - split) + j - split]
                #expect(value == reference.output[row * n + j])
            }
        }
        // A different noise seed changes the result.
        let reseeded = try layer.run(inputs: operands.inputs, columns: n, options: RunOptions(noiseSeed: 10))
        #expect(reseeded.output != reference.output)
    }

    /// Clip flags mark exactly the outputs with a partial sum beyond the range (by half an
    /// LSB), computed here group by group; recording them changes nothing else.
    @Test func clipFlagsMarkOutputsWithAClippedPartialSum() throws {
        let chip = try TestChips.chip(n: 16, adcBits: 5, signed: true, range: (-100, 100))
        let mapping = try chip.mapping(scheme: .native, inputBits: 4, weightBits: 4, nonIdealities: .none)
        let m = 6, k = 40, n = 30
        let operands = Operands(m: m, k: k, n: n, weightRange: -8...7, inputBits: 4)
        let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: m, fanIn: k)
        let plain = try layer.run(inputs: operands.inputs, columns: n, options: RunOptions(threads: 2, blockColumns: 7))
        let recorded = try layer.run(inputs: operands.inputs, columns: n, options: RunOptions(threads: 2, blockColumns: 7, recordClips: true))
        #expect(plain.clipped == nil)
        #expect(recorded.output == plain.output)
        let flags = try #require(recorded.clipped)
        let bound = 100 + 0.5 * 100 / 15
        var expected = [UInt8](repeating: 0, count: m * n)
        for row in 0..<m {
            for j in 0..<n {
                for start in stride(from: 0, to: k, by: 16) {
                    var sum = 0
                    for r in start..<min(k, start + 16) { sum += Int(operands.weights[row * k + r]) * Int(operands.inputs[r * n + j]) }
                    if abs(Double(sum)) > bound { expected[row * n + j] = 1 }
                }
            }
        }
        #expect(flags == expected)
        #expect(flags.contains(1) && flags.contains(0), "the case must have both")
    }

    /// Invariant 7: static draws follow the chip seed, not the data seed; linear calibration
    /// removes offset and gain to within quantization.
    @Test func staticErrorsFollowTheChipSeedAndCalibrationRemovesThem() throws {
        func layer(calibration: String, chipSeed: UInt64) throws -> (ProgrammedLayer, Operands) {
            let chip = try TestChips.chip(n: 16, adcBits: 8, signed: true, range: (-1000, 1000),
                                          extraADC: "  offset_sigma_lsb: 3\n  gain_sigma_rel: 0.1\n  calibration: \(calibration)\n")
            let operands = Operands(m: 16, k: 16, n: 256, weightRange: -8...7, inputBits: 4)
            return (try ProgrammedLayer(mapping: chip.mapping(scheme: .native, inputBits: 4, weightBits: 4),
                                        weights: operands.weights, outputs: 16, fanIn: 16, chipSeed: chipSeed), operands)
        }
        let (raw, operands) = try layer(calibration: "none", chipSeed: 1)
        let (rawOther, _) = try layer(calibration: "none", chipSeed: 2)
        #expect(raw.adc.offsetTable != rawOther.adc.offsetTable)
        let a = try raw.run(inputs: operands.inputs, columns: 256, options: RunOptions(noiseSeed: 1))
        let b = try raw.run(inputs: operands.inputs, columns: 256, options: RunOptions(noiseSeed: 2))
        #expect(a.output == b.output)  // no temporal noise: the data seed changes nothing
        #expect(a.statistics.errorSigmaLSB > 1.5)

        let (calibrated, _) = try layer(calibration: "linear", chipSeed: 1)
        let stats = try calibrated.run(inputs: operands.inputs, columns: 256).statistics
        #expect(abs(stats.errorMeanLSB) < 0.1, "mean \(stats.errorMeanLSB)")
        #expect(stats.errorSigmaLSB < 0.36, "σ \(stats.errorSigmaLSB)")  // uniform quantization: 1/√12 ≈ 0.29
    }

    /// Invariant 8: in the fine-ADC regime the output error variance is Σ over conversions of
    /// (shift weight)² · Δ²/12.
    @Test func fineADCErrorVarianceIsTheShiftWeightedSumOfQuantizationNoise() throws {
        let n = 16
        let chip = try TestChips.chip(n: n, adcBits: 10, range: (0, Double(n * 15)), bitsPerCycle: "4", bitsPerCell: "1",
                                      encodings: ["twos_complement"])
        let mapping = try chip.mapping(inputBits: 4, weightBits: 4)
        let m = 32, k = 64, columns = 256
        let operands = Operands(m: m, k: k, n: columns, weightRange: -8...7, inputBits: 4)
        let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: m, fanIn: k)
        let output = try layer.run(inputs: operands.inputs, columns: columns).output
        let errors = zip(output, operands.exact).map { $0 - $1 }
        let variance = errors.map { $0 * $0 }.reduce(0, +) / Double(errors.count)
        let lsb = Double(n * 15) / 1023
        let groups = Double(k / n)
        let expected = groups * (1 + 4 + 16 + 64) * lsb * lsb / 12
        #expect(abs(variance / expected - 1) < 0.1, "variance \(variance) vs \(expected)")
    }
}
