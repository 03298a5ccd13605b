import Dispatch
import Foundation

/// Options of one run of a programmed layer.
public struct RunOptions: Sendable {
    /// Seed of the temporal noise.
    public var noiseSeed: UInt64
    /// Global index of the first input column, so that a batch split across runs draws the
    /// same noise as one run over the whole batch.
    public var columnOffset: Int
    /// Worker threads (column blocks run in parallel; OpenBLAS runs single-threaded inside).
    public var threads: Int
    /// Columns per block: bounds memory (partial sums of one block stay in cache) and never
    /// changes results.
    public var blockColumns: Int?
    /// Gather conversion statistics (clip counts, histogram, errors); off is faster.
    public var collectStatistics: Bool
    /// Record which outputs had a clipped conversion (``PIMResult/clipped``).
    public var recordClips: Bool
    /// Use the C kernels where the CPU has AVX2 (default; see ``CPUFeatures/avx2``). `false`
    /// runs the portable Swift loops: the same results bit for bit, slower; for tests and
    /// comparisons.
    public var vectorised: Bool

    public init(noiseSeed: UInt64 = 0, columnOffset: Int = 0, threads: Int = 1, blockColumns: Int? = nil,
                collectStatistics: Bool = true, recordClips: Bool = false, vectorised: Bool = true) {
        self.recordClips = recordClips
        self.vectorised = vectorised
        self.noiseSeed = noiseSeed
        self.columnOffset = columnOffset
        self.threads = threads
        self.blockColumns = blockColumns
        self.collectStatistics = collectStatistics
    }
}

/// The result of one PIM matmul.
public struct PIMResult: Sendable {
    /// Y (M×N, row-major) in integer-product units: exactly `W·X` on a lossless chip.
    public var output: [Double]
    public var statistics: ConversionStatistics
    /// With ``RunOptions/recordClips``: M×N flags, 1 where any conversion of that output clipped.
    public var clipped: [UInt8]?
}

extension ProgrammedLayer {
    /// Runs `Y = W·X` through the chip for integer inputs `X` (K×N, row-major).
    ///
    /// Inputs are unsigned levels 0…2^b−1; negative levels (signed inputs) run as a positive
    /// and a negative pass whose results are subtracted digitally.
    ///
    /// - Complexity: (input cycles × conversion matrices × passes) SGEMMs of M×K×N, plus one
    ///   fused conversion step per partial sum; memory O(M·C·B + K·C·B) per worker for a block of
    ///   B columns, never all partial sums at once.
    /// - Throws: ``OperandRangeError`` for an input level the DAC cannot drive.
    public func run(inputs: [Int32], columns: Int, options: RunOptions = RunOptions()) throws -> PIMResult {
        let signedInputs = try validate(inputs: inputs, columns: columns)
        var layer = self
        if mapping.adc.range.policy == .oracle, mapping.adc.type != .ideal {
            layer = withFullScale(try partialSumExtent(inputs: inputs, columns: columns))
        }
        return layer.execute(inputs: inputs, columns: columns, passes: signedInputs ? 2 : 1, options: options)
    }

    /// Checks that every input level is one the DAC can drive: |x| ≤ 2^b − 1 (negative levels
    /// run as a second pass). One pass for the extremes (it vectorises); the first offending
    /// element is searched for only when there is one.
    /// - Returns: whether any input is negative (signed inputs).
    func validate(inputs: [Int32], columns: Int) throws -> Bool {
        precondition(inputs.count == fanIn * columns, "run: \(inputs.count) inputs for \(fanIn)×\(columns)")
        let bits = mapping.decomposition.inputBits, top = Int32((1 << bits) - 1)
        var low = Int32.max, high = Int32.min
        inputs.withUnsafeBufferPointer { x in
            for v in x { low = min(low, v); high = max(high, v) }
        }
        if high > top || low < -top, let index = inputs.firstIndex(where: { abs(Int($0)) > Int(top) }) {
            throw OperandRangeError(description: "input \(inputs[index]) at row \(index / columns), column \(index % columns) is beyond the \(bits)-bit DAC's ±\(top)")
        }
        return low < 0
    }

    /// The smallest and largest partial sum of any conversion for these inputs (MAC units).
    public func partialSumExtent(inputs: [Int32], columns: Int) throws -> ClosedRange<Double> {
        var low = Double.infinity, high = -Double.infinity
        try forEachPartialSum(inputs: inputs, columns: columns) { value in
            low = min(low, value)
            high = max(high, value)
        }
        return low <= high ? low...high : 0...1
    }

