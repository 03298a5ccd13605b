import Foundation
import Testing
@testable import PIMSim

@Suite("Chip presets")
struct ChipPresetTests {
    let capRAM = try! ChipConfig(contentsOf: "\(packageRoot)/chips/cap-ram.yaml")

    @Test func everyPresetValidates() throws {
        let catalog = ChipCatalog(directories: ["\(packageRoot)/chips"])
        let entries = catalog.entries()
        #expect(entries.count >= 2)
        for entry in entries { _ = try entry.result.get() }
    }

    @Test func capRAMCarriesThePublishedParameters() {
        #expect(capRAM.meta.id == "cap-ram")
        #expect(capRAM.meta.doi == "10.1109/JSSC.2021.3056447")
        #expect(capRAM.array.inputsPerConversion == 128)
        #expect(capRAM.adc.bits == 7 && capRAM.adc.count == 32)
        #expect(capRAM.adc.noiseSigmaLsb == 0.35)
        #expect(capRAM.adc.calibration == .linearMaster)
        #expect(capRAM.inputs.bitsPerCycle == .bits(4))
        #expect(capRAM.weights.bitsPerCell == .bits(1))
        #expect(capRAM.timing.clockHz == 70e6)
        #expect(capRAM.provenance["adc.noise_sigma_lsb"]?.status == .measured)
        #expect(capRAM.provenance["adc.offset_sigma_lsb"]?.status == .default)
        #expect(capRAM.defaultResolvedMode.name == "twos_complement")
    }

    @Test func capRAMPeakThroughputIsDerivedNotCopied() {
        var chip = capRAM
        chip.reported.peakThroughputOpsPerS = 1  // the derivation must not look at reported figures
        let figures = chip.figures()
        #expect(figures.peakThroughputOpsPerS == 32 * 128 * 2 * 70e6)
        #expect(figures.peakThroughputOpsPerS == 573.44e9)
        chip.timing.clockHz = 35e6
        #expect(chip.figures().peakThroughputOpsPerS == 286.72e9)
    }

    @Test func capRAMEnergyMatchesTheReportedEfficiency() throws {
        let figures = capRAM.figures()
        let check = try #require(figures.checks.first { $0.name == "energy_efficiency_ops_per_j" })
        #expect(abs(check.ratio - 1) < 0.01)
    }

    @Test func capRAMSingleEndedModeHasSixBitsOverZeroTo1920() throws {
        let figures = capRAM.figures(inputBits: 4)
        let mode = try #require(figures.modes.first { $0.name == "twos_complement" })
        #expect(mode.adcBits == 6 && !mode.adcSigned)
        let w4 = try #require(mode.precisions.first { $0.weightBits == 4 })
        #expect(w4.partialSumMin == 0 && w4.partialSumMax == 1920)
        #expect(w4.lsbMACUnits == 1920.0 / 63)
        #expect(w4.conversionsPerGroup == 4)
        #expect(w4.conversionsPerMAC == 4.0 / 128)
        #expect(w4.losslessADCBits == 11)
        let ternary = try #require(figures.modes.first { $0.name == "ternary" })
        let w5 = try #require(ternary.precisions.first { $0.weightBits == 5 })
        #expect(w5.partialSumMin == -1920 && w5.partialSumMax == 1920)
        #expect(w5.lsbMACUnits == 1920.0 / 63)  // signed: 63 codes each side of zero
        #expect(w5.weightSlices == 4)
    }

    @Test func eightBitInputsTakeTwoCycles() throws {
        let figures = capRAM.figures(inputBits: 8)
        let w1 = try #require(figures.modes[0].precisions.first { $0.weightBits == 1 })
        #expect(w1.inputCycles == 2 && w1.conversionsPerGroup == 2)
    }

    @Test func idealChipIsLossless() throws {
        let ideal = try ChipConfig(contentsOf: "\(packageRoot)/chips/ideal.yaml")
        #expect(ideal.adc.type == .ideal && ideal.adc.bits == nil)
        for mode in ideal.resolvedModes {
            #expect(mode.adc.lsb(reachable: -100...100) == 1)
        }
        #expect(ideal.resolvedModes.count == 4)
    }
}

