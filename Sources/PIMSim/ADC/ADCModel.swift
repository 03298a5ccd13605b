import Foundation
internal import CKernels

/// The converter of one layer mapping, resolved: codes, LSB, and each ADC instance's static
/// errors and digital calibration.
///
/// A conversion of an analog partial sum v (MAC units, after the transfer curve) works in LSB
/// units `u = (v − zero) / Δ`:
/// 1. temporal noise: `u += σ_n · z` (z standard normal, drawn per conversion);
/// 2. static errors of ADC instance a: `u' = u · (1 + g_a) + o_a`;
/// 3. quantization: the code k with `T_a[k] ≤ u' < T_a[k+1]`, clipped to `minCode…maxCode`;
///    without INL the thresholds are `k − ½` and ties round half to even;
/// 4. calibration: the output is `zero + Δ · value_a[k]`, where `value_a` is the raw code
///    (`none`), a per-instance linear fit of the whole chain (`linear`), or that fit plus the
///    mean residual curve over all instances (`linear+master`).
///
/// An ideal converter returns v unchanged (lossless: unit LSB, no clipping).
struct ADCModel: Sendable {
    let isIdeal: Bool
    let signed: Bool
    let bits: Int
    /// Code range: 0…2^b−1 unsigned, −(2^(b−1)−1)…2^(b−1)−1 signed.
    let minCode: Int
    let maxCode: Int
    /// LSB in MAC units.
    let lsb: Double
    /// The MAC value of code 0: the range minimum (unsigned) or 0 (signed).
    let zero: Double
    /// Temporal noise σ in LSB.
    let noiseSigma: Double
    /// Per-instance static errors and calibration; empty when every instance is ideal.
    let instances: [Instance]
    /// The instances' tables flattened for the conversion kernel. Values: instance a's code k
    /// at `a · codes + (k − minCode)`. Thresholds: at `a · (codes + 1) + (k − minCode)`, with
    /// −∞ below the first code and a +∞ sentinel after the last.
    let gainTable: [Float]
    let offsetTable: [Float]
    let thresholdTable: [Float]
    let valueTable: [Float]
    /// Code lookup on a grid of u′: cell c of an instance covers
    /// `[cellOrigin + c / cellsPerLSB, cellOrigin + (c + 1) / cellsPerLSB)`. Its entry holds the
    /// code index at its lower edge, the one threshold inside it (+∞ if none) and the output
    /// values below and above that threshold; at most ``cellSteps`` thresholds lie inside any
    /// cell (when more than one, the kernel walks the thresholds from the entry's code).
    let cellEntries: [CellEntry]
    let cellsPerInstance: Int
    let cellOrigin: Double
    static let cellsPerLSB = 8.0
    let cellSteps: Int

    /// One cell of the lookup grid: threshold, below, above, index (a C struct, shared with
    /// the vectorised kernel).
    typealias CellEntry = PIMCellEntry

    /// One ADC instance's static behaviour.
    struct Instance: Sendable {
        /// 1 + relative gain error.
        var gain: Float
        /// Offset in LSB.
        var offset: Float
        /// Lower threshold of each code in u' units, index k − minCode (the first is −∞).
        var thresholds: [Float]
        /// Calibrated output of each code in LSB units, index k − minCode.
        var values: [Float]
    }

    /// The converter's full-scale range in MAC units.
    var fullScale: ClosedRange<Double> {
        isIdeal ? -Double.infinity...Double.infinity : (zero + lsb * Double(minCode))...(zero + lsb * Double(maxCode))
    }

    /// Whether the conversion is exact rounding with no per-instance effects.
    var hasStaticErrors: Bool { !instances.isEmpty }

    /// A lossless converter.
    static let ideal = ADCModel(isIdeal: true, signed: true, bits: 0, minCode: 0, maxCode: 0,
                                       lsb: 1, zero: 0, noiseSigma: 0, instances: [])

