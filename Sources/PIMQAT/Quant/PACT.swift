/// PACT activation quantization: y = α · round_half_even(L · clip(x, 0, α) / α) / L
/// with L = 2^b − 1 levels and a learnable clip α (no weight decay).
///
/// Backward (straight-through): ∂y/∂x = 1 inside (0, α), 0 outside; ∂y/∂α = 1 where x ≥ α.
/// Replaces the ReLU before each quantized layer; its integer levels and the scale α/L are
/// what a PIM array's DACs receive.
public final class PACT: Layer {
    /// 1…16; a precision plan may set it after the network is built.
    public internal(set) var bits: Int {
        didSet { precondition(bits >= 1 && bits <= 16, "PACT: \(bits) bits") }
    }
    public let alpha: Parameter
    /// The activation's name: its clip level's without `.alpha` (`act1`, `layer1.0.act2`).
    public var name: String { String(alpha.name.dropLast(6)) }
    private var input: Tensor = Tensor(zeros: [0])

    public init(bits: Int, initialAlpha: Float, name: String) {
        precondition(bits >= 1 && bits <= 16, "PACT: \(bits) bits")
        self.bits = bits
        alpha = Parameter(name: "\(name).alpha", value: Tensor(shape: [1], data: [initialAlpha]), decays: false)
    }

    public var parameters: [Parameter] { [alpha] }
    public var levels: Float { Float((1 << bits) - 1) }
    /// Real activation = integer level × scale.
    public var scale: Float { max(alpha.value.data[0], 1e-6) / levels }

    /// The integer levels 0…2^b − 1 of `x`.
    public func integerLevels(_ x: Tensor) -> [Int32] {
        let a = max(alpha.value.data[0], 1e-6), l = levels
        return x.data.map { Int32(roundedHalfEven(min(max($0, 0), a) / a * l)) }
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        self.input = input
        let a = max(alpha.value.data[0], 1e-6), l = levels, s = scale
        let count = input.count
        let y = [Float](unsafeUninitializedCapacity: count) { out, initialized in
            input.data.withUnsafeBufferPointer { x in
                guard let base = out.baseAddress else { return }
                let out = UnsafeSendablePointer(base)
                parallelRanges(count) { range in
                    for i in range { out.pointer[i] = roundedHalfEven(min(max(x[i], 0), a) / a * l) * s }
                }
            }
            initialized = count
        }
        return Tensor(shape: input.shape, data: y)
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let a = alpha.value.data[0]
        var dAlpha: Float = 0
        let count = gradient.count
        let dx = [Float](unsafeUninitializedCapacity: count) { dx, initialized in
            gradient.data.withUnsafeBufferPointer { g in
                input.data.withUnsafeBufferPointer { x in
                    // Two passes: the (rarely taken) ∂α sum in order, then a mask that vectorises.
                    for i in 0..<count where x[i] >= a { dAlpha += g[i] }
                    GradientMask.pass(g, where: x, above: 0, below: a, into: dx)
                }
            }
            initialized = count
        }
        alpha.gradient.data[0] += dAlpha
        return Tensor(shape: gradient.shape, data: dx)
    }
}
