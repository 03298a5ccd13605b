/// One kernel position (ki, kj) of a stride-1 convolution whose output has its input's size
/// (k = 2p + 1): its patch row is the input plane shifted by `offset` = (ki − p)·w + (kj − p)
/// elements, with zeros where the shifted position leaves the plane. The copy runs as one long
/// loop over the plane; only the one or two border columns per row are fixed apart.
struct PatchShift {
    /// Plane height and width (input and output alike).
    let h: Int, w: Int
    /// Output rows whose input row lies inside the plane: [firstRow, endRow).
    let firstRow: Int, endRow: Int
    /// Output columns whose input column lies inside the plane: [firstColumn, endColumn).
    let firstColumn: Int, endColumn: Int
    /// Input index − output index for every in-plane position.
    let offset: Int

    init(h: Int, w: Int, rowShift: Int, columnShift: Int) {
        (self.h, self.w) = (h, w)
        firstRow = min(h, max(0, -rowShift))
        endRow = max(firstRow, min(h, h - rowShift))
        firstColumn = min(w, max(0, -columnShift))
        endColumn = max(firstColumn, min(w, w - columnShift))
        offset = rowShift * w + columnShift
    }

    /// The output positions the linear loop covers: the valid rows, trimmed where the shifted
    /// index would leave the plane (such positions are border columns).
    private var linearRange: Range<Int> {
        let lower = max(firstRow * w, -offset), upper = min(endRow * w, h * w - offset)
        return lower < upper ? lower..<upper : firstRow * w..<firstRow * w
    }

    /// Writes the patch row of `plane` into `row` (h·w values).
    func copy(_ plane: UnsafePointer<Float>, into row: UnsafeMutablePointer<Float>) {
        let range = linearRange
        zero(row, 0..<range.lowerBound)
        let source = plane + offset
        var i = range.lowerBound
        while i < range.upperBound { row[i] = source[i]; i &+= 1 }
        zero(row, range.upperBound..<(h * w))
        zeroBorderColumns(row)
    }

    private func zeroBorderColumns(_ row: UnsafeMutablePointer<Float>) {
        guard firstColumn > 0 || endColumn < w else { return }
        for r in firstRow..<endRow {
            zero(row + r * w, 0..<firstColumn)
            zero(row + r * w, endColumn..<w)
        }
    }

    private func zero(_ row: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        var i = range.lowerBound
        while i < range.upperBound { row[i] = 0; i &+= 1 }
    }
}