    init(isIdeal: Bool, signed: Bool, bits: Int, minCode: Int, maxCode: Int, lsb: Double, zero: Double,
         noiseSigma: Double, instances: [Instance]) {
        self.isIdeal = isIdeal
        self.signed = signed
        self.bits = bits
        self.minCode = minCode
        self.maxCode = maxCode
        self.lsb = lsb
        self.zero = zero
        self.noiseSigma = noiseSigma
        self.instances = instances
        gainTable = instances.map(\.gain)
        offsetTable = instances.map(\.offset)
        thresholdTable = instances.flatMap { $0.thresholds + [.infinity] }
        valueTable = instances.flatMap(\.values)
        // The grid spans every threshold with a margin; u′ beyond it clamps to the end cells.
        let codes = maxCode - minCode + 1
        var low = Double(minCode) - 1, high = Double(maxCode) + 1
        for instance in instances {
            low = min(low, Double(instance.thresholds.dropFirst().first ?? 0) - 1)
            high = max(high, Double(instance.thresholds.last ?? 0) + 1)
        }
        cellOrigin = low
        let cells = instances.isEmpty ? 0 : Int(((high - low) * ADCModel.cellsPerLSB).rounded(.up)) + 1
        cellsPerInstance = cells
        var table = [Int32]()
        table.reserveCapacity(cells * instances.count)
        var steps = 0
        for instance in instances {
            var index = 0
            for cell in 0..<cells {
                let edge = Float(low + Double(cell) / ADCModel.cellsPerLSB)
                while index < codes - 1 && instance.thresholds[index + 1] <= edge { index += 1 }
                table.append(Int32(index))
                // Thresholds strictly inside this cell.
                let upper = Float(low + Double(cell + 1) / ADCModel.cellsPerLSB)
                var inside = 0
                while index + inside < codes - 1 && instance.thresholds[index + inside + 1] < upper { inside += 1 }
                steps = max(steps, inside)
            }
        }
        cellSteps = steps
        var entries: [CellEntry] = []
        entries.reserveCapacity(table.count)
        for (a, instance) in instances.enumerated() {
            for cell in 0..<cells {
                let index = Int(table[a * cells + cell])
                let inside = index + 1 < codes && instance.thresholds[index + 1] < Float(low + Double(cell + 1) / ADCModel.cellsPerLSB)
                entries.append(CellEntry(threshold: inside ? instance.thresholds[index + 1] : .infinity,
                                         below: instance.values[index], above: instance.values[min(index + 1, codes - 1)],
                                         index: Int32(index)))
            }
        }
        cellEntries = entries
    }

    /// Builds the converter for a full-scale range.
    ///
    /// - Parameters:
    ///   - config: the ADC as the operating mode sets it.
    ///   - fullScale: the input range in MAC units (symmetric for a signed converter).
    ///   - transfer: the analog transfer curve and its normalisation `y_fs` (MAC units), for calibration.
    ///   - chipSeed: the chip instance whose static errors are drawn.
    init(config: ADCConfig, fullScale: ClosedRange<Double>, noise: Bool, staticErrors: Bool,
                transfer: TransferCurve, transferScale: Double, chipSeed: UInt64) {
        guard let bits = config.bits, let maxCode = config.maxCode else {
            self = .ideal
            return
        }
        let signed = config.signed
        let minCode = signed ? -maxCode : 0
        let lsb: Double, zero: Double
        if signed {
            let r = max(abs(fullScale.lowerBound), abs(fullScale.upperBound))
            lsb = r / Double(maxCode)
            zero = 0
        } else {
            lsb = (fullScale.upperBound - fullScale.lowerBound) / Double(maxCode)
            zero = fullScale.lowerBound
        }
        precondition(lsb > 0 && lsb.isFinite, "ADCModel: empty full-scale range")
        let hasErrors = ADCModel.hasStaticErrors(config, staticErrors: staticErrors)
        var instances: [Instance] = []
        if ADCModel.needsTables(config, staticErrors: staticErrors, transfer: transfer) {
            instances = ADCModel.drawInstances(
                config: config, bits: bits, minCode: minCode, maxCode: maxCode, lsb: lsb, zero: zero,
                staticErrors: hasErrors, transfer: transfer, transferScale: transferScale, chipSeed: chipSeed)
        }
        self.init(isIdeal: false, signed: signed, bits: bits, minCode: minCode, maxCode: maxCode, lsb: lsb, zero: zero,
                  noiseSigma: noise ? config.noiseSigmaLsb : 0, instances: instances)
    }
}

// MARK: - Table size

