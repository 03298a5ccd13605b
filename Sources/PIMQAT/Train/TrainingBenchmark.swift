import Foundation

/// Training throughput of a model on random data, beside the GEMM work it stands on.
public struct TrainingBenchmark: Sendable, Codable {
    public var model: String
    /// float, conventional QAT (W/A bits), or PIM-QAT (chip, scheme).
    public var variant: String
    public var batchSize: Int
    public var imageShape: [Int]
    public var threads: Int
    /// Timed steps (after one warm-up step).
    public var steps: Int
    /// Each timed step's seconds, in order.
    public var stepSeconds: [Double]
    /// The median step time, seconds (robust to a shared host's transient load, like the
    /// SGEMM median it is compared with).
    public var secondsPerStep: Double
    public var imagesPerS: Double
    /// FLOPs of the convolution and linear GEMMs per image, forward + both backward products (3×).
    public var gemmFLOPsPerImage: Double
    public var effectiveGFLOPS: Double

    /// Times SGD steps of `architecture` at `batchSize` — at least `minimumSteps` and at least
    /// `minimumSeconds` in all, after one warm-up step — and keeps the median: float, with
    /// conventional `quantization`, or PIM-QAT through `pim`'s chip (training phase).
    /// `beforeEachStep` runs (untimed, at `threads` OpenBLAS threads) before every timed step:
    /// a caller pairs each step with a measurement of its own, such as an SGEMM rate.
    /// The GEMM work counted is the digital network's in every case, so the rates compare.
    /// - Throws: ``MappingError`` when the chip cannot run the quantized layers.
    public static func measure(_ architecture: ModelArchitecture, channels: Int, size: Int, classes: Int = 10, batchSize: Int,
                               threads: Int, minimumSteps: Int = 3, minimumSeconds: Double = 0, quantization: Quantization? = nil,
                               pim: (chip: ChipConfig, settings: PIMSettings)? = nil,
                               beforeEachStep: () -> Void = {}) throws -> TrainingBenchmark {
        let previous = BLAS.threadCount
        BLAS.threadCount = threads
        defer { BLAS.threadCount = previous }
        let model = try architecture.build(channels: channels, size: size, classes: classes, seed: 1, quantization: quantization)
        let target = try pim.map { try PIMTarget(chip: $0.chip, settings: $0.settings, model: model) }
        try target?.checkTrainable()
        var variant = quantization.map { "W\($0.weightBits)/A\($0.activationBits) QAT" } ?? "float"
        if let pim { variant = "PIM-QAT \(pim.chip.meta.id) \(pim.settings.scheme.rawValue)" }
        var initializer = TensorInitializer(seed: 2)
        let images = initializer.normal([batchSize, channels, size, size], sigma: 1)
        let labels = (0..<batchSize).map { $0 % classes }
        let optimizer = SGD(parameters: model.parameters, learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
        func step() {
            optimizer.zeroGradients()
            target?.step += 1
            let result = SoftmaxCrossEntropy.evaluate(logits: model.forward(images, training: true), labels: labels)
            _ = model.backward(result.gradient)
            optimizer.step()
        }
        step()
        var times: [Double] = []
        var total = 0.0
        while times.count < max(1, minimumSteps) || total < minimumSeconds {
            beforeEachStep()
            let start = DispatchTime.now().uptimeNanoseconds
            step()
            let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            times.append(t)
            total += t
        }
        let perStep = times.sorted()[times.count / 2]
        let flops = 3 * model.forwardGEMMFLOPs(inputShape: [1, channels, size, size])
        let imagesPerS = Double(batchSize) / perStep
        return TrainingBenchmark(model: architecture.description, variant: variant, batchSize: batchSize, imageShape: [channels, size, size],
                                 threads: threads, steps: times.count, stepSeconds: times, secondsPerStep: perStep, imagesPerS: imagesPerS,
                                 gemmFLOPsPerImage: flops, effectiveGFLOPS: flops * imagesPerS / 1e9)
    }
}

extension Graph {
    /// FLOPs of the forward GEMMs (2·M·N·K per convolution and linear layer) for one input of
    /// `inputShape`, from one digital forward pass of a blank input of one example.
    public func forwardGEMMFLOPs(inputShape: [Int]) -> Double {
        let example = [1] + inputShape.dropFirst()
        return offTheChip { _ in
            _ = forward(Tensor(zeros: example), training: false)
            return allLayers.compactMap { $0 as? any IntegerProductLayer }.reduce(0.0) { total, layer in
                let product = layer.product
                return total + 2 * Double(product.weight.value.count) * Double(product.columnsPerExample ?? 1) * Double(inputShape[0])
            }
        }
    }
}