    /// Sets a `calibrated` converter's range from calibration inputs: the given percentile of
    /// |partial sum| (or of the partial sums, unsigned), then frozen.
    public func calibratingRange(inputs: [Int32], columns: Int, percentile: Double? = nil) throws -> ProgrammedLayer {
        withFullScale(try calibratedFullScale(inputs: inputs, columns: columns, percentile: percentile))
    }

    /// The full-scale range (MAC units) a `calibrated` converter takes from these calibration
    /// inputs: ±(the percentile of |partial sum|) for a signed converter; for an unsigned one
    /// from min(smallest sum, 0) to the percentile of the sums. The percentile is the
    /// argument's, else the chip's (default 99.99), as a fraction p of the sorted values,
    /// taking the value at index ⌊p·(count − 1)⌋. A range never spans less than 1 MAC unit.
    public func calibratedFullScale(inputs: [Int32], columns: Int, percentile: Double? = nil) throws -> ClosedRange<Double> {
        var values: [Float] = []
        try forEachPartialSum(inputs: inputs, columns: columns) { values.append(Float($0)) }
        let p = (percentile ?? mapping.adc.range.percentile ?? 99.99) / 100
        if mapping.adc.signed {
            var magnitudes = values.map { abs($0) }
            magnitudes.sort()
            let r = Double(magnitudes.isEmpty ? 1 : magnitudes[min(magnitudes.count - 1, Int(p * Double(magnitudes.count - 1)))])
            return -max(r, 1)...max(r, 1)
        }
        values.sort()
        let lowValue = Double(values.first ?? 0)
        let highValue = Double(values.isEmpty ? 1 : values[min(values.count - 1, Int(p * Double(values.count - 1)))])
        return min(lowValue, 0)...max(highValue, lowValue + 1)
    }

