import Testing
@testable import PIMQAT

@Suite("Training benchmark")
struct TrainingBenchmarkTests {
    /// Every timed step is paired with one call of the caller's measurement, the reported step
    /// time is the median of the recorded ones, and the GEMM work is the model's.
    @Test func stepsArePairedAndTheMedianIsReported() throws {
        var calls = 0
        let result = try TrainingBenchmark.measure(.smallCNN, channels: 1, size: 28, batchSize: 4, threads: 1, minimumSteps: 4,
                                                   beforeEachStep: { calls += 1 })
        #expect(result.steps == 4)
        #expect(calls == result.steps)
        #expect(result.stepSeconds.count == result.steps)
        #expect(result.secondsPerStep == result.stepSeconds.sorted()[2])
        let model = try ModelArchitecture.smallCNN.build(channels: 1, size: 28, classes: 10, seed: 1, quantization: nil)
        #expect(result.gemmFLOPsPerImage == 3 * model.forwardGEMMFLOPs(inputShape: [1, 1, 28, 28]))
        #expect(abs(result.imagesPerS - 4 / result.secondsPerStep) < 1e-9 * result.imagesPerS)
    }
}
