import Dispatch

/// Runs `body(i)` for i in 0..<count, in parallel when the work is large enough to pay for it.
///
/// Callers guarantee that each index writes only its own outputs; each index runs exactly
/// once, so results never depend on the thread count.
func parallelFor(_ count: Int, workPerItem: Int, _ body: (Int) -> Void) {
    // Below ~50 µs of work (≈ 2^17 simple operations) the dispatch overhead is not worth it.
    if count < 2 || count * workPerItem < 1 << 17 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let task = DisjointWork(body: body)
        DispatchQueue.concurrentPerform(iterations: count) { task.body($0) }
    }
}

/// A closure whose parallel calls touch disjoint memory (the caller's promise).
private struct DisjointWork: @unchecked Sendable {
    let body: (Int) -> Void
}

/// Runs `body(range)` over 0..<count cut into one contiguous range per training thread
/// (`BLAS.threadCount`), for element-wise work: each element is computed the same way
/// whatever the split, so results never depend on the thread count.
func parallelRanges(_ count: Int, _ body: (Range<Int>) -> Void) {
    let workers = max(1, min(BLAS.threadCount, count / 4096))
    let size = (count + workers - 1) / max(workers, 1)
    parallelFor(workers, workPerItem: size) { worker in
        let range = (worker * size)..<min(count, (worker + 1) * size)
        if !range.isEmpty { body(range) }
    }
}
