import Testing
@testable import PIMQAT

/// Every backward pass against central finite differences of L = Σ r ⊙ layer(x), with L summed
/// in float64 and a fixed random r.
@Suite("Gradient checks")
struct GradientCheckTests {
    static func random(_ shape: [Int], seed: UInt64, awayFromZero: Float = 0) -> Tensor {
        var initializer = TensorInitializer(seed: seed)
        var t = initializer.normal(shape, sigma: 1)
        if awayFromZero > 0 { t.data = t.data.map { abs($0) < awayFromZero ? ($0 < 0 ? -awayFromZero : awayFromZero) * 2 : $0 } }
        return t
    }

    /// Compares analytic and numeric gradients of the input and of every parameter entry
    /// (or a strided sample of large ones).
    static func check(_ layer: any Layer, input: Tensor, training: Bool = true, epsilon: Float = 1e-2, tolerance: Double = 1e-2,
                      sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let output = layer.forward(input, training: training)
        let r = random(output.shape, seed: 99)
        func loss(_ x: Tensor) -> Double {
            let y = layer.forward(x, training: training)
            return zip(y.data, r.data).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        layer.parameters.forEach { $0.zeroGradient() }
        _ = layer.forward(input, training: training)
        let dx = layer.backward(r)
        func compare(_ analytic: Float, _ numeric: Double, _ what: String) {
            let error = abs(Double(analytic) - numeric)
            #expect(error <= tolerance * max(1, abs(numeric)), "\(what): analytic \(analytic), numeric \(numeric)", sourceLocation: sourceLocation)
        }
        let stride = max(1, input.count / 40)
        for i in Swift.stride(from: 0, to: input.count, by: stride) {
            var plus = input, minus = input
            plus.data[i] += epsilon
            minus.data[i] -= epsilon
            compare(dx.data[i], (loss(plus) - loss(minus)) / Double(2 * epsilon), "∂L/∂x[\(i)]")
        }
        for parameter in layer.parameters {
            let analytic = parameter.gradient
            let step = max(1, parameter.value.count / 30)
            for i in Swift.stride(from: 0, to: parameter.value.count, by: step) {
                let original = parameter.value.data[i]
                parameter.value.data[i] = original + epsilon
                let up = loss(input)
                parameter.value.data[i] = original - epsilon
                let down = loss(input)
                parameter.value.data[i] = original
                compare(analytic.data[i], (up - down) / Double(2 * epsilon), "∂L/∂\(parameter.name)[\(i)]")
            }
        }
    }

    @Test(arguments: [(1, 0), (2, 1), (1, 1)])
    func conv2d(stride: Int, padding: Int) {
        var initializer = TensorInitializer(seed: 1)
        let conv = Conv2d(3, 4, kernel: 3, stride: stride, padding: padding, initializer: &initializer)
        Self.check(conv, input: Self.random([2, 3, 7, 6], seed: 2))
    }

    @Test(arguments: [(1, 2), (2, 1)])
    func dilatedConv2d(stride: Int, padding: Int) {
        var initializer = TensorInitializer(seed: 1)
        let conv = Conv2d(3, 4, kernel: 3, stride: stride, padding: padding, dilation: 2, initializer: &initializer)
        Self.check(conv, input: Self.random([2, 3, 7, 6], seed: 2))
    }

    /// Grouped: gradients by finite differences, and the forward equal to one convolution per
    /// group on its channels.
    @Test(arguments: [(2, 1), (4, 2)])
    func groupedConv2d(groups: Int, stride: Int) {
        var initializer = TensorInitializer(seed: 1)
        let conv = Conv2d(4, 8, kernel: 3, stride: stride, padding: 1, groups: groups, initializer: &initializer)
        #expect(conv.weight.value.shape == [8, 4 / groups, 3, 3])
        let x = Self.random([2, 4, 7, 6], seed: 2)
        Self.check(conv, input: x)
        let y = conv.forward(x, training: false)
        let (cg, og, ho, wo) = (4 / groups, 8 / groups, y.shape[2], y.shape[3])
        for group in 0..<groups {
            let part = Conv2d(cg, og, kernel: 3, stride: stride, padding: 1, initializer: &initializer)
            part.weight.value = Tensor(shape: [og, cg, 3, 3], data: Array(conv.weight.value.data[(group * og * cg * 9)..<((group + 1) * og * cg * 9)]))
            var slice: [Float] = []
            for image in 0..<2 {
                let start: Int = (image * 4 + group * cg) * 42
                slice += x.data[start..<(start + cg * 42)]
            }
            let expected = part.forward(Tensor(shape: [2, cg, 7, 6], data: slice), training: false)
            for image in 0..<2 {
                let ours = y.data[((image * 8 + group * og) * ho * wo)..<((image * 8 + (group + 1) * og) * ho * wo)]
                let theirs = expected.data[(image * og * ho * wo)..<((image + 1) * og * ho * wo)]
                #expect(zip(ours, theirs).allSatisfy { abs($0 - $1) < 1e-5 }, "group \(group) image \(image)")
            }
        }
    }

    /// Forward against a direct float64 convolution, for strides, paddings and odd sizes that
    /// exercise every border case of im2col (the same-size shifted copies too: 1×1, 3×3 with
    /// padding 1, 5×5 with padding 2); and the input gradient against the transposed
    /// direct sum (col2im).
    /// Dilated kernels too: the same-size copies of a 3×3 at dilation 2 and padding 2, and the
    /// row loops of the others.
    @Test(arguments: [(1, 0, 3, 1), (1, 1, 3, 1), (2, 1, 3, 1), (1, 2, 3, 1), (2, 0, 1, 1), (3, 1, 3, 1), (1, 0, 1, 1), (1, 2, 5, 1),
                      (1, 2, 3, 2), (2, 1, 3, 2), (1, 0, 2, 3)])
    func conv2dMatchesTheDirectSum(stride: Int, padding: Int, kernel: Int, dilation: Int) {
        var initializer = TensorInitializer(seed: 4)
        let conv = Conv2d(3, 5, kernel: kernel, stride: stride, padding: padding, dilation: dilation, initializer: &initializer)
        let (n, c, h, w) = (2, 3, 9, 7)
        let x = Self.random([n, c, h, w], seed: 5)
        let y = conv.forward(x, training: true)
        let (ho, wo) = (conv.outputSize(h), conv.outputSize(w))
        #expect(y.shape == [n, 5, ho, wo])
        let g = Self.random(y.shape, seed: 6)
        let dx = conv.backward(g)
        let weight = conv.weight.value.data
        var expectedDx = [Double](repeating: 0, count: x.count)
        for image in 0..<n {
            for o in 0..<5 {
                for oh in 0..<ho {
                    for ow in 0..<wo {
                        var sum = 0.0
                        let gradient = Double(g.data[((image * 5 + o) * ho + oh) * wo + ow])
                        for ci in 0..<c {
                            for ki in 0..<kernel {
                                for kj in 0..<kernel {
                                    let ih = oh * stride - padding + ki * dilation, iw = ow * stride - padding + kj * dilation
                                    guard ih >= 0, ih < h, iw >= 0, iw < w else { continue }
                                    let wv = Double(weight[((o * c + ci) * kernel + ki) * kernel + kj])
                                    let xi = ((image * c + ci) * h + ih) * w + iw
                                    sum += wv * Double(x.data[xi])
                                    expectedDx[xi] += wv * gradient
                                }
                            }
                        }
                        #expect(abs(Double(y.data[((image * 5 + o) * ho + oh) * wo + ow]) - sum) < 1e-4)
                    }
                }
            }
        }
        for (a, b) in zip(dx.data, expectedDx) { #expect(abs(Double(a) - b) < 1e-4) }
    }

    @Test func linear() {
        var initializer = TensorInitializer(seed: 3)
        Self.check(Linear(5, 4, initializer: &initializer), input: Self.random([3, 5], seed: 4))
    }

    @Test func batchNormInTrainingAndEvaluation() {
        let bn = BatchNorm2d(3)
        bn.gamma.value = Self.random([3], seed: 5)
        bn.beta.value = Self.random([3], seed: 6)
        Self.check(bn, input: Self.random([4, 3, 3, 2], seed: 7), training: true, epsilon: 1e-2, tolerance: 2e-2)
        bn.runningMean = Self.random([3], seed: 8)
        bn.runningVariance = Tensor(shape: [3], data: [0.5, 1.5, 2])
        Self.check(bn, input: Self.random([4, 3, 3, 2], seed: 9), training: false)
    }

    @Test func reluPoolingAndFlatten() {
        Self.check(ReLU(), input: Self.random([2, 3, 4, 4], seed: 10, awayFromZero: 0.05), epsilon: 1e-3)
        Self.check(MaxPool2d(2), input: Self.random([2, 2, 4, 6], seed: 11), epsilon: 1e-3)
        Self.check(GlobalAveragePool(), input: Self.random([2, 3, 4, 4], seed: 12))
        Self.check(Flatten(), input: Self.random([2, 3, 2, 2], seed: 13))
        Self.check(AveragePool2d(2), input: Self.random([2, 2, 4, 6], seed: 21))
        Self.check(Clip(low: -0.5, high: 0.5), input: Self.random([2, 3, 4, 4], seed: 22, awayFromZero: 0.05), epsilon: 1e-3)
        let bias = Bias(3, parameterName: "b.bias")
        bias.bias.value = Tensor(shape: [3], data: [0.5, -1, 2])
        Self.check(bias, input: Self.random([2, 3, 2, 2], seed: 23))
        Self.check(bias, input: Self.random([2, 3], seed: 24))
    }

    /// A ResNet basic block as graph nodes: the residual add sums the gradients of the
    /// block's input from both paths.
    @Test(arguments: [(8, 8, 1), (8, 16, 2)])
    func basicBlock(inChannels: Int, outChannels: Int, stride: Int) {
        var initializer = TensorInitializer(seed: 14)
        var spec = GraphSpec()
        spec.appendBasicBlock(inChannels, outChannels, stride: stride, name: "block")
        Self.check(try! spec.build(initializer: &initializer), input: Self.random([2, inChannels, 6, 6], seed: 15), epsilon: 1e-3, tolerance: 3e-2)
    }

    /// Concatenation along channels, a tensor read by two nodes and a branch summed back:
    /// x → conv a, x → conv b, concat(a, b) + concat(b, a) — every gradient against finite
    /// differences.
    @Test func branchesConcatAndSharedInputs() throws {
        var initializer = TensorInitializer(seed: 19)
        let a = Conv2d(2, 3, kernel: 3, padding: 1, initializer: &initializer, name: "a")
        let b = Conv2d(2, 3, kernel: 1, initializer: &initializer, name: "b")
        let graph = try Graph(input: "x", nodes: [
            .init(name: "a", operation: .layer(a), inputs: ["x"], output: "a"),
            .init(name: "b", operation: .layer(b), inputs: ["x"], output: "b"),
            .init(name: "ab", operation: .concat, inputs: ["a", "b"], output: "ab"),
            .init(name: "ba", operation: .concat, inputs: ["b", "a"], output: "ba"),
            .init(name: "sum", operation: .add, inputs: ["ab", "ba", "ab"], output: "sum"),
        ], output: "sum")
        Self.check(graph, input: Self.random([2, 2, 4, 4], seed: 20), epsilon: 1e-3, tolerance: 3e-2)
    }

    @Test func malformedGraphsAreRefused() {
        let relu = ReLU()
        func error(_ nodes: [Graph.Node], output: String = "y") -> String? {
            do { _ = try Graph(input: "x", nodes: nodes, output: output); return nil } catch { return error.description }
        }
        #expect(error([.init(name: "r", operation: .layer(relu), inputs: ["z"], output: "y")])
                == "node 'r' reads 'z', which neither the graph's input nor an earlier node produces")
        #expect(error([.init(name: "r", operation: .layer(relu), inputs: ["x"], output: "y"),
                       .init(name: "s", operation: .layer(ReLU()), inputs: ["x"], output: "y")]) == "tensor 'y' is produced twice (again by node 's')")
        #expect(error([.init(name: "r", operation: .add, inputs: ["x"], output: "y")]) == "node 'r' needs at least two inputs")
        #expect(error([.init(name: "r", operation: .layer(relu), inputs: ["x", "x"], output: "y")]) == "node 'r' takes one input, not 2")
        #expect(error([.init(name: "r", operation: .layer(relu), inputs: ["x"], output: "y")], output: "w") == "nothing produces the graph's output 'w'")
        #expect(error([.init(name: "r", operation: .layer(relu), inputs: ["x"], output: "y"),
                       .init(name: "r", operation: .layer(ReLU()), inputs: ["y"], output: "w")], output: "w") == "two nodes are named 'r'")
    }

    @Test func softmaxCrossEntropyGradient() {
        let logits = Self.random([4, 5], seed: 16)
        let labels = [0, 3, 2, 4]
        let result = SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
        for i in 0..<logits.count {
            var plus = logits, minus = logits
            plus.data[i] += 1e-3
            minus.data[i] -= 1e-3
            let numeric = (SoftmaxCrossEntropy.evaluate(logits: plus, labels: labels).loss
                - SoftmaxCrossEntropy.evaluate(logits: minus, labels: labels).loss) / 2e-3
            #expect(abs(Double(result.gradient.data[i]) - numeric) < 1e-3)
        }
    }

    /// The whole small CNN through the loss: every parameter's gradient of the mean
    /// cross-entropy against finite differences.
    @Test func wholeSmallNetwork() throws {
        let model = try ModelArchitecture.smallCNN.build(channels: 1, size: 8, classes: 3, seed: 17)
        let input = Self.random([3, 1, 8, 8], seed: 18)
        let labels = [2, 0, 1]
        func loss() -> Double {
            SoftmaxCrossEntropy.evaluate(logits: model.forward(input, training: true), labels: labels).loss
        }
        model.parameters.forEach { $0.zeroGradient() }
        let result = SoftmaxCrossEntropy.evaluate(logits: model.forward(input, training: true), labels: labels)
        _ = model.backward(result.gradient)
        for parameter in model.parameters {
            let step = max(1, parameter.value.count / 8)
            for i in stride(from: 0, to: parameter.value.count, by: step) {
                let original = parameter.value.data[i]
                // A small step: larger ones carry pre-activations across ReLU and max-pool kinks.
                parameter.value.data[i] = original + 1e-3
                let up = loss()
                parameter.value.data[i] = original - 1e-3
                let down = loss()
                parameter.value.data[i] = original
                let numeric = (up - down) / 2e-3
                #expect(abs(Double(parameter.gradient.data[i]) - numeric) <= 2e-2 * max(0.1, abs(numeric)),
                        "\(parameter.name)[\(i)]: \(parameter.gradient.data[i]) vs \(numeric)")
            }
        }
    }
}
