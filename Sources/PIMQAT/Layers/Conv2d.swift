/// 2-D convolution by im2col and SGEMM, a chunk of images at a time.
///
/// Weights are O×(C/g)×k×k, the taps `dilation` pixels apart; the patch geometry is
/// ``ConvGeometry``'s. With g `groups` > 1 the channels split into g groups, output group i
/// reading input group i only (one GEMM per group); such a product runs digitally, its
/// inputs never integers (``Graph/connectIntegerInputs()``), so it is not placed on a chip.
/// No bias (the ResNets follow every convolution with batch norm). Quantization and the chip
/// path are the ``IntegerProduct``'s; the convolution supplies the patch layout.
///
/// Images are processed in fixed chunks of ``chunkSize``: each image's patches
/// ((C·k·k) × (Ho·Wo), small enough to stay in cache) feed one SGEMM whose output is already
/// the image's O × Ho × Wo block. Chunks run in parallel on `BLAS.threadCount` workers with
/// single-threaded OpenBLAS inside, and weight gradients are summed per chunk in chunk order,
/// so results do not depend on the thread count. Same-size stride-1 convolutions compute
/// ∂input as a convolution of ∂output; the others use col2im.
public final class Conv2d: IntegerProductLayer {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, groups: Int
    public let weight: Parameter
    /// The weights' product with the patches: quantizers and the chip path.
    public let product: IntegerProduct
    public var isClassifier: Bool { false }
    private var input: Tensor = Tensor(zeros: [0])
    /// Images per chunk of work; fixed, so that sums never depend on the thread count.
    static let chunkSize = 8

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1,
                initializer: inout TensorInitializer, name: String = "conv") {
        precondition(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0, "Conv2d: \(inChannels) → \(outChannels) in \(groups) groups")
        (self.inChannels, self.outChannels, self.kernel, self.stride, self.padding) = (inChannels, outChannels, kernel, stride, padding)
        (self.dilation, self.groups) = (dilation, groups)
        let perGroup = inChannels / groups
        weight = Parameter(name: "\(name).weight",
                           value: initializer.kaimingNormal([outChannels, perGroup, kernel, kernel], fanIn: perGroup * kernel * kernel),
                           decays: true)
        product = IntegerProduct(weight: weight, outputs: outChannels, quantizationFan: outChannels * kernel * kernel)
    }

    public var parameters: [Parameter] { [weight] }
    public var buffers: [(name: String, value: Tensor)] { product.buffers }
    public func setBuffer(_ name: String, _ value: Tensor) { product.setBuffer(name, value) }

    public func outputSize(_ size: Int) -> Int { ConvGeometry.outputSize(size, kernel: kernel, stride: stride, padding: padding, dilation: dilation) }

    func geometry(h: Int, w: Int) -> ConvGeometry {
        ConvGeometry(channels: inChannels, kernel: kernel, stride: stride, padding: padding, dilation: dilation, h: h, w: w)
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.rank == 4 && input.shape[1] == inChannels, "Conv2d: input \(input.shape), expected N×\(inChannels)×H×W")
        self.input = input
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let geometry = geometry(h: h, w: w)
        let (ho, wo, pixels) = (geometry.ho, geometry.wo, geometry.pixels)
        let (groupOutputs, groupRows) = (outChannels / groups, geometry.rows / groups)
        let operands = product.forwardOperands()
        product.columnsPerExample = pixels
        let (weights, grid, outputScale) = (operands.weights, operands.grid, operands.outputScale)
        let perImage = outChannels * pixels
        // On integers, the input becomes its levels once (not once per patch position).
        let source = grid.map { $0.levels(of: input.data) } ?? input.data
        let output = [Float](unsafeUninitializedCapacity: n * perImage) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            let y = UnsafeSendablePointer(base)
            weights.withUnsafeBufferPointer { wv in
                source.withUnsafeBufferPointer { x in
                    forEachChunk(n, geometry: geometry) { _, images, columns in
                        for image in images {
                            geometry.im2col(x.baseAddress! + image * inChannels * h * w, into: columns)
                            // Zeroed here, by the worker and just before use, then β = 1 (no OpenBLAS β
                            // pass). On integers the exact sum is scaled afterwards: α inside the GEMM
                            // would round per K block.
                            let out = y.pointer + image * perImage
                            out.initialize(repeating: 0, count: perImage)
                            for group in 0..<groups {
                                BLAS.sgemm(m: groupOutputs, n: pixels, k: groupRows, a: wv.baseAddress! + group * groupOutputs * groupRows, lda: groupRows,
                                           b: columns + group * groupRows * pixels, ldb: pixels, beta: 1, c: out + group * groupOutputs * pixels, ldc: pixels)
                            }
                            if grid != nil { for i in 0..<perImage { out[i] *= outputScale } }
                        }
                    }
                }
            }
            initialized = n * perImage
        }
        let chip = product.throughChip(digital: output, examples: n, columnsPerExample: pixels, training: training) {
            patchLevels(source, n: n, geometry: geometry)
        }
        return Tensor(shape: [n, outChannels, ho, wo], data: chip ?? output)
    }

    /// Every image's patches of the input levels `levels` (N×C×H×W, ``InputGrid/levels(of:)``)
    /// as K × (N · Ho·Wo) row-major integers: column `image · pixels + pixel`, as the PIM engine
    /// takes them.
    func patchLevels(_ levels: [Float], n: Int, geometry: ConvGeometry) -> [Int32] {
        let (h, w, pixels, rows) = (geometry.h, geometry.w, geometry.pixels, geometry.rows)
        let columnsTotal = n * pixels
        var patches = [Int32](repeating: 0, count: rows * columnsTotal)
        levels.withUnsafeBufferPointer { x in
            patches.withUnsafeMutableBufferPointer { l in
                let l = UnsafeSendablePointer(l.baseAddress!)
                forEachChunk(n, geometry: geometry) { _, images, columns in
                    for image in images {
                        geometry.im2col(x.baseAddress! + image * inChannels * h * w, into: columns)
                        for r in 0..<rows {
                            let target = l.pointer + r * columnsTotal + image * pixels, source = columns + r * pixels
                            var p = 0
                            while p < pixels { target[p] = exactLevel(source[p]); p &+= 1 }
                        }
                    }
                }
            }
        }
        return patches
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let geometry = geometry(h: h, w: w)
        let (rows, pixels) = (geometry.rows, geometry.pixels)
        // Per group: output channels and patch rows (the weight's row length).
        let (groupOutputs, groupRows) = (outChannels / groups, rows / groups)
        let chunks = (n + Conv2d.chunkSize - 1) / Conv2d.chunkSize
        // Both zeroed by the workers, a chunk or an image at a time, just before use.
        let gradientCount = chunks * outChannels * groupRows, inputCount = input.count
        var chunkGradients = [Float](unsafeUninitializedCapacity: gradientCount) { $1 = gradientCount }
        var dx = [Float](unsafeUninitializedCapacity: inputCount) { $1 = inputCount }
        let weights = product.backwardWeights
        let gradient = product.incomingGradient(gradient)
        // A same-size stride-1 convolution's ∂input is the convolution of ∂output with the
        // flipped, transposed kernel (same padding): its patches of ∂output and one GEMM write
        // ∂input directly, without col2im's scatter or a zeroing pass over the patch gradients.
        let shifts = groups == 1 ? geometry.shifts : nil
        // The ∂input GEMM's weights: the flipped kernel, or W as it is (used transposed).
        let inputGradientWeights = shifts == nil ? weights : flippedTransposed(weights)
        let gradientRows = shifts == nil ? rows : outChannels * kernel * kernel
        inputGradientWeights.withUnsafeBufferPointer { wv in
            input.data.withUnsafeBufferPointer { x in
                gradient.data.withUnsafeBufferPointer { dy in
                    chunkGradients.withUnsafeMutableBufferPointer { dw in
                        dx.withUnsafeMutableBufferPointer { dx in
                            let dw = UnsafeSendablePointer(dw.baseAddress!), dx = UnsafeSendablePointer(dx.baseAddress!)
                            forEachChunk(n, geometry: geometry, extra: gradientRows * pixels) { chunk, images, columns in
                                let dColumns = columns + rows * pixels
                                let chunkGradient = dw.pointer + chunk * outChannels * groupRows
                                chunkGradient.initialize(repeating: 0, count: outChannels * groupRows)
                                for image in images {
                                    let g = dy.baseAddress! + image * outChannels * pixels
                                    let dxImage = dx.pointer + image * inChannels * h * w
                                    dxImage.initialize(repeating: 0, count: inChannels * h * w)
                                    // The image's patches again (cheaper than keeping every image's).
                                    geometry.im2col(x.baseAddress! + image * inChannels * h * w, into: columns)
                                    // ∂L/∂w_q of this chunk += dY · colsᵀ, group by group
                                    for group in 0..<groups {
                                        BLAS.sgemm(.none, .transposed, m: groupOutputs, n: groupRows, k: pixels, a: g + group * groupOutputs * pixels, lda: pixels,
                                                   b: columns + group * groupRows * pixels, ldb: pixels, beta: 1,
                                                   c: chunkGradient + group * groupOutputs * groupRows, ldc: groupRows)
                                    }
                                    if let shifts {
                                        // ∂x = W̃ · patches(∂y), into the zeroed ∂input (β = 1: no β pass).
                                        ConvGeometry.samePatches(g, channels: outChannels, shifts: shifts, into: dColumns)
                                        BLAS.sgemm(m: inChannels, n: pixels, k: gradientRows, a: wv.baseAddress!, lda: gradientRows,
                                                   b: dColumns, ldb: pixels, beta: 1, c: dxImage, ldc: pixels)
                                    } else {
                                        // dcols = Wᵀ · dY (group by group), then back to the image's pixels.
                                        for group in 0..<groups {
                                            BLAS.sgemm(.transposed, .none, m: groupRows, n: pixels, k: groupOutputs,
                                                       a: wv.baseAddress! + group * groupOutputs * groupRows, lda: groupRows,
                                                       b: g + group * groupOutputs * pixels, ldb: pixels, c: dColumns + group * groupRows * pixels, ldc: pixels)
                                        }
                                        geometry.col2im(dColumns, into: dxImage)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Chunks summed in order, then straight through the quantizer's rounding.
        // (Chunk outermost, so memory is read in order; each element still sums chunk 0, 1, ….)
        let size = outChannels * groupRows
        var sums = [Float](repeating: 0, count: size)
        sums.withUnsafeMutableBufferPointer { sums in
            chunkGradients.withUnsafeBufferPointer { g in
                for chunk in 0..<chunks {
                    let part = g.baseAddress! + chunk * size
                    var i = 0
                    while i < size { sums[i] += part[i]; i &+= 1 }
                }
            }
        }
        product.accumulateWeightGradient(sums)
        return Tensor(shape: input.shape, data: dx)
    }

    /// Runs `body(chunk, images, workspace)` for every chunk of ``chunkSize`` images, spread over
    /// `BLAS.threadCount` workers (OpenBLAS single-threaded meanwhile). The workspace holds one
    /// image's patches followed by `extra` more values; each worker has its own.
    func forEachChunk(_ n: Int, geometry: ConvGeometry, extra: Int = 0, _ body: (Int, Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        let chunks = (n + Conv2d.chunkSize - 1) / Conv2d.chunkSize
        let workers = max(1, min(BLAS.threadCount, chunks))
        let previous = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = previous }
        let size = geometry.rows * geometry.pixels + extra
        parallelFor(workers, workPerItem: 1 << 17) { worker in
            let workspace = UnsafeMutablePointer<Float>.allocate(capacity: size)
            defer { workspace.deallocate() }
            var chunk = worker
            while chunk < chunks {
                body(chunk, (chunk * Conv2d.chunkSize)..<min(n, (chunk + 1) * Conv2d.chunkSize), workspace)
                chunk += workers
            }
        }
    }

    /// The kernel as the weights of ∂input's convolution: C × (O·k·k), entry [c][(o, i, j)] =
    /// W[o][c][k−1−i][k−1−j].
    func flippedTransposed(_ weights: [Float]) -> [Float] {
        let k = kernel, area = k * k
        var result = [Float](repeating: 0, count: weights.count)
        for o in 0..<outChannels {
            for c in 0..<inChannels {
                for i in 0..<k {
                    for j in 0..<k {
                        result[(c * outChannels + o) * area + i * k + j] = weights[(o * inChannels + c) * area + (k - 1 - i) * k + (k - 1 - j)]
                    }
                }
            }
        }
        return result
    }
}