extension ADCModel {
    /// Whether the converter draws static errors: some are configured and the stage is on.
    static func hasStaticErrors(_ config: ADCConfig, staticErrors: Bool) -> Bool {
        staticErrors && (config.offsetSigmaLsb > 0 || config.gainSigmaRel > 0 || config.inlSigmaLsb > 0
            || config.dnlSigmaLsb > 0 || config.sarUnitCapMismatchRel != nil)
    }

    /// Whether the converter keeps per-instance code tables (static errors, or a calibration
    /// fitted through a non-linear transfer curve).
    static func needsTables(_ config: ADCConfig, staticErrors: Bool, transfer: TransferCurve) -> Bool {
        guard config.type != .ideal, config.bits != nil else { return false }
        return hasStaticErrors(config, staticErrors: staticErrors) || (config.calibration != .none && !transfer.isIdentity)
    }

    /// Memory the per-instance code tables take, in bytes: per code and instance a threshold
    /// and a value (two copies each), the drawing scratch and eight 1/8-LSB lookup cells of
    /// 20 bytes, about 200 bytes in all; 0 when the converter keeps no tables.
    static func tableBytes(_ config: ADCConfig, staticErrors: Bool, transfer: TransferCurve) -> Double {
        guard needsTables(config, staticErrors: staticErrors, transfer: transfer), let maxCode = config.maxCode else { return 0 }
        let codes = Double(config.signed ? 2 * maxCode + 1 : maxCode + 1)
        return 200 * codes * Double(config.count)
    }

    /// The most memory the code tables of one layer's converter may take: 1 GB.
    static let tableByteLimit = 1e9
}

// MARK: - Static errors and calibration

extension ADCModel {
    /// Draws every instance's offset, gain and threshold errors and fits its calibration.
    ///
    /// Threshold errors `e_k` (LSB): a smooth INL bow with per-threshold σ_INL capped at
    /// ±INL_max, plus independent DNL jitter of σ_DNL/√2; or, with a SAR unit-capacitor
    /// mismatch σ_u, the decision levels of a binary capacitor DAC whose capacitor i is
    /// `2^i · C_u · (1 + ε_i)`, `ε_i ~ N(0, σ_u² / 2^i)`.
    static func drawInstances(config: ADCConfig, bits: Int, minCode: Int, maxCode: Int, lsb: Double, zero: Double,
                              staticErrors: Bool, transfer: TransferCurve, transferScale: Double,
                              chipSeed: UInt64) -> [Instance] {
        let codes = maxCode - minCode + 1
        let stream = RandomStream(seed: chipSeed, purpose: .adcStatic)
        var instances: [Instance] = []
        instances.reserveCapacity(config.count)
        // Per instance: index 0 offset, 1 gain, 2… thresholds (INL), then DNL, then capacitors.
        let stride = UInt64(3 * codes + bits + 8)
        for a in 0..<config.count {
            let base = UInt64(a) * stride
            var offset = 0.0, gain = 1.0
            var errors = [Double](repeating: 0, count: codes)  // e_k for thresholds k = minCode+1…maxCode at index k − minCode
            if staticErrors {
                offset = config.offsetSigmaLsb * stream.normal(base)
                gain = 1 + config.gainSigmaRel * stream.normal(config.reference == .shared ? 1 : base + 1)
                if let sigmaUnit = config.sarUnitCapMismatchRel {
                    let capacitors = (0..<bits).map { i in
                        Double(1 << i) * (1 + sigmaUnit / Double(1 << i).squareRoot() * stream.normal(base + UInt64(2 + 3 * codes + i)))
                    }
                    let total = capacitors.reduce(0, +)
                    for index in 1..<codes {
                        let unsignedCode = index  // decision level between codes index−1 and index
                        var level = 0.0
                        for i in 0..<bits where unsignedCode >> i & 1 == 1 { level += capacitors[i] }
                        errors[index] = level / total * Double((1 << bits) - 1) - Double(unsignedCode)
                    }
                } else {
                    // INL: a smooth bow across the range, Σ_h z_h·√(2/H)·sin(π·h·t) over H = 3
                    // harmonics (t = threshold position in 0…1), so each threshold's INL has σ_INL
                    // on average; capped at ±INL_max. DNL: independent jitter of σ_DNL/√2 per
                    // threshold, so code widths vary with σ_DNL.
                    let cap = config.inlMaxLsb ?? .infinity
                    let harmonics = 3
                    let amplitudes = (0..<harmonics).map { stream.normal(base + 2 + UInt64($0)) * (2.0 / Double(harmonics)).squareRoot() }
                    for index in 1..<codes {
                        let t = Double(index) / Double(codes)
                        var bow = 0.0
                        for h in 0..<harmonics { bow += amplitudes[h] * sin(Double.pi * Double(h + 1) * t) }
                        let inl = min(max(config.inlSigmaLsb * bow, -cap), cap)
                        let dnl = config.dnlSigmaLsb / 2.0.squareRoot() * stream.normal(base + 2 + UInt64(codes + index))
                        errors[index] = inl + dnl
                    }
                }
            }
            // Thresholds in u' units: T_k = k − ½ + e_k; monotone by construction of a real converter.
            var thresholds = [Float](repeating: -.infinity, count: codes)
            for index in 1..<codes {
                thresholds[index] = Float(Double(index + minCode) - 0.5 + errors[index])
            }
            for index in 1..<codes where thresholds[index] < thresholds[index - 1] {
                thresholds[index] = thresholds[index - 1]  // a missing code, not a non-monotone converter
            }
            instances.append(Instance(gain: Float(gain), offset: Float(offset), thresholds: thresholds,
                                      values: (minCode...maxCode).map(Float.init)))
        }
        guard config.calibration != .none else { return instances }
        calibrate(&instances, calibration: config.calibration, minCode: minCode, maxCode: maxCode,
                  lsb: lsb, zero: zero, transfer: transfer, transferScale: transferScale)
        return instances
    }

