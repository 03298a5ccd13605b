import Foundation
import PIMSim

/// One quantized layer's integer products run through the PIM engine.
///
/// The layer hands over its integer weights and input levels; the product comes back in
/// integer-product units, exactly `W·X` on a lossless chip. The layer's digital integer
/// product is the straight-through path: the backward pass is the digital layer's, with the
/// incoming gradient multiplied by ``gradientFactor``.
///
/// Rescaling, with σ_y the std of the exact output and σ̂ that of the PIM output over the
/// batch (both detached), r = clamp(σ̂/σ_y, 1e-3, 1e3):
/// - forward: the PIM output is multiplied by 1/r in training; a running average of 1/r
///   (momentum 0.1, like BN statistics) is kept as the buffer `<layer>.pim_forward_scale`
///   and is the fixed digital factor applied in evaluation and on the chip;
/// - backward: the gradient reaching the straight-through path is multiplied by r
///   (and, through the chain rule, by the forward factor).
public final class PIMExecution {
    /// The layer's name (its parameters' prefix).
    public let name: String
    /// Position among the network's PIM layers: the layer coordinate of random draws.
    public let index: Int
    /// The chip's input word width: the activation's bits, plus the sign bit on a signed DAC.
    public let inputBits: Int
    public let weightBits: Int
    /// The decomposition and chip mode this layer runs in (nil mode = the chip's default).
    public let scheme: Scheme, mode: String?
    public let target: PIMTarget
    /// The training phase's mapping.
    public let trainingMapping: LayerMapping
    /// The layer as last programmed, with the weights and phase it was programmed for.
    private var programmed: (weights: [Int32], phase: PIMTarget.Phase, layer: ProgrammedLayer)?
    /// The running forward factor 1/r (1 until trained with forward rescaling).
    public private(set) var forwardScale: Float = 1
    /// What the incoming gradient is multiplied by in the next backward pass.
    public private(set) var gradientFactor: Float = 1
    /// Outputs (in the layer's layout) whose gradient the next backward pass zeroes: those
    /// with a clipped partial sum, when ``PIMSettings/zeroClippedGradients`` is on in training.
    private var gradientMask: [UInt8]?
    /// r = σ̂/σ_y of the last training forward pass.
    public private(set) var lastRatio: Float = 1
    /// Σ r and the number of training forward passes since ``takeMeanRatio()``.
    private var ratioSum = 0.0, ratioCount = 0
    /// Full-scale ranges (MAC units) calibrated per chip instance and stage set, for a chip
    /// whose ADC range policy is `calibrated`: set from data once, then frozen.
    private var calibratedRanges: [RangeKey: ClosedRange<Double>] = [:]
    private struct RangeKey: Hashable { let chipSeed: UInt64; let stages: NonIdealities }
    /// Whether deployment must calibrate this layer's converter range from data first.
    public let needsRangeCalibration: Bool
    /// Conversion statistics accumulated while the target collects them.
    public internal(set) var statistics = ConversionStatistics()
    /// The full-scale range of the converter while statistics were collected (MAC units; the
    /// last batch's under the non-physical `oracle` policy, which sets it per run).
    var converterRange: ClosedRange<Double>?
    /// Σ exact² and Σ (PIM − exact)² of the layer's outputs (before forward rescaling),
    /// accumulated while the target collects statistics.
    var outputSignal = 0.0, outputError = 0.0

    init(name: String, index: Int, scheme: Scheme, mode: String?, inputBits: Int, weightBits: Int, target: PIMTarget) throws(MappingError) {
        self.name = name
        self.index = index
        (self.scheme, self.mode) = (scheme, mode)
        self.inputBits = inputBits
        self.weightBits = weightBits
        self.target = target
        trainingMapping = try target.trainingMapping(scheme: scheme, mode: mode, inputBits: inputBits, weightBits: weightBits)
        // Surfaces every mapping error (e.g. partial sums beyond exact single precision) now.
        do {
            _ = try ProgrammedLayer(mapping: trainingMapping, weights: [0], outputs: 1, fanIn: 1, layer: index)
        } catch {
            switch error {
            case let .mapping(error): throw error
            case let .weight(error): preconditionFailure("PIMExecution \(name): weight 0 off the grid: \(error)")
            }
        }
        let deployed = try target.chip.mapping(scheme: scheme, mode: mode, inputBits: inputBits, weightBits: weightBits, nonIdealities: .none)
        needsRangeCalibration = deployed.adc.type != .ideal && deployed.adc.range.policy == .calibrated
    }

