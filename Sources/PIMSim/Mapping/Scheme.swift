/// A decomposition scheme: the chip's own, or one of the three PIM-QAT presets.
public enum Scheme: String, Sendable, Hashable, Codable, CaseIterable {
    /// The chip's own knobs in its operating mode (CAP-RAM: 4-bit DAC cycles × 1-bit
    /// two's-complement slices, or ternary digits in its differential mode).
    case chip
    /// All input bits in one cycle; the whole signed weight in one cell; one signed conversion per group.
    case native
    /// All input bits in one cycle; w⁺ and w⁻ in separate unsigned columns; two unsigned
    /// conversions per group, subtracted digitally.
    case differential
    /// One input bit per cycle; the whole signed weight in one cell; `inputBits` signed
    /// conversions per group, shift-added as Σ 2^j · code_j.
    case bitSerial = "bit-serial"
}
