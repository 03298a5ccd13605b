import Testing
@testable import PIMSim

@Suite("Layer placement and cost")
struct LayerCostTests {
    static func capRAM(weightBits: Int, inputBits: Int) throws -> LayerMapping {
        try TestChips.capRAM().mapping(inputBits: inputBits, weightBits: weightBits)
    }

    /// A square bit-serial array of `size` rows and columns, one bit per weight cell.
    static func array(size: Int, inputBits: Int, weightBits: Int, encoding: String) throws -> ChipConfig {
        try ChipConfig(yaml: """
            meta: {id: array-\(size), title: \(size) x \(size) array}
            memory: {type: sram}
            array: {rows: \(size), cols: \(size), inputs_per_conversion: \(size)}
            inputs: {supported_bits: [\(inputBits)], dac: {type: binary, bits: 1}, bits_per_cycle: 1}
            weights: {supported_bits: [\(weightBits)], encodings: [\(encoding)], bits_per_cell: 1}
            adc: {type: sar, bits: 6, count: \(size), signed: false}
            timing: {clock_hz: 1.0e8}
            """, file: "array.yaml")
    }

    /// CAP-RAM's peak identities, counted from the placement of a layer that fills the macro
    /// (K = 128, N = 64, 1000 vectors): 573.44 GOPS in the chip's own ops (4-bit input × 1-bit
    /// slice), 143.36 GOPS W×A at W4A4 and 35.84 at W8A8, to 1e-9; at 5.1875 pJ per
    /// conversion, 49.349, 12.337 and 3.0843 TOPS/W (256 ops / 5.1875 pJ over 1, 4 and 16
    /// conversions per group).
    @Test func capRAMPeakIdentitiesHoldExactly() throws {
        let clock = 70e6
        for (weightBits, inputBits, opsPerS, opsPerJ, lines) in [(1, 4, 573.44e9, 49.349e12, 1), (4, 4, 143.36e9, 12.337e12, 4),
                                                                 (8, 8, 35.84e9, 3.0843e12, 8)] {
            let mapping = try Self.capRAM(weightBits: weightBits, inputBits: inputBits)
            let shape = LayerShape(name: "peak", fanIn: 128, outputs: 64, vectors: 1000)
            let p = try mapping.place(shape)
            #expect(p.rowGroups == 1 && p.linesPerOutput == lines && p.columnTiles == lines)
            let seconds = p.serialCycles / clock
            // The chip's own ops count every product of a conversion; W×A ops count MACs.
            let ops = Double(weightBits == 1 ? 2 * p.analogProducts : 2 * shape.macs)
            #expect(abs(ops / seconds / opsPerS - 1) < 1e-9, "W\(weightBits)A\(inputBits): \(ops / seconds)")
            let energy = try #require(p.energy.conversionJ)
            #expect(abs(energy - Double(p.conversions) * 5.1875e-12) < 1e-18)
            let efficiency = ops / energy
            #expect(abs(efficiency / opsPerJ - 1) < 1e-4, "W\(weightBits)A\(inputBits): \(efficiency)")
        }
    }

    /// A conventional mapping worked by hand (128 × 128 sub-arrays, one page
    /// each, 8-bit weights one bit per cell): VGG-8's layers take 8, 72, 144, 288, 576, 1152,
    /// 4096 and 8 sub-arrays (6,344 in all).
    @Test func vgg8SubArraysMatchTheConventionalMapping() throws {
        let mapping = try Self.array(size: 128, inputBits: 8, weightBits: 8, encoding: "twos_complement").mapping(inputBits: 8, weightBits: 8)
        let layers = [(3 * 9, 128), (128 * 9, 128), (128 * 9, 256), (256 * 9, 256), (256 * 9, 512), (512 * 9, 512),
                      (8192, 1024), (1024, 10)]
        let pages = try layers.enumerated().map { index, layer in
            try mapping.place(LayerShape(name: "layer\(index + 1)", fanIn: layer.0, outputs: layer.1, vectors: 1)).pages
        }
        #expect(pages == [8, 72, 144, 288, 576, 1152, 4096, 8])
        #expect(pages.reduce(0, +) == 6344)
    }

