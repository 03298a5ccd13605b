import Foundation
import Testing
@testable import PIMSim

/// Multi-level conductance weights (RRAM, PCM): every device carries an additive static write
/// and relaxation error in siemens, scaled to levels by the device range and spread over the
/// devices of a polarity.
@Suite("Conductance weights")
struct ConductanceWeightTests {
    static func chip(weights extra: String, memory: String = "g_min_s: 1.0e-6, g_max_s: 41.0e-6") throws -> ChipConfig {
        try ChipConfig(yaml: """
            meta: {id: rram, title: RRAM}
            memory: {type: rram, \(memory)}
            array: {rows: 16, cols: 64, inputs_per_conversion: 16}
            inputs: {supported_bits: [4], dac: {type: pulse_count, bits: 4}, bits_per_cycle: all}
            weights: {supported_bits: [4], encodings: [differential], bits_per_cell: all, \(extra)}
            adc: {type: ideal, count: 4, signed: true, subtraction: analog}
            timing: {clock_hz: 1.0e8}
            """, file: "rram.yaml")
    }

    /// σ of the programmed level minus the target over many cells, per polarity pair.
    static func errorSigma(_ chip: ChipConfig, weight: Int32, rows: Int = 4000, seed: UInt64 = 5) throws -> (mean: Double, sigma: Double) {
        let mapping = try chip.mapping(inputBits: 4, weightBits: 4)
        let layer = try ProgrammedLayer(mapping: mapping, weights: [Int32](repeating: weight, count: rows), outputs: rows, fanIn: 1, chipSeed: seed)
        let errors = layer.matrices[0].map { Double($0) - Double(weight) }
        let mean = errors.reduce(0, +) / Double(rows)
        return (mean, (errors.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rows - 1)).squareRoot())
    }

    /// 4-bit differential weights reach 8 levels per polarity over g_max − g_min = 40 uS. A
    /// 2 uS error per device on two devices (one per polarity) gives each polarity σ = 2·8/40
    /// levels, and the difference √2 of that, for zero weights too; four devices halve the
    /// variance per polarity.
    @Test func deviceErrorsScaleWithTheRangeAndTheDevices() throws {
        let mapping = try Self.chip(weights: "devices_per_weight: 2, relaxation_sigma_s: 2.0e-6").mapping(inputBits: 4, weightBits: 4)
        let levels = mapping.decomposition.slices[0].maxDigit
        #expect(levels == 8)
        let perPolarity = 2e-6 * 8 / 40e-6
        #expect(abs(mapping.cellNoiseSigma(levels: levels) - perPolarity) < 1e-12)
        for weight: Int32 in [0, 5, -7] {
            let measured = try Self.errorSigma(Self.chip(weights: "devices_per_weight: 2, relaxation_sigma_s: 2.0e-6"), weight: weight)
            #expect(abs(measured.sigma / (perPolarity * 2.0.squareRoot()) - 1) < 0.06, "w \(weight): σ \(measured.sigma)")
            #expect(abs(measured.mean) < 4 * measured.sigma / 4000.0.squareRoot())
        }
        let four = try Self.errorSigma(Self.chip(weights: "devices_per_weight: 4, programming_noise_sigma_s: 2.0e-6"), weight: 3)
        #expect(abs(four.sigma / (perPolarity) - 1) < 0.06, "four devices: σ \(four.sigma)")
        // Write and relaxation errors add in variance; a relative figure adds per cell level.
        let both = try Self.chip(weights: "programming_noise_sigma_s: 1.5e-6, relaxation_sigma_s: 2.0e-6, programming_noise_rel: 0.01")
            .mapping(inputBits: 4, weightBits: 4)
        let expected = ((2.5e-6 * 8 / 40e-6) * (2.5e-6 * 8 / 40e-6) + 0.08 * 0.08).squareRoot()
        #expect(abs(both.cellNoiseSigma(levels: 8) - expected) < 1e-12)
    }

    @Test func staticCellErrorsOffProgramTheExactLevels() throws {
        let chip = try Self.chip(weights: "devices_per_weight: 2, relaxation_sigma_s: 2.0e-6")
        let weights: [Int32] = [-7, -1, 0, 3, 7, 2]
        let layer = try ProgrammedLayer(mapping: chip.mapping(inputBits: 4, weightBits: 4, nonIdealities: .none),
                                        weights: weights, outputs: 2, fanIn: 3, chipSeed: 9)
        #expect(layer.matrices[0] == weights.map(Float.init))
    }

    @Test func conductanceErrorsNeedARangeAndEvenDevicesForPairs() {
        let noRange = #expect(throws: ConfigError.self) {
            try Self.chip(weights: "relaxation_sigma_s: 2.0e-6", memory: "cell: 1T1R")
        }
        #expect(noRange?.description.contains("weights.relaxation_sigma_s: a conductance error in siemens needs the device range") == true, "\(String(describing: noRange))")
        let odd = #expect(throws: ConfigError.self) { try Self.chip(weights: "devices_per_weight: 3") }
        #expect(odd?.description.contains("weights.devices_per_weight: 3 devices cannot be split evenly") == true, "\(String(describing: odd))")
        let half = #expect(throws: ConfigError.self) { try Self.chip(weights: "devices_per_weight: 2", memory: "g_max_s: 4.0e-5") }
        #expect(half?.description.contains("memory.g_max_s: give both g_min_s and g_max_s") == true, "\(String(describing: half))")
        let inverted = #expect(throws: ConfigError.self) { try Self.chip(weights: "devices_per_weight: 2", memory: "g_min_s: 5.0e-5, g_max_s: 4.0e-5") }
        #expect(inverted?.description.contains("memory.g_max_s: g_max_s (4e-05) must exceed g_min_s (5e-05)") == true, "\(String(describing: inverted))")
    }

    /// PCM-style drift: read 1000 s after programming with t0 = 10 s and ν = 0.05, every level
    /// shrinks by 100^(−0.05) when ν has no spread; global compensation restores the levels,
    /// leaving only the spread of ν; a chip without a drift model refuses a read time.
    @Test func driftScalesLevelsByThePowerLaw() throws {
        let weights: [Int32] = [-7, -1, 0, 3, 7, 2]
        func levels(_ drift: String, readTime: Double) throws -> [Float] {
            let chip = try Self.chip(weights: "drift: {\(drift)}")
            let stages = NonIdealities(cellMismatch: false, readTimeS: readTime)
            return try ProgrammedLayer(mapping: chip.mapping(inputBits: 4, weightBits: 4, nonIdealities: stages),
                                       weights: weights, outputs: 2, fanIn: 3, chipSeed: 4).matrices[0]
        }
        let factor = pow(100.0, -0.05)
        let drifted = try levels("nu: 0.05, t0_s: 10", readTime: 1000)
        for (value, weight) in zip(drifted, weights) { #expect(abs(Double(value) - Double(weight) * factor) < 1e-5) }
        #expect(try levels("nu: 0.05, t0_s: 10", readTime: 5) == weights.map(Float.init))   // before t0: as programmed
        #expect(try levels("nu: 0.05, t0_s: 10, compensation: global", readTime: 1000) == weights.map(Float.init))
        let spread = try levels("nu: 0.05, nu_sigma: 0.02, t0_s: 10, compensation: global", readTime: 1000)
        #expect(spread != weights.map(Float.init))
        #expect(zip(spread, weights).allSatisfy { abs(Double($0) - Double($1)) <= 0.5 * abs(Double($1)) })
        let chip = try Self.chip(weights: "devices_per_weight: 2")
        let error = #expect(throws: MappingError.self) {
            try chip.mapping(inputBits: 4, weightBits: 4, nonIdealities: NonIdealities(readTimeS: 60))
        }
        #expect(error?.description.contains("has no drift model (weights.drift)") == true)
        let bad = #expect(throws: ConfigError.self) { try Self.chip(weights: "drift: {nu: 0.05, t0_s: 0}") }
        #expect(bad?.description.contains("weights.drift.t0_s: must be greater than 0") == true, "\(String(describing: bad))")
    }

    /// Temporal read noise: a partial sum over inputs x gets σ_cell·√(Σ x²), σ_cell =
    /// σ_read·L/(√D·Δg) per polarity and √2 of it for an analog-subtracted pair; fresh draws
    /// per noise seed, none with temporal noise off, and identical at 1 and 2 threads.
    @Test func readNoiseFollowsTheInputEnergy() throws {
        let chip = try Self.chip(weights: "devices_per_weight: 2, read_noise_sigma_s: 1.0e-6")
        let mapping = try chip.mapping(inputBits: 4, weightBits: 4)
        let cell = 1e-6 * 8 / 40e-6
        #expect(abs(mapping.readNoiseSigma(levels: 8) - cell) < 1e-12)
        let fanIn = 16, columns = 4000
        let layer = try ProgrammedLayer(mapping: mapping, weights: [Int32](repeating: 0, count: fanIn), outputs: 1, fanIn: fanIn, chipSeed: 2)
        // Inputs 0…15 repeating along the rows: Σ x² over the 16 rows is the same for every column.
        let inputs = (0..<(fanIn * columns)).map { Int32(($0 / columns) % 16) }
        let energy = Double((0..<16).map { $0 * $0 }.reduce(0, +))
        let result = try layer.run(inputs: inputs, columns: columns, options: RunOptions(noiseSeed: 1))
        let mean = result.output.reduce(0, +) / Double(columns)
        let sd = (result.output.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(columns - 1)).squareRoot()
        let expected = cell * 2.0.squareRoot() * energy.squareRoot()
        #expect(abs(sd / expected - 1) < 0.05, "σ \(sd) vs \(expected)")
        #expect(abs(mean) < 4 * expected / Double(columns).squareRoot())
        let other = try layer.run(inputs: inputs, columns: columns, options: RunOptions(noiseSeed: 2))
        #expect(other.output != result.output)
        let threaded = try layer.run(inputs: inputs, columns: columns, options: RunOptions(noiseSeed: 1, threads: 2, blockColumns: 96))
        #expect(threaded.output == result.output)
        let quiet = try ProgrammedLayer(mapping: chip.mapping(inputBits: 4, weightBits: 4, nonIdealities: NonIdealities(temporalNoise: false)),
                                        weights: [Int32](repeating: 0, count: fanIn), outputs: 1, fanIn: fanIn, chipSeed: 2)
        #expect(try quiet.run(inputs: inputs, columns: columns).output.allSatisfy { $0 == 0 })
    }

    /// A shared converter reference: one gain error for every ADC instance, while offsets stay
    /// per instance; a per-ADC reference draws each gain on its own.
    @Test func aSharedReferenceGivesEveryADCTheSameGain() throws {
        func instances(_ reference: String) throws -> [ADCModel.Instance] {
            let chip = try ChipConfig(yaml: """
                meta: {id: ref, title: Ref}
                memory: {type: sram}
                array: {rows: 16, cols: 64, inputs_per_conversion: 16}
                inputs: {supported_bits: [4], dac: {type: pulse_count, bits: 4}, bits_per_cycle: all}
                weights: {supported_bits: [4], encodings: [twos_complement], bits_per_cell: all}
                adc: {type: sar, bits: 6, count: 8, signed: true, gain_sigma_rel: 0.05, offset_sigma_lsb: 1, reference: \(reference)}
                timing: {clock_hz: 1.0e8}
                """, file: "ref.yaml")
            let mapping = try chip.mapping(inputBits: 4, weightBits: 4)
            return ADCModel(config: mapping.adc, fullScale: -100...100, noise: false, staticErrors: true,
                            transfer: .identity, transferScale: 1, chipSeed: 3).instances
        }
        let shared = try instances("shared"), separate = try instances("per_adc")
        #expect(Set(shared.map(\.gain)).count == 1 && shared[0].gain != 1)
        #expect(Set(separate.map(\.gain)).count == 8 && separate[0].gain == shared[0].gain)
        #expect(Set(shared.map(\.offset)).count == 8)
    }
}
