import Foundation

/// Work whose size (given by the user) needs more memory than the machine can give: the
/// estimate and what is available, in one line.
public struct MemoryBudgetError: Error, Sendable, UserInputError {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Memory estimates checked before anything is allocated, so a size that cannot fit is
/// refused with both numbers instead of ending in the kernel's out-of-memory kill.
package enum MemoryBudget {
    /// Bytes this process may still take: `MemAvailable` of `/proc/meminfo`, lowered to the
    /// control group's `memory.max` minus its `memory.current` when a limit is set (Slurm
    /// jobs, containers); nil where neither can be read.
    package static func available() -> Double? {
        var bytes: Double?
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) {
            bytes = kilobytes * 1024
        }
        if let limit = cgroupValue("memory.max"), let used = cgroupValue("memory.current") {
            bytes = min(bytes ?? .infinity, max(0, limit - used))
        }
        return bytes
    }

    /// A value of this process's cgroup (v2) memory controller; nil if absent or `max`.
    static func cgroupValue(_ name: String) -> Double? {
        guard let membership = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
              let line = membership.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        let group = String(line.dropFirst(3))
        let path = "/sys/fs/cgroup" + (group == "/" ? "" : group) + "/" + name
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Double(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Refuses `bytes` of estimated memory for `work` (e.g. "a 20000×20000×20000 matmul")
    /// when they exceed what is available; passes when availability cannot be read.
    /// - Throws: ``MemoryBudgetError`` naming the estimate and the available memory.
    package static func check(_ bytes: Double, for work: String) throws(MemoryBudgetError) {
        guard let available = available(), bytes > available else { return }
        throw MemoryBudgetError("\(work) needs about \(Format.si(bytes, "B", digits: 3)) of memory; \(Format.si(available, "B", digits: 3)) is available")
    }
}
