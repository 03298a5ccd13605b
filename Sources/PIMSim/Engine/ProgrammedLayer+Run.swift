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
    /// Inputs are levels in ``Decomposition/inputRange``. On an unsigned DAC, negative levels
    /// run as a positive and a negative pass whose results are subtracted digitally; a signed
    /// DAC (two's complement or sign-magnitude) drives them in one pass.
    ///
    /// - Complexity: (input cycles × conversion matrices × passes) SGEMMs of M×K×N, plus one
    ///   fused conversion step per partial sum; memory O(M·C·B + K·C·B) per worker for a block of
    ///   B columns, never all partial sums at once.
    /// - Throws: ``OperandRangeError`` for an input level the DAC cannot drive.
    public func run(inputs: [Int32], columns: Int, options: RunOptions = RunOptions()) throws(OperandRangeError) -> PIMResult {
        let passes = try validate(inputs: inputs, columns: columns)
        let layer = try resolvingOracleRange(inputs: inputs, columns: columns)
        return layer.execute(inputs: inputs, columns: columns, passes: passes, options: options)
    }

    /// Checks that every input level is one the DAC can drive (``Decomposition/inputRange``).
    /// One pass for the extremes (it vectorises); the first offending element is searched for
    /// only when there is one.
    /// - Returns: the passes the inputs take (``Decomposition/inputPasses(lowest:)``).
    func validate(inputs: [Int32], columns: Int) throws(OperandRangeError) -> Int {
        precondition(inputs.count == fanIn * columns, "run: \(inputs.count) inputs for \(fanIn)×\(columns)")
        let d = mapping.decomposition, range = d.inputRange
        var low = Int32.max, high = Int32.min
        inputs.withUnsafeBufferPointer { x in
            for v in x { low = min(low, v); high = max(high, v) }
        }
        if Int(high) > range.upperBound || Int(low) < range.lowerBound,
           let index = inputs.firstIndex(where: { !range.contains(Int($0)) }) {
            let dac = switch d.inputEncoding {
            case .unsigned: "unsigned \(d.inputBits)-bit DAC's ±\(range.upperBound) (negative levels as a second pass)"
            case .twosComplement: "\(d.inputBits)-bit two's-complement DAC's \(range.lowerBound)…\(range.upperBound)"
            case .bipolarXNOR: "\(d.inputBits)-bit bipolar DAC's \(range.lowerBound)…\(range.upperBound)"
            case .signMagnitude: "\(d.inputBits)-bit sign-magnitude DAC's ±\(range.upperBound)"
            }
            throw OperandRangeError(description: "input \(inputs[index]) at row \(index / columns), column \(index % columns) is beyond the \(dac)")
        }
        return d.inputPasses(lowest: inputs.isEmpty ? 0 : Int(low))
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
                let outBase = UnsafeSendablePointer(out.baseAddress!)
                // An empty array may still have a base address: record only when asked.
                let clipBase = options.recordClips ? clip.baseAddress.map(UnsafeSendablePointer.init) : nil
                let statsBase = UnsafeSendablePointer(stats.baseAddress!)
                parallelFor(workers) { worker in
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

    /// Adds the cells' temporal read noise to one (pass, matrix, group)'s partial sums, before
    /// the transfer curve and the converter: each cell's σ (digits) times its input level, so a
    /// partial sum gets σ·√(Σ_k x_k²) over the group's inputs of that cycle and column. Draws
    /// are addressed like conversion noise (pass, group, cycle, matrix, output, global column).
    private func addReadNoise(_ stream: RandomStream, sigma: Double, plan: BlockPlan, pass: Int, passes: Int, matrix: Int,
                              group: Int, width: Int, firstColumn: Int, vectorised: Bool, workspace: inout BlockPlan.Workspace) {
        let k0 = group * plan.groupSize, k1 = min(fanIn, k0 + plan.groupSize)
        let stride = plan.stride, blockColumns = plan.blockColumns
        var scale = [Float](repeating: 0, count: stride)
        workspace.stacked.withUnsafeBufferPointer { x in
            for k in k0..<k1 {
                let row = x.baseAddress! + k * stride
                for i in 0..<stride { scale[i] += row[i] * row[i] }
            }
        }
        for i in 0..<stride { scale[i] = Float(sigma) * scale[i].squareRoot() }
        let indexing = ConversionKernel.Indexing(passes: passes, pass: pass, groups: plan.groups, group: group, cycles: plan.cycles,
                                                 matrices: matrices.count, matrix: matrix, outputs: outputs, firstColumn: firstColumn)
        workspace.noise.withUnsafeMutableBufferPointer { z in
            workspace.partial.withUnsafeMutableBufferPointer { p in
                for m in 0..<outputs {
                    for c in 0..<plan.cycles {
                        stream.conversionNormals(row: indexing.row(cycle: c, output: m), firstColumn: firstColumn, count: width,
                                                 into: z.baseAddress!, vectorised: vectorised)
                        let target = p.baseAddress! + m * stride + c * blockColumns
                        for j in 0..<width { target[j] += scale[c * blockColumns + j] * z[j] }
                    }
                }
            }
        }
    }

    /// Divides one (matrix, group)'s partial sums by their columns' summed conductance (as the
    /// gain S_full/S of ``normalisation``) and returns the factors that multiply it back after
    /// the conversion, per output; `nil` where the chip does not normalise.
    func normalise(matrix: Int, group: Int, plan: BlockPlan, workspace: inout BlockPlan.Workspace) -> [Double]? {
        guard !normalisation.isEmpty else { return nil }
        let gains = normalisation[matrix], groups = plan.groups, stride = plan.stride
        workspace.partial.withUnsafeMutableBufferPointer { p in
            for m in 0..<outputs {
                let gain = gains[m * groups + group], row = p.baseAddress! + m * stride
                for i in 0..<stride { row[i] *= gain }
            }
        }
        return (0..<outputs).map { 1 / Double(gains[$0 * groups + group]) }
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
        // The counts of input cycles converted at fewer bits, on their own code grids, folded
        // into the block's at its end.
        var cycleStatistics: [ConversionStatistics] = cycleADCs.map { converter in
            var counts = ConversionStatistics()
            if options.collectStatistics && converter.maxCode != adc.maxCode {
                counts.codeHistogram = [Int](repeating: 0, count: converter.maxCode - converter.minCode + 1)
            }
            return counts
        }
        let noise = adc.noiseSigma > 0
            ? RandomStream(seed: options.noiseSeed, purpose: .conversionNoise, layer: layer, instance: chipSeed) : nil
        let readStream = readNoise.isEmpty ? nil
            : RandomStream(seed: options.noiseSeed, purpose: .readNoise, layer: layer, instance: chipSeed)
        forEachPartialSumMatrix(block: block, plan: plan, inputs: inputs, columns: columns, passes: passes,
                                workspace: &workspace) { pass, matrix, group, workspace in
            if let readStream, readNoise[matrix] > 0 {
                addReadNoise(readStream, sigma: readNoise[matrix], plan: plan, pass: pass, passes: passes, matrix: matrix,
                             group: group, width: width, firstColumn: options.columnOffset + firstColumn,
                             vectorised: options.vectorised && CPUFeatures.avx2, workspace: &workspace)
            }
            let rowFactors = normalise(matrix: matrix, group: group, plan: plan, workspace: &workspace)
            let sign: Double = pass == 0 ? 1 : -1
            let cycleFactors = plan.inputSlices.map { sign * factors[matrix] * Double($0.weight) / Double(d.inputScale) }
            // One kernel over all cycles, or one per cycle where their converters differ.
            for cycles in cycleADCs.isEmpty ? [0..<plan.cycles] : (0..<plan.cycles).map({ $0..<($0 + 1) }) {
                let converter = converter(cycle: cycles.lowerBound)
                let conversion = ConversionKernel(
                    adc: converter, transfer: mapping.transfer, transferScale: mapping.transferScale, noise: noise,
                    instanceBase: matrix, matricesPerOutput: matrices.count, adcCount: mapping.adc.count,
                    cycleFactors: cycleFactors, cycleRange: cycles, rowFactors: rowFactors,
                    indexing: .init(passes: passes, pass: pass, groups: plan.groups, group: group, cycles: plan.cycles,
                                    matrices: matrices.count, matrix: matrix, outputs: outputs,
                                    firstColumn: options.columnOffset + firstColumn),
                    vectorised: options.vectorised && CPUFeatures.avx2)
                func convert(_ target: inout ConversionStatistics) {
                    workspace.partial.withUnsafeBufferPointer { partial in
                        accumulator.withUnsafeMutableBufferPointer { acc in
                            workspace.noise.withUnsafeMutableBufferPointer { scratch in
                                clipFlags.withUnsafeMutableBufferPointer { flags in
                                    conversion.run(partial: partial.baseAddress!, stride: plan.stride, outputs: outputs, width: width,
                                                   accumulator: acc.baseAddress!, scratch: scratch.baseAddress!,
                                                   collect: options.collectStatistics, clips: clipped == nil ? nil : flags.baseAddress,
                                                   statistics: &target)
                                }
                            }
                        }
                    }
                }
                if converter.maxCode == adc.maxCode {
                    convert(&statistics)
                } else {
                    convert(&cycleStatistics[cycles.lowerBound])
                }
            }
        } endPass: { pass in
            guard d.weightOffset != 0 else { return }
            // Remove the cells' offset (2^(b−1) or, bipolar, 1 per unit of input, over the weight
            // scale) times Σ_k x_k of the levels this pass drove, digitally and exactly.
            let sign: Double = pass == 0 ? 1 : -1
            let offset = Double(d.weightOffset) / Double(d.weightScale)
            for j in 0..<width {
                var sum = 0.0
                for k in 0..<fanIn {
                    let x = Int(inputs[k * columns + firstColumn + j])
                    sum += Double(passes == 1 ? x : pass == 0 ? max(x, 0) : max(-x, 0))
                }
                for m in 0..<outputs { accumulator[m * width + j] -= sign * offset * sum }
            }
        }
        for (cycle, counts) in cycleStatistics.enumerated() where cycleADCs[cycle].maxCode != adc.maxCode {
            statistics.merge(counts, codesOf: cycleADCs[cycle], onto: adc)
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
