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
    let indexing: Indexing

    /// The coordinates of a conversion, giving it a global index independent of threads,
    /// blocks and batch splits: ((((column·P + pass)·G + group)·C + cycle)·NM + matrix)·M + m.
    struct Indexing {
        let passes: Int, pass: Int, groups: Int, group: Int, cycles: Int, matrices: Int, matrix: Int, outputs: Int
        let firstColumn: Int

        @inline(__always)
        func index(column j: Int, cycle c: Int, output m: Int) -> UInt64 {
            var i = UInt64(firstColumn + j) &* UInt64(passes) &+ UInt64(pass)
            i = i &* UInt64(groups) &+ UInt64(group)
            i = i &* UInt64(cycles) &+ UInt64(c)
            i = i &* UInt64(matrices) &+ UInt64(matrix)
            return i &* UInt64(outputs) &+ UInt64(m)
        }
    }

    /// - Parameters:
    ///   - partial: M rows of `stride` partial sums; cycle c of column j at `c · (stride / cycles) + j`.
    ///   - accumulator: M × width outputs, added to.
    /// - Complexity: one conversion per (output, cycle, column): M · cycles · width.
    func run(partial: UnsafePointer<Float>, stride: Int, outputs: Int, width: Int,
             accumulator: UnsafeMutablePointer<Double>, collect: Bool, statistics: inout ConversionStatistics) {
        let cycles = cycleFactors.count
        let blockColumns = stride / cycles
        let hasTransfer = !transfer.isIdentity
        let scale = transferScale
        if adc.isIdeal {
            for m in 0..<outputs {
                for c in 0..<cycles {
                    let factor = cycleFactors[c], row = partial + m * stride + c * blockColumns
                    for j in 0..<width {
                        var v = Double(row[j])
                        if hasTransfer { v = scale * transfer(v / scale) }
                        accumulator[m * width + j] += factor * v
                        if collect {
                            statistics.sumSignalSquared += Double(row[j]) * Double(row[j])
                            let e = v - Double(row[j])
                            statistics.sumError += e
                            statistics.sumErrorSquared += e * e
                        }
                    }
                }
            }
            if collect { statistics.conversions += outputs * cycles * width }
            return
        }
        let zero = adc.zero, lsb = adc.lsb, invLSB = 1 / adc.lsb
        let minCode = Double(adc.minCode), maxCode = Double(adc.maxCode)
        let codes = adc.maxCode - adc.minCode + 1
        let sigma = adc.noiseSigma
        let magic = 6_755_399_441_055_744.0  // 1.5 · 2^52: (u + magic) − magic rounds half to even
        let hasInstances = adc.hasStaticErrors
        var clippedLow = 0, clippedHigh = 0
        var sumSignal = 0.0, sumError = 0.0, sumErrorSquared = 0.0
        adc.thresholdTable.withUnsafeBufferPointer { thresholds in
        adc.valueTable.withUnsafeBufferPointer { values in
        statistics.codeHistogram.withUnsafeMutableBufferPointer { histogram in
            for m in 0..<outputs {
                let instance = (m * matricesPerOutput + instanceBase) % adcCount
                let gain = hasInstances ? Double(adc.gainTable[instance]) : 1
                let offset = hasInstances ? Double(adc.offsetTable[instance]) : 0
                let table = instance * codes
                for c in 0..<cycles {
                    let factor = cycleFactors[c], row = partial + m * stride + c * blockColumns
                    let out = accumulator + m * width
                    for j in 0..<width {
                        let p = Double(row[j])
                        var v = p
                        if hasTransfer { v = scale * transfer(v / scale) }
                        var u = (v - zero) * invLSB
                        if let noise { u += sigma * noise.normal(indexing.index(column: j, cycle: c, output: m)) }
                        if hasInstances { u = u * gain + offset }
                        if u < minCode - 0.5 { clippedLow += 1 } else if u > maxCode + 0.5 { clippedHigh += 1 }
                        let bounded = min(max(u, minCode), maxCode)
                        var code = Int((bounded + magic) - magic)
                        let value: Double
                        if hasInstances {
                            // Start from the ideal code and walk to the instance's thresholds.
                            var index = code - adc.minCode
                            let uf = Float(u)
                            while index > 0 && uf < thresholds[table + index] { index -= 1 }
                            while index < codes - 1 && uf >= thresholds[table + index + 1] { index += 1 }
                            code = index + adc.minCode
                            value = Double(values[table + index])
                        } else {
                            value = Double(code)
                        }
                        let converted = zero + lsb * value
                        out[j] += factor * converted
                        if collect {
                            histogram[code - adc.minCode] += 1
                            sumSignal += p * p
                            let e = converted - p
                            sumError += e
                            sumErrorSquared += e * e
                        }
                    }
                }
            }
        }
        }
        }
        if collect {
            statistics.conversions += outputs * cycles * width
            statistics.clippedLow += clippedLow
            statistics.clippedHigh += clippedHigh
            statistics.sumSignalSquared += sumSignal
            statistics.sumError += sumError
            statistics.sumErrorSquared += sumErrorSquared
        }
    }
}
