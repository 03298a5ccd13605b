import Testing
@testable import PIMSim

/// The AVX2 kernels against their portable Swift references: bit for bit, including row
/// starts and lengths that are not multiples of the vector width and draws that need the
/// ziggurat's wedge or tail test.
@Suite struct VectorisedKernelTests {
    /// The integer rectangle test is the floating-point one: (k + 0.5)·2^-24 < ratio ⇔ k < limit.
    @Test func zigguratLimitsAreTheRectangleTest() {
        let tables = Ziggurat.tables
        for layer in 0..<Ziggurat.layers {
            let limit = Int(tables.limit[layer])
            for k in max(0, limit - 2)...min((1 << 24) - 1, limit + 1) {
                let inside = (Double(k) + 0.5) * 0x1p-24 < tables.ratio[layer]
                #expect(inside == (k < limit), "layer \(layer), k \(k)")
            }
        }
    }

    @Test(.enabled(if: CPUFeatures.avx2)) func vectorisedNormalsMatchThePortableLoop() {
        let streams = [RandomStream(seed: 1, purpose: .conversionNoise, layer: 0, instance: 0),
                       RandomStream(seed: 0xDEAD_BEEF_1234, purpose: .conversionNoise, layer: 77, instance: 3)]
        let rows: [UInt64] = [0, 5, 1 << 32 | 9, (1 << 55) - 1]
        let starts = [0, 1, 2, 3, 5, 63, 1000, (1 << 33) + 3]
        let counts = [0, 1, 3, 4, 31, 32, 33, 64, 65, 200, 1000]
        var compared = 0, beyondRectangle = 0
        for stream in streams {
            for row in rows {
                for first in starts {
                    for count in counts {
                        var fast = [Float](repeating: .nan, count: count + 1)
                        var portable = [Float](repeating: .nan, count: count + 1)
                        fast.withUnsafeMutableBufferPointer {
                            stream.conversionNormals(row: row, firstColumn: first, count: count, into: $0.baseAddress!, vectorised: true)
                        }
                        portable.withUnsafeMutableBufferPointer {
                            stream.conversionNormals(row: row, firstColumn: first, count: count, into: $0.baseAddress!, vectorised: false)
                        }
                        let differing = zip(fast, portable).prefix(count).filter { $0.bitPattern != $1.bitPattern }.count
                        #expect(differing == 0, "row \(row), first \(first), count \(count)")
                        #expect(fast[count].isNaN, "wrote past the row")
                        compared += count
                        beyondRectangle += portable.prefix(count).filter { abs($0) > Float(Ziggurat.r) }.count
                    }
                }
            }
        }
        #expect(compared > 90_000)
        #expect(beyondRectangle > 0, "no draw from the tail was compared")
    }

    /// The whole engine on CAP-RAM (noise, static ADC errors, calibration): the C kernels and
    /// the portable loops agree — outputs, clip flags and statistics — for any block width,
    /// for chip instances with one threshold per lookup cell and with more (the kernel walks).
    @Test(.enabled(if: CPUFeatures.avx2)) func vectorisedEngineMatchesThePortableLoops() throws {
        let chip = try TestChips.capRAM()
        let mapping = try chip.mapping(inputBits: 4, weightBits: 4)
        let m = 12, k = 300, n = 45
        // One-bit input levels leave the last group's partial sums (44 inputs) near zero, where
        // the instances' offsets clip some conversions low.
        let operands = Operands(m: m, k: k, n: n, weightRange: -8...7, inputBits: 1)
        let instances = try (UInt64(0)..<40).map {
            try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: m, fanIn: k, layer: 2, chipSeed: $0)
        }
        let simple = try #require(instances.first { $0.adc.cellSteps <= 1 })
        let walking = try #require(instances.first { $0.adc.cellSteps > 1 })
        for layer in [simple, walking] {
            #expect(layer.adc.hasStaticErrors && layer.adc.noiseSigma > 0)
            for collect in [false, true] {
                for block in [nil, 7, 45] as [Int?] {
                    func run(_ vectorised: Bool) throws -> PIMResult {
                        try layer.run(inputs: operands.inputs, columns: n,
                                      options: RunOptions(noiseSeed: 3, blockColumns: block, collectStatistics: collect,
                                                          recordClips: collect, vectorised: vectorised))
                    }
                    let fast = try run(true), portable = try run(false)
                    let context = "chip seed \(layer.chipSeed), block \(String(describing: block)), statistics \(collect)"
                    let differing = zip(fast.output, portable.output).filter { $0.bitPattern != $1.bitPattern }.count
                    #expect(differing == 0, "\(context)")
                    #expect(fast.clipped == portable.clipped, "\(context)")
                    let (a, b) = (fast.statistics, portable.statistics)
                    #expect(a.conversions == b.conversions && a.clippedLow == b.clippedLow && a.clippedHigh == b.clippedHigh, "\(context)")
                    #expect(a.sumSignalSquared.bitPattern == b.sumSignalSquared.bitPattern && a.sumError.bitPattern == b.sumError.bitPattern
                            && a.sumErrorSquared.bitPattern == b.sumErrorSquared.bitPattern, "\(context)")
                    #expect(a.codeHistogram == b.codeHistogram, "\(context)")
                    if collect { #expect(a.clippedLow + a.clippedHigh > 0 && a.codeHistogram.reduce(0, +) == a.conversions, "\(context)") }
                }
            }
        }
    }

    /// Noise beyond Float's range (a chip built in code, past the file validator) takes every
    /// conversion to an end code; no code index may pass the last one, in either loop.
    @Test func noiseBeyondFloatRangeKeepsEveryCodeInTheTable() throws {
        var chip = try TestChips.capRAM()
        chip.adc.noiseSigmaLsb = 1e40
        for mode in ["ternary", "twos_complement"] {
            let mapping = try chip.mapping(mode: mode, inputBits: 4, weightBits: mode == "ternary" ? 3 : 4)
            let operands = Operands(m: 8, k: 256, n: 16, weightRange: mapping.decomposition.weightRange, inputBits: 4)
            let layer = try ProgrammedLayer(mapping: mapping, weights: operands.weights, outputs: 8, fanIn: 256)
            for vectorised in [false, CPUFeatures.avx2] {
                let result = try layer.run(inputs: operands.inputs, columns: 16,
                                           options: RunOptions(noiseSeed: 1, collectStatistics: true, vectorised: vectorised))
                let statistics = result.statistics
                #expect(statistics.codeHistogram.reduce(0, +) == statistics.conversions, "\(mode), vectorised \(vectorised)")
                #expect(statistics.clippedLow + statistics.clippedHigh == statistics.conversions, "\(mode), vectorised \(vectorised)")
            }
        }
    }
}
