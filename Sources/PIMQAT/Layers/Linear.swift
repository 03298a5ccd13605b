/// A fully connected layer: y = x · Wᵀ + b for x of shape N × in, W of shape out × in.
/// Its products are small and run on one OpenBLAS thread, so results do not depend on the
/// thread count.
public final class Linear: Layer {
    public let inFeatures: Int, outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter
    /// Quantization of the weights (conventional QAT); nil = float weights.
    public var quantizer: WeightQuantizer?
    /// The weights the last forward used, quantized if a quantizer is set.
    public private(set) var quantized: WeightQuantizer.Quantized?
    /// The activation whose grid the inputs are quantized to before an integer product
    /// (set only to run the classifier on a chip: its pooled inputs are rounded to that grid).
    public var inputQuantizer: PACT?
    /// Runs the integer product through a PIM chip model.
    public var pim: PIMExecution?
    private var input: Tensor = Tensor(zeros: [0])

    public init(_ inFeatures: Int, _ outFeatures: Int, initializer: inout TensorInitializer, name: String = "fc") {
        (self.inFeatures, self.outFeatures) = (inFeatures, outFeatures)
        let bound = 1 / Double(inFeatures).squareRoot()
        weight = Parameter(name: "\(name).weight", value: initializer.uniform([outFeatures, inFeatures], bound: bound), decays: true)
        bias = Parameter(name: "\(name).bias", value: initializer.uniform([outFeatures], bound: bound), decays: false)
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [(name: String, value: Tensor)] { pim?.buffers ?? [] }
    public func setBuffer(_ name: String, _ value: Tensor) { pim?.setBuffer(name, value) }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.rank == 2 && input.shape[1] == inFeatures, "Linear: input \(input.shape), expected N×\(inFeatures)")
        self.input = input
        let n = input.shape[0]
        quantized = quantizer?.quantize(weight.value.data, fan: inFeatures)
        let grid = quantized != nil ? inputQuantizer.map(InputGrid.init) : nil
        let x = grid.map { $0.levels(of: input.data) } ?? input.data
        let weights = grid != nil ? quantized!.integers.map(Float.init) : (quantized?.values ?? weight.value.data)
        var product = [Float](repeating: 0, count: n * outFeatures)
        BLAS.singleThreaded {
        x.withUnsafeBufferPointer { x in
            weights.withUnsafeBufferPointer { w in
                product.withUnsafeMutableBufferPointer { y in
                    BLAS.sgemm(.none, .transposed, m: n, n: outFeatures, k: inFeatures, a: x.baseAddress!, lda: inFeatures,
                               b: w.baseAddress!, ldb: inFeatures, c: y.baseAddress!, ldc: outFeatures)
                }
            }
        }
        }
        if let grid {
            let scale = quantized!.scale * grid.scale
            for i in product.indices { product[i] *= scale }
            if let pim {
                // Inputs as K × N levels (one column per example), outputs back to N × M.
                var levels = [Int32](repeating: 0, count: inFeatures * n)
                for row in 0..<n { for k in 0..<inFeatures { levels[k * n + row] = Int32(x[row * inFeatures + k]) } }
                let (y, clipped) = pim.product(weights: quantized!.integers, outputs: outFeatures, fanIn: inFeatures, inputs: levels,
                                               columns: n, columnsPerExample: 1)
                var chip = [Float](repeating: 0, count: n * outFeatures)
                var clips = clipped.map { [UInt8](repeating: 0, count: $0.count) }
                for row in 0..<n {
                    for o in 0..<outFeatures {
                        chip[row * outFeatures + o] = Float(y[o * n + row]) * scale
                        if let clipped { clips![row * outFeatures + o] = clipped[o * n + row] }
                    }
                }
                pim.rescale(&chip, ideal: product, clipped: clips, training: training)
                product = chip
            }
        }
        for row in 0..<n { for o in 0..<outFeatures { product[row * outFeatures + o] += bias.value.data[o] } }
        return Tensor(shape: [n, outFeatures], data: product)
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let n = input.shape[0]
        for row in 0..<n { for o in 0..<outFeatures { bias.gradient.data[o] += gradient.data[row * outFeatures + o] } }
        let gradient = pim?.scaledGradient(gradient) ?? gradient
        var dx = [Float](repeating: 0, count: n * inFeatures)
        var dWeights = [Float](repeating: 0, count: weight.value.count)
        BLAS.singleThreaded {
        gradient.data.withUnsafeBufferPointer { dy in
            input.data.withUnsafeBufferPointer { x in
                dWeights.withUnsafeMutableBufferPointer { dw in
                    BLAS.sgemm(.transposed, .none, m: outFeatures, n: inFeatures, k: n, a: dy.baseAddress!, lda: outFeatures,
                               b: x.baseAddress!, ldb: inFeatures, c: dw.baseAddress!, ldc: inFeatures)
                }
            }
            (quantized?.values ?? weight.value.data).withUnsafeBufferPointer { w in
                dx.withUnsafeMutableBufferPointer { dx in
                    BLAS.sgemm(m: n, n: inFeatures, k: outFeatures, a: dy.baseAddress!, lda: outFeatures,
                               b: w.baseAddress!, ldb: inFeatures, c: dx.baseAddress!, ldc: inFeatures)
                }
            }
        }
        }
        let derivative = quantized?.derivative
        for i in 0..<dWeights.count { weight.gradient.data[i] += dWeights[i] * (derivative?[i] ?? 1) }
        return Tensor(shape: input.shape, data: dx)
    }
}