    /// Whether the chip's weight grid lacks −2^(b−1), so the quantizer must stay symmetric.
    var needsSymmetricWeights: Bool {
        trainingMapping.decomposition.weightRange.lowerBound > -(1 << (weightBits - 1))
    }

    func deployedMapping(_ stages: NonIdealities) throws(MappingError) -> LayerMapping {
        try target.chip.mapping(scheme: scheme, mode: mode, inputBits: inputBits, weightBits: weightBits, nonIdealities: stages)
    }

    /// The layer programmed with `weights` for the target's phase; reprogrammed only when
    /// the weights or the phase change.
    private func layer(weights: [Int32], outputs: Int, fanIn: Int) -> ProgrammedLayer {
        let phase = target.phase
        if let programmed, programmed.phase == phase, programmed.weights == weights { return programmed.layer }
        do {
            let layer: ProgrammedLayer
            switch phase {
            case .training:
                layer = try ProgrammedLayer(mapping: trainingMapping, weights: weights, outputs: outputs, fanIn: fanIn, layer: index)
            case let .deployed(chipSeed, _, stages):
                var deployed = try ProgrammedLayer(mapping: try deployedMapping(stages), weights: weights, outputs: outputs,
                                                   fanIn: fanIn, layer: index, chipSeed: chipSeed)
                if let range = calibratedRanges[RangeKey(chipSeed: chipSeed, stages: stages)] { deployed = deployed.withFullScale(range) }
                layer = deployed
            }
            programmed = (weights, phase, layer)
            return layer
        } catch {
            // The mappings were checked when the target was attached, and the quantizer keeps
            // weights on the grid: failing here is a bug, not a user error.
            preconditionFailure("PIMExecution \(name): \(error)")
        }
    }

    /// `Y = W·X` through the chip: `weights` M×K on the weight grid, `inputs` K×N levels
    /// 0…2^b−1, `columnsPerExample` columns per dataset example (pixels, or 1). Returns
    /// Y (M×N, row-major) in integer-product units, and M×N clip flags when clipped
    /// gradients are to be zeroed.
    func product(weights: [Int32], outputs: Int, fanIn: Int, inputs: [Int32], columns: Int, columnsPerExample: Int)
        -> (output: [Double], clipped: [UInt8]?) {
        var layer = layer(weights: weights, outputs: outputs, fanIn: fanIn)
        if needsRangeCalibration, case let .deployed(chipSeed, _, stages) = target.phase,
           calibratedRanges[RangeKey(chipSeed: chipSeed, stages: stages)] == nil {
            precondition(target.calibratingRanges, "PIMExecution \(name): a calibrated ADC range must be set by ChipDeployment's range calibration first")
            do {
                let range = try layer.calibratedFullScale(inputs: inputs, columns: columns)
                calibratedRanges[RangeKey(chipSeed: chipSeed, stages: stages)] = range
                layer = layer.withFullScale(range)
                programmed = (weights, target.phase, layer)
            } catch {
                preconditionFailure("PIMExecution \(name): input levels off the \(inputBits)-bit grid: \(error)")
            }
        }
        let recordClips = target.settings.zeroClippedGradients && target.phase == .training
        let options = RunOptions(noiseSeed: target.noiseSeed, columnOffset: target.firstExample * columnsPerExample,
                                 threads: BLAS.threadCount, collectStatistics: target.collectStatistics, recordClips: recordClips)
        let result: PIMResult
        do {
            result = try layer.run(inputs: inputs, columns: columns, options: options)
        } catch {
            preconditionFailure("PIMExecution \(name): input levels off the \(inputBits)-bit grid: \(error)")
        }
        if target.collectStatistics {
            if statistics.conversions == 0 { statistics = result.statistics } else { statistics.merge(result.statistics) }
            converterRange = layer.converterFullScale
        }
        return (result.output, result.clipped)
    }

    /// Applies the forward factor to the PIM output `chip` (in place) and sets the gradient
    /// factor (and mask) of the next backward pass; `ideal` is the exact output and `clipped`
    /// the clip flags, in the same layout.
    func rescale(_ chip: inout [Float], ideal: [Float], clipped: [UInt8]?, training: Bool) {
        gradientMask = training ? clipped : nil
        let rescale = target.settings.rescale
        if target.collectStatistics {
            for (p, e) in zip(chip, ideal) {
                outputSignal += Double(e) * Double(e)
                outputError += (Double(p) - Double(e)) * (Double(p) - Double(e))
            }
        }
        var factor: Float = 1
        if training {
            let exact = Self.standardDeviation(ideal), pim = Self.standardDeviation(chip)
            // A layer whose exact output is constant has no scale to restore.
            let ratio = exact > 0 ? Float(min(max(pim / exact, 1e-3), 1e3)) : 1
            lastRatio = ratio
            ratioSum += Double(ratio)
            ratioCount += 1
            if rescale.forward {
                factor = 1 / ratio
                forwardScale = 0.9 * forwardScale + 0.1 * factor
            }
            gradientFactor = factor * (rescale.backward ? ratio : 1)
        } else {
            if rescale.forward { factor = forwardScale }
            gradientFactor = factor
        }
        if factor != 1 {
            for i in chip.indices { chip[i] *= factor }
        }
    }