    /// Fits each instance's digital calibration on its whole chain (transfer curve, gain,
    /// offset, thresholds), expressed against the ideal partial sum.
    static func calibrate(_ instances: inout [Instance], calibration: ADCConfig.Calibration, minCode: Int, maxCode: Int,
                          lsb: Double, zero: Double, transfer: TransferCurve, transferScale: Double) {
        let codes = maxCode - minCode + 1
        // τ_k: the ideal partial sum (LSB units) at which the chain crosses threshold k.
        func idealBoundary(_ threshold: Float, _ instance: Instance) -> Double {
            let u = (Double(threshold) - Double(instance.offset)) / Double(instance.gain)
            let analog = zero + lsb * u
            guard !transfer.isIdentity else { return u }
            // Invert the increasing transfer curve by bisection in normalised units.
            let target = analog / transferScale
            var low = -4.0, high = 4.0
            for _ in 0..<60 {
                let mid = 0.5 * (low + high)
                if transfer(mid) < target { low = mid } else { high = mid }
            }
            return (0.5 * (low + high) * transferScale - zero) / lsb
        }
        var fits: [(alpha: Double, beta: Double)] = []
        var residuals: [[Double]] = []
        for instance in instances {
            let tau = (1..<codes).map { idealBoundary(instance.thresholds[$0], instance) }
            // Least squares τ_k ≈ α + β·(k − ½) over the inner thresholds.
            let ks = (1..<codes).map { Double($0 + minCode) - 0.5 }
            let n = Double(ks.count)
            let meanK = ks.reduce(0, +) / n, meanTau = tau.reduce(0, +) / n
            var sxy = 0.0, sxx = 0.0
            for (k, t) in zip(ks, tau) { sxy += (k - meanK) * (t - meanTau); sxx += (k - meanK) * (k - meanK) }
            let beta = sxx > 0 ? sxy / sxx : 1
            let alpha = meanTau - beta * meanK
            fits.append((alpha, beta))
            // Residual of each code's bin centre against the fit (end codes: none).
            var residual = [Double](repeating: 0, count: codes)
            for index in 1..<(codes - 1) {
                let centre = 0.5 * (tau[index - 1] + tau[index])
                residual[index] = centre - (alpha + beta * Double(index + minCode))
            }
            residuals.append(residual)
        }
        var master = [Double](repeating: 0, count: codes)
        if calibration == .linearMaster {
            for residual in residuals { for index in 0..<codes { master[index] += residual[index] / Double(instances.count) } }
        }
        for a in instances.indices {
            let (alpha, beta) = fits[a]
            instances[a].values = (0..<codes).map { index in Float(alpha + beta * Double(index + minCode) + master[index]) }
        }
    }
}
