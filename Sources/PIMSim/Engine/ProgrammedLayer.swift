/// An integer operand outside the grid the mapping can hold (user data, reported as one line).
public struct OperandRangeError: Error, Sendable, Equatable, UserInputError {
    public var description: String
}

/// Why a layer cannot be programmed: its mapping cannot run exactly, or a weight lies off the
/// encoding's grid.
public enum ProgrammingError: Error, Sendable, Equatable, UserInputError {
    case mapping(MappingError)
    case weight(OperandRangeError)

    public var description: String {
        switch self {
        case let .mapping(error): error.description
        case let .weight(error): error.description
        }
    }
}

/// One layer's weights programmed onto a chip instance: the cell contents of every
/// conversion matrix (static cell mismatch applied) and the converter of this instance.
///
/// A conversion matrix is what one set of columns holds: the digits of one weight slice (or
/// one polarity of it, for digital subtraction), as an M×K row-major `Float` matrix. Its
/// partial sums are converted and recombined with ``factors``.
public struct ProgrammedLayer: Sendable {
    public let mapping: LayerMapping
    /// Output rows M and fan-in K of `Y = W·X`.
    public let outputs: Int
    public let fanIn: Int
    /// Layer index and chip instance: part of every random draw's coordinates.
    public let layer: Int
    public let chipSeed: UInt64
    /// Cell contents per conversion matrix, each M×K row-major.
    let matrices: [[Float]]
    /// Digital recombination factor of each matrix: slice weight × polarity sign, divided by
    /// ``Decomposition/weightScale``.
    let factors: [Double]
    /// σ of the temporal read noise of one cell of each matrix, in digits (the two polarities
    /// of an analog-subtracted pair combined); empty when there is none.
    let readNoise: [Double]
    /// Per conversion matrix, the gain S_full/S applied to each (output, row group)'s partial
    /// sums before the converter where the chip divides by the summed conductance
    /// (index m·groups + group), undone after it; empty otherwise.
    let normalisation: [[Float]]
    /// The converter of this instance (range from the policy; replaced by range calibration).
    private(set) var adc: ADCModel
    /// The converter of each input cycle where some cycle converts at fewer bits
    /// (``Decomposition/cycleADCBits(_:)``): the same full scale, truncated; empty otherwise.
    private(set) var cycleADCs: [ADCModel] = []

    /// The converter's full-scale range (MAC units) as programmed (or calibrated); nil for a
    /// lossless converter.
    public var converterFullScale: ClosedRange<Double>? { adc.isIdeal ? nil : adc.fullScale }

    /// Conversion matrices per output: the columns one output element occupies.
    public var matricesPerOutput: Int { matrices.count }

