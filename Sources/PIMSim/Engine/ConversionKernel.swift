internal import CKernels

/// The fused pass over one block of partial sums of one (conversion matrix, group):
/// transfer curve → temporal noise → ADC (static errors, clip, round half to even) →
/// calibration → shift-add into the block's outputs.
struct ConversionKernel {
    let adc: ADCModel
    let transfer: TransferCurve
    let transferScale: Double
    let noise: RandomStream?
    /// Index of the conversion matrix; with the output row it picks the physical column and
    /// so the ADC instance: instance = (m · matricesPerOutput + matrix) mod ADC count.
    let instanceBase: Int
    let matricesPerOutput: Int
    let adcCount: Int
    /// Digital weight of each input cycle's code: ±slice weight × 2^(cycle · bits per cycle).
    let cycleFactors: [Double]
    /// The input cycles this kernel converts (all of them unless cycles differ in resolution).
    let cycleRange: Range<Int>
    /// A further digital factor per output row (the multiply-back of a conductance-sum
    /// normalisation); `nil` = 1.
    let rowFactors: [Double]?
    let indexing: Indexing
    /// Run the C kernels where they apply (AVX2 noise draws and static-error conversion; the
    /// static-error conversion with statistics or clip flags in scalar C); the portable Swift
    /// loops give the same results, statistics included, bit for bit.
    let vectorised: Bool

    /// The coordinates of a conversion other than its column. With the global column they
    /// address its noise draw, independent of threads, blocks and batch splits:
    /// row = ((((pass·G + group)·C + cycle)·NM + matrix)·M + m.
    struct Indexing {
        let passes: Int, pass: Int, groups: Int, group: Int, cycles: Int, matrices: Int, matrix: Int, outputs: Int
        let firstColumn: Int

        func row(cycle c: Int, output m: Int) -> UInt64 {
            var i = UInt64(pass) &* UInt64(groups) &+ UInt64(group)
            i = i &* UInt64(cycles) &+ UInt64(c)
            i = i &* UInt64(matrices) &+ UInt64(matrix)
            return i &* UInt64(outputs) &+ UInt64(m)
        }
    }

    /// - Parameters:
    ///   - partial: M rows of `stride` partial sums; cycle c of column j at `c · (stride / cycles) + j`.
    ///   - accumulator: M × width outputs, added to.
    ///   - scratch: at least `width` floats for the noise of one row.
    ///   - clips: if given, M × width flags in the accumulator's layout, set to 1 where a
    ///     conversion of that output clipped.
    /// - Complexity: one conversion per (output, converted cycle, column): M · cycles · width.
    func run(partial: UnsafePointer<Float>, stride: Int, outputs: Int, width: Int, accumulator: UnsafeMutablePointer<Double>,
             scratch: UnsafeMutablePointer<Float>, collect: Bool, clips: UnsafeMutablePointer<UInt8>? = nil,
             statistics: inout ConversionStatistics) {
        let cycles = cycleFactors.count
        let blockColumns = stride / cycles
        precondition(cycleRange.lowerBound >= 0 && cycleRange.upperBound <= cycles, "ConversionKernel: cycles \(cycleRange) of \(cycles)")
        var tally = Tally()
        adc.thresholdTable.withUnsafeBufferPointer { thresholds in
            adc.valueTable.withUnsafeBufferPointer { values in
            adc.cellEntries.withUnsafeBufferPointer { entries in
                statistics.codeHistogram.withUnsafeMutableBufferPointer { histogram in
                    for m in 0..<outputs {
                        let instance = (m * matricesPerOutput + instanceBase) % adcCount
                        for c in cycleRange {
                            let row = RowContext(
                                input: partial + m * stride + c * blockColumns, output: accumulator + m * width,
                                width: width, factor: cycleFactors[c] * (rowFactors?[m] ?? 1), clips: clips.map { $0 + m * width },
                                noise: noise.map { stream in
                                    stream.conversionNormals(row: indexing.row(cycle: c, output: m),
                                                             firstColumn: indexing.firstColumn, count: width, into: scratch,
                                                             vectorised: vectorised)
                                    return UnsafePointer(scratch)
                                })
                            if adc.isIdeal {
                                idealRow(row, collect: collect, tally: &tally)
                            } else if adc.hasStaticErrors {
                                instanceRow(row, instance: instance, thresholds: thresholds.baseAddress!, values: values.baseAddress!,
                                            entries: entries.baseAddress!, histogram: histogram.baseAddress, collect: collect, tally: &tally)
                            } else {
                                roundingRow(row, histogram: histogram.baseAddress, collect: collect, tally: &tally)
                            }
                        }
                    }
                }
            }
            }
        }
        if collect {
            statistics.conversions += outputs * cycleRange.count * width
            statistics.clippedLow += tally.clippedLow
            statistics.clippedHigh += tally.clippedHigh
            statistics.sumSignalSquared += tally.sumSignal
            statistics.sumError += tally.sumError
            statistics.sumErrorSquared += tally.sumErrorSquared
        }
    }

