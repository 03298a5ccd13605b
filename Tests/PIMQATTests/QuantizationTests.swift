import Foundation
import Testing
@testable import PIMQAT

@Suite("Conventional QAT")
struct QuantizationTests {
    @Test(arguments: [2, 4, 8])
    func doReFaWeightsLieOnTheTwosComplementGrid(bits: Int) {
        let weights = GradientCheckTests.random([200], seed: 1).data
        let q = WeightQuantizer(bits: bits, rescale: false).quantize(weights, fan: 1)
        let half = Int32(1 << (bits - 1))
        #expect(q.integers.allSatisfy { (-half...(half - 1)).contains($0) })
        #expect(q.scale == 1 / Float(half))
        #expect(zip(q.values, q.integers).allSatisfy { $0 == Float($1) * q.scale })
        // The largest |tanh(W)| maps to the grid's end.
        let top = weights.indices.max { abs(weights[$0]) < abs(weights[$1]) }!
        #expect(abs(q.integers[top]) >= half - 1)
    }

    /// The straight-through derivative is the derivative of the un-rounded map
    /// W ↦ scale·2^(b−1)·tanh(W)/max|tanh W| with the maximum held fixed.
    @Test func straightThroughDerivativeMatchesTheUnroundedMap() {
        let weights: [Float] = [0.3, -0.8, 1.2, 0.05]
        let q = WeightQuantizer(bits: 4, rescale: true).quantize(weights, fan: 9)
        let maximum = weights.map { tanh(Double($0)) }.map(abs).max()!
        for (i, w) in weights.enumerated() where i != 2 {  // index 2 holds the maximum
            let h = 1e-4
            let numeric = (tanh(Double(w) + h) - tanh(Double(w) - h)) / (2 * h) / maximum * Double(q.scale) * 8
            #expect(abs(Double(q.derivative[i]) - numeric) < 1e-4 * max(1, abs(numeric)))
        }
    }

    /// A clip normalises by c·rms(tanh W) when that is below the maximum: the small weights
    /// reach higher integers, the outlier clips to the grid's end and gets no gradient, the
    /// others' derivative uses the clipped normaliser.
    @Test func clipSpreadsTheIntegersAndStopsTheClippedGradient() {
        let weights: [Float] = [0.02, -0.05, 0.07, -0.1, 0.12, 0.04, -0.03, 2.0]
        let plain = WeightQuantizer(bits: 4, rescale: false).quantize(weights, fan: 1)
        let clipped = WeightQuantizer(bits: 4, rescale: false, clip: 1.5).quantize(weights, fan: 1)
        let t = weights.map { tanh(Double($0)) }
        let meanSquare: Double = t.map { $0 * $0 }.reduce(0, +) / Double(t.count)
        let normaliser = 1.5 * meanSquare.squareRoot()
        #expect(normaliser < t.map(abs).max()!)
        for i in 0..<7 {
            let level: Double = t[i] / normaliser * 8
            let expected = Int32(level.rounded())
            #expect(clipped.integers[i] == expected, "weight \(i)")
            #expect(abs(clipped.integers[i]) >= abs(plain.integers[i]))
            let h = 1e-4
            let w = Double(weights[i])
            let slope: Double = (tanh(w + h) - tanh(w - h)) / (2 * h)
            let numeric: Double = slope / normaliser * Double(clipped.scale) * 8
            #expect(abs(Double(clipped.derivative[i]) - numeric) < 1e-4 * max(1, abs(numeric)))
        }
        let plainSum = plain.integers[..<7].map { abs($0) }.reduce(0, +), clippedSum = clipped.integers[..<7].map { abs($0) }.reduce(0, +)
        #expect(plainSum < clippedSum)
        #expect(clipped.integers[7] == 7 && clipped.derivative[7] == 0)
        // A clip above the maximum changes nothing.
        let loose = WeightQuantizer(bits: 4, rescale: false, clip: 100).quantize(weights, fan: 1)
        #expect(loose.integers == plain.integers && loose.derivative == plain.derivative)
    }

    @Test func rescaleSetsTheStandardDeviation() {
        let weights = GradientCheckTests.random([16 * 9 * 8], seed: 2).data
        let q = WeightQuantizer(bits: 4).quantize(weights, fan: 16 * 9)
        let mean = q.values.reduce(0, +) / Float(q.values.count)
        let std = (q.values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(q.values.count)).squareRoot()
        #expect(abs(std - 1 / 12) < 1e-4)  // 1/√144
    }

