extension ChipConfig {
    /// The paper's own figures, for regression checks against what the model derives.
    public struct Reported: Sendable, Hashable, Codable {
        public var peakThroughputOpsPerS: Double?
        public var energyEfficiencyOpsPerJ: Double?
        public var powerW: Double?
        public var areaMm2: Double?
        /// Peak signal-to-quantisation-noise ratio of a conversion, dB, as the paper measures it.
        public var sqnrDb: Double?
        /// Compute signal-to-noise ratio (quantisation and circuit noise), dB, as measured.
        public var csnrDb: Double?
        /// The precision and mode the throughput and efficiency figures were taken at; the
        /// headline derived figures are computed at the same (`nil`: the chip's reference).
        public var conditions: ReportedConditions?
        public var accuracy: [ReportedAccuracy]
    }

    /// Where a paper's headline figures hold: input and weight bits and the chip mode (its
    /// ADC resolution and encoding), with the paper's own words for anything else.
    public struct ReportedConditions: Sendable, Hashable, Codable {
        public var inputBits: Int?
        public var weightBits: Int?
        public var mode: String?
        public var description: String?
    }

    public struct ReportedAccuracy: Sendable, Hashable, Codable {
        public var network: String
        public var dataset: String
        /// Top-1 accuracy on chip, as a fraction in [0, 1].
        public var top1: Double
        /// Top-1 accuracy of the same network in software, as a fraction.
        public var softwareTop1: Double?
    }
}