    /// The mean of r = σ̂/σ_y over the training forward passes since the last call (nil if
    /// none), and a fresh start: how far the chip's quantization shrinks (r < 1) or inflates the
    /// layer's output scale, which PIM-QAT's rescaling corrects.
    public func takeMeanRatio() -> Double? {
        defer { (ratioSum, ratioCount) = (0, 0) }
        return ratioCount > 0 ? ratioSum / Double(ratioCount) : nil
    }

    /// The incoming gradient times ``gradientFactor``, zero where the mask says so.
    func scaledGradient(_ gradient: Tensor) -> Tensor {
        guard gradientFactor != 1 || gradientMask != nil else { return gradient }
        var scaled = gradient
        let factor = gradientFactor
        for i in scaled.data.indices { scaled.data[i] *= factor }
        if let mask = gradientMask, mask.count == scaled.count {
            for i in scaled.data.indices where mask[i] != 0 { scaled.data[i] = 0 }
        }
        return scaled
    }

    static func standardDeviation(_ values: [Float]) -> Double {
        guard !values.isEmpty else { return 0 }
        var sum = 0.0, squares = 0.0
        for v in values { sum += Double(v); squares += Double(v) * Double(v) }
        let mean = sum / Double(values.count)
        return max(0, squares / Double(values.count) - mean * mean).squareRoot()
    }

    /// What the statistics gathered so far say about this layer.
    public var report: PIMLayerReport {
        let codes = statistics.codeHistogram.count
        let sigma = statistics.errorSigmaLSB
        return PIMLayerReport(
            layer: name, conversions: statistics.conversions, clipRateLow: statistics.clipRateLow, clipRateHigh: statistics.clipRateHigh,
            conversionErrorSigmaLSB: sigma,
            partialSumRootMeanSquareLSB: statistics.conversions > 0 && statistics.lsb > 0
                ? (statistics.sumSignalSquared / Double(statistics.conversions)).squareRoot() / statistics.lsb : nil,
            effectiveBits: codes > 1 && sigma > 0 ? log2(Double(codes - 1) / (sigma * 12.0.squareRoot())) : nil,
            sqnrDecibels: outputError > 0 ? 10 * log10(outputSignal / outputError) : nil,
            adcRange: converterRange.map { [$0.lowerBound, $0.upperBound] })
    }

    /// The running forward factor, saved with the model when forward rescaling is on.
    var buffers: [(name: String, value: Tensor)] {
        target.settings.rescale.forward ? [("\(name).pim_forward_scale", Tensor(shape: [1], data: [forwardScale]))] : []
    }

    func setBuffer(_ bufferName: String, _ value: Tensor) {
        if bufferName == "\(name).pim_forward_scale", value.count == 1 { forwardScale = value.data[0] }
    }
}

/// One PIM layer's conversion and output statistics over a deployment run.
public struct PIMLayerReport: Sendable, Codable {
    public var layer: String
    public var conversions: Int
    /// Fractions of conversions clipped below and above the converter's range.
    public var clipRateLow: Double
    public var clipRateHigh: Double
    /// Standard deviation of the conversion error (noise, static errors, rounding), LSB.
    public var conversionErrorSigmaLSB: Double
    /// RMS of the analog partial sums the converters saw, in LSB: how many codes the signal
    /// spans (against the converter's whole code span); nil without conversions.
    public var partialSumRootMeanSquareLSB: Double?
    /// log2(code span / (σ_error · √12)): the converter's effective resolution here; nil when error-free.
    public var effectiveBits: Double?
    /// 10·log10(Σ exact² / Σ (PIM − exact)²) of the layer's outputs, dB; nil when exact.
    public var sqnrDecibels: Double?
    /// The converter's full-scale range [min, max] in MAC units (calibrated per chip instance
    /// for a `calibrated` policy); nil for a lossless converter.
    public var adcRange: [Double]?
}