@Suite("Chip file validation")
struct ChipValidationTests {
    /// A small valid chip; each case below changes one line (numbers are the file's lines).
    static let template = [
        "meta:",                                                    // 1
        "  id: test-chip",                                          // 2
        "  title: Test chip",                                       // 3
        "memory:",                                                  // 4
        "  type: sram",                                             // 5
        "  bits_per_device: 1",                                     // 6
        "array:",                                                   // 7
        "  rows: 128",                                              // 8
        "  cols: 64",                                               // 9
        "  inputs_per_conversion: 128",                             // 10
        "inputs:",                                                  // 11
        "  supported_bits: [1, 2, 4]",                              // 12
        "  dac: {type: current_steering, bits: 4}",                 // 13
        "  bits_per_cycle: 4",                                      // 14
        "weights:",                                                 // 15
        "  supported_bits: [1, 2, 4]",                              // 16
        "  encodings: [twos_complement, ternary_signed_digit]",     // 17
        "  bits_per_cell: 1",                                       // 18
        "adc:",                                                     // 19
        "  type: sar",                                              // 20
        "  bits: 7",                                                // 21
        "  count: 32",                                              // 22
        "  range: {policy: fixed, min: 0, max: 1920}",              // 23
        "  noise_sigma_lsb: 0.35",                                  // 24
        "timing:",                                                  // 25
        "  clock_hz: 70e6",                                         // 26
        "modes:",                                                   // 27
        "  tc:",                                                    // 28
        "    encoding: twos_complement",                            // 29
        "    adc: {bits: 6}",                                       // 30
    ]

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        /// Line number → new text (nil deletes the line's content, keeping numbering).
        let edits: [Int: String]
        let line: Int, column: Int, path: String, message: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "YAML syntax error", edits: [23: "  range: {policy: fixed, min: 0, max: 1920"],
             line: 24, column: 18, path: "yaml", message: "did not find expected ',' or '}'"),
        Case(name: "duplicate key", edits: [22: "  bits: 8"],
             line: 21, column: 3, path: "yaml", message: "duplicate key 'bits'"),
        Case(name: "misspelt optional key", edits: [24: "  noise_sigma_lbs: 0.35"],
             line: 24, column: 3, path: "adc.noise_sigma_lbs", message: "unknown field 'noise_sigma_lbs' (did you mean 'noise_sigma_lsb'?)"),
        Case(name: "misspelt required key", edits: [21: "  bitz: 7"],
             line: 21, column: 3, path: "adc.bitz", message: "unknown field 'bitz' (did you mean 'bits'?)"),
        Case(name: "unknown section", edits: [25: "timings:"],
             line: 25, column: 1, path: "timings", message: "unknown field 'timings' (did you mean 'timing'?)"),
        Case(name: "wrong type", edits: [22: "  count: many"],
             line: 22, column: 10, path: "adc.count", message: "expected an integer, got text 'many'"),
        Case(name: "quoted number is text", edits: [21: "  bits: \"7\""],
             line: 21, column: 9, path: "adc.bits", message: "expected an integer, got text '7'"),
        Case(name: "list expected", edits: [12: "  supported_bits: 4"],
             line: 12, column: 19, path: "inputs.supported_bits", message: "expected a list, got integer '4'"),
        Case(name: "missing field", edits: [22: ""],
             line: 20, column: 3, path: "adc.count", message: "missing required field 'count'"),
        Case(name: "zero ADC bits", edits: [21: "  bits: 0"],
             line: 21, column: 9, path: "adc.bits", message: "an ADC needs at least 1 bit, got 0"),
        Case(name: "zero input bits in a list", edits: [12: "  supported_bits: [1, 0, 4]"],
             line: 12, column: 23, path: "inputs.supported_bits[1]", message: "bits must be at least 1, got 0"),
        Case(name: "negative sigma", edits: [24: "  noise_sigma_lsb: -0.1"],
             line: 24, column: 20, path: "adc.noise_sigma_lsb", message: "a standard deviation cannot be negative, got -0.1"),
        Case(name: "not finite", edits: [24: "  noise_sigma_lsb: .nan"],
             line: 24, column: 20, path: "adc.noise_sigma_lsb", message: "must be a finite number"),
        Case(name: "more inputs per conversion than rows", edits: [10: "  inputs_per_conversion: 256"],
             line: 10, column: 26, path: "array.inputs_per_conversion", message: "256 inputs per conversion exceed the 128 rows of the array"),
        Case(name: "range min not below max", edits: [23: "  range: {policy: fixed, min: 100, max: 50}"],
             line: 23, column: 41, path: "adc.range.max", message: "max (50.0) must be greater than min (100.0)"),
        Case(name: "fixed range without max", edits: [23: "  range: {policy: fixed, min: 0}"],
             line: 23, column: 10, path: "adc.range.max", message: "missing required field 'max'"),
        Case(name: "misspelt policy", edits: [23: "  range: {policy: fixd, min: 0, max: 1920}"],
             line: 23, column: 19, path: "adc.range.policy", message: "'fixd' is not one of fixed, max, calibrated, oracle (did you mean 'fixed'?)"),
        Case(name: "bits per cycle beyond the DAC", edits: [14: "  bits_per_cycle: 8"],
             line: 14, column: 19, path: "inputs.bits_per_cycle", message: "8 bits per cycle exceed the 4-bit DAC"),
        Case(name: "bits per cell beyond the device", edits: [18: "  bits_per_cell: 2"],
             line: 18, column: 18, path: "weights.bits_per_cell", message: "2 bits per cell exceed memory.bits_per_device (1)"),
        Case(name: "mode with an unsupported encoding", edits: [29: "    encoding: offset_binary"],
             line: 29, column: 15, path: "modes.tc.encoding", message: "encoding offset_binary is not supported by this chip"),
        Case(name: "mode with unsupported weight bits", edits: [30: "    weight_bits: [8]"],
             line: 30, column: 19, path: "modes.tc.weight_bits[0]", message: "8-bit weights are not in weights.supported_bits [1, 2, 4]"),
        Case(name: "mode with more bits than the ADC", edits: [30: "    adc: {bits: 8}"],
             line: 30, column: 17, path: "modes.tc.adc.bits", message: "8 effective bits exceed the 7-bit ADC"),
        Case(name: "ideal ADC with a resolution", edits: [20: "  type: ideal"],
             line: 21, column: 9, path: "adc.bits", message: "an ideal ADC is lossless and has no resolution"),
        Case(name: "bad provenance status", edits: [21: "  bits: {value: 7, status: guessed}"],
             line: 21, column: 28, path: "adc.bits.status", message: "'guessed' is not one of measured, simulated, stated, inferred, default"),
        Case(name: "zero clock", edits: [26: "  clock_hz: 0"],
             line: 26, column: 13, path: "timing.clock_hz", message: "must be greater than 0, got 0.0"),
        Case(name: "asymmetric range on a signed ADC", edits: [22: "  count: 32\n  signed: true"],
             line: 24, column: 31, path: "adc.range.min", message: "a signed ADC has mid-scale zero"),
        Case(name: "the old signed flag", edits: [12: "  supported_bits: [1, 2, 4]\n  signed: true"],
             line: 13, column: 11, path: "inputs.signed", message: "say how the DAC drives a sign with encoding"),
        Case(name: "misspelt input encoding", edits: [12: "  supported_bits: [1, 2, 4]\n  encoding: sign_magnitud"],
             line: 13, column: 13, path: "inputs.encoding", message: "'sign_magnitud' is not one of unsigned, twos_complement, sign_magnitude"),
        Case(name: "1-bit sign-magnitude inputs", edits: [12: "  supported_bits: [1, 2, 4]\n  encoding: sign_magnitude"],
             line: 12, column: 20, path: "inputs.supported_bits[0]", message: "a sign-magnitude input needs a sign"),
        Case(name: "negative cycles per input step", edits: [26: "  clock_hz: 70e6\n  cycles_per_input_step: -1"],
             line: 27, column: 26, path: "timing.cycles_per_input_step", message: "must not be negative, got -1.0"),
        Case(name: "zero fixed cycles without per-step terms", edits: [26: "  clock_hz: 70e6\n  cycles_per_conversion: 0"],
             line: 27, column: 26, path: "timing.cycles_per_conversion", message: "must be greater than 0, got 0.0"),
        Case(name: "zero arrays", edits: [10: "  inputs_per_conversion: 128\n  count: 0"],
             line: 11, column: 10, path: "array.count", message: "must be at least 1, got 0"),
        Case(name: "reported conditions name an unknown mode", edits: [30: "    adc: {bits: 6}\nreported:\n  conditions: {mode: nope}"],
             line: 32, column: 22, path: "reported.conditions.mode", message: "'nope' is not one of the modes tc"),
        Case(name: "reported conditions at unsupported input bits", edits: [30: "    adc: {bits: 6}\nreported:\n  conditions: {input_bits: 3}"],
             line: 32, column: 28, path: "reported.conditions.input_bits", message: "3-bit inputs are not in inputs.supported_bits [1, 2, 4]"),
        Case(name: "reported conditions at weight bits the mode lacks", edits: [30: "    adc: {bits: 6}\nreported:\n  conditions: {weight_bits: 8}"],
             line: 32, column: 29, path: "reported.conditions.weight_bits", message: "8-bit weights are not among mode tc's [1, 2, 4]"),
        Case(name: "misspelt reported condition", edits: [30: "    adc: {bits: 6}\nreported:\n  conditions: {input_bit: 4}"],
             line: 32, column: 16, path: "reported.conditions.input_bit", message: "unknown field 'input_bit' (did you mean 'input_bits'?)"),
        Case(name: "SQNR beyond any converter", edits: [30: "    adc: {bits: 6}\nreported:\n  sqnr_db: 1000"],
             line: 32, column: 12, path: "reported.sqnr_db", message: "1000.0 is outside -100.0…300.0"),
        Case(name: "mode slicing inputs beyond the DAC", edits: [30: "    adc: {bits: 6}\n    inputs: {bits_per_cycle: 8}"],
             line: 31, column: 30, path: "modes.tc.inputs.bits_per_cycle", message: "8 bits per cycle exceed the 4-bit DAC"),
        Case(name: "bipolar weights on multi-bit cells", edits: [6: "  bits_per_device: 2", 17: "  encodings: [twos_complement, bipolar_xnor]", 18: "  bits_per_cell: 2"],
             line: 18, column: 18, path: "weights.bits_per_cell", message: "bipolar_xnor weights hold one ±1 bit per cell"),
        Case(name: "bipolar inputs several bits per cycle", edits: [12: "  supported_bits: [1, 2, 4]\n  encoding: bipolar_xnor"],
             line: 15, column: 19, path: "inputs.bits_per_cycle", message: "bipolar_xnor inputs are driven one ±1 bit per cycle"),
        Case(name: "mode with bipolar inputs several bits per cycle", edits: [30: "    adc: {bits: 6}\n    inputs: {encoding: bipolar_xnor, bits_per_cycle: 2}"],
             line: 31, column: 54, path: "modes.tc.inputs.bits_per_cycle", message: "bipolar_xnor inputs are driven one ±1 bit per cycle"),
        Case(name: "mode inputs that change nothing", edits: [30: "    adc: {bits: 6}\n    inputs: {}"],
             line: 31, column: 13, path: "modes.tc.inputs", message: "give bits_per_cycle or encoding"),
        Case(name: "mode with a misspelt input encoding", edits: [30: "    adc: {bits: 6}\n    inputs: {encoding: xnor}"],
             line: 31, column: 24, path: "modes.tc.inputs.encoding", message: "'xnor' is not one of unsigned, twos_complement, sign_magnitude, bipolar_xnor"),
        Case(name: "misspelt phase split", edits: [14: "  bits_per_cycle: 4\n  phases: {split: balance}"],
             line: 15, column: 19, path: "inputs.phases.split", message: "'balance' is not one of lsb_first, balanced (did you mean 'balanced'?)"),
        Case(name: "reduced phase bits with code steps", edits: [14: "  bits_per_cycle: 4\n  phases: {adc_bits: reduced}", 21: "  bits: 7\n  code_steps: 100"],
             line: 23, column: 15, path: "adc.code_steps", message: "cycles converted at fewer bits cannot be combined with adc.code_steps"),
        Case(name: "pairs on rows the array does not have", edits: [18: "  bits_per_cell: 1\n  pair_layout: rows"],
             line: 19, column: 16, path: "weights.pair_layout", message: "a ± pair on two rows takes 2 rows per input"),
        Case(name: "conductance normalisation without a device range", edits: [26: "  clock_hz: 70e6\ncompute:\n  normalization: conductance_sum"],
             line: 28, column: 18, path: "compute.normalization", message: "dividing by the summed conductance needs the device range"),
        Case(name: "conductance normalisation of bit cells", edits: [5: "  type: rram\n  g_min_s: 1.0e-6\n  g_max_s: 4.0e-5", 26: "  clock_hz: 70e6\ncompute:\n  normalization: conductance_sum"],
             line: 30, column: 18, path: "compute.normalization", message: "needs conductance levels on +/- device pairs (weights.encodings: differential), not twos_complement"),
        Case(name: "mode whose conversions take no time", edits: [30: "    adc: {bits: 6}\n    timing: {cycles_per_conversion: 0}"],
             line: 31, column: 37, path: "modes.tc.timing.cycles_per_conversion", message: "a conversion must take some time"),
        Case(name: "mode with negative noise", edits: [30: "    adc: {bits: 6, noise_sigma_lsb: -1}"],
             line: 30, column: 37, path: "modes.tc.adc.noise_sigma_lsb", message: "a standard deviation cannot be negative"),
        Case(name: "misspelt mode timing term", edits: [30: "    adc: {bits: 6}\n    timing: {cycles_per_input_stp: 3}"],
             line: 31, column: 14, path: "modes.tc.timing.cycles_per_input_stp", message: "unknown field 'cycles_per_input_stp' (did you mean 'cycles_per_input_step'?)"),
        Case(name: "operating point listed twice", edits: [30: "    adc: {bits: 6}\noperating_points:\n  - {name: low, clock_hz: 1e6}\n  - {name: low, clock_hz: 2e6}"],
             line: 33, column: 12, path: "operating_points[1].name", message: "operating point 'low' is listed twice"),
        Case(name: "operating point with a zero clock", edits: [30: "    adc: {bits: 6}\noperating_points:\n  - {name: low, clock_hz: 0}"],
             line: 32, column: 27, path: "operating_points[0].clock_hz", message: "must be greater than 0, got 0.0"),
        Case(name: "misspelt operating-point field", edits: [30: "    adc: {bits: 6}\noperating_points:\n  - {name: low, clock: 1e6}"],
             line: 32, column: 17, path: "operating_points[0].clock", message: "unknown field 'clock'"),
        Case(name: "operating point reported at an unknown mode", edits: [30: "    adc: {bits: 6}\noperating_points:\n  - {name: low, reported: {conditions: {mode: x}}}"],
             line: 32, column: 47, path: "operating_points[0].reported.conditions.mode", message: "'x' is not one of the modes tc"),
        Case(name: "misspelt converter reference", edits: [24: "  noise_sigma_lsb: 0.35\n  reference: share"],
             line: 25, column: 14, path: "adc.reference", message: "'share' is not one of per_adc, shared"),
        Case(name: "more cells than can be counted", edits: [8: "  rows: 1048576", 9: "  cols: 1048576",
                                                             10: "  inputs_per_conversion: 128\n  cells_shared: 1048576\n  count: 1048576"],
             line: 12, column: 10, path: "array.count", message: "1048576 arrays of 1048576 × 1048576 × 1048576 cells exceed the 2^50 cells"),
        Case(name: "a mapping where a number belongs", edits: [22: "  count: {n: 32}"],
             line: 22, column: 10, path: "adc.count", message: "expected an integer, got a mapping"),
    ]

    static func write(_ lines: [String], to directory: URL, name: String) -> String {
        let path = directory.appendingPathComponent(name).path
        try! (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func templateIsValid() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let chip = try ChipConfig(contentsOf: Self.write(Self.template, to: directory, name: "valid.yaml"))
        #expect(chip.resolvedModes.map(\.name) == ["tc"])
        #expect(chip.resolvedModes[0].adc.bits == 6)
    }

    @Test(arguments: cases)
    func brokenFileIsRejectedAtTheRightPlace(_ testCase: Case) throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var lines = Self.template
        for (line, text) in testCase.edits { lines[line - 1] = text }
        let path = Self.write(lines, to: directory, name: "broken.yaml")
        let error = try #require(throws: ConfigError.self) { try ChipConfig(contentsOf: path) }
        #expect(error.location == SourceLocation(file: path, line: testCase.line, column: testCase.column),
                "\(error)")
        #expect(error.path == testCase.path, "\(error)")
        #expect(error.message.contains(testCase.message), "\(error)")
        #expect(error.description.hasPrefix("\(path):\(testCase.line):\(testCase.column): \(testCase.path): "))
        #expect(!error.description.contains("\n"))
    }

    @Test func emptyAndNonMappingDocumentsAreRejected() {
        #expect(throws: ConfigError.self) { try ChipConfig(yaml: "", file: "empty.yaml") }
        let error = #expect(throws: ConfigError.self) { try ChipConfig(yaml: "- a\n- b\n", file: "list.yaml") }
        #expect(error?.message == "expected a mapping, got a list")
        #expect(error?.location.line == 1)
    }

    @Test func missingFileIsAConfigError() {
        let error = #expect(throws: ConfigError.self) { try ChipConfig(contentsOf: "/nonexistent/chip.yaml") }
        #expect(error?.path == "file")
        #expect(error?.location.file == "/nonexistent/chip.yaml")
    }

    @Test func lookupTableCurveLoadsFromCSVBesideTheChip() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try "input,output\n-1,-0.9\n0,0\n1,0.95\n".write(toFile: directory.appendingPathComponent("curve.csv").path, atomically: true, encoding: .utf8)
        var lines = Self.template
        lines.append("compute:")
        lines.append("  transfer: {model: lut, file: curve.csv}")
        let chip = try ChipConfig(contentsOf: Self.write(lines, to: directory, name: "lut.yaml"))
        let curve = chip.compute.transfer
        #expect(curve.points?.count == 3)
        #expect(curve(0.5) == 0.475)
        #expect(curve(-0.5) == -0.45)

        try "input,output\n0,0\n0,1\n".write(toFile: directory.appendingPathComponent("bad.csv").path, atomically: true, encoding: .utf8)
        lines[lines.count - 1] = "  transfer: {model: lut, file: bad.csv}"
        let error = #expect(throws: ConfigError.self) { try ChipConfig(contentsOf: Self.write(lines, to: directory, name: "badlut.yaml")) }
        #expect(error?.location.file.hasSuffix("bad.csv") == true)
        #expect(error?.location.line == 3)
    }

    @Test func nonMonotonicTransferCurveIsRejected() {
        var lines = Self.template
        lines.append("compute:")
        lines.append("  transfer: {model: polynomial, coefficients: [0, 1, 0, -2]}")
        let error = #expect(throws: ConfigError.self) { try ChipConfig(yaml: lines.joined(separator: "\n"), file: "c.yaml") }
        #expect(error?.path == "compute.transfer")
        #expect(error?.message.contains("strictly increasing") == true)
    }
}
