import Foundation

/// What the converters saw during a run, summed over conversions.
///
/// Errors are measured per conversion against the analog partial sum the array formed
/// (cell mismatch included), so they isolate what the conversion chain — transfer curve,
/// noise, static ADC errors, quantization, clipping, calibration — adds.
public struct ConversionStatistics: Sendable, Codable {
    public var conversions: Int = 0
    /// Conversions whose input lay beyond half an LSB below the lowest or above the highest code.
    public var clippedLow: Int = 0
    public var clippedHigh: Int = 0
    /// Σ p², Σ e, Σ e² over conversions, with p the analog partial sum and e = output − p (MAC units).
    public var sumSignalSquared: Double = 0
    public var sumError: Double = 0
    public var sumErrorSquared: Double = 0
    /// Codes emitted, index code − minimum code.
    public var codeHistogram: [Int] = []
    /// The lowest code (histogram index 0) and the LSB in MAC units.
    public var minimumCode: Int = 0
    public var lsb: Double = 1

    public init() {}

    /// Adds another part of the same run's counts (the converter description stays this one's).
    public mutating func merge(_ other: ConversionStatistics) {
        conversions += other.conversions
        clippedLow += other.clippedLow
        clippedHigh += other.clippedHigh
        sumSignalSquared += other.sumSignalSquared
        sumError += other.sumError
        sumErrorSquared += other.sumErrorSquared
        if codeHistogram.count < other.codeHistogram.count {
            codeHistogram += [Int](repeating: 0, count: other.codeHistogram.count - codeHistogram.count)
        }
        for (index, count) in other.codeHistogram.enumerated() { codeHistogram[index] += count }
    }

    /// Fraction of conversions clipped below / above the range.
    public var clipRateLow: Double { conversions > 0 ? Double(clippedLow) / Double(conversions) : 0 }
    public var clipRateHigh: Double { conversions > 0 ? Double(clippedHigh) / Double(conversions) : 0 }

    /// Mean and standard deviation of the conversion error, in LSB.
    public var errorMeanLSB: Double { conversions > 0 ? sumError / Double(conversions) / lsb : 0 }
    public var errorSigmaLSB: Double {
        guard conversions > 1 else { return 0 }
        let n = Double(conversions)
        let mean = sumError / n
        return max(0, sumErrorSquared / n - mean * mean).squareRoot() / lsb
    }

    /// Compute SNR of the conversions: 10·log10(Σ p² / Σ e²) in dB (∞ when error-free).
    public var csnrDecibels: Double {
        sumErrorSquared > 0 ? 10 * log10(sumSignalSquared / sumErrorSquared) : .infinity
    }

    /// Distinct codes emitted.
    public var distinctCodes: Int { codeHistogram.filter { $0 > 0 }.count }
}

extension ConversionStatistics {
    /// Adds counts taken on `converter`, a coarser converter of the same full scale as `main`
    /// (an input cycle converted at fewer bits): its codes are counted at the nearest code of
    /// `main` with the same value.
    mutating func merge(_ other: ConversionStatistics, codesOf converter: ADCModel, onto main: ADCModel) {
        var mapped = other
        mapped.codeHistogram = []
        merge(mapped)
        guard !other.codeHistogram.isEmpty, !codeHistogram.isEmpty else { return }
        for (index, count) in other.codeHistogram.enumerated() where count > 0 {
            let value = converter.zero + converter.lsb * Double(converter.minCode + index)
            let code = min(max(Int(((value - main.zero) / main.lsb).rounded()), main.minCode), main.maxCode)
            codeHistogram[code - main.minCode] += count
        }
    }
}
