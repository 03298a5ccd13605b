/// 2-D convolution by im2col and one SGEMM per batch.
///
/// Weights are O×C×k×k; the im2col rows run input channel outermost, then kernel row, then
/// column — the fan-in order in which the PIM engine groups inputs per conversion.
/// No bias (the ResNets follow every convolution with batch norm).
public final class Conv2d: Layer {
    public let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int
    public let weight: Parameter
    /// Quantization of the weights (conventional QAT); nil = float weights.
    public var quantizer: WeightQuantizer?
    /// The weights the last forward used, quantized if a quantizer is set.
    public private(set) var quantized: WeightQuantizer.Quantized?
    /// Workspaces kept across steps: the forward patches (needed again by backward) and their
    /// gradient. Reusing them avoids page-faulting tens of megabytes in every step.
    private var columns: [Float] = []
    private var dColumns: [Float] = []
    private var inputShape: [Int] = []

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                initializer: inout TensorInitializer, name: String = "conv") {
        (self.inChannels, self.outChannels, self.kernel, self.stride, self.padding) = (inChannels, outChannels, kernel, stride, padding)
        weight = Parameter(name: "\(name).weight",
                           value: initializer.kaimingNormal([outChannels, inChannels, kernel, kernel], fanIn: inChannels * kernel * kernel),
                           decays: true)
    }

    public var parameters: [Parameter] { [weight] }

    public func outputSize(_ size: Int) -> Int { (size + 2 * padding - kernel) / stride + 1 }

    /// The weights in use as an O × (C·k·k) matrix: quantized values with a quantizer.
    public var effectiveWeights: [Float] {
        guard let quantizer else { return weight.value.data }
        return quantizer.quantize(weight.value.data, fan: outChannels * kernel * kernel).values
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.rank == 4 && input.shape[1] == inChannels, "Conv2d: input \(input.shape), expected N×\(inChannels)×H×W")
        inputShape = input.shape
        let (n, h, w) = (input.shape[0], input.shape[2], input.shape[3])
        let (ho, wo) = (outputSize(h), outputSize(w))
        let rows = inChannels * kernel * kernel, cols = n * ho * wo
        im2col(input.data, n: n, h: h, w: w, ho: ho, wo: wo, into: &columns)
        quantized = quantizer?.quantize(weight.value.data, fan: outChannels * kernel * kernel)
        var product = [Float](repeating: 0, count: outChannels * cols)
        (quantized?.values ?? weight.value.data).withUnsafeBufferPointer { a in
            columns.withUnsafeBufferPointer { b in
                product.withUnsafeMutableBufferPointer { c in
                    BLAS.sgemm(m: outChannels, n: cols, k: rows, a: a.baseAddress!, lda: rows,
                               b: b.baseAddress!, ldb: cols, c: c.baseAddress!, ldc: cols)
                }
            }
        }
        // O × (N·Ho·Wo) → N × O × Ho × Wo.
        return Tensor(shape: [n, outChannels, ho, wo], data: Conv2d.swapLeading(product, outer: outChannels, inner: n, block: ho * wo))
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let (n, h, w) = (inputShape[0], inputShape[2], inputShape[3])
        let (ho, wo) = (outputSize(h), outputSize(w))
        let rows = inChannels * kernel * kernel, cols = n * ho * wo
        let dy = Conv2d.swapLeading(gradient.data, outer: n, inner: outChannels, block: ho * wo)  // O × (N·Ho·Wo)
        if dColumns.count != rows * cols { dColumns = [Float](repeating: 0, count: rows * cols) }
        var dWeights = [Float](repeating: 0, count: weight.value.count)
        dy.withUnsafeBufferPointer { dy in
            columns.withUnsafeBufferPointer { x in
                dWeights.withUnsafeMutableBufferPointer { dw in
                    // ∂L/∂w_q = dY · colsᵀ
                    BLAS.sgemm(.none, .transposed, m: outChannels, n: rows, k: cols, a: dy.baseAddress!, lda: cols,
                               b: x.baseAddress!, ldb: cols, c: dw.baseAddress!, ldc: rows)
                }
            }
            (quantized?.values ?? weight.value.data).withUnsafeBufferPointer { wv in
                dColumns.withUnsafeMutableBufferPointer { dc in
                    // dcols = Wᵀ · dY
                    BLAS.sgemm(.transposed, .none, m: rows, n: cols, k: outChannels, a: wv.baseAddress!, lda: rows,
                               b: dy.baseAddress!, ldb: cols, c: dc.baseAddress!, ldc: cols)
                }
            }
        }
        // ∂L/∂W: straight through the quantizer's rounding.
        let derivative = quantized?.derivative
        for i in 0..<dWeights.count { weight.gradient.data[i] += dWeights[i] * (derivative?[i] ?? 1) }
        return Tensor(shape: inputShape, data: col2im(dColumns, n: n, h: h, w: w, ho: ho, wo: wo))
    }

    /// (C·k·k) × (N·Ho·Wo) patches, zero outside the padded input, written over `result`.
    func im2col(_ x: [Float], n: Int, h: Int, w: Int, ho: Int, wo: Int, into result: inout [Float]) {
        let cols = n * ho * wo
        if result.count != inChannels * kernel * kernel * cols { result = [Float](repeating: 0, count: inChannels * kernel * kernel * cols) }
        let (k, s, p) = (kernel, stride, padding)
        x.withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { out in
                let out = UnsafeSendablePointer(out.baseAddress!)
                parallelFor(inChannels, workPerItem: k * k * cols) { c in
                    for ki in 0..<k {
                        for kj in 0..<k {
                            let row = out.pointer + ((c * k + ki) * k + kj) * cols
                            for image in 0..<n {
                                let plane = x.baseAddress! + (image * inChannels + c) * h * w
                                for oh in 0..<ho {
                                    let ih = oh * s - p + ki
                                    let target = row + (image * ho + oh) * wo
                                    guard ih >= 0 && ih < h else {
                                        target.update(repeating: 0, count: wo)
                                        continue
                                    }
                                    // Output columns whose input column lies inside the image: [first, last).
                                    let first = min(wo, max(0, (p - kj + s - 1) / s))
                                    let last = max(first, min(wo, (w - 1 + p - kj) / s + 1))
                                    if first > 0 { target.update(repeating: 0, count: first) }
                                    if last < wo { (target + last).update(repeating: 0, count: wo - last) }
                                    let source = plane + ih * w + first * s - p + kj
                                    if s == 1 {
                                        (target + first).update(from: source, count: last - first)
                                    } else {
                                        for ow in first..<last { target[ow] = source[(ow - first) * s] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds each patch gradient back to the input position it came from.
    func col2im(_ columns: [Float], n: Int, h: Int, w: Int, ho: Int, wo: Int) -> [Float] {
        let cols = n * ho * wo
        var result = [Float](repeating: 0, count: n * inChannels * h * w)
        let (k, s, p) = (kernel, stride, padding)
        columns.withUnsafeBufferPointer { dc in
            result.withUnsafeMutableBufferPointer { dx in
                let dx = UnsafeSendablePointer(dx.baseAddress!)
                parallelFor(inChannels, workPerItem: k * k * cols) { c in
                    for ki in 0..<k {
                        for kj in 0..<k {
                            let row = dc.baseAddress! + ((c * k + ki) * k + kj) * cols
                            for image in 0..<n {
                                let plane = dx.pointer + (image * inChannels + c) * h * w
                                for oh in 0..<ho {
                                    let ih = oh * s - p + ki
                                    guard ih >= 0 && ih < h else { continue }
                                    let source = row + (image * ho + oh) * wo
                                    let first = min(wo, max(0, (p - kj + s - 1) / s))
                                    let last = max(first, min(wo, (w - 1 + p - kj) / s + 1))
                                    let target = plane + ih * w + first * s - p + kj
                                    if s == 1 {
                                        for ow in first..<last { target[ow - first] += source[ow] }
                                    } else {
                                        for ow in first..<last { target[(ow - first) * s] += source[ow] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Swaps the two leading axes of an outer × inner × block array.
    static func swapLeading(_ values: [Float], outer: Int, inner: Int, block: Int) -> [Float] {
        var result = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { v in
            result.withUnsafeMutableBufferPointer { r in
                for a in 0..<outer {
                    for b in 0..<inner {
                        (r.baseAddress! + (b * outer + a) * block).update(from: v.baseAddress! + (a * inner + b) * block, count: block)
                    }
                }
            }
        }
        return result
    }
}

/// A pointer handed to parallel workers that write disjoint parts of it.
struct UnsafeSendablePointer<Pointee>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Pointee>
    init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
}
