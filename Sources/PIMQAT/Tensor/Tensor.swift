/// A dense Float32 tensor in row-major (NCHW for images) layout.
///
/// A value type: copies share storage until one is written (copy on write).
public struct Tensor: Sendable, Equatable {
    public private(set) var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == data.count, "Tensor: \(data.count) values for shape \(shape)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// The same values under another shape with as many elements.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, data: data)
    }

    /// Element-wise sum with a tensor of the same shape.
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
        precondition(lhs.shape == rhs.shape, "Tensor +: shapes \(lhs.shape) and \(rhs.shape) differ")
        // Written in parallel straight into a new buffer (no sequential copy of lhs first).
        let count = lhs.count
        let data = [Float](unsafeUninitializedCapacity: count) { r, initialized in
            lhs.data.withUnsafeBufferPointer { a in
                rhs.data.withUnsafeBufferPointer { b in
                    guard let base = r.baseAddress else { return }
                    let sum = UnsafeSendablePointer(base)
                    parallelRanges(count) { range in for i in range { sum.pointer[i] = a[i] + b[i] } }
                }
            }
            initialized = count
        }
        return Tensor(shape: lhs.shape, data: data)
    }
}

/// Uniform and normal initialisation from a seeded counter-based stream.
public struct TensorInitializer: Sendable {
    public let stream: RandomStream
    private var next: UInt64 = 0

    public init(seed: UInt64) {
        stream = RandomStream(seed: seed, purpose: .initialisation)
    }

    /// Kaiming-normal weights: N(0, 2/fanIn).
    public mutating func kaimingNormal(_ shape: [Int], fanIn: Int) -> Tensor {
        let sigma = (2 / Double(fanIn)).squareRoot()
        return normal(shape, sigma: sigma)
    }

    public mutating func normal(_ shape: [Int], sigma: Double) -> Tensor {
        let count = shape.reduce(1, *)
        let base = next
        next += UInt64(count)
        return Tensor(shape: shape, data: (0..<count).map { Float(sigma * stream.normal(base + UInt64($0))) })
    }

    /// Uniform on [−bound, bound].
    public mutating func uniform(_ shape: [Int], bound: Double) -> Tensor {
        let count = shape.reduce(1, *)
        let base = next
        next += UInt64(count)
        return Tensor(shape: shape, data: (0..<count).map { Float((2 * stream.uniform(base + UInt64($0)) - 1) * bound) })
    }
}
