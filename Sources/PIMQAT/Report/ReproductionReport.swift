import PIMSim

/// The PIM-QAT reproduction table for one model, dataset and chip, per scheme, with the
/// checks of the method's claims and the adjusted-precision outcome. Accuracies are
/// fractions; on the chip, mean ± sample std over chip instances × noise seeds.
public struct ReproductionReport: Sendable, Encodable {
    /// One scheme's line of the table.
    public struct Row: Sendable, Encodable {
        public var scheme: String
        public var float: Double
        public var digitalQAT: Double
        /// The conventional QAT network on the chip, without and with BN calibration.
        public var qatOnChip: ChipAccuracy
        public var qatOnChipCalibrated: ChipAccuracy
        /// The PIM-QAT network on the ideal PIM at chip precision (decomposition and codes only).
        public var pimQATIdeal: ChipAccuracy
        /// The PIM-QAT network on the chip, without and with BN calibration.
        public var pimQATChip: ChipAccuracy
        public var pimQATCalibrated: ChipAccuracy
        /// The adjusted-precision twin on the chip after BN calibration.
        public var adjustedCalibrated: ChipAccuracy
        public var pimQATNetwork: Network
        public var adjustedNetwork: Network
        /// One inference of the PIM-QAT network on the chip's layers (`pimctl map`); nil when
        /// a layer cannot be placed.
        public var cost: NetworkCost?
    }

    /// A PIM-QAT network the report deployed, trained by the report or given, with what its
    /// checkpoint says about its training.
    public struct Network: Sendable, Encodable {
        public var checkpoint: String
        public var given: Bool
        public var epochs: Int?
        /// The training converter's resolution in bits (fractional between whole bits).
        public var trainingBits: Double?
        public var trainingNoise: Bool?
        public var pactAlpha: Double?
        public var weightClip: Double?
        public var initialization: String?

        var summary: String {
            var parts = [given ? "given" : "trained by this report"]
            if let epochs { parts.append(epochs == 1 ? "1 epoch" : "\(epochs) epochs") }
            if let trainingBits { parts.append("\(Format.bits(trainingBits)) training ADC") }
            if trainingNoise == true { parts.append("chip noise injected") }
            if let pactAlpha { parts.append("PACT α from \(Format.number(pactAlpha, digits: 3))") }
            if let weightClip { parts.append("weight clip \(Format.number(weightClip, digits: 3)) × rms(tanh W)") }
            if let initialization { parts.append("initialised from `\(initialization)`") }
            return "`\(checkpoint)` (" + parts.joined(separator: ", ") + ")"
        }
    }

    /// A variant of the PIM-QAT recipe with one technique changed, on the chip without and
    /// with BN calibration.
    public struct Ablation: Sendable, Encodable {
        public var scheme: String
        public var variant: String
        public var chip: ChipAccuracy
        public var calibrated: ChipAccuracy
    }

    /// One claim of the method, as measured here.
    public struct Check: Sendable, Encodable {
        public var claim: String
        public var measured: String
        public var holds: Bool
    }

    /// The recipes of the runs the report trained (nil: given).
    public struct Training: Sendable, Encodable {
        public var float: String?
        public var qat: String?
        public var pimQAT: String
    }

    public var chip: String
    public var model: String
    public var dataset: String
    public var trainExamples: Int
    public var testExamples: Int
    public var weightBits: Int
    public var activationBits: Int
    public var epochs: Int
    public var pimEpochs: Int
    public var seed: UInt64
    public var chipSeeds: Int
    public var noiseSeeds: Int
    public var bnCalibrationBatches: Int
    /// The adjusted-precision twins' training precision: "auto", "exact" or bits.
    public var adjustedPrecision: String
    public var training: Training
    public var rows: [Row]
    public var ablations: [Ablation]
    /// The command of the same report at full size, printed below the table (set by the caller).
    public var fullSizeCommand: String?
    public var seconds: Double

    /// Bounds of the checks, in percentage points: float within 1 pp of (or above) digital
    /// QAT; QAT on the chip at least 20 pp below digital QAT (it collapses); PIM-QAT with BN
    /// calibration within 2 pp of digital QAT.
    public static let floatMargin = 1.0, collapseMargin = 20.0, pimQATMargin = 2.0

    /// The claims, checked on every scheme (``evaluatedChecks()`` when the report was made).
    public var checks: [Check] = []

    /// The claims, checked on every scheme.
    func evaluatedChecks() -> [Check] {
        func points(_ value: Double) -> String { Format.number(value * 100, digits: 3) }
        func gap(_ value: Double, _ reference: Double) -> String {
            let pp = (value - reference) * 100
            return "\(pp >= 0 ? "+" : "−")\(Format.number(abs(pp), digits: 2)) pp"
        }
        guard let first = rows.first else { return [] }
        var checks = [Check(
            claim: "float ≥ digital QAT − \(Format.number(Self.floatMargin)) pp",
            measured: "float \(points(first.float)) %, digital QAT \(points(first.digitalQAT)) %",
            holds: (first.float - first.digitalQAT) * 100 >= -Self.floatMargin)]
        checks.append(Check(
            claim: "conventional QAT collapses on the chip (≥ \(Format.number(Self.collapseMargin)) pp below digital QAT)",
            measured: rows.map { "\($0.scheme) \(points($0.qatOnChip.mean)) % (\(gap($0.qatOnChip.mean, $0.digitalQAT)))" }.joined(separator: ", "),
            holds: rows.allSatisfy { ($0.digitalQAT - $0.qatOnChip.mean) * 100 >= Self.collapseMargin }))
        checks.append(Check(
            claim: "PIM-QAT + BN calibration within \(Format.number(Self.pimQATMargin)) pp of digital QAT",
            measured: rows.map { "\($0.scheme) \(points($0.pimQATCalibrated.mean)) % (\(gap($0.pimQATCalibrated.mean, $0.digitalQAT)))" }.joined(separator: ", "),
            holds: rows.allSatisfy { ($0.digitalQAT - $0.pimQATCalibrated.mean) * 100 <= Self.pimQATMargin }))
        return checks
    }