    /// Programs integer weights `W` (M×K, row-major, on the encoding's grid).
    ///
    /// Static draws — cell mismatch, ADC offsets, gains and INL — depend on `chipSeed` (and,
    /// for cells, on `layer`), never on data.
    /// A `calibrated` converter takes its range from data later
    /// (``calibratingRange(inputs:columns:percentile:)``); an `oracle` one per run.
    /// - Throws: ``ProgrammingError/weight(_:)`` for a weight off the grid;
    ///   ``ProgrammingError/mapping(_:)`` when partial sums could exceed exact single precision.
    public init(mapping: LayerMapping, weights: [Int32], outputs: Int, fanIn: Int, layer: Int = 0,
                chipSeed: UInt64 = 0) throws(ProgrammingError) {
        precondition(weights.count == outputs * fanIn, "ProgrammedLayer: \(weights.count) weights for \(outputs)×\(fanIn)")
        let d = mapping.decomposition
        let grid = d.weightRange
        if let index = weights.firstIndex(where: { !grid.contains(Int($0)) }) {
            throw .weight(OperandRangeError(description: "weight \(weights[index]) at row \(index / fanIn), column \(index % fanIn) is outside the \(d.weightBits)-bit \(d.encoding.rawValue) grid \(grid.lowerBound)…\(grid.upperBound)"))
        }
        let bound = d.partialSumRange
        if max(abs(bound.lowerBound), abs(bound.upperBound)) > 1 << 24 {
            throw .mapping(MappingError("partial sums of up to \(max(abs(bound.lowerBound), abs(bound.upperBound))) MAC units exceed 2^24, beyond exact single-precision sums; use fewer inputs per conversion"))
        }
        self.mapping = mapping
        self.outputs = outputs
        self.fanIn = fanIn
        self.layer = layer
        self.chipSeed = chipSeed
        // A lossless converter sees the sum itself: the division and multiply-back cancel.
        let adcIsIdeal = mapping.adc.type == .ideal
        let programmed = ProgrammedLayer.program(weights, decomposition: d, fanIn: fanIn, count: outputs * fanIn,
                                                 mismatch: mapping.cellMismatch, analogCells: mapping.analogCells,
                                                 cellNoise: d.slices.map { mapping.cellNoiseSigma(levels: $0.magnitude) },
                                                 readNoise: d.slices.map { mapping.readNoiseSigma(levels: $0.magnitude) },
                                                 drift: mapping.drift, gMinRatio: adcIsIdeal ? nil : mapping.conductanceFloorRatio,
                                                 layer: layer, chipSeed: chipSeed)
        (matrices, factors, normalisation) = (programmed.matrices, programmed.factors, programmed.gains)
        readNoise = programmed.readNoise.contains { $0 > 0 } ? programmed.readNoise : []
        adc = .ideal
        switch mapping.adc.range.policy {
        case .fixed, .max:
            setConverters(fullScale: mapping.adc.fullScale(reachable: bound) ?? -1...1)
        case .calibrated, .oracle:
            if mapping.adc.type != .ideal {
                setConverters(fullScale: mapping.adc.fullScale(reachable: bound) ?? ProgrammedLayer.reachableScale(mapping))
            }
        }
    }

    /// Builds this instance's converter over `fullScale` (MAC units), and each input cycle's
    /// where some cycle converts at fewer bits.
    private mutating func setConverters(fullScale: ClosedRange<Double>) {
        adc = ProgrammedLayer.converter(mapping, config: mapping.adc, fullScale: fullScale, chipSeed: chipSeed)
        let cycleBits = mapping.decomposition.cycleADCBits(mapping.adc)
        if mapping.adc.type != .ideal, cycleBits.contains(where: { $0 != mapping.adc.bits }) {
            cycleADCs = cycleBits.map { bits in
                bits == mapping.adc.bits ? adc
                    : ProgrammedLayer.converter(mapping, config: mapping.adc.truncated(toBits: bits!), fullScale: fullScale, chipSeed: chipSeed)
            }
        } else {
            cycleADCs = []
        }
    }

    /// The converter of input cycle `c`.
    func converter(cycle c: Int) -> ADCModel { cycleADCs.isEmpty ? adc : cycleADCs[c] }

    static func reachableScale(_ mapping: LayerMapping) -> ClosedRange<Double> {
        let r = mapping.decomposition.partialSumRange
        if mapping.adc.signed {
            let m = Double(max(abs(r.lowerBound), abs(r.upperBound)))
            return -m...m
        }
        return Double(r.lowerBound)...Double(max(r.upperBound, r.lowerBound + 1))
    }

    static func converter(_ mapping: LayerMapping, config: ADCConfig, fullScale: ClosedRange<Double>, chipSeed: UInt64) -> ADCModel {
        ADCModel(config: config, fullScale: fullScale, noise: mapping.nonIdealities.temporalNoise,
                 staticErrors: mapping.nonIdealities.adcStaticErrors, transfer: mapping.transfer,
                 transferScale: mapping.transferScale, chipSeed: chipSeed)
    }

    /// The same layer with its converter's full-scale range set to `fullScale` (MAC units).
    public func withFullScale(_ fullScale: ClosedRange<Double>) -> ProgrammedLayer {
        var copy = self
        if mapping.adc.type != .ideal {
            let span = fullScale.upperBound - fullScale.lowerBound
            let safe = span > 0 ? fullScale : fullScale.lowerBound...(fullScale.lowerBound + 1)
            copy.setConverters(fullScale: safe)
        }
        return copy
    }

