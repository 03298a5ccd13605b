import Foundation

/// What `pimctl simulate matmul` reports for one matmul: the mapping, the conversion statistics and
/// the error of the result against the exact product.
public struct MatmulReport: Sendable, Codable {
    public var chip: String
    public var scheme: String
    public var mode: String
    public var shape: [Int]
    public var inputBits: Int
    public var weightBits: Int
    public var seed: UInt64
    public var chipSeed: UInt64
    public var rangePolicy: String
    /// Set when the range policy sees the data first: such a converter cannot exist.
    public var nonPhysical: String?
    /// Converter of the run: LSB and full scale in MAC units (nil = lossless).
    public var lsbMACUnits: Double?
    public var fullScale: [Double]?
    public var adcBits: Int?
    public var conversions: Int
    /// Multiply-accumulates of the digital layer, M·K·N.
    public var macs: Int
    public var conversionsPerMAC: Double
    public var clipRateLow: Double
    public var clipRateHigh: Double
    /// Conversion error against the analog partial sum: mean and σ in LSB, compute SNR in dB.
    public var conversionErrorMeanLSB: Double
    public var conversionErrorSigmaLSB: Double
    public var csnrDecibels: Double?
    /// The resolution of an ideal converter over the same full scale with the same error σ:
    /// log2(span / (σ·√12)); nil when lossless.
    public var effectiveBits: Double?
    /// Output against the exact result (integer product, or W·X for real-valued inputs).
    public var sqnrDecibels: Double?
    public var outputErrorMean: Double
    public var outputErrorSigma: Double
    public var distinctCodes: Int
    public var codeHistogram: [Int]
    public var minimumCode: Int
    /// Energy from the chip's figures: conversions × E_conversion + analog MACs × E_MAC +
    /// DAC drives × E_DAC, joules (nil without figures); latency at the chip clock with all
    /// ADCs of all arrays converting in parallel, seconds.
    public var energyJ: Double?
    public var latencyS: Double
    public var seconds: Double

    /// Builds the report of a finished run.
    public init(layer: ProgrammedLayer, result: PIMResult, exact: [Double], output: [Double], m: Int, k: Int, n: Int,
                seed: UInt64, passes: Int, seconds: Double) {
        let mapping = layer.mapping, chip = mapping.chip, d = mapping.decomposition, stats = result.statistics
        self.chip = chip.meta.id
        scheme = mapping.scheme.rawValue
        mode = mapping.mode.name
        shape = [m, k, n]
        inputBits = d.inputBits
        weightBits = d.weightBits
        self.seed = seed
        chipSeed = layer.chipSeed
        rangePolicy = mapping.adc.range.policy.rawValue
        nonPhysical = mapping.adc.range.policy == .oracle && !layer.adc.isIdeal
            ? "oracle range: each tensor's own min/max, which no ADC can know before converting" : nil
        let ideal = layer.adc.isIdeal
        lsbMACUnits = ideal ? nil : layer.adc.lsb
        fullScale = ideal ? nil : [layer.adc.fullScale.lowerBound, layer.adc.fullScale.upperBound]
        adcBits = ideal ? nil : layer.adc.bits
        conversions = stats.conversions
        macs = m * k * n
        conversionsPerMAC = macs > 0 ? Double(conversions) / Double(macs) : 0
        clipRateLow = stats.clipRateLow
        clipRateHigh = stats.clipRateHigh
        conversionErrorMeanLSB = stats.errorMeanLSB
        conversionErrorSigmaLSB = stats.errorSigmaLSB
        csnrDecibels = stats.csnrDecibels.isFinite ? stats.csnrDecibels : nil
        let span = Double(layer.adc.maxCode - layer.adc.minCode)
        effectiveBits = !ideal && stats.errorSigmaLSB > 0 ? log2(span / (stats.errorSigmaLSB * 12.0.squareRoot())) : nil
        var signal = 0.0, sumError = 0.0, sumSquared = 0.0
        for (y, reference) in zip(output, exact) {
            signal += reference * reference
            let e = y - reference
            sumError += e
            sumSquared += e * e
        }
        let count = Double(max(1, output.count))
        sqnrDecibels = sumSquared > 0 ? 10 * log10(signal / sumSquared) : nil
        outputErrorMean = sumError / count
        outputErrorSigma = max(0, sumSquared / count - outputErrorMean * outputErrorMean).squareRoot()
        distinctCodes = stats.distinctCodes
        codeHistogram = stats.codeHistogram
        minimumCode = stats.minimumCode
        let analogMACs = Double(m) * Double(k) * Double(n) * Double(d.inputCycles * layer.matricesPerOutput * passes)
        let drives = Double(k) * Double(n) * Double(d.inputCycles * passes)
        if let conversion = mapping.adc.conversionEnergyJ {
            energyJ = Double(conversions) * conversion + analogMACs * (chip.compute.macEnergyJ ?? 0) + drives * (chip.inputs.dac.energyJ ?? 0)
        } else {
            energyJ = nil
        }
        let cycles = mapping.mode.timing.meanCyclesPerConversion(d, adc: mapping.adc)
        latencyS = Double(conversions) / Double(chip.adc.count * chip.array.count) * cycles / chip.timing.clockHz
        self.seconds = seconds
    }
}
