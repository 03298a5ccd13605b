import Foundation
import Testing
@testable import PIMQAT

/// The default training recipe and its parts: warm-up cosine schedule, gradient clipping,
/// flip augmentation, and the recipe chosen per model, dataset and kind of run.
@Suite("Training recipe")
struct TrainingRecipeTests {
    @Test func warmupCosineRampsThenAnneals() {
        let schedule = LearningRateSchedule.warmupCosine
        let rates = (0..<100).map { schedule.rate(base: 0.1, step: $0, stepsPerEpoch: 10, epochs: 10, warmupSteps: 10) }
        // Linear ramp lr/W, 2·lr/W, … up to lr at the last warm-up step.
        #expect(abs(rates[0] - 0.01) < 1e-12 && abs(rates[4] - 0.05) < 1e-12 && abs(rates[9] - 0.1) < 1e-12)
        // Cosine from lr at step W down towards zero at the end; never rising after the warm-up.
        #expect(abs(rates[10] - 0.1) < 1e-12)
        #expect(abs(rates[55] - 0.05) < 1e-12, "half way through the annealing: \(rates[55])")
        #expect(rates[99] > 0 && rates[99] < 0.001)
        for (a, b) in zip(rates[10...], rates[11...]) { #expect(b <= a) }
        // A run shorter than its warm-up still anneals on its last step.
        #expect(schedule.rate(base: 1, step: 0, stepsPerEpoch: 1, epochs: 1, warmupSteps: 5) == 1)
    }

    @Test func clippingScalesTheWholeGradientToTheNorm() {
        let a = Parameter(name: "a", value: Tensor(zeros: [2]), decays: true)
        let b = Parameter(name: "b", value: Tensor(zeros: [1]), decays: false)
        a.gradient = Tensor(shape: [2], data: [3, 0])
        b.gradient = Tensor(shape: [1], data: [4])
        let optimizer = SGD(parameters: [a, b], learningRate: 0.1)
        #expect(optimizer.clipGradients(norm: 10) == 5)
        #expect(a.gradient.data == [3, 0] && b.gradient.data == [4], "a gradient within the norm is left alone")
        #expect(optimizer.clipGradients(norm: 1) == 5)
        #expect(abs(a.gradient.data[0] - 0.6) < 1e-6 && abs(b.gradient.data[0] - 0.8) < 1e-6, "direction kept, norm 1")
        // A frozen parameter neither counts nor is scaled.
        b.trainable = false
        b.gradient = Tensor(shape: [1], data: [100])
        #expect(abs(optimizer.clipGradients(norm: 1) - 0.6) < 1e-6 && b.gradient.data == [100])
    }

    @Test func flipAugmentationMirrorsWithoutShifting() {
        let size = 4
        let images = (0..<(8 * size * size)).map { UInt8($0 % 251) }
        let dataset = Dataset(images: images, labels: [UInt8](repeating: 0, count: 8), count: 8, channels: 1, size: size, classes: 10,
                              mean: [0], std: [1])
        let batches = Batches(dataset: dataset, batchSize: 8, augmentation: .flip, seed: 3)
        let plain = batches.batch(Array(0..<8), epoch: 0, train: false).images.data
        let augmented = batches.batch(Array(0..<8), epoch: 0, train: true).images.data
        var flipped = 0
        for example in 0..<8 {
            let image = Array(plain[(example * 16)..<((example + 1) * 16)])
            let mirrored = (0..<16).map { image[($0 / size) * size + (size - 1 - $0 % size)] }
            let seen = Array(augmented[(example * 16)..<((example + 1) * 16)])
            #expect(seen == image || seen == mirrored, "example \(example) is the image or its mirror, never shifted")
            if seen == mirrored { flipped += 1 }
        }
        #expect(flipped > 0 && flipped < 8, "\(flipped) of 8 flipped")
        // The draw is a function of (seed, epoch, example): the same batch again is the same.
        #expect(batches.batch(Array(0..<8), epoch: 0, train: true).images.data == augmented)
    }

    @Test func standardRecipesFollowModelDatasetAndRun() {
        let small = TrainingRecipe.standard(model: .smallCNN, dataset: .fashionMNIST, epochs: 2, quantized: false, pim: false, fineTuning: false)
        #expect(small.batchSize == 64 && abs(small.learningRate - 0.05) < 1e-12 && small.augmentation == .flip && small.weightDecay == 5e-4)
        #expect(small.schedule == .warmupCosine && abs(small.warmupEpochs - 0.2) < 1e-12 && small.maxGradientNorm == 5 && small.nesterov)
        #expect(small.pactAlpha == nil && small.weightClip == nil && !small.trainingNoise)
        #expect(abs(small.learningRate(batchSize: 128) - 0.1) < 1e-12, "the rate scales linearly with the batch")
        let resnet = TrainingRecipe.standard(model: .resnet(depth: 20), dataset: .cifar10, epochs: 30, quantized: true, pim: false, fineTuning: true)
        #expect(resnet.batchSize == 128 && abs(resnet.learningRate - 0.05) < 1e-12 && resnet.augmentation == .cropFlip && resnet.weightDecay == 4e-5)
        #expect(resnet.warmupEpochs == 1)
        let pim = TrainingRecipe.standard(model: .resnet(depth: 20), dataset: .mnist, epochs: 5, quantized: true, pim: true, fineTuning: true)
        #expect(pim.pactAlpha == 2 && pim.weightClip == 2 && pim.trainingNoise && pim.augmentation == Augmentation.none)
    }
}