    /// Running counts of one kernel call, kept in registers.
    struct Tally {
        var clippedLow = 0, clippedHigh = 0
        var sumSignal = 0.0, sumError = 0.0, sumErrorSquared = 0.0

        @inline(__always)
        mutating func add(signal p: Double, converted: Double) {
            sumSignal += p * p
            let e = converted - p
            sumError += e
            sumErrorSquared += e * e
        }

        /// Counts a clip on side −1 (low) or +1 (high); 0 counts nothing.
        @inline(__always)
        mutating func count(clip side: Int) {
            if side < 0 { clippedLow += 1 } else if side > 0 { clippedHigh += 1 }
        }
    }

    /// One row of one cycle: `width` partial sums in, shift-added into `width` outputs.
    struct RowContext {
        let input: UnsafePointer<Float>
        let output: UnsafeMutablePointer<Double>
        let width: Int
        let factor: Double
        /// Clip flags of this row's outputs, when recorded.
        let clips: UnsafeMutablePointer<UInt8>?
        /// Standard normal draws for this row, if the converter is noisy.
        let noise: UnsafePointer<Float>?
    }

    /// (u + 1.5·2^52) − 1.5·2^52 rounds u half to even for |u| < 2^51.
    static let roundingMagic = 6_755_399_441_055_744.0

    /// Which side a conversion clipped on: −1 when its analog code `u` lies more than half an
    /// LSB below the lowest code, +1 more than half an LSB above the highest, else 0 (the C
    /// kernels apply the same test).
    @inline(__always) static func clipSide(_ u: Double, minCode: Double, maxCode: Double) -> Int {
        u < minCode - 0.5 ? -1 : (u > maxCode + 0.5 ? 1 : 0)
    }

    @inline(__always)
    func analog(_ p: Double) -> Double {
        transfer.isIdentity ? p : transferScale * transfer(p / transferScale)
    }

    /// A lossless converter: the analog value passes unchanged.
    func idealRow(_ row: RowContext, collect: Bool, tally: inout Tally) {
        for j in 0..<row.width {
            let p = Double(row.input[j])
            let v = analog(p)
            row.output[j] += row.factor * v
            if collect { tally.add(signal: p, converted: v) }
        }
    }

    /// A converter without static errors: noise, clip and round half to even.
    func roundingRow(_ row: RowContext, histogram: UnsafeMutablePointer<Int>?, collect: Bool, tally: inout Tally) {
        let zero = adc.zero, lsb = adc.lsb, invLSB = 1 / adc.lsb, sigma = adc.noiseSigma
        let minCode = Double(adc.minCode), maxCode = Double(adc.maxCode), codeBase = adc.minCode
        let magic = Self.roundingMagic
        let scaled = row.factor * lsb, offset = row.factor * zero
        let input = row.input, output = row.output, width = row.width
        if !collect && transfer.isIdentity && row.clips == nil {
            // The common case, branch-free: u → clip → round → shift-add.
            if let noise = row.noise {
                for j in 0..<width {
                    let u = (Double(input[j]) - zero) * invLSB + sigma * Double(noise[j])
                    output[j] += scaled * ((min(max(u, minCode), maxCode) + magic) - magic) + offset
                }
            } else {
                for j in 0..<width {
                    let u = (Double(input[j]) - zero) * invLSB
                    output[j] += scaled * ((min(max(u, minCode), maxCode) + magic) - magic) + offset
                }
            }
            return
        }
        for j in 0..<width {
            let p = Double(input[j])
            var u = (analog(p) - zero) * invLSB
            if let noise = row.noise { u += sigma * Double(noise[j]) }
            let code = (min(max(u, minCode), maxCode) + magic) - magic
            output[j] += scaled * code + offset
            let side = Self.clipSide(u, minCode: minCode, maxCode: maxCode)
            if side != 0, let clips = row.clips { clips[j] = 1 }
            if collect {
                tally.count(clip: side)
                histogram![Int(code) - codeBase] += 1
                tally.add(signal: p, converted: zero + lsb * code)
            }
        }
    }

