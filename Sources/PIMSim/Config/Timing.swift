extension ChipConfig {
    /// The array's clock and how long a conversion holds an ADC.
    public struct Timing: Sendable, Hashable, Codable {
        /// Array clock, hertz.
        public var clockHz: Double
        /// Clock cycles one conversion occupies an ADC, > 0.
        public var cyclesPerConversion: Double
    }
}
