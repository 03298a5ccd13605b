/// How the columns of a run are cut into blocks, the per-worker buffers, and the engine's
/// one loop nest over a block (stack the cycle levels, one SGEMM per conversion matrix and
/// row group).
struct BlockPlan {
    let fanIn: Int
    let outputs: Int
    let columns: Int
    let blockColumns: Int
    let blockCount: Int
    let cycles: Int
    /// The DAC cycles' digits and weights (``Decomposition/inputSlices``).
    let inputSlices: [Decomposition.Slice]
    let inputEncoding: ChipConfig.InputEncoding
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
        inputSlices = d.inputSlices
        inputEncoding = d.inputEncoding
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

    /// Writes each input's cycle digits for one pass: on an unsigned DAC the bits of the
    /// positive (pass 0) or negative (pass 1) parts; as two's complement the word's bits, the
    /// top slice signed if it is wider than a bit; as sign-magnitude the magnitude's bits with
    /// the input's sign; as bipolar ±1 per bit of the two's-complement word, then −1. Cycle-major inner loops over contiguous columns (32-bit integer
    /// arithmetic), so they vectorise; padding columns past the block's width are zero.
    func stackCycles(inputs: [Int32], columns: Int, block: Int, pass: Int, into stacked: inout [Float]) {
        let first = block * blockColumns, width = width(of: block)
        let (cycles, blockColumns, stride) = (self.cycles, self.blockColumns, self.stride)
        // Each cycle's lowest bit: the shift that brings its digit down.
        let shifts = inputSlices.map { Int32(Int($0.weight.magnitude).trailingZeroBitCount) }
        // Each cycle's own width: a narrower last cycle must not see a two's-complement word's sign bits.
        let masks = inputSlices.map { Int32($0.maxDigit) }
        let encoding = inputEncoding
        // A signed multi-bit top cycle of a two's-complement word keeps the arithmetic shift.
        let signedTop = encoding == .twosComplement && inputSlices[cycles - 1].minDigit < 0
        stacked.withUnsafeMutableBufferPointer { s in
            inputs.withUnsafeBufferPointer { x in
                for k in 0..<fanIn {
                    let source = x.baseAddress! + k * columns + first
                    for c in 0..<cycles {
                        let target = s.baseAddress! + k * stride + c * blockColumns
                        let shift = shifts[c], mask = masks[c]
                        var j = 0
                        switch encoding {
                        case .unsigned where pass == 0:
                            while j < width { target[j] = Float((max(source[j], 0) >> shift) & mask); j &+= 1 }
                        case .unsigned:
                            while j < width { target[j] = Float((max(0 &- source[j], 0) >> shift) & mask); j &+= 1 }
                        case .twosComplement where signedTop && c == cycles - 1:
                            while j < width { target[j] = Float(source[j] >> shift); j &+= 1 }
                        case .twosComplement:
                            while j < width { target[j] = Float((source[j] >> shift) & mask); j &+= 1 }
                        case .bipolarXNOR where c == cycles - 1:
                            while j < width { target[j] = -1; j &+= 1 }
                        case .bipolarXNOR:
                            while j < width { target[j] = Float(((source[j] >> shift) & 1) &* 2 &- 1); j &+= 1 }
                        case .signMagnitude:
                            while j < width {
                                let v = source[j], digit = Float((abs(v) >> shift) & mask)
                                target[j] = v < 0 ? -digit : digit
                                j &+= 1
                            }
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

extension ProgrammedLayer {
    /// The engine's loop nest over one block of columns, shared by the run and by every
    /// visitor of partial sums: per pass (0: positive input parts, 1: negative), the block's
    /// cycle levels are stacked once; per conversion matrix and row group, one SGEMM writes
    /// the partial sums into `workspace.partial` (M × cycles·block columns, MAC units), and
    /// `body(pass, matrix, group, &workspace)` consumes them. `endPass(pass)` runs after a
    /// pass's last group. The order is fixed, so results never depend on threads or tiling.
    func forEachPartialSumMatrix(block: Int, plan: BlockPlan, inputs: [Int32], columns: Int, passes: Int,
                                 workspace: inout BlockPlan.Workspace,
                                 _ body: (_ pass: Int, _ matrix: Int, _ group: Int, _ workspace: inout BlockPlan.Workspace) -> Void,
                                 endPass: (_ pass: Int) -> Void = { _ in }) {
        for pass in 0..<passes {
            plan.stackCycles(inputs: inputs, columns: columns, block: block, pass: pass, into: &workspace.stacked)
            for matrix in matrices.indices {
                for group in 0..<plan.groups {
                    plan.partialSums(self, matrix: matrix, group: group, block: block, workspace: &workspace)
                    body(pass, matrix, group, &workspace)
                }
            }
            endPass(pass)
        }
    }
}