    /// A converter with static errors: noise, the instance's gain and offset, then its code
    /// from a grid of u′ (cells of 1/8 LSB): the cell's entry holds its code, the one threshold
    /// inside it and the calibrated outputs on either side; cells with more thresholds (tight
    /// DNL) finish with a short walk.
    func instanceRow(_ row: RowContext, instance: Int, thresholds: UnsafePointer<Float>, values: UnsafePointer<Float>,
                     entries: UnsafePointer<ADCModel.CellEntry>, histogram: UnsafeMutablePointer<Int>?, collect: Bool,
                     tally: inout Tally) {
        let zero = adc.zero, lsb = adc.lsb, invLSB = 1 / adc.lsb, sigma = adc.noiseSigma
        let minCode = Double(adc.minCode), maxCode = Double(adc.maxCode)
        let codes = adc.maxCode - adc.minCode + 1
        let table = thresholds + instance * (codes + 1), outputs = values + instance * codes
        let simpleCells = adc.cellSteps <= 1
        let cells = entries + instance * adc.cellsPerInstance
        let lastCell = Double(adc.cellsPerInstance - 1), origin = adc.cellOrigin, perLSB = ADCModel.cellsPerLSB
        let gain = Double(adc.gainTable[instance]), offset = Double(adc.offsetTable[instance])
        let identity = transfer.isIdentity
        let scaled = row.factor * lsb, shift = row.factor * zero
        if vectorised && identity {
            var lookup = PIMInstanceLookup(cells: cells, thresholds: table, values: outputs, codes: Int32(codes),
                                           walk: !simpleCells, origin: origin, cellsPerLSB: perLSB, lastCell: lastCell)
            if !collect && row.clips == nil {
                pim_convert_instance_row_avx2(row.input, row.noise, row.width, zero, invLSB, sigma, gain, offset, &lookup,
                                              scaled, shift, row.output)
                return
            }
            var counts = PIMConversionTally(clippedLow: Int64(tally.clippedLow), clippedHigh: Int64(tally.clippedHigh),
                                            sumSignal: tally.sumSignal, sumError: tally.sumError,
                                            sumErrorSquared: tally.sumErrorSquared)
            func convert(histogram: UnsafeMutablePointer<Int64>?) {
                withUnsafeMutablePointer(to: &counts) { counts in
                    pim_convert_instance_row_collect(row.input, row.noise, row.width, zero, invLSB, sigma, gain, offset, &lookup,
                                                     scaled, shift, lsb, minCode, maxCode, row.output, row.clips,
                                                     histogram, histogram == nil ? nil : counts)
                }
            }
            if collect, let histogram {
                histogram.withMemoryRebound(to: Int64.self, capacity: codes) { convert(histogram: $0) }
            } else {
                convert(histogram: nil)
            }
            tally = Tally(clippedLow: Int(counts.clippedLow), clippedHigh: Int(counts.clippedHigh), sumSignal: counts.sumSignal,
                          sumError: counts.sumError, sumErrorSquared: counts.sumErrorSquared)
            return
        }
        for j in 0..<row.width {
            let p = Double(row.input[j])
            var u = ((identity ? p : analog(p)) - zero) * invLSB
            if let noise = row.noise { u += sigma * Double(noise[j]) }
            u = u * gain + offset
            let entry = cells[Int(min(max((u - origin) * perLSB, 0), lastCell))]
            // Clamped to Float's finite range: never past the last cell's +∞ sentinel threshold.
            let uf = Float(min(max(u, -Double(Float.greatestFiniteMagnitude)), Double(Float.greatestFiniteMagnitude)))
            var value: Float
            var index: Int
            if simpleCells {
                let above = uf >= entry.threshold
                value = above ? entry.above : entry.below
                index = Int(entry.index) + (above ? 1 : 0)
            } else {
                index = Int(entry.index)
                while index < codes - 1 && uf >= table[index + 1] { index += 1 }
                value = outputs[index]
            }
            row.output[j] += scaled * Double(value) + shift
            let side = Self.clipSide(u, minCode: minCode, maxCode: maxCode)
            if side != 0, let clips = row.clips { clips[j] = 1 }
            if collect {
                tally.count(clip: side)
                histogram![index] += 1
                tally.add(signal: p, converted: zero + lsb * Double(value))
            }
        }
    }
}
