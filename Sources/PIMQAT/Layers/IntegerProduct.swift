import PIMSim

/// The product of a layer's weights with its inputs, and how it is quantized: float,
/// quantized weights (conventional QAT), or on integers, digitally or through a chip.
///
/// With a weight quantizer and an input quantizer both set, the product runs on integers,
/// y = s_w · s_a · (W_int · L), exactly as a digital integer accelerator or a lossless PIM array
/// computes it (sums below 2^24 are exact in single precision). With ``pim`` set too, the same
/// integer product also runs through the chip model and replaces the digital one in the
/// forward pass; the digital product stays the straight-through path of the backward pass and
/// the reference of PIM-QAT's rescaling.
///
/// The layer computes the digital product in its own layout and hands over its input levels
/// as the engine takes them: K × (examples · columnsPerExample) with column
/// `example · columnsPerExample + position` (a convolution's patches, one column per output
/// pixel; a fully connected layer's inputs, one column per example). Its outputs are laid out
/// examples × M × columnsPerExample.
public final class IntegerProduct {
    /// The weights (M × K, row-major).
    public let weight: Parameter
    /// The layer's name: its weight's without the `.weight` suffix.
    public var layerName: String {
        weight.name.hasSuffix(".weight") ? String(weight.name.dropLast(7)) : weight.name
    }
    /// Quantization of the weights (conventional QAT); nil = float weights.
    public var quantizer: WeightQuantizer?
    /// The activation whose integer levels the inputs are: set by conventional QAT for every
    /// convolution fed by a PACT, and by ``PIMTarget`` for a classifier run on the chip (its
    /// pooled inputs are rounded to that grid).
    public var inputQuantizer: PACT?
    /// Runs the integer product through a PIM chip model (PIM-QAT); used only when the product
    /// runs on integers.
    public var pim: PIMExecution?
    /// The chip operating mode and decomposition this layer runs in, set by a precision plan;
    /// nil = the run's (``PIMSettings/mode``, ``PIMSettings/scheme``).
    public var chipMode: String?, chipScheme: Scheme?
    /// The weights the last forward used, quantized if a quantizer is set.
    public private(set) var quantized: WeightQuantizer.Quantized?
    /// Outputs M and the number of weights per scale group the quantizer sees (its `fan`).
    let outputs: Int, quantizationFan: Int
    /// Engine columns per example of the last forward pass: a convolution's output pixels,
    /// 1 for a fully connected layer; nil before the first.
    public internal(set) var columnsPerExample: Int?

    init(weight: Parameter, outputs: Int, quantizationFan: Int) {
        (self.weight, self.outputs, self.quantizationFan) = (weight, outputs, quantizationFan)
    }

    /// The grid of the inputs when the product runs on integers (both quantizers set).
    var inputGrid: InputGrid? {
        guard quantizer != nil, let inputQuantizer else { return nil }
        return InputGrid(inputQuantizer)
    }

    /// The operands of one forward pass, quantizing the weights anew.
    struct Operands {
        /// The weight matrix the GEMM multiplies: integers (as floats) on integers, else the
        /// quantized or float weights.
        let weights: [Float]
        /// The input grid on integers, else nil (inputs used as they are).
        let grid: InputGrid?
        /// s_w · s_a on integers (what the integer sum is multiplied by), else 1.
        let outputScale: Float
    }

    /// Quantizes the weights for a forward pass and returns what the layer's GEMM uses.
    func forwardOperands() -> Operands {
        quantized = quantizer?.quantize(weight.value.data, fan: quantizationFan)
        let grid = inputGrid
        let weights = grid != nil ? quantized!.integers.map(Float.init) : (quantized?.values ?? weight.value.data)
        return Operands(weights: weights, grid: grid, outputScale: grid.map { quantized!.scale * $0.scale } ?? 1)
    }