    /// ResNet-20 (CIFAR-10, 32 × 32, option-A shortcuts) at W4A4 on CAP-RAM, layer by layer
    /// on one macro: 160 pages (20 macros to hold it all), 58,370 converter rounds of 32
    /// conversions (0.834 ms at 70 MHz), and 162,204,160 analog products against the
    /// 58,370 × 32 × 128 the converters could sum (utilisation 0.678).
    @Test func resNet20OnCapRAMCountsAsWorkedByHand() throws {
        let mapping = try Self.capRAM(weightBits: 4, inputBits: 4)
        var shapes = [LayerShape(name: "conv1", fanIn: 27, outputs: 16, vectors: 1024)]
        for (stage, (channels, size)) in [(16, 32), (32, 16), (64, 8)].enumerated() {
            for layer in 0..<6 {
                let inputs = layer == 0 && stage > 0 ? channels / 2 : channels
                shapes.append(LayerShape(name: "s\(stage + 1).\(layer)", fanIn: 9 * inputs, outputs: channels, vectors: size * size))
            }
        }
        shapes.append(LayerShape(name: "fc", fanIn: 64, outputs: 10, vectors: 1))
        let placements = try shapes.map { try mapping.place($0) }
        #expect(placements.map(\.pages).reduce(0, +) == 160)
        let rounds = placements.map(\.rounds).reduce(0, +)
        #expect(rounds == 58_370)
        #expect(placements.map(\.serialCycles).reduce(0, +) == 58_370)
        // 58,370 rounds × 32 converters = 1,867,840 slots, 24 of them idle in the classifier's last round.
        #expect(placements.map(\.conversions).reduce(0, +) == 1_867_816)
        let products = placements.map(\.analogProducts).reduce(0, +)
        #expect(products == 162_204_160)
        #expect(abs(Double(products) / Double(rounds * 32 * 128) - 0.6784) < 1e-4)
        #expect(shapes.map { $0.fanIn * $0.outputs }.reduce(0, +) == 268_336)
    }

    /// On 4 CAP-RAM macros a 144 × 16 × 784 layer (2 pages, one macro's worth) spreads its 2
    /// pages over 2 macros (1,568 cycles), or, replicated, runs 4 copies on 196 vectors each
    /// (784 cycles); the energy is the same either way, and 4 such layers fit the 4 macros.
    @Test func replicationSharesTheVectorsAmongCopies() throws {
        let mapping = try Self.capRAM(weightBits: 4, inputBits: 4)
        let layers = (0..<4).map { (name: "l\($0)", mapping: mapping, shape: LayerShape(name: "l\($0)", fanIn: 144, outputs: 16, vectors: 784)) }
        let chip = try TestChips.capRAM()
        let spread = try NetworkCost(chip: chip, layers: layers, macros: 4)
        let copies = try NetworkCost(chip: chip, layers: layers, macros: 4, replicate: true)
        #expect(spread.layers.map(\.cycles) == [1568, 1568, 1568, 1568] && spread.layers.allSatisfy { $0.replicas == 1 })
        #expect(copies.layers.map(\.cycles) == [784, 784, 784, 784] && copies.layers.allSatisfy { $0.replicas == 4 })
        #expect(spread.energyJ == copies.energyJ && spread.arraysToHoldAll == 1 && spread.resident)
        #expect(abs(spread.latencyS - 4 * 1568 / 70e6) < 1e-15)
        #expect(try NetworkCost(chip: chip, layers: layers, macros: 1).layers[0].cycles == 3136)
    }

    /// A ± pair in two columns doubles an output's lines; in two rows or inside one cell it
    /// does not. A weight wider than the array is refused with the layer's name.
    @Test func pairLayoutDecidesTheLinesOfAnOutput() throws {
        let capRAM = try TestChips.capRAM()
        let ternary = try capRAM.mapping(mode: "ternary", inputBits: 4, weightBits: 3)
        #expect(try ternary.place(LayerShape(name: "t", fanIn: 128, outputs: 64, vectors: 1)).linesPerOutput == 4)
        let neurram = try ChipConfig(contentsOf: "\(packageRoot)/chips/neurram-nature2022.yaml")
        #expect(try neurram.mapping(inputBits: 4, weightBits: 4).place(LayerShape(name: "n", fanIn: 128, outputs: 256, vectors: 1)).pages == 1)
        let narrow = try Self.array(size: 8, inputBits: 4, weightBits: 8, encoding: "differential")
        do {
            _ = try narrow.mapping(inputBits: 4, weightBits: 8).place(LayerShape(name: "wide", fanIn: 8, outputs: 1, vectors: 1))
            Issue.record("a 16-line output placed on 8 columns")
        } catch let error as PlacementError {
            #expect(error.description.hasPrefix("wide: one output takes 16 column lines"), "\(error.description)")
        }
    }
}
