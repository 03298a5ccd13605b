import PIMSim

/// The chip a network's PIM layers run on, and how: training (the ideal converter at the
/// training precision) or deployed on one chip instance.
///
/// Attaching a target gives every quantized layer whose inputs are integer activation levels
/// a ``PIMExecution`` — every convolution after the first, and the classifier when
/// ``PIMSettings/classifierOnChip`` — numbered in forward order; the number is the layer
/// coordinate of its random draws. When the chip's encoding cannot hold −2^(b−1) (ternary
/// signed digits), those layers' quantizers become symmetric.
public final class PIMTarget {
    public enum Phase: Sendable, Equatable {
        /// Training: decomposition and ADC codes as on the chip, at the training
        /// precision over the chip's full-scale range; no curve, mismatch or static errors;
        /// temporal noise only with ``PIMSettings/trainingNoise``.
        case training
        /// One chip instance with the given stages switched on, at the chip's own precision.
        /// `nonIdealities: .none` is the ideal PIM at chip precision.
        case deployed(chipSeed: UInt64, noiseSeed: UInt64, nonIdealities: NonIdealities)
    }

    public let chip: ChipConfig
    public let settings: PIMSettings
    public var phase: Phase = .training
    /// Index of the current batch's first example in its dataset: with the noise seed it
    /// addresses every conversion's noise draw, so results do not depend on the batch size.
    public var firstExample = 0
    /// Training steps taken; each step draws fresh training noise.
    public var step = 0
    /// Seed of the training noise.
    public var trainingNoiseSeed: UInt64 = 0
    /// Gather per-layer conversion statistics (slower).
    public var collectStatistics = false
    /// While set, a deployed layer whose converter range is `calibrated` and not yet set for
    /// this chip instance takes it from the current batch (``ChipDeployment`` sets it for one
    /// batch of calibration data).
    public var calibratingRanges = false
    /// The layers that run on the chip, in forward order (each holds its target; the target
    /// refers back weakly, so the model owns both).
    public var layers: [PIMExecution] { attached.compactMap(\.execution) }
    /// Resolution of the training converter in bits, fractional for `exact` (the first PIM
    /// layer's; one precision serves every layer); nil when the chip's converter is lossless or
    /// no layer is on the chip.
    public var trainingBits: Double? { layers.first?.trainingMapping.adc.resolutionBits }
    private var attached: [WeakExecution] = []
    private struct WeakExecution { weak var execution: PIMExecution? }

    /// Attaches to `model` (built with conventional quantization).
    /// - Throws: ``MappingError`` naming the layer when the chip cannot run its precisions
    ///   with the scheme, or the training precision is impossible.
    public init(chip: ChipConfig, settings: PIMSettings, model: Graph) throws(MappingError) {
        self.chip = chip
        self.settings = settings
        var lastActivation: PACT?
        for layer in model.allLayers {
            if let activation = layer as? PACT { lastActivation = activation }
            guard let layer = layer as? any IntegerProductLayer, let quantizer = layer.product.quantizer else { continue }
            let product = layer.product
            if layer.isClassifier {
                guard settings.classifierOnChip else { continue }
                guard let lastActivation else { throw MappingError("\(product.weight.name): no quantized activation feeds the classifier, so it cannot run on the chip") }
                product.inputQuantizer = lastActivation
            }
            guard let inputQuantizer = product.inputQuantizer else { continue }
            let scheme = product.chipScheme ?? settings.scheme, mode = product.chipMode ?? settings.mode
            // A non-negative activation level needs a sign bit more on a signed DAC.
            let pim = try attach(name: product.layerName, scheme: scheme, mode: mode,
                                 inputBits: chip.wordBits(activationBits: inputQuantizer.bits, scheme: scheme, mode: mode),
                                 weightBits: quantizer.bits)
            product.quantizer!.symmetric = pim.needsSymmetricWeights
            product.pim = pim
        }
        // A plan's mode or scheme on a layer that stays digital would be silently ignored.
        for case let layer as any IntegerProductLayer in model.allLayers where layer.product.pim == nil {
            if layer.product.chipMode != nil || layer.product.chipScheme != nil {
                throw MappingError("\(layer.product.layerName): runs digitally (\(layer.isClassifier ? "the classifier is on the chip only with --classifier-on-chip" : "its inputs are not quantized activations")), so a chip mode or scheme does not apply")
            }
        }
        if attached.isEmpty { throw MappingError("the model has no quantized layer with quantized inputs to run on the chip (train with --wbits/--abits)") }
    }

