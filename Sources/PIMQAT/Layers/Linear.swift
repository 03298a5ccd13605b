/// A fully connected layer: y = x · Wᵀ + b for x of shape N × in, W of shape out × in.
/// Its products are small and run on one OpenBLAS thread, so results do not depend on the
/// thread count. Quantization and the chip path are the ``IntegerProduct``'s.
public final class Linear: IntegerProductLayer {
    public let inFeatures: Int, outFeatures: Int
    public let weight: Parameter
    public let bias: Parameter
    /// The weights' product with the inputs: quantizers and the chip path.
    public let product: IntegerProduct
    public var isClassifier: Bool { true }
    private var input: Tensor = Tensor(zeros: [0])

    public init(_ inFeatures: Int, _ outFeatures: Int, initializer: inout TensorInitializer, name: String = "fc") {
        (self.inFeatures, self.outFeatures) = (inFeatures, outFeatures)
        let bound = 1 / Double(inFeatures).squareRoot()
        weight = Parameter(name: "\(name).weight", value: initializer.uniform([outFeatures, inFeatures], bound: bound), decays: true)
        bias = Parameter(name: "\(name).bias", value: initializer.uniform([outFeatures], bound: bound), decays: false)
        product = IntegerProduct(weight: weight, outputs: outFeatures, quantizationFan: inFeatures)
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var buffers: [(name: String, value: Tensor)] { product.buffers }
    public func setBuffer(_ name: String, _ value: Tensor) { product.setBuffer(name, value) }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.rank == 2 && input.shape[1] == inFeatures, "Linear: input \(input.shape), expected N×\(inFeatures)")
        self.input = input
        let n = input.shape[0]
        let operands = product.forwardOperands()
        product.columnsPerExample = 1
        let grid = operands.grid
        let x = grid.map { $0.levels(of: input.data) } ?? input.data
        var output = [Float](repeating: 0, count: n * outFeatures)
        BLAS.singleThreaded {
        x.withUnsafeBufferPointer { x in
            operands.weights.withUnsafeBufferPointer { w in
                output.withUnsafeMutableBufferPointer { y in
                    BLAS.sgemm(.none, .transposed, m: n, n: outFeatures, k: inFeatures, a: x.baseAddress!, lda: inFeatures,
                               b: w.baseAddress!, ldb: inFeatures, c: y.baseAddress!, ldc: outFeatures)
                }
            }
        }
        }
        if grid != nil {
            let scale = operands.outputScale
            for i in output.indices { output[i] *= scale }
            // Inputs as K × N levels (one column per example).
            let chip = product.throughChip(digital: output, examples: n, columnsPerExample: 1, training: training) {
                var levels = [Int32](repeating: 0, count: inFeatures * n)
                for row in 0..<n { for k in 0..<inFeatures { levels[k * n + row] = Int32(x[row * inFeatures + k]) } }
                return levels
            }
            if let chip { output = chip }
        }
        for row in 0..<n { for o in 0..<outFeatures { output[row * outFeatures + o] += bias.value.data[o] } }
        return Tensor(shape: [n, outFeatures], data: output)
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let n = input.shape[0]
        for row in 0..<n { for o in 0..<outFeatures { bias.gradient.data[o] += gradient.data[row * outFeatures + o] } }
        let gradient = product.incomingGradient(gradient)
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
            product.backwardWeights.withUnsafeBufferPointer { w in
                dx.withUnsafeMutableBufferPointer { dx in
                    BLAS.sgemm(m: n, n: inFeatures, k: outFeatures, a: dy.baseAddress!, lda: outFeatures,
                               b: w.baseAddress!, ldb: inFeatures, c: dx.baseAddress!, ldc: inFeatures)
                }
            }
        }
        }
        product.accumulateWeightGradient(dWeights)
        return Tensor(shape: input.shape, data: dx)
    }
}
