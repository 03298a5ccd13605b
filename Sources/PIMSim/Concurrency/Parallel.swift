import Dispatch

/// The package's one parallel primitive, and the pointer its workers share.
///
/// Every caller guarantees that each index writes only its own outputs and that each index
/// computes its values the same way whatever the split, so results never depend on the
/// thread count.

/// A pointer handed to parallel workers that write disjoint parts of it (the caller's promise).
package struct UnsafeSendablePointer<Pointee>: @unchecked Sendable {
    package let pointer: UnsafeMutablePointer<Pointee>
    package init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
}

/// Runs `body(i)` for i in 0..<count, each index exactly once.
///
/// - Parameter workPerItem: an estimate of each index's simple operations; below about 2^17
///   in all (≈ 50 µs) the indices run serially, since dispatching would cost more. `nil`:
///   always in parallel (the caller has sized the work already).
package func parallelFor(_ count: Int, workPerItem: Int? = nil, _ body: (Int) -> Void) {
    let small = workPerItem.map { work in
        let (total, overflow) = count.multipliedReportingOverflow(by: work)
        return !overflow && total < 1 << 17
    } ?? false
    if count < 2 || small {
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

/// Runs `body(range)` over 0..<count cut into one contiguous range per BLAS thread
/// (``BLAS/threadCount``), for element-wise work.
package func parallelRanges(_ count: Int, _ body: (Range<Int>) -> Void) {
    let workers = max(1, min(BLAS.threadCount, count / 4096))
    let size = (count + workers - 1) / max(workers, 1)
    parallelFor(workers, workPerItem: size) { worker in
        let range = (worker * size)..<min(count, (worker + 1) * size)
        if !range.isEmpty { body(range) }
    }
}