    private func attach(name: String, scheme: Scheme, mode: String?, inputBits: Int, weightBits: Int) throws(MappingError) -> PIMExecution {
        do {
            let execution = try PIMExecution(name: name, index: attached.count, scheme: scheme, mode: mode, inputBits: inputBits,
                                             weightBits: weightBits, target: self)
            attached.append(WeakExecution(execution: execution))
            return execution
        } catch {
            throw MappingError("\(name): \(error.description)")
        }
    }

    /// Throws unless the layers can be trained through this chip: a converter whose range
    /// policy is `calibrated` takes its range from data per chip instance at deployment, so
    /// there is no range to train over.
    public func checkTrainable() throws(MappingError) {
        if let layer = layers.first(where: { $0.trainingMapping.adc.type != .ideal && $0.trainingMapping.adc.range.policy == .calibrated }) {
            throw MappingError("\(layer.name): chip '\(chip.meta.id)' sets its ADC range from calibration data at deployment (policy calibrated), so PIM-QAT has no range to train over; train on a chip file with a fixed or max range and deploy on this one with `pimctl simulate network --chip`")
        }
    }

    /// The mapping the training phase uses for a layer: the chip's converter at the training
    /// precision (the same full-scale range), only temporal noise possibly on, its σ converted
    /// to the training LSB.
    func trainingMapping(scheme: Scheme, mode: String?, inputBits: Int, weightBits: Int) throws(MappingError) -> LayerMapping {
        let stages = NonIdealities(temporalNoise: settings.trainingNoise, adcStaticErrors: false, cellMismatch: false, transferCurve: false)
        var mapping = try chip.mapping(scheme: scheme, mode: mode, inputBits: inputBits, weightBits: weightBits,
                                       nonIdealities: stages)
        guard mapping.adc.type != .ideal, mapping.adc.bits != nil else { return mapping }
        let training = settings.precision.trainingConverter(for: mapping.adc)
        let bits = training.bits!, lowest = training.signed ? 2 : 1
        guard bits >= lowest, bits <= 24 else {
            throw MappingError("training precision \(bits) bits is outside \(lowest)…24 for the chip's \(mapping.adc.bits!)-bit \(mapping.adc.signed ? "signed" : "unsigned") converter")
        }
        let reachable = mapping.decomposition.partialSumRange
        let chipLSB = mapping.adc.lsb(reachable: reachable)
        mapping.adc = training
        if let chipLSB, let trainingLSB = mapping.adc.lsb(reachable: reachable) {
            mapping.adc.noiseSigmaLsb *= chipLSB / trainingLSB
        }
        return mapping
    }

    /// The noise seed of the current forward pass.
    var noiseSeed: UInt64 {
        switch phase {
        case .training: NoiseSeed.training(seed: trainingNoiseSeed, step: step)
        case let .deployed(_, noiseSeed, _): noiseSeed
        }
    }

    /// Clears every layer's statistics.
    public func resetStatistics() {
        for layer in layers {
            layer.statistics = ConversionStatistics()
            layer.converterRange = nil
            (layer.outputSignal, layer.outputError) = (0, 0)
        }
    }
}

/// The conversion-noise seeds of a network's passes through the chip that no user seed
/// names, one derivation per use so that their streams never meet an evaluation's (whose
/// noise seeds are the user's).
enum NoiseSeed {
    /// Training step `step` of a run whose training-noise seed is `seed`: fresh noise per step.
    static func training(seed: UInt64, step: Int) -> UInt64 {
        RandomStream.mix(seed &+ RandomStream.mix(UInt64(step)))
    }

    /// BN calibration on chip instance `chipSeed`.
    static func batchNormCalibration(chipSeed: UInt64) -> UInt64 { RandomStream.mix(~chipSeed) }

    /// Range calibration (a `calibrated` converter's full scale) on chip instance `chipSeed`.
    static func rangeCalibration(chipSeed: UInt64) -> UInt64 { RandomStream.mix(~chipSeed ^ 0x52_414E_4745) }
}
