/// 2-D convolution by im2col and SGEMM, a chunk of images at a time.
///
/// Weights are O×C×k×k; the im2col rows run input channel outermost, then kernel row, then
/// column — the fan-in order in which the PIM engine groups inputs per conversion.
/// No bias (the ResNets follow every convolution with batch norm).
///
/// Images are processed in fixed chunks of ``chunkSize``: each image's patches
/// ((C·k·k) × (Ho·Wo), small enough to stay in cache) feed one SGEMM whose output is already
/// the image's O × Ho × Wo block. Chunks run in parallel on `BLAS.threadCount` workers with
/// single-threaded OpenBLAS inside, and weight gradients are summed per chunk in chunk order,
/// so results do not depend on the thread count. Stride-1 convolutions that keep the plane's
/// size (the ResNets' 3×3 with padding 1) build patches as whole-plane shifted copies
/// (``PatchShift``) and compute ∂input as a convolution of ∂output; the others use im2col's
/// row loops and col2im.
public final class Conv2d: Layer {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    public let weight: Parameter
    /// Quantization of the weights (conventional QAT); nil = float weights.
    public var quantizer: WeightQuantizer?
    /// The weights the last forward used, quantized if a quantizer is set.
    public private(set) var quantized: WeightQuantizer.Quantized?
    /// The activation whose integer levels this convolution's inputs are (set by conventional
    /// QAT for every convolution fed by a PACT). With a weight quantizer too, the product runs
    /// on integers, y = s_w · s_a · (W_int · L), exactly as a digital integer accelerator or a
    /// lossless PIM array computes it (sums below 2^24 are exact in single precision).
    public var inputQuantizer: PACT?
    /// Runs the integer product through a PIM chip model (PIM-QAT); used only
    /// when the product runs on integers.
    public var pim: PIMExecution?
    private var input: Tensor = Tensor(zeros: [0])
    /// Images per chunk of work; fixed, so that sums never depend on the thread count.
    static let chunkSize = 8

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                initializer: inout TensorInitializer, name: String = "conv") {
        (self.inChannels, self.outChannels, self.kernel, self.stride, self.padding) = (inChannels, outChannels, kernel, stride, padding)
        weight = Parameter(name: "\(name).weight",
                           value: initializer.kaimingNormal([outChannels, inChannels, kernel, kernel], fanIn: inChannels * kernel * kernel),
                           decays: true)
    }

    public var parameters: [Parameter] { [weight] }
    public var buffers: [(name: String, value: Tensor)] { pim?.buffers ?? [] }
    public func setBuffer(_ name: String, _ value: Tensor) { pim?.setBuffer(name, value) }

    public func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernel) / stride + 1 }

    /// The k·k patch shifts in kernel order when the convolution keeps the plane's size at
    /// stride 1 (ResNets' 3×3 with padding 1 and 1×1 without), else nil.
    func sameSizeShifts(h: Int, w: Int, ho: Int, wo: Int) -> [PatchShift]? {
        guard stride == 1, ho == h, wo == w else { return nil }
        var shifts: [PatchShift] = []
        shifts.reserveCapacity(kernel * kernel)
        for ki in 0..<kernel {
            for kj in 0..<kernel { shifts.append(PatchShift(h: h, w: w, rowShift: ki - padding, columnShift: kj - padding)) }
        }
        return shifts
    }

    /// The weights in use as an O × (C·k·k) matrix: quantized values with a quantizer.
    public var effectiveWeights: [Float] {
        guard let quantizer else { return weight.value.data }
        return quantizer.quantize(weight.value.data, fan: outChannels * kernel * kernel).values
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.rank == 4 && input.shape[1] == inChannels, "Conv2d: input \(input.shape), expected N×\(inChannels)×H×W")
        self.input = input
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let (ho, wo) = (outputSize(h), outputSize(w))
        let rows = inChannels * kernel * kernel, pixels = ho * wo
        quantized = quantizer?.quantize(weight.value.data, fan: outChannels * kernel * kernel)
        let grid = integerGrid
        let weights = grid != nil ? quantized!.integers.map(Float.init) : (quantized?.values ?? weight.value.data)
        let outputScale = grid.map { quantized!.scale * $0.scale } ?? 1
        let perImage = outChannels * pixels
        // On integers, the input becomes its levels once (not once per patch position).
        let source = grid.map { $0.levels(of: input.data) } ?? input.data
        let shifts = sameSizeShifts(h: h, w: w, ho: ho, wo: wo)
        let output = [Float](unsafeUninitializedCapacity: n * perImage) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            let y = UnsafeSendablePointer(base)
            weights.withUnsafeBufferPointer { wv in
                source.withUnsafeBufferPointer { x in
                    forEachChunk(n) { _, images, columns in
                        for image in images {
                            im2col(x.baseAddress! + image * inChannels * h * w, h: h, w: w, ho: ho, wo: wo, shifts: shifts, into: columns)
                            // Zeroed here, by the worker and just before use, then β = 1 (no OpenBLAS β
                            // pass). On integers the exact sum is scaled afterwards: α inside the GEMM
                            // would round per K block.
                            let out = y.pointer + image * perImage
                            out.initialize(repeating: 0, count: perImage)
                            BLAS.sgemm(m: outChannels, n: pixels, k: rows, a: wv.baseAddress!, lda: rows,
                                       b: columns, ldb: pixels, beta: 1, c: out, ldc: pixels)
                            if grid != nil { for i in 0..<perImage { out[i] *= outputScale } }
                        }
                    }
                }
            }
            initialized = n * perImage
        }
        guard let pim, grid != nil else { return Tensor(shape: [n, outChannels, ho, wo], data: output) }
        // The same integer product through the chip model; the digital one above is the
        // straight-through path and the reference of the rescaling.
        let (product, clipped) = pim.product(weights: quantized!.integers, outputs: outChannels, fanIn: rows,
                                             inputs: patchLevels(source, shape: input.shape), columns: n * pixels,
                                             columnsPerExample: pixels)
        var chip = [Float](repeating: 0, count: output.count)
        var clips = clipped.map { [UInt8](repeating: 0, count: $0.count) }
        for image in 0..<n {
            for m in 0..<outChannels {
                for p in 0..<pixels {
                    let source = m * n * pixels + image * pixels + p, target = image * perImage + m * pixels + p
                    chip[target] = Float(product[source]) * outputScale
                    if let clipped { clips![target] = clipped[source] }
                }
            }
        }
        pim.rescale(&chip, ideal: output, clipped: clips, training: training)
        return Tensor(shape: [n, outChannels, ho, wo], data: chip)
    }

    /// The input grid when the product runs on integers: a weight quantizer and an input
    /// quantizer are both set.
    var integerGrid: InputGrid? {
        guard quantizer != nil, let inputQuantizer else { return nil }
        return InputGrid(inputQuantizer)
    }

    /// Every image's patches of the input levels `levels` (N×C×H×W, ``InputGrid/levels(of:)``)
    /// as K × (N · Ho·Wo) row-major integers: column `image · pixels + pixel`, as the PIM engine
    /// takes them.
    func patchLevels(_ levels: [Float], shape: [Int]) -> [Int32] {
        let (n, h, w) = (shape[0], shape[2], shape[3])
        let (ho, wo) = (outputSize(h), outputSize(w))
        let pixels = ho * wo, rows = inChannels * kernel * kernel
        let shifts = sameSizeShifts(h: h, w: w, ho: ho, wo: wo)
        let columnsTotal = n * pixels
        var patches = [Int32](repeating: 0, count: rows * columnsTotal)
        levels.withUnsafeBufferPointer { x in
            patches.withUnsafeMutableBufferPointer { l in
                let l = UnsafeSendablePointer(l.baseAddress!)
                forEachChunk(n) { _, images, columns in
                    for image in images {
                        im2col(x.baseAddress! + image * inChannels * h * w, h: h, w: w, ho: ho, wo: wo, shifts: shifts, into: columns)
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
        let (ho, wo) = (outputSize(h), outputSize(w))
        let rows = inChannels * kernel * kernel, pixels = ho * wo
        let chunks = (n + Conv2d.chunkSize - 1) / Conv2d.chunkSize
        // Both zeroed by the workers, a chunk or an image at a time, just before use.
        let gradientCount = chunks * outChannels * rows, inputCount = input.count
        var chunkGradients = [Float](unsafeUninitializedCapacity: gradientCount) { $1 = gradientCount }
        var dx = [Float](unsafeUninitializedCapacity: inputCount) { $1 = inputCount }
        let weights = quantized?.values ?? weight.value.data
        let gradient = pim?.scaledGradient(gradient) ?? gradient
        // A same-size stride-1 convolution's ∂input is the convolution of ∂output with the
        // flipped, transposed kernel (same padding): its patches of ∂output and one GEMM write
        // ∂input directly, without col2im's scatter or a zeroing pass over the patch gradients.
        let shifts = sameSizeShifts(h: h, w: w, ho: ho, wo: wo)
        // The ∂input GEMM's weights: the flipped kernel, or W as it is (used transposed).
        let inputGradientWeights = shifts == nil ? weights : flippedTransposed(weights)
        let gradientRows = shifts == nil ? rows : outChannels * kernel * kernel
        inputGradientWeights.withUnsafeBufferPointer { wv in
            input.data.withUnsafeBufferPointer { x in
                gradient.data.withUnsafeBufferPointer { dy in
                    chunkGradients.withUnsafeMutableBufferPointer { dw in
                        dx.withUnsafeMutableBufferPointer { dx in
                            let dw = UnsafeSendablePointer(dw.baseAddress!), dx = UnsafeSendablePointer(dx.baseAddress!)
                            forEachChunk(n, extra: gradientRows * pixels) { chunk, images, columns in
                                let dColumns = columns + rows * pixels
                                (dw.pointer + chunk * outChannels * rows).initialize(repeating: 0, count: outChannels * rows)
                                for image in images {
                                    let g = dy.baseAddress! + image * outChannels * pixels
                                    let dxImage = dx.pointer + image * inChannels * h * w
                                    dxImage.initialize(repeating: 0, count: inChannels * h * w)
                                    // The image's patches again (cheaper than keeping every image's).
                                    im2col(x.baseAddress! + image * inChannels * h * w, h: h, w: w, ho: ho, wo: wo, shifts: shifts,
                                           into: columns)
                                    // ∂L/∂w_q of this chunk += dY · colsᵀ
                                    BLAS.sgemm(.none, .transposed, m: outChannels, n: rows, k: pixels, a: g, lda: pixels,
                                               b: columns, ldb: pixels, beta: 1, c: dw.pointer + chunk * outChannels * rows, ldc: rows)
                                    if let shifts {
                                        // ∂x = W̃ · patches(∂y), into the zeroed ∂input (β = 1: no β pass).
                                        samePatches(g, channels: outChannels, shifts: shifts, into: dColumns)
                                        BLAS.sgemm(m: inChannels, n: pixels, k: gradientRows, a: wv.baseAddress!, lda: gradientRows,
                                                   b: dColumns, ldb: pixels, beta: 1, c: dxImage, ldc: pixels)
                                    } else {
                                        // dcols = Wᵀ · dY, then back to the image's pixels.
                                        BLAS.sgemm(.transposed, .none, m: rows, n: pixels, k: outChannels, a: wv.baseAddress!, lda: rows,
                                                   b: g, ldb: pixels, c: dColumns, ldc: pixels)
                                        col2im(dColumns, h: h, w: w, ho: ho, wo: wo, into: dxImage)
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
        let size = outChannels * rows
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
        let derivative = quantized?.derivative
        for i in 0..<size { weight.gradient.data[i] += sums[i] * (derivative?[i] ?? 1) }
        return Tensor(shape: input.shape, data: dx)
    }

    /// Runs `body(chunk, images, workspace)` for every chunk of ``chunkSize`` images, spread over
    /// `BLAS.threadCount` workers (OpenBLAS single-threaded meanwhile). The workspace holds one
    /// image's patches followed by `extra` more values; each worker has its own.
    func forEachChunk(_ n: Int, extra: Int = 0, _ body: (Int, Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        let chunks = (n + Conv2d.chunkSize - 1) / Conv2d.chunkSize
        let workers = max(1, min(BLAS.threadCount, chunks))
        let previous = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = previous }
        let size = inChannels * kernel * kernel * outputSize(input.shape[2]) * outputSize(input.shape[3]) + extra
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

    /// One image's (C·k·k) × (Ho·Wo) patches, zero outside the padded input; `shifts` is
    /// ``sameSizeShifts(h:w:ho:wo:)`` for these sizes (computed once per pass by the caller).
    func im2col(_ x: UnsafePointer<Float>, h: Int, w: Int, ho: Int, wo: Int, shifts: [PatchShift]?,
                into out: UnsafeMutablePointer<Float>) {
        let (k, s, p) = (kernel, stride, padding)
        let pixels = ho * wo
        if let shifts {
            samePatches(x, channels: inChannels, shifts: shifts, into: out)
            return
        }
        for c in 0..<inChannels {
            let plane = x + c * h * w
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = out + ((c * k + ki) * k + kj) * pixels
                    // Output columns whose input column lies inside the image: [first, last).
                    let first = min(wo, max(0, (p - kj + s - 1) / s))
                    let last = max(first, min(wo, (w - 1 + p - kj) / s + 1))
                    // Rows are short (7–32 values): plain counted loops, no library calls.
                    for oh in 0..<ho {
                        let ih = oh &* s &- p &+ ki
                        let target = row + oh &* wo
                        guard ih >= 0 && ih < h else {
                            var j = 0
                            while j < wo { target[j] = 0; j &+= 1 }
                            continue
                        }
                        var j = 0
                        while j < first { target[j] = 0; j &+= 1 }
                        j = last
                        while j < wo { target[j] = 0; j &+= 1 }
                        let offset: Int = ih &* w &+ first &* s &- p &+ kj
                        let source = plane + offset
                        let inside = target + first, count = last &- first
                        j = 0
                        if s == 1 {
                            while j < count { inside[j] = source[j]; j &+= 1 }
                        } else {
                            while j < count { inside[j] = source[j &* s]; j &+= 1 }
                        }
                    }
                }
            }
        }
    }

    /// The patches of one image's `channels` planes for a same-size convolution
    /// (``sameSizeShifts(h:w:ho:wo:)``), as im2col lays them out.
    func samePatches(_ x: UnsafePointer<Float>, channels: Int, shifts: [PatchShift], into out: UnsafeMutablePointer<Float>) {
        guard let plane = shifts.first.map({ $0.h * $0.w }) else { return }
        for c in 0..<channels {
            for (index, shift) in shifts.enumerated() {
                shift.copy(x + c * plane, into: out + (c * shifts.count + index) * plane)
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

    /// Adds one image's patch gradients back to the input positions they came from (the
    /// backward pass of convolutions that change the plane's size).
    func col2im(_ columns: UnsafePointer<Float>, h: Int, w: Int, ho: Int, wo: Int, into dx: UnsafeMutablePointer<Float>) {
        let (k, s, p) = (kernel, stride, padding)
        let pixels = ho * wo
        for c in 0..<inChannels {
            let plane = dx + c * h * w
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = columns + ((c * k + ki) * k + kj) * pixels
                    let first = min(wo, max(0, (p - kj + s - 1) / s))
                    let last = max(first, min(wo, (w - 1 + p - kj) / s + 1))
                    for oh in 0..<ho {
                        let ih = oh * s - p + ki
                        guard ih >= 0 && ih < h else { continue }
                        let source = row + oh * wo + first
                        let target = plane + ih * w + first * s - p + kj
                        // Plain counted loops (wrapping index arithmetic) so the stride-1 case vectorises.
                        let count = last - first
                        if s == 1 {
                            var i = 0
                            while i < count { target[i] += source[i]; i &+= 1 }
                        } else {
                            var i = 0
                            while i < count { target[i &* s] += source[i]; i &+= 1 }
                        }
                    }
                }
            }
        }
    }
}

/// The integer grid of a layer's inputs: level = clamp(round_half_even(x / scale), 0, max).
struct InputGrid {
    let scale: Float
    let inverse: Float
    let maxLevel: Float

    init(_ activation: PACT) {
        scale = activation.scale
        inverse = 1 / activation.scale
        maxLevel = activation.levels
    }

    /// The levels of `values` (as floats 0…maxLevel), computed in parallel into a new array.
    func levels(of values: [Float]) -> [Float] {
        let count = values.count
        return [Float](unsafeUninitializedCapacity: count) { r, initialized in
            values.withUnsafeBufferPointer { v in
                guard let base = r.baseAddress, let source = v.baseAddress else { return }
                let target = UnsafeSendablePointer(base)
                parallelRanges(count) { range in
                    levels(source + range.lowerBound, count: range.count, into: target.pointer + range.lowerBound)
                }
            }
            initialized = count
        }
    }

    /// Writes the levels of `count` values into `target`.
    private func levels(_ values: UnsafePointer<Float>, count: Int, into target: UnsafeMutablePointer<Float>) {
        // Clamping to the integer bounds first gives the same levels and keeps the rounding exact.
        for i in 0..<count { target[i] = roundedHalfEven(min(max(values[i] * inverse, 0), maxLevel)) }
    }
}
