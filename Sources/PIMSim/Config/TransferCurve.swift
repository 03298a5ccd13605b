/// The static MAC transfer curve of the analog array: what the ADC sees for an ideal partial sum.
///
/// Curves act on the normalised partial sum `u = y / y_fs`, where `y_fs` is the largest
/// reachable partial sum of one conversion (n × max input level × max weight level), so one
/// curve describes a chip whatever the decomposition. The output is scaled back by `y_fs`.
public struct TransferCurve: Sendable, Hashable, Codable {
    public enum Model: String, Sendable, Hashable, Codable, CaseIterable {
        /// u' = gain·u + offset.
        case linear
        /// u' = gain·u / (1 + a·|u|): compressive saturation (a ≥ 0).
        case rational
        /// u' = Σᵢ cᵢ·uⁱ with `coefficients` c₀, c₁, …
        case polynomial
        /// Piecewise-linear through measured points (u, u'), linear beyond the ends.
        case lut
    }

    /// A measured point of a lookup-table curve, normalised units.
    public struct Point: Sendable, Hashable, Codable {
        public var input: Double
        public var output: Double
    }

    public var model: Model
    public var gain: Double
    public var offset: Double
    /// Saturation coefficient of the rational model, ≥ 0.
    public var a: Double?
    public var coefficients: [Double]?
    /// Points of the lookup table, sorted by strictly increasing input.
    public var points: [Point]?
    /// The CSV file the points came from, as written in the chip file.
    public var file: String?

    public static let identity = TransferCurve(model: .linear, gain: 1, offset: 0)

    public init(model: Model, gain: Double = 1, offset: Double = 0, a: Double? = nil,
                coefficients: [Double]? = nil, points: [Point]? = nil, file: String? = nil) {
        self.model = model
        self.gain = gain
        self.offset = offset
        self.a = a
        self.coefficients = coefficients
        self.points = points
        self.file = file
    }

    /// Whether the curve is exactly the identity.
    public var isIdentity: Bool { model == .linear && gain == 1 && offset == 0 }

    /// Evaluates the curve at normalised input `u`.
    @inlinable
    public func callAsFunction(_ u: Double) -> Double {
        switch model {
        case .linear:
            return gain * u + offset
        case .rational:
            return gain * u / (1 + (a ?? 0) * abs(u))
        case .polynomial:
            var result = 0.0
            for c in (coefficients ?? []).reversed() { result = result * u + c }
            return result
        case .lut:
            guard let points, points.count >= 2 else { return u }
            var upper = points.firstIndex { $0.input >= u } ?? points.count - 1
            upper = Swift.max(1, upper)
            let p0 = points[upper - 1], p1 = points[upper]
            let t = (u - p0.input) / (p1.input - p0.input)
            return p0.output + t * (p1.output - p0.output)
        }
    }
}
