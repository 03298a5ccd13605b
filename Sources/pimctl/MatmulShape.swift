import ArgumentParser
import PIMQAT

/// A matmul shape `MxKxN` from the command line: `Y (M×N) = W (M×K) · X (K×N)`.
struct MatmulShape: CustomStringConvertible {
    var m: Int, k: Int, n: Int

    init(_ text: String) throws {
        let parts = text.lowercased().split(separator: "x").map { Int($0) }
        guard parts.count == 3, let m = parts[0], let k = parts[1], let n = parts[2], m > 0, k > 0, n > 0 else {
            throw ValidationError("'\(text)' is not a matmul shape MxKxN of positive integers (e.g. 1024x512x512)")
        }
        do {
            try MatmulSimulation.checkShape(m: m, k: k, n: n)
        } catch {
            throw ValidationError(error.description)
        }
        (self.m, self.k, self.n) = (m, k, n)
    }

    var description: String { "\(m)×\(k)×\(n)" }
}
