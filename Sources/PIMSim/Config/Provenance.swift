/// Where a number in a chip file comes from.
///
/// Every value may be written bare or as `{value: …, source: …, status: …}`; the status says
/// how much to trust it.
public struct Provenance: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        /// Measured on silicon and published.
        case measured
        /// From circuit simulation in the source.
        case simulated
        /// Stated in the source without measurement detail.
        case stated
        /// Computed by us from other published figures; `source` says how.
        case inferred
        /// Not published; the project's documented default.
        case `default`
    }

    public var source: String?
    public var status: Status?
    public var note: String?

    public init(source: String? = nil, status: Status? = nil, note: String? = nil) {
        self.source = source
        self.status = status
        self.note = note
    }
}