    /// Whether every check holds.
    public var reproduced: Bool { checks.allSatisfy(\.holds) }

    static func cell(_ accuracy: ChipAccuracy) -> String {
        accuracy.runs.count > 1
            ? "\(Format.number(accuracy.mean * 100, digits: 3)) ± \(Format.number(accuracy.std * 100, digits: 2))"
            : Format.number(accuracy.mean * 100, digits: 3)
    }

    /// The report as Markdown: settings above the table, checks, the adjusted-precision
    /// outcome, networks, ablations and the full-size command below.
    public var markdown: String {
        let precision = adjustedPrecision == "auto" || adjustedPrecision == "exact" ? adjustedPrecision : "\(adjustedPrecision) bits"
        var lines = [
            "PIM-QAT on \(chip): \(model), W\(weightBits)/A\(activationBits), \(dataset)",
            "",
            "- Data: \(trainExamples) training, \(testExamples) test examples; seed \(seed).",
            "- Epochs: float \(epochs), QAT \(epochs) (from the float network), PIM-QAT \(pimEpochs) per scheme (from the QAT network).",
        ]
        if let float = training.float { lines.append("- Float training: \(float).") }
        if let qat = training.qat { lines.append("- QAT training: \(qat).") }
        lines.append("- PIM-QAT training, at the chip's own ADC precision: \(training.pimQAT).")
        lines += [
            "- On the chip: mean ± std over \(chipSeeds) chip instances × \(noiseSeeds) noise seed\(noiseSeeds == 1 ? "" : "s"); BN calibration on \(bnCalibrationBatches) training batches per instance.",
            "",
            "Test accuracy, %:",
            "",
            "| scheme | float | digital QAT | QAT on chip | QAT on chip + BN calibration | PIM-QAT, ideal PIM | PIM-QAT on chip | PIM-QAT on chip + BN calibration |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in rows {
            lines.append("| \(r.scheme) | \(Format.number(r.float * 100, digits: 3)) | \(Format.number(r.digitalQAT * 100, digits: 3)) | \(Self.cell(r.qatOnChip)) | \(Self.cell(r.qatOnChipCalibrated)) | \(Self.cell(r.pimQATIdeal)) | \(Self.cell(r.pimQATChip)) | \(Self.cell(r.pimQATCalibrated)) |")
        }
        lines += ["", "Checks:", ""]
        for check in checks {
            lines.append("- \(check.holds ? "holds" : "DOES NOT HOLD"): \(check.claim) — \(check.measured)")
        }
        if !reproduced {
            lines += ["", "This run does not reproduce every claim: its data or epochs may be too few; the full-size command below is the reference."]
        }
        lines += ["", "Adjusted precision (\(precision): trained coarser by what the chip's noise costs, same recipe, then BN calibration):", ""]
        for r in rows {
            let bits = r.adjustedNetwork.trainingBits.map { " at a \(Format.bits($0)) training ADC" } ?? ""
            let pp = (r.adjustedCalibrated.mean - r.pimQATCalibrated.mean) * 100
            let verdict = pp > 0 ? "better than" : "not better than"
            lines.append("- \(r.scheme): \(Self.cell(r.adjustedCalibrated)) %\(bits), \(pp >= 0 ? "+" : "−")\(Format.number(abs(pp), digits: 2)) pp against the chip's own precision (\(verdict) it).")
        }
        lines += ["", "Networks:", ""]
        for r in rows {
            lines.append("- \(r.scheme): PIM-QAT \(r.pimQATNetwork.summary); adjusted precision \(r.adjustedNetwork.summary)")
        }
        let costs = rows.compactMap { r in r.cost.map { (r.scheme, $0) } }
        if !costs.isEmpty {
            lines += ["", "Cost of one inference on the chip's layers (the chip file's figures only; `pimctl map` gives each layer):", ""]
            for (scheme, cost) in costs {
                let energy = cost.energyJ > 0 ? "\(Format.si(cost.energyJ, "J")), " : "energy not modelled, "
                let efficiency = cost.opsPerJ.map { ", \(Format.si($0, "OPS/W")) in W×A ops" } ?? ""
                lines.append("- \(scheme): \(energy)\(Format.si(cost.latencyS, "s")) layer by layer\(efficiency)")
            }
        }
        if !ablations.isEmpty {
            lines += ["", "Ablations (the PIM-QAT recipe with one technique changed; on the chip, without and with BN calibration):", "",
                      "| scheme | variant | chip | chip + BN calibration |", "|---|---|---|---|"]
            for a in ablations {
                lines.append("| \(a.scheme) | \(a.variant) | \(Self.cell(a.chip)) | \(Self.cell(a.calibrated)) |")
            }
        }
        if let fullSizeCommand { lines += ["", "Full size (every training and test image):", "", "    \(fullSizeCommand)"] }
        lines += ["", "Wall time: \(Format.number(seconds, digits: 3)) s."]
        return lines.joined(separator: "\n")
    }
}
