/// One chip's headline figures, for comparing presets side by side: geometry, precision,
/// converter, noise, derived peak throughput and efficiency beside the reported ones, and the
/// reported accuracy. Units: ops/s and ops/J with 2 ops per MAC of the chip's own operands.
public struct ChipSummary: Sendable, Codable {
    public var id: String
    public var year: Int?
    public var nodeNm: Double?
    public var supplyV: Double?
    public var memory: String
    public var domain: String
    /// Rows × columns of the array, and inputs summed per conversion.
    public var rows: Int, cols: Int, inputsPerConversion: Int
    public var inputBits: [Int]
    public var inputBitsPerCycle: String
    /// How the DAC drives a sign (``ChipConfig/InputEncoding``).
    public var inputEncoding: String
    public var weightBits: [Int]
    public var encodings: [String]
    /// The converter: type, bits (nil = lossless), count, temporal noise σ (LSB).
    public var adcType: String
    public var adcBits: Int?
    public var adcCount: Int
    public var noiseSigmaLSB: Double
    public var clockHz: Double
    public var peakThroughputOpsPerS: Double
    public var reportedPeakThroughputOpsPerS: Double?
    /// nil when the chip file gives no energy figures.
    public var efficiencyOpsPerJ: Double?
    public var reportedEfficiencyOpsPerJ: Double?
    public var reportedAccuracy: [ChipConfig.ReportedAccuracy]
    /// Fields whose value is the project's default, not published.
    public var defaultedFields: Int

    public init(_ chip: ChipConfig) {
        let figures = chip.figures()
        id = chip.meta.id
        year = chip.meta.year
        (nodeNm, supplyV) = (chip.technology.nodeNm, chip.technology.supplyV)
        memory = chip.memory.type.rawValue
        domain = chip.compute.domain.rawValue
        (rows, cols, inputsPerConversion) = (chip.array.rows, chip.array.cols, chip.array.inputsPerConversion)
        inputBits = chip.inputs.supportedBits
        inputBitsPerCycle = chip.inputs.bitsPerCycle.description
        inputEncoding = chip.inputs.encoding.rawValue
        weightBits = chip.weights.supportedBits
        encodings = chip.weights.encodings.map(\.rawValue)
        adcType = chip.adc.type.rawValue
        adcBits = chip.adc.bits
        adcCount = chip.adc.count
        noiseSigmaLSB = chip.adc.noiseSigmaLsb
        clockHz = chip.timing.clockHz
        peakThroughputOpsPerS = figures.peakThroughputOpsPerS
        reportedPeakThroughputOpsPerS = chip.reported.peakThroughputOpsPerS
        efficiencyOpsPerJ = figures.efficiencyOpsPerJ
        reportedEfficiencyOpsPerJ = chip.reported.energyEfficiencyOpsPerJ
        reportedAccuracy = chip.reported.accuracy
        defaultedFields = chip.provenance.values.filter { $0.status == .default }.count
    }
}
