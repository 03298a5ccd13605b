/// Range calibration: the full-scale range a converter takes from the partial sums it will
/// see (the `calibrated` policy from calibration inputs, `oracle` from each run's own inputs).
extension ProgrammedLayer {
    /// The layer with an `oracle` converter's range set from these inputs' own extremes; any
    /// other policy (or an ideal converter) unchanged.
    func resolvingOracleRange(inputs: [Int32], columns: Int) throws(OperandRangeError) -> ProgrammedLayer {
        guard mapping.adc.range.policy == .oracle, mapping.adc.type != .ideal else { return self }
        return withFullScale(try partialSumExtent(inputs: inputs, columns: columns))
    }

    /// The smallest and largest partial sum of any conversion for these inputs (MAC units).
    func partialSumExtent(inputs: [Int32], columns: Int) throws(OperandRangeError) -> ClosedRange<Double> {
        var low = Double.infinity, high = -Double.infinity
        try forEachPartialSum(inputs: inputs, columns: columns) { value in
            low = min(low, value)
            high = max(high, value)
        }
        return low <= high ? low...high : 0...1
    }

    /// Sets a `calibrated` converter's range from calibration inputs: the given percentile of
    /// |partial sum| (or of the partial sums, unsigned), then frozen.
    public func calibratingRange(inputs: [Int32], columns: Int, percentile: Double? = nil) throws(OperandRangeError) -> ProgrammedLayer {
        withFullScale(try calibratedFullScale(inputs: inputs, columns: columns, percentile: percentile))
    }

    /// The full-scale range (MAC units) a `calibrated` converter takes from these calibration
    /// inputs: ±(the percentile of |partial sum|) for a signed converter; for an unsigned one
    /// from min(smallest sum, 0) to the percentile of the sums. The percentile is the
    /// argument's, else the chip's (default 99.99), as a fraction p of the sorted values,
    /// taking the value at index ⌊p·(count − 1)⌋. A range never spans less than 1 MAC unit.
    public func calibratedFullScale(inputs: [Int32], columns: Int, percentile: Double? = nil) throws(OperandRangeError) -> ClosedRange<Double> {
        var values: [Float] = []
        try forEachPartialSum(inputs: inputs, columns: columns) { values.append(Float($0)) }
        let p = (percentile ?? mapping.adc.range.percentile ?? 99.99) / 100
        if mapping.adc.signed {
            var magnitudes = values.map { abs($0) }
            magnitudes.sort()
            let r = Double(Self.pick(p, of: magnitudes) ?? 1)
            return -max(r, 1)...max(r, 1)
        }
        values.sort()
        let lowValue = Double(values.first ?? 0)
        let highValue = Double(Self.pick(p, of: values) ?? 1)
        return min(lowValue, 0)...max(highValue, lowValue + 1)
    }

    /// The value at fraction `p` (0…1) of sorted values: index ⌊p·(count − 1)⌋; nil when empty.
    static func pick(_ p: Double, of sorted: [Float]) -> Float? {
        sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int(p * Double(sorted.count - 1)))]
    }

    /// Visits every partial sum (after the transfer curve) in a fixed order, serially: the
    /// engine's own loop nest, block by block.
    func forEachPartialSum(inputs: [Int32], columns: Int, _ body: (Double) -> Void) throws(OperandRangeError) {
        let passes = try validate(inputs: inputs, columns: columns)
        let plan = BlockPlan(layer: self, columns: columns, blockColumns: nil)
        let transfer = mapping.transfer, scale = mapping.transferScale
        var workspace = plan.makeWorkspace()
        for block in 0..<plan.blockCount {
            let width = plan.width(of: block)
            forEachPartialSumMatrix(block: block, plan: plan, inputs: inputs, columns: columns, passes: passes,
                                    workspace: &workspace) { _, matrix, group, workspace in
                _ = normalise(matrix: matrix, group: group, plan: plan, workspace: &workspace)
                for m in 0..<outputs {
                    for c in 0..<plan.cycles {
                        // Cycle c of column j sits at c · blockColumns + j; columns past `width` are padding.
                        let row = m * plan.stride + c * plan.blockColumns
                        for j in 0..<width {
                            var v = Double(workspace.partial[row + j])
                            if !transfer.isIdentity { v = scale * transfer(v / scale) }
                            body(v)
                        }
                    }
                }
            }
        }
    }
}
