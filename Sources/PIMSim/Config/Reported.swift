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
        public var accuracy: [ReportedAccuracy]
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