    /// Visits every partial sum (after the transfer curve) in a fixed order, serially.
    func forEachPartialSum(inputs: [Int32], columns: Int, _ body: (Double) -> Void) throws {
        let signedInputs = try validate(inputs: inputs, columns: columns)
        let plan = BlockPlan(layer: self, columns: columns, blockColumns: nil)
        let transfer = mapping.transfer, scale = mapping.transferScale
        let passes = signedInputs ? 2 : 1
        var workspace = plan.makeWorkspace()
        for block in 0..<plan.blockCount {
            let width = plan.width(of: block)
            for pass in 0..<passes {
                plan.stackCycles(inputs: inputs, columns: columns, block: block, pass: pass, into: &workspace.stacked)
                for matrix in matrices.indices {
                    for group in 0..<plan.groups {
                        plan.partialSums(self, matrix: matrix, group: group, block: block, workspace: &workspace)
                        for m in 0..<outputs {
                            for c in 0..<plan.cycles {
                                // Cycle c of column j sits at c · blockColumns + j; columns past `width` are padding.
                                let row = m * plan.stride + c * plan.blockColumns
                                for j in 0..<width {
                                    var v = Double(workspace.partial[row + j])
                                    if !transfer.isIdentity { v = scale * transfer(v / scale) }
                                    body(v)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func execute(inputs: [Int32], columns: Int, passes: Int, options: RunOptions) -> PIMResult {
        let plan = BlockPlan(layer: self, columns: columns, blockColumns: options.blockColumns)
        var output = [Double](repeating: 0, count: outputs * columns)
        var clipped = [UInt8](repeating: 0, count: options.recordClips ? outputs * columns : 0)
        var blockStatistics = [ConversionStatistics](repeating: ConversionStatistics(), count: plan.blockCount)
        let previousThreads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = previousThreads }
        let workers = max(1, min(options.threads, plan.blockCount))
        output.withUnsafeMutableBufferPointer { out in
          clipped.withUnsafeMutableBufferPointer { clip in
            blockStatistics.withUnsafeMutableBufferPointer { stats in
                let outBase = UnsafeSendable(out.baseAddress!)
                // An empty array may still have a base address: record only when asked.
                let clipBase = options.recordClips ? clip.baseAddress.map(UnsafeSendable.init) : nil
                let statsBase = UnsafeSendable(stats.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    var workspace = plan.makeWorkspace()
                    var block = worker
                    while block < plan.blockCount {
                        statsBase.pointer[block] = runBlock(block, plan: plan, inputs: inputs, columns: columns, passes: passes,
                                                            options: options, workspace: &workspace, output: outBase.pointer,
                                                            clipped: clipBase?.pointer)
                        block += workers
                    }
                }
            }
          }
        }
        var statistics = ConversionStatistics()
        statistics.minimumCode = adc.minCode
        statistics.lsb = adc.lsb
        for block in blockStatistics { statistics.merge(block) }
        return PIMResult(output: output, statistics: statistics, clipped: options.recordClips ? clipped : nil)
    }

    /// Runs one block of columns: every pass, matrix and group, converted and shift-added
    /// into the block's output columns (written only by this block).
    private func runBlock(_ block: Int, plan: BlockPlan, inputs: [Int32], columns: Int, passes: Int, options: RunOptions,
                          workspace: inout BlockPlan.Workspace, output: UnsafeMutablePointer<Double>,
                          clipped: UnsafeMutablePointer<UInt8>?) -> ConversionStatistics {
        let d = mapping.decomposition
        let width = plan.width(of: block)
        let firstColumn = block * plan.blockColumns
        var accumulator = [Double](repeating: 0, count: outputs * width)
        var clipFlags = [UInt8](repeating: 0, count: clipped == nil ? 0 : outputs * width)
        var statistics = ConversionStatistics()
        if options.collectStatistics { statistics.codeHistogram = [Int](repeating: 0, count: adc.isIdeal ? 0 : adc.maxCode - adc.minCode + 1) }
        let noise = adc.noiseSigma > 0
            ? RandomStream(seed: options.noiseSeed, purpose: .conversionNoise, layer: layer, instance: chipSeed) : nil
        for pass in 0..<passes {
            plan.stackCycles(inputs: inputs, columns: columns, block: block, pass: pass, into: &workspace.stacked)
            let sign: Double = pass == 0 ? 1 : -1
            for matrix in matrices.indices {
                for group in 0..<plan.groups {
                    plan.partialSums(self, matrix: matrix, group: group, block: block, workspace: &workspace)
                    let conversion = ConversionKernel(
                        adc: adc, transfer: mapping.transfer, transferScale: mapping.transferScale, noise: noise,
                        instanceBase: matrix, matricesPerOutput: matrices.count, adcCount: mapping.adc.count,
                        cycleFactors: (0..<plan.cycles).map { sign * factors[matrix] * Double(1 << ($0 * plan.bitsPerCycle)) },
                        indexing: .init(passes: passes, pass: pass, groups: plan.groups, group: group, cycles: plan.cycles,
                                        matrices: matrices.count, matrix: matrix, outputs: outputs,
                                        firstColumn: options.columnOffset + firstColumn),
                        vectorised: options.vectorised && CPUFeatures.avx2)
                    workspace.partial.withUnsafeBufferPointer { partial in
                        accumulator.withUnsafeMutableBufferPointer { acc in
                            workspace.noise.withUnsafeMutableBufferPointer { scratch in
                                clipFlags.withUnsafeMutableBufferPointer { flags in
                                    conversion.run(partial: partial.baseAddress!, stride: plan.stride, outputs: outputs, width: width,
                                                   accumulator: acc.baseAddress!, scratch: scratch.baseAddress!,
                                                   collect: options.collectStatistics, clips: clipped == nil ? nil : flags.baseAddress,
                                                   statistics: &statistics)
                                }
                            }
                        }
                    }
                }
            }
            if d.encoding == .offsetBinary {
                // Remove the offset 2^(b−1)·Σ_k x_k digitally, exactly.
                let offset = Double(1 << (d.weightBits - 1))
                for j in 0..<width {
                    var sum = 0.0
                    for k in 0..<fanIn {
                        let x = Int(inputs[k * columns + firstColumn + j])
                        sum += Double(pass == 0 ? max(x, 0) : max(-x, 0))
                    }
                    for m in 0..<outputs { accumulator[m * width + j] -= sign * offset * sum }
                }
            }
        }
        for m in 0..<outputs {
            for j in 0..<width { output[m * columns + firstColumn + j] = accumulator[m * width + j] }
        }
        if let clipped {
            for m in 0..<outputs {
                for j in 0..<width { clipped[m * columns + firstColumn + j] = clipFlags[m * width + j] }
            }
        }
        return statistics
    }
}

/// A pointer handed to concurrent workers that write disjoint parts of it.
struct UnsafeSendable<Pointee>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Pointee>
    init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
}

/// How the columns of a run are cut into blocks, and the per-worker buffers.
struct BlockPlan {
    let fanIn: Int
    let outputs: Int
    let columns: Int
    let blockColumns: Int
    let blockCount: Int
    let cycles: Int
    let bitsPerCycle: Int
    let inputBits: Int
    let groupSize: Int
    let groups: Int
    /// Row stride of the stacked inputs and the partial sums: cycles × block columns.
    var stride: Int { cycles * blockColumns }

    init(layer: ProgrammedLayer, columns: Int, blockColumns: Int?) {
        let d = layer.mapping.decomposition
        fanIn = layer.fanIn
        outputs = layer.outputs
        self.columns = columns
        cycles = d.inputCycles
        bitsPerCycle = d.bitsPerInputCycle
        inputBits = d.inputBits
        groupSize = d.inputsPerConversion
        groups = max(1, (layer.fanIn + groupSize - 1) / groupSize)
        // By default at most about 2^18 values (1 MiB) in each of the block's stacked inputs
        // (fan-in × cycles × columns) and partial sums (outputs × cycles × columns), so both
        // stay in cache between the stacking, the SGEMM and the conversions; at least 16 columns.
        let target = blockColumns ?? max(16, (1 << 18) / max(1, max(layer.outputs, layer.fanIn) * cycles))
        self.blockColumns = max(1, min(target, max(columns, 1)))
        blockCount = columns == 0 ? 0 : (columns + self.blockColumns - 1) / self.blockColumns
    }

    func width(of block: Int) -> Int { min(blockColumns, columns - block * blockColumns) }

    struct Workspace {
        /// Input levels per cycle, K × (cycles · block columns): cycle c of column j at c·B + j.
        var stacked: [Float]
        /// Partial sums of one (matrix, group), M × (cycles · block columns).
        var partial: [Float]
        /// Noise draws of one conversion row.
        var noise: [Float]
    }

    func makeWorkspace() -> Workspace {
        Workspace(stacked: [Float](repeating: 0, count: fanIn * stride),
                  partial: [Float](repeating: 0, count: outputs * stride),
                  noise: [Float](repeating: 0, count: blockColumns))
    }

    /// Writes each input's cycle levels for one pass (0: positive parts, 1: negative parts).
    /// Cycle-major inner loops over contiguous columns (32-bit integer arithmetic), so they
    /// vectorise; padding columns past the block's width are zero.
    func stackCycles(inputs: [Int32], columns: Int, block: Int, pass: Int, into stacked: inout [Float]) {
        let first = block * blockColumns, width = width(of: block)
        let mask = Int32((1 << bitsPerCycle) - 1)
        let (cycles, bitsPerCycle, blockColumns, stride) = (self.cycles, self.bitsPerCycle, self.blockColumns, self.stride)
        stacked.withUnsafeMutableBufferPointer { s in
            inputs.withUnsafeBufferPointer { x in
                for k in 0..<fanIn {
                    let source = x.baseAddress! + k * columns + first
                    for c in 0..<cycles {
                        let target = s.baseAddress! + k * stride + c * blockColumns
                        let shift = Int32(c * bitsPerCycle)
                        var j = 0
                        if pass == 0 {
                            while j < width { target[j] = Float((max(source[j], 0) >> shift) & mask); j &+= 1 }
                        } else {
                            while j < width { target[j] = Float((max(0 &- source[j], 0) >> shift) & mask); j &+= 1 }
                        }
                        while j < blockColumns { target[j] = 0; j &+= 1 }
                    }
                }
            }
        }
    }

    /// partial = matrix[:, group] · stacked[group, :] with one SGEMM.
    func partialSums(_ layer: ProgrammedLayer, matrix: Int, group: Int, block: Int, workspace: inout Workspace) {
        let k0 = group * groupSize, k1 = min(fanIn, k0 + groupSize)
        layer.matrices[matrix].withUnsafeBufferPointer { w in
            workspace.stacked.withUnsafeBufferPointer { x in
                workspace.partial.withUnsafeMutableBufferPointer { p in
                    BLAS.sgemm(m: outputs, n: stride, k: k1 - k0,
                               a: w.baseAddress! + k0, lda: fanIn,
                               b: x.baseAddress! + k0 * stride, ldb: stride,
                               c: p.baseAddress!, ldc: stride)
                }
            }
        }
    }
}