    // MARK: - Programming

    /// Splits each weight into slice digits and lays them on conversion matrices.
    ///
    /// With `analogCells`, a slice digit is built from physical cells of `bits` bits whose
    /// analog weights 2^(bits·g) carry a static relative error (σ `ratioMismatch`, one draw per
    /// output row, slice and cell position g); the top cell of a signed digit counts negative.
    /// `cellNoise[j]` is the σ (digits) of an additive static error of every cell of slice j,
    /// zero digits included (a cleared device still carries its write error). With `drift`,
    /// every cell's value is then scaled by its device's drift factor at the read time.
    /// `readNoise[j]` is the temporal read-noise σ of one cell of slice j, per polarity; the
    /// result gives it per matrix (√2 of it where a pair is subtracted in analog). With
    /// `gMinRatio` (g_min/(g_max − g_min)), the result holds each matrix's normalisation gains
    /// from the target levels (the digital multiply-back knows only those).
    static func program(_ weights: [Int32], decomposition d: Decomposition, fanIn: Int, count: Int, mismatch: Double,
                        analogCells: (bits: Int, ratioMismatch: Double)? = nil, cellNoise: [Double] = [], readNoise: [Double] = [],
                        drift: (model: ChipConfig.Drift, seconds: Double)? = nil, gMinRatio: Double? = nil,
                        layer: Int, chipSeed: UInt64) -> (matrices: [[Float]], factors: [Double], readNoise: [Double], gains: [[Float]]) {
        let slices = d.slices
        let pairs = d.usesColumnPairs
        let digitalPairs = pairs && d.subtraction == .digital
        let b = d.weightBits
        var matrices: [[Float]] = []
        var factors: [Double] = []
        var matrixReadNoise: [Double] = []
        var gains: [[Float]] = []
        let groupSize = d.inputsPerConversion, groups = max(1, (fanIn + groupSize - 1) / groupSize)
        let stream = RandomStream(seed: chipSeed, purpose: .cellMismatch, layer: layer)
        let ratioStream = RandomStream(seed: chipSeed, purpose: .bitRatio, layer: layer)
        let outputs = count / max(1, fanIn)
        for (j, slice) in slices.enumerated() {
            let sliceWidth = ADCConfig.bits(holding: slice.maxDigit - slice.minDigit)
            // The analog weight of each physical cell position g of this slice, per output row.
            var cellWeights: [[Double]] = []
            if let cells = analogCells, cells.ratioMismatch > 0 {
                let positions = (sliceWidth + cells.bits - 1) / cells.bits
                cellWeights = (0..<outputs).map { row in
                    (0..<positions).map { g in
                        let index = (UInt64(j) * UInt64(outputs) + UInt64(row)) * UInt64(positions) + UInt64(g)
                        return Double(1 << (g * cells.bits)) * (1 + cells.ratioMismatch * ratioStream.normal(index))
                    }
                }
            }
            /// The digit as its cells sum it: Σ_g chunk_g · 2^(c·g)·(1 + δ_g), the top chunk
            /// of a signed digit taken as a signed c-bit value.
            func analogValue(_ digit: Int, row: Int) -> Double {
                guard !cellWeights.isEmpty, let c = analogCells?.bits else { return Double(digit) }
                let weightsOfRow = cellWeights[row]
                let positions = weightsOfRow.count
                let pattern = digit < 0 ? digit + (1 << (positions * c)) : digit
                var total = 0.0
                for g in 0..<positions {
                    var chunk = (pattern >> (g * c)) & ((1 << c) - 1)
                    if g == positions - 1, slice.minDigit < 0, chunk >= 1 << (c - 1) { chunk -= 1 << c }
                    total += Double(chunk) * weightsOfRow[g]
                }
                return total
            }
            let shift = Int(slice.weight.magnitude).trailingZeroBitCount
            let widthMask: Int = {
                let next = j + 1 < slices.count ? Int(slices[j + 1].weight.magnitude).trailingZeroBitCount : b
                return (1 << (next - shift)) - 1
            }()
            let isTop = j == slices.count - 1
            // The digit a cell of slice j holds for weight w (polarity 1: the − column of a pair).
            func cellDigit(_ w: Int, polarity: Int) -> Int {
                switch d.encoding {
                case .twosComplement:
                    if !isTop { return (w >> shift) & widthMask }
                    return slice.weight < 0 ? (w < 0 ? 1 : 0) : (w >> shift)  // sign bit as 0/1, or signed top digit
                case .offsetBinary:
                    return ((w + (1 << (b - 1))) >> shift) & widthMask
                case .differential:
                    let magnitude = polarity == 0 ? max(w, 0) : max(-w, 0)
                    return (magnitude >> shift) & widthMask
                case .ternarySignedDigit:
                    let bit = (abs(w) >> j) & 1
                    let signedDigit = w < 0 ? -bit : bit
                    return polarity == 0 ? max(signedDigit, 0) : max(-signedDigit, 0)
                case .bipolarXNOR:
                    return 2 * ((w >> j) & 1) - 1
                }
            }
            let polarities = pairs ? 2 : 1
            let additive = j < cellNoise.count ? cellNoise[j] : 0
            let cellReadNoise = j < readNoise.count ? readNoise[j] : 0
            func cellValue(_ w: Int, polarity: Int, cell: Int) -> Float {
                let digit = cellDigit(w, polarity: polarity)
                let plane = UInt64(j * 2 + polarity)
                var value = 0.0
                if digit != 0 {
                    value = analogValue(digit, row: cell / fanIn)
                    if mismatch > 0 { value *= 1 + mismatch * stream.normal(plane * UInt64(count) + UInt64(cell)) }
                }
                if additive > 0 { value += additive * stream.normal((64 + plane) * UInt64(count) + UInt64(cell)) }
                if let drift {
                    let nu = drift.model.nu + drift.model.nuSigma * stream.normal((128 + plane) * UInt64(count) + UInt64(cell))
                    value *= drift.model.factor(nu: nu, at: drift.seconds)
                }
                return Float(value)
            }
            /// The normalisation gain S_full / S of each (output, row group) for the given
            /// polarities on one column: S = Σ_k (P·c + Σ_p level_p), c = L·g_min/(g_max − g_min)
            /// the device floor in levels, S_full = n·(P·c + L) (a column at full conductance).
            func normalisationGains(_ columnPolarities: [Int]) -> [Float] {
                guard let gMinRatio else { return [] }
                let floor = Double(slice.magnitude) * gMinRatio, onColumn = Double(columnPolarities.count)
                let full = Double(groupSize) * (onColumn * floor + Double(slice.magnitude))
                return (0..<(outputs * groups)).map { index in
                    let row = index / groups, k0 = (index % groups) * groupSize, k1 = min(fanIn, k0 + groupSize)
                    var sum = 0.0
                    for k in k0..<k1 {
                        let w = Int(weights[row * fanIn + k])
                        sum += onColumn * floor + columnPolarities.reduce(0.0) { $0 + Double(cellDigit(w, polarity: $1)) }
                    }
                    return Float(full / sum)
                }
            }
            if digitalPairs {
                for polarity in 0..<2 {
                    gains.append(normalisationGains([polarity]))
                    matrices.append((0..<count).map { cellValue(Int(weights[$0]), polarity: polarity, cell: $0) })
                    factors.append(Double(slice.weight) / Double(d.weightScale) * (polarity == 0 ? 1 : -1))
                    matrixReadNoise.append(cellReadNoise)
                }
            } else {
                gains.append(normalisationGains(Array(0..<polarities)))
                matrices.append((0..<count).map { cell in
                    var value: Float = 0
                    for polarity in 0..<polarities {
                        value += (polarity == 0 ? 1 : -1) * cellValue(Int(weights[cell]), polarity: polarity, cell: cell)
                    }
                    return value
                })
                factors.append(Double(slice.weight) / Double(d.weightScale))
                matrixReadNoise.append(cellReadNoise * Double(polarities).squareRoot())
            }
        }
        return (matrices, factors, matrixReadNoise, gMinRatio == nil ? [] : gains)
    }
}