    @Test func pactQuantizesToLevelsAndPassesGradientsInsideTheClip() {
        let pact = PACT(bits: 2, initialAlpha: 3, name: "a")
        let x = Tensor(shape: [6], data: [-1, 0.4, 0.6, 2.9, 3.5, 10])
        let y = pact.forward(x, training: true)
        // L = 3 levels of 1: round(x) clipped to 0…3.
        #expect(y.data == [0, 0, 1, 3, 3, 3])
        #expect(pact.integerLevels(x) == [0, 0, 1, 3, 3, 3])
        pact.alpha.zeroGradient()
        let dx = pact.backward(Tensor(shape: [6], data: [1, 1, 1, 1, 1, 1]))
        #expect(dx.data == [0, 1, 1, 1, 0, 0])
        #expect(pact.alpha.gradient.data == [2])  // the two inputs at or above α
    }

    /// The quantized convolution's weight gradient is the float convolution's gradient at w_q,
    /// times the straight-through derivative.
    @Test func quantizedConvolutionGradientGoesStraightThrough() {
        var initializer = TensorInitializer(seed: 3)
        let conv = Conv2d(2, 3, kernel: 3, padding: 1, initializer: &initializer)
        conv.product.quantizer = WeightQuantizer(bits: 4)
        let x = GradientCheckTests.random([2, 2, 5, 5], seed: 4)
        let y = conv.forward(x, training: true)
        let r = GradientCheckTests.random(y.shape, seed: 5)
        conv.weight.zeroGradient()
        _ = conv.backward(r)
        let q = conv.product.quantized!
        var copy = TensorInitializer(seed: 3)
        let float = Conv2d(2, 3, kernel: 3, padding: 1, initializer: &copy)
        float.weight.value = Tensor(shape: float.weight.value.shape, data: q.values)
        #expect(float.forward(x, training: true) == y)
        float.weight.zeroGradient()
        _ = float.backward(r)
        for i in 0..<q.values.count {
            #expect(abs(conv.weight.gradient.data[i] - float.weight.gradient.data[i] * q.derivative[i]) < 1e-4)
        }
    }

    @Test func quantizedResNetKeepsEdgeLayersAtEightBits() throws {
        let model = try ModelArchitecture.resnet(depth: 20).build(channels: 1, size: 28, classes: 10, seed: 1,
                                                              quantization: Quantization(weightBits: 4, activationBits: 4))
        let first = model.layers.first as! Conv2d
        let last = model.layers.last as! Linear
        #expect(first.product.quantizer?.bits == 8 && last.product.quantizer?.bits == 8)
        let inner = model.layers.compactMap { $0 as? Conv2d }.dropFirst()
        #expect(inner.count == 18 && inner.allSatisfy { $0.product.quantizer?.bits == 4 && $0.product.inputQuantizer != nil })
        #expect(model.nodes.filter { $0.name.hasSuffix(".act1") }.count == 9 && model.nodes.allSatisfy { !($0.layer is ReLU) })
        // Each inner convolution reads the activation before it: a block's conv2 its act1, a block's conv1 the previous block's act2.
        #expect(model.allLayers.compactMap { $0 as? Conv2d }.first { $0.product.layerName == "layer2.0.conv2" }?.product.inputQuantizer?.name == "layer2.0.act1")
        #expect(model.allLayers.compactMap { $0 as? Conv2d }.first { $0.product.layerName == "layer2.0.conv1" }?.product.inputQuantizer?.name == "layer1.2.act2")
        #expect(model.parameters.filter { $0.name.hasSuffix(".alpha") }.count == 19)
    }

    /// Training results do not depend on the thread count: convolutions run fixed chunks of
    /// images with single-threaded GEMMs and sum weight gradients in chunk order.
    @Test func convolutionGradientsDoNotDependOnTheThreadCount() {
        func gradients(threads: Int) -> ([Float], [Float], [Float]) {
            let previous = BLAS.threadCount
            BLAS.threadCount = threads
            defer { BLAS.threadCount = previous }
            var initializer = TensorInitializer(seed: 6)
            let conv = Conv2d(3, 8, kernel: 3, stride: 2, padding: 1, initializer: &initializer)
            let x = GradientCheckTests.random([37, 3, 12, 12], seed: 7)
            let y = conv.forward(x, training: true)
            conv.weight.zeroGradient()
            let dx = conv.backward(GradientCheckTests.random(y.shape, seed: 8))
            return (y.data, dx.data, conv.weight.gradient.data)
        }
        let one = gradients(threads: 1), two = gradients(threads: 2)
        #expect(one.0 == two.0 && one.1 == two.1 && one.2 == two.2)
    }
}