    /// The forward output through the chip, or nil when the product does not run on one.
    /// `digital` is the layer's exact output (examples × M × columnsPerExample, already scaled
    /// by ``Operands/outputScale``); `inputs` builds the levels (called only on the chip).
    func throughChip(digital: [Float], examples: Int, columnsPerExample: Int, training: Bool,
                     inputs: () -> [Int32]) -> [Float]? {
        guard let pim, let grid = inputGrid, let quantized else { return nil }
        let fanIn = quantized.integers.count / outputs
        let columns = examples * columnsPerExample
        let (product, clipped) = pim.product(weights: quantized.integers, outputs: outputs, fanIn: fanIn, inputs: inputs(),
                                             columns: columns, columnsPerExample: columnsPerExample)
        let scale = quantized.scale * grid.scale
        // The engine's M × columns layout back to the layer's: [m][e][p] → [e][m][p].
        let perExample = outputs * columnsPerExample
        var chip = [Float](repeating: 0, count: digital.count)
        var clips = clipped.map { [UInt8](repeating: 0, count: $0.count) }
        for example in 0..<examples {
            for m in 0..<outputs {
                for p in 0..<columnsPerExample {
                    let source = m * columns + example * columnsPerExample + p, target = example * perExample + m * columnsPerExample + p
                    chip[target] = Float(product[source]) * scale
                    if let clipped { clips![target] = clipped[source] }
                }
            }
        }
        pim.rescale(&chip, ideal: digital, clipped: clips, training: training)
        return chip
    }

    /// The weights the backward pass multiplies ∂output by: those of the last forward.
    var backwardWeights: [Float] { quantized?.values ?? weight.value.data }

    /// ∂output as the straight-through path takes it (PIM-QAT's gradient factor and clip mask
    /// applied when on a chip).
    func incomingGradient(_ gradient: Tensor) -> Tensor { pim?.scaledGradient(gradient) ?? gradient }

    /// Adds ∂L/∂w_q (M × K) to the weight gradient, straight through the quantizer's rounding.
    func accumulateWeightGradient(_ gradient: [Float]) {
        let derivative = quantized?.derivative
        for i in 0..<gradient.count { weight.gradient.data[i] += gradient[i] * (derivative?[i] ?? 1) }
    }

    /// The PIM layer's saved state (its forward factor), by name.
    var buffers: [(name: String, value: Tensor)] { pim?.buffers ?? [] }
    func setBuffer(_ name: String, _ value: Tensor) { pim?.setBuffer(name, value) }
}

/// A layer whose weights multiply its inputs through an ``IntegerProduct``: what quantization
/// and ``PIMTarget`` attach to.
public protocol IntegerProductLayer: Layer {
    var product: IntegerProduct { get }
    /// Whether this is the network's classifier: it runs on a chip only with
    /// ``PIMSettings/classifierOnChip``, its inputs rounded onto the grid of the activation
    /// before it.
    var isClassifier: Bool { get }
}

/// The integer grid of a layer's inputs: level = clamp(round_half_even(x / scale), 0, max).
struct InputGrid {
    let scale: Float
    let inverse: Float
    let maxLevel: Float

    init(_ activation: PACT) {
        scale = activation.scale
        inverse = 1 / activation.scale
        maxLevel = activation.levels
    }

    /// The levels of `values` (as floats 0…maxLevel), computed in parallel into a new array.
    func levels(of values: [Float]) -> [Float] {
        let count = values.count
        return [Float](unsafeUninitializedCapacity: count) { r, initialized in
            values.withUnsafeBufferPointer { v in
                guard let base = r.baseAddress, let source = v.baseAddress else { return }
                let target = UnsafeSendablePointer(base)
                parallelRanges(count) { range in
                    levels(source + range.lowerBound, count: range.count, into: target.pointer + range.lowerBound)
                }
            }
            initialized = count
        }
    }

    /// Writes the levels of `count` values into `target`.
    private func levels(_ values: UnsafePointer<Float>, count: Int, into target: UnsafeMutablePointer<Float>) {
        // Clamping to the integer bounds first gives the same levels and keeps the rounding exact.
        for i in 0..<count { target[i] = roundedHalfEven(min(max(values[i] * inverse, 0), maxLevel)) }
    }
}
