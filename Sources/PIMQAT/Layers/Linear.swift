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
    private var input: Tensor = Tensor(zeros: [0])

    public init(_ inFeatures: Int, _ outFeatures: Int, initializer: inout TensorInitializer, name: String = "fc") {
        (self.inFeatures, self.outFeatures) = (inFeatures, outFeatures)
        let bound = 1 / Double(inFeatures).squareRoot()
        weight = Parameter(name: "\(name).weight", value: initializer.uniform([outFeatures, inFeatures], bound: bound), decays: true)
        bias = Parameter(name: "\(name).bias", value: initializer.uniform([outFeatures], bound: bound), decays: false)
    }

    public var parameters: [Parameter] { [weight, bias] }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.rank == 2 && input.shape[1] == inFeatures, "Linear: input \(input.shape), expected N×\(inFeatures)")
        self.input = input
        let n = input.shape[0]
        var out = [Float](repeating: 0, count: n * outFeatures)
        for row in 0..<n { for o in 0..<outFeatures { out[row * outFeatures + o] = bias.value.data[o] } }
        quantized = quantizer?.quantize(weight.value.data, fan: inFeatures)
        BLAS.singleThreaded {
        input.data.withUnsafeBufferPointer { x in
            (quantized?.values ?? weight.value.data).withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { y in
                    BLAS.sgemm(.none, .transposed, m: n, n: outFeatures, k: inFeatures, a: x.baseAddress!, lda: inFeatures,
                               b: w.baseAddress!, ldb: inFeatures, beta: 1, c: y.baseAddress!, ldc: outFeatures)
                }
            }
        }
        }
        return Tensor(shape: [n, outFeatures], data: out)
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let n = input.shape[0]
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
        for row in 0..<n { for o in 0..<outFeatures { bias.gradient.data[o] += gradient.data[row * outFeatures + o] } }
        return Tensor(shape: input.shape, data: dx)
    }
}
