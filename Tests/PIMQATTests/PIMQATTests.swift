import Foundation
import Testing
@testable import PIMQAT

@Suite("PIM-QAT")
struct PIMQATTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let ideal = try! ChipConfig(contentsOf: "\(root)/chips/ideal.yaml")
    static let capRAM = try! ChipConfig(contentsOf: "\(root)/chips/cap-ram.yaml")

    static func model(_ architecture: ModelArchitecture, seed: UInt64 = 11) -> Graph {
        try! architecture.build(channels: 1, size: 8, classes: 4, seed: seed, quantization: Quantization(weightBits: 4, activationBits: 4))
    }

    /// Forward logits and every gradient after one backward pass.
    static func pass(_ model: Graph, images: Tensor, training: Bool = true) -> (logits: [Float], gradients: [[Float]], input: [Float]) {
        model.parameters.forEach { $0.zeroGradient() }
        let logits = model.forward(images, training: training)
        let dx = model.backward(GradientCheckTests.random(logits.shape, seed: 99))
        return (logits.data, model.parameters.map(\.gradient.data), dx.data)
    }

    /// On a lossless chip the PIM-QAT network's forward and backward equal the
    /// conventional QAT network's bit for bit, for every scheme and both architectures.
    @Test(arguments: [Scheme.chip, .native, .differential, .bitSerial], [ModelArchitecture.smallCNN, .resnet(depth: 20)])
    func losslessChipReproducesConventionalQATExactly(scheme: Scheme, architecture: ModelArchitecture) throws {
        let images = GradientCheckTests.random([3, 1, 8, 8], seed: 5)
        let conventional = Self.model(architecture), pim = Self.model(architecture)
        let target = try PIMTarget(chip: Self.ideal, settings: PIMSettings(chip: "ideal", scheme: scheme, rescale: .both), model: pim)
        #expect(target.layers.count == (architecture == .smallCNN ? 1 : 18))
        for training in [true, false] {
            let a = Self.pass(conventional, images: images, training: training), b = Self.pass(pim, images: images, training: training)
            #expect(a.logits == b.logits)
            #expect(a.gradients == b.gradients)
            #expect(a.input == b.input)
        }
        #expect(target.layers.allSatisfy { $0.lastRatio == 1 && $0.gradientFactor == 1 && $0.forwardScale == 1 })
    }

    /// On CAP-RAM the 6-bit converter changes the output; the rescaling factors follow σ̂/σ_y.
    @Test func coarseConverterChangesOutputsAndSetsRescaleFactors() throws {
        let images = GradientCheckTests.random([4, 1, 8, 8], seed: 6)
        for rescale in Rescale.allCases {
            let conventional = Self.model(.smallCNN), pim = Self.model(.smallCNN)
            let target = try PIMTarget(chip: Self.capRAM, settings: PIMSettings(chip: "cap-ram", scheme: .bitSerial, rescale: rescale), model: pim)
            let layer = target.layers[0]
            let a = Self.pass(conventional, images: images), b = Self.pass(pim, images: images)
            #expect(a.logits != b.logits)
            #expect(b.logits.allSatisfy { $0.isFinite })
            let r = layer.lastRatio
            #expect(r != 1 && r > 1e-3 && r < 1e3)
            let expected: Float = switch rescale {
            case .none: 1
            case .forward: 1 / r
            case .backward: r
            case .both: 1
            }
            #expect(abs(layer.gradientFactor - expected) <= 1e-6 * max(1, abs(expected)))
            #expect(layer.forwardScale == (rescale.forward ? 0.9 + 0.1 / r : 1))
            #expect(pim.buffers.contains { $0.name == "conv2.pim_forward_scale" } == rescale.forward)
        }
    }

    /// Behind BN, a coarse converter scales the PIM layer's weight gradient by
    /// about σ_y/σ̂ against the ideal layer; backward rescaling takes that factor out again.
    @Test func backwardRescalingRestoresTheIdealGradientScale() throws {
        let images = GradientCheckTests.random([16, 1, 8, 8], seed: 8)
        func convGradientNorm(_ rescale: Rescale?) throws -> (norm: Double, ratio: Float) {
            let model = Self.model(.smallCNN)
            var target: PIMTarget?
            if let rescale {
                target = try PIMTarget(chip: Self.capRAM, settings: PIMSettings(chip: "cap-ram", precision: .bits(3), rescale: rescale), model: model)
            }
            _ = Self.pass(model, images: images)
            let gradient = try #require(model.parameters.first { $0.name == "conv2.weight" }).gradient.data
            return (gradient.map { Double($0) * Double($0) }.reduce(0, +).squareRoot(), target?.layers[0].lastRatio ?? 1)
        }
        let ideal = try convGradientNorm(nil).norm
        let plain = try convGradientNorm(Rescale.none), rescaled = try convGradientNorm(.backward)
        #expect(plain.ratio < 0.7 || plain.ratio > 1.4, "the converter must be coarse enough to matter (r = \(plain.ratio))")
        #expect(abs(log(rescaled.norm / ideal)) < abs(log(plain.norm / ideal)) / 2)
    }

    /// Outputs with a clipped partial sum pass no gradient; on a chip
    /// that never clips the option changes nothing.
    @Test func zeroingClippedGradientsOnlyActsWhereConversionsClip() throws {
        let images = GradientCheckTests.random([4, 1, 8, 8], seed: 12)
        func run(_ chip: ChipConfig, zero: Bool, bits: Int) throws -> [[Float]] {
            let model = Self.model(.smallCNN)
            _ = try PIMTarget(chip: chip, settings: PIMSettings(chip: "c", precision: .bits(bits), zeroClippedGradients: zero), model: model)
            return Self.pass(model, images: images).gradients
        }
        // A 6-bit converter over the chip's range never clips (sums stay within 0…1920).
        #expect(try run(Self.capRAM, zero: true, bits: 6) == run(Self.capRAM, zero: false, bits: 6))
        #expect(try run(Self.ideal, zero: true, bits: 6) == run(Self.ideal, zero: false, bits: 6))
        // A chip whose fixed range (0…40) is far too small for the sums clips often.
        let text = try String(contentsOfFile: "\(Self.root)/chips/cap-ram.yaml", encoding: .utf8)
            .replacingOccurrences(of: "range: {policy: fixed, min: 0, max: {value: 1920, source: \"JSSC21: pre-ADC range 0...1920 = 128 x 15\", status: stated}}",
                                  with: "range: {policy: fixed, min: 0, max: 40}")
        let narrow = try ChipConfig(yaml: text, file: "narrow.yaml")
        #expect(narrow.resolvedModes.first { $0.name == "twos_complement" }?.adc.range.max == 40)
        #expect(try run(narrow, zero: true, bits: 6) != run(narrow, zero: false, bits: 6))
    }

    /// σ_n = 0.35 LSB costs one bit (√(1 + 12·0.35²) ≈ 1.57), over the same range;
    /// `exact` keeps the step itself, 63 / 1.57 → 40 code steps.
    @Test func adjustedPrecisionKeepsTheRangeAndConvertsTheNoise() throws {
        func converter(_ precision: PrecisionAdjustment, bits: Int = 7, signed: Bool = true, sigma: Double) -> ADCConfig {
            var adc = Self.capRAM.adc
            (adc.bits, adc.signed, adc.noiseSigmaLsb) = (bits, signed, sigma)
            return precision.trainingConverter(for: adc)
        }
        #expect(converter(.auto, sigma: 0.35).bits == 6)
        #expect(converter(.auto, sigma: 0.1).bits == 7)
        #expect(converter(.auto, sigma: 1.0).bits == 5)
        #expect(converter(.bits(3), sigma: 0.35).bits == 3)
        #expect(converter(.exact, sigma: 0).maxCode == converter(.none, sigma: 0.35).maxCode)  // no noise: the chip's own step
        for (bits, signed) in [(7, true), (6, false)] {
            let exact = converter(.exact, bits: bits, signed: signed, sigma: 0.35)
            #expect(exact.codeSteps == 40 && exact.maxCode == 40 && exact.bits == bits && exact.signed == signed)
            #expect(abs(exact.resolutionBits! - (Double(bits) - 6 + log2(41))) < 1e-12)
        }
        #expect(converter(.exact, sigma: 100).codeSteps == 1)

        let model = Self.model(.smallCNN)
        let target = try PIMTarget(chip: Self.capRAM, settings: PIMSettings(chip: "cap-ram", precision: .auto, trainingNoise: true), model: model)
        let mapping = target.layers[0].trainingMapping
        #expect(mapping.adc.bits == 5)  // the two's-complement mode's 6 effective bits, minus one
        #expect(mapping.adc.range.min == 0 && mapping.adc.range.max == 1920)
        // σ = 0.35 chip LSB (1920/63) is 0.35 · 31/63 training LSB (1920/31).
        #expect(abs(mapping.adc.noiseSigmaLsb - 0.35 * 31 / 63) < 1e-12)
        #expect(mapping.nonIdealities == NonIdealities(temporalNoise: true, adcStaticErrors: false, cellMismatch: false, transferCurve: false))
        #expect(target.trainingBits == 5)
        let exactModel = Self.model(.smallCNN)
        let exact = try PIMTarget(chip: Self.capRAM, settings: PIMSettings(chip: "cap-ram", precision: .exact, trainingNoise: true), model: exactModel)
        try withExtendedLifetime(exactModel) {
            let exactMapping = try #require(exact.layers.first).trainingMapping
            #expect(exactMapping.adc.lsb(reachable: exactMapping.decomposition.partialSumRange) == 1920.0 / 40)
            #expect(abs(exactMapping.adc.noiseSigmaLsb - 0.35 * 40 / 63) < 1e-12)
            #expect(abs(exact.trainingBits! - log2(41)) < 1e-12)
        }
        #expect(PrecisionAdjustment(argument: "exact") == .exact && PrecisionAdjustment.exact.description == "exact")
        #expect(throws: MappingError.self) { () throws in
            _ = try PIMTarget(chip: Self.capRAM, settings: PIMSettings(chip: "cap-ram", precision: .bits(0)), model: Self.model(.smallCNN))
        }
    }

    /// CAP-RAM's ternary mode holds 3-bit weights as −3…3: the quantizer becomes symmetric.
    @Test func symmetricEncodingsGetSymmetricWeights() throws {
        let model = try ModelArchitecture.smallCNN.build(channels: 1, size: 8, classes: 4, seed: 2,
                                                     quantization: Quantization(weightBits: 3, activationBits: 4))
        let target = try PIMTarget(chip: Self.capRAM, settings: PIMSettings(chip: "cap-ram"), model: model)
        #expect(target.layers[0].trainingMapping.mode.name == "ternary")
        let logits = model.forward(GradientCheckTests.random([2, 1, 8, 8], seed: 1), training: true)
        #expect(logits.data.allSatisfy { $0.isFinite })
        let conv = try #require(model.allLayers.compactMap { $0 as? Conv2d }.last)
        #expect(conv.product.quantizer?.symmetric == true)
        #expect(conv.product.quantized!.integers.min()! == -3 && conv.product.quantized!.integers.max()! == 3)
    }

    /// ADC range policy `calibrated`: every layer's range comes from one batch of
    /// calibration data per chip instance, then stays frozen. At the 100th percentile nothing in
    /// that batch clips high, at the 50th some does in every layer; evaluation's batch size never
    /// matters; and there is no range to train over.
    /// The per-layer partial-sum RMS (in LSB) follows the inputs: halving every PACT clip level
    /// about doubles the integer input levels, and so the partial sums the converters see.
    @Test func partialSumRMSFollowsTheInputLevels() throws {
        var initializer = TensorInitializer(seed: 8)
        let pixels = initializer.normal([32 * 64], sigma: 1).data.map { UInt8(min(max(128 + 60 * $0, 0), 255)) }
        let data = Dataset(images: pixels, labels: (0..<32).map { UInt8($0 % 4) }, count: 32, channels: 1, size: 8, classes: 4,
                           mean: [0.5], std: [0.25])
        func layers(alphaScale: Float) throws -> [PIMLayerReport] {
            let model = Self.model(.smallCNN)
            for activation in model.allLayers.compactMap({ $0 as? PACT }) { activation.alpha.value.data[0] *= alphaScale }
            let target = try PIMTarget(chip: Self.capRAM, settings: PIMSettings(chip: "cap-ram"), model: model)
            let deployment = ChipDeployment(model: model, target: target)
            deployment.nonIdealities = .none
            target.collectStatistics = true
            _ = deployment.evaluate(data, chipSeed: 0, noiseSeed: 0)
            return target.layers.map(\.report)
        }
        let wide = try layers(alphaScale: 1), narrow = try layers(alphaScale: 0.5)
        #expect(!wide.isEmpty && wide.count == narrow.count)
        for (a, b) in zip(wide, narrow) {
            let before = try #require(a.partialSumRootMeanSquareLSB), after = try #require(b.partialSumRootMeanSquareLSB)
            #expect(before > 0 && after / before > 1.6 && after / before < 2.4, "\(a.layer): \(before) → \(after) LSB")
            #expect(after < 64, "within the 6-bit converter's codes")
        }
    }

    @Test func calibratedRangesComeFromCalibrationDataAndStayFrozen() throws {
        func chip(percentile: Double) throws -> ChipConfig {
            let text = try String(contentsOfFile: "\(Self.root)/chips/cap-ram.yaml", encoding: .utf8)
                .replacingOccurrences(of: "range: {policy: fixed, min: 0, max: {value: 1920, source: \"JSSC21: pre-ADC range 0...1920 = 128 x 15\", status: stated}}",
                                      with: "range: {policy: calibrated, percentile: \(percentile)}")
            return try ChipConfig(yaml: text, file: "calibrated.yaml")
        }
        var initializer = TensorInitializer(seed: 5)
        let pixels = initializer.normal([64 * 64], sigma: 1).data.map { UInt8(min(max(128 + 60 * $0, 0), 255)) }
        let data = Dataset(images: pixels, labels: (0..<64).map { UInt8($0 % 4) }, count: 64, channels: 1, size: 8, classes: 4,
                           mean: [0.5], std: [0.25])
        func deploy(_ chip: ChipConfig, batchSize: Int) throws -> (run: ChipDeployment.Run, layers: [PIMLayerReport]) {
            let model = Self.model(.smallCNN)
            let target = try PIMTarget(chip: chip, settings: PIMSettings(chip: "calibrated"), model: model)
            let deployment = ChipDeployment(model: model, target: target)
            #expect(deployment.needsRangeCalibration)
            deployment.nonIdealities = .none
            deployment.calibrationData = data
            deployment.calibrationBatchSize = 32
            deployment.batchSize = batchSize
            target.collectStatistics = true
            // The calibration batch itself (the first 32 examples) as the test set.
            let run = deployment.evaluate(data.prefix(32), chipSeed: 3, noiseSeed: 0)
            return (run, target.layers.map(\.report))
        }
        let full = try deploy(chip(percentile: 100), batchSize: 32)
        #expect(!full.layers.isEmpty && full.layers.allSatisfy { $0.clipRateHigh == 0 && $0.adcRange != nil })
        let half = try deploy(chip(percentile: 50), batchSize: 32)
        #expect(half.layers.allSatisfy { $0.clipRateHigh > 0 })
        for (a, b) in zip(full.layers, half.layers) { #expect(a.adcRange![1] > b.adcRange![1]) }
        let small = try deploy(chip(percentile: 50), batchSize: 8)
        #expect(small.run.accuracy == half.run.accuracy && small.run.loss == half.run.loss)
        #expect(small.layers.map(\.adcRange) == half.layers.map(\.adcRange))
        let model = Self.model(.smallCNN), fixedModel = Self.model(.smallCNN)  // the model owns its layers' executions
        let target = try PIMTarget(chip: chip(percentile: 99), settings: PIMSettings(chip: "calibrated"), model: model)
        #expect(throws: MappingError.self) { try target.checkTrainable() }
        let fixed = try PIMTarget(chip: Self.capRAM, settings: PIMSettings(chip: "cap-ram"), model: fixedModel)
        #expect(throws: Never.self) { try fixed.checkTrainable() }
    }

    @Test func floatModelsHaveNothingToRunOnTheChip() throws {
        let model = try ModelArchitecture.smallCNN.build(channels: 1, size: 8, classes: 4, seed: 1)
        #expect(throws: MappingError.self) { _ = try PIMTarget(chip: Self.ideal, settings: PIMSettings(chip: "ideal"), model: model) }
    }
}
