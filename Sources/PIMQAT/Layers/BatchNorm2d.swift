/// Batch normalisation over N, H, W for each channel of an N × C × H × W tensor.
///
/// Training: y = γ·(x − μ_B)/√(σ²_B + ε) + β with the batch's mean and biased variance;
/// running statistics follow `running ← (1 − m)·running + m·batch` with the unbiased
/// variance (PyTorch's convention, m = 0.1). Evaluation uses the running statistics.
public final class BatchNorm2d: Layer {
    public let channels: Int
    public let epsilon: Float
    public let momentum: Float = 0.1
    public let gamma: Parameter
    public let beta: Parameter
    public var runningMean: Tensor
    public var runningVariance: Tensor
    let name: String
    private var normalized: [Float] = []
    private var inverseStd: [Float] = []
    private var shape: [Int] = []
    private var trainingPass = true
    /// Batch statistics gathered by BN calibration: while set, every forward
    /// pass normalises with its batch's statistics and adds them here, leaving the running
    /// averages alone.
    private var calibration: (mean: [Double], variance: [Double], batches: Int)?

    /// `epsilon` (> 0) is added to the variance: 1e-5 as in PyTorch, or an imported model's.
    public init(_ channels: Int, name: String = "bn", epsilon: Float = 1e-5) {
        self.channels = channels
        self.epsilon = epsilon
        self.name = name
        gamma = Parameter(name: "\(name).weight", value: Tensor(repeating: 1, shape: [channels]), decays: false)
        beta = Parameter(name: "\(name).bias", value: Tensor(zeros: [channels]), decays: false)
        runningMean = Tensor(zeros: [channels])
        runningVariance = Tensor(repeating: 1, shape: [channels])
    }

    public var parameters: [Parameter] { [gamma, beta] }
    public var buffers: [(name: String, value: Tensor)] {
        [("\(name).running_mean", runningMean), ("\(name).running_var", runningVariance)]
    }
    public func setBuffer(_ bufferName: String, _ value: Tensor) {
        if bufferName == "\(name).running_mean" { runningMean = value }
        if bufferName == "\(name).running_var" { runningVariance = value }
    }
    public func bufferProblem(_ bufferName: String, _ value: Tensor) -> String? {
        guard bufferName == "\(name).running_var", let bad = value.data.firstIndex(where: { $0 < 0 }) else { return nil }
        return "element \(bad) is \(value.data[bad]): a variance cannot be negative"
    }

    public func forward(_ input: Tensor, training: Bool) -> Tensor {
        precondition(input.rank == 4 && input.shape[1] == channels, "BatchNorm2d: input \(input.shape)")
        shape = input.shape
        trainingPass = training
        let (n, plane) = (input.shape[0], input.shape[2] * input.shape[3])
        let count = Float(n * plane)
        var output = [Float](unsafeUninitializedCapacity: input.count) { _, initialized in initialized = input.count }  // all written below
        if normalized.count != input.count { normalized = [Float](repeating: 0, count: input.count) }
        inverseStd = [Float](repeating: 0, count: channels)
        let channels = self.channels
        // Channels are independent: split over `BLAS.threadCount` workers, each channel
        // computed whole by one worker, so results do not depend on the thread count.
        let workers = max(1, min(BLAS.threadCount, channels))
        let workPerWorker = input.count / workers * 3
        var means = [Float](repeating: 0, count: channels), variances = runningVariance.data
        if training || calibration != nil {
            var sums = [Double](repeating: 0, count: 2 * channels)
            input.data.withUnsafeBufferPointer { x in
                sums.withUnsafeMutableBufferPointer { sums in
                    let sums = UnsafeSendablePointer(sums.baseAddress!)
                    parallelFor(workers, workPerItem: workPerWorker) { worker in
                        for c in stride(from: worker, to: channels, by: workers) {
                            var sum = 0.0, sumSquares = 0.0
                            for image in 0..<n {
                                let row = x.baseAddress! + (image * channels + c) * plane
                                let (s, q) = BatchNorm2d.sums(row, row, count: plane)
                                sum += Double(s)
                                sumSquares += Double(q)
                            }
                            sums.pointer[2 * c] = sum
                            sums.pointer[2 * c + 1] = sumSquares
                        }
                    }
                }
            }
            for c in 0..<channels {
                let m = sums[2 * c] / Double(count)
                let variance = Float(max(0, sums[2 * c + 1] / Double(count) - m * m))
                means[c] = Float(m)
                variances[c] = variance
                let unbiased = count > 1 ? variance * count / (count - 1) : variance
                if calibration != nil {
                    calibration!.mean[c] += m
                    calibration!.variance[c] += Double(unbiased)
                } else {
                    runningMean.data[c] = (1 - momentum) * runningMean.data[c] + momentum * means[c]
                    runningVariance.data[c] = (1 - momentum) * runningVariance.data[c] + momentum * unbiased
                }
            }
        } else {
            means = runningMean.data
        }
        inverseStd = variances.map { 1 / ($0 + epsilon).squareRoot() }
        let (gammas, betas, inverse) = (gamma.value.data, beta.value.data, inverseStd)
        input.data.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                normalized.withUnsafeMutableBufferPointer { xhat in
                    let y = UnsafeSendablePointer(y.baseAddress!), xhat = UnsafeSendablePointer(xhat.baseAddress!)
                    parallelFor(workers, workPerItem: workPerWorker) { worker in
                        for c in stride(from: worker, to: channels, by: workers) {
                            let mean = means[c], inv = inverse[c], g = gammas[c], b = betas[c]
                            for image in 0..<n {
                                let base = (image * channels + c) * plane
                                let xs = x.baseAddress! + base, xh = xhat.pointer + base, ys = y.pointer + base
                                var i = 0
                                while i < plane {
                                    let v = (xs[i] - mean) * inv
                                    xh[i] = v
                                    ys[i] = g * v + b
                                    i &+= 1
                                }
                            }
                        }
                    }
                }
            }
        }
        if calibration != nil { calibration!.batches += 1 }
        return Tensor(shape: input.shape, data: output)
    }

    /// Starts gathering batch statistics (see ``calibration``).
    public func beginCalibration() {
        calibration = ([Double](repeating: 0, count: channels), [Double](repeating: 0, count: channels), 0)
    }

    /// Freezes the running statistics at the equal-weight average of the gathered batches'
    /// means and unbiased variances (unchanged if none was gathered).
    public func endCalibration() {
        guard let calibration else { return }
        self.calibration = nil
        guard calibration.batches > 0 else { return }
        let k = Double(calibration.batches)
        runningMean = Tensor(shape: [channels], data: calibration.mean.map { Float($0 / k) })
        runningVariance = Tensor(shape: [channels], data: calibration.variance.map { Float($0 / k) })
    }

    public func backward(_ gradient: Tensor) -> Tensor {
        let (n, plane) = (shape[0], shape[2] * shape[3])
        let count = Float(n * plane)
        var dx = [Float](unsafeUninitializedCapacity: gradient.count) { _, initialized in initialized = gradient.count }  // all written below
        let channels = self.channels
        let workers = max(1, min(BLAS.threadCount, channels))
        let (gammas, inverse, trainingPass) = (gamma.value.data, inverseStd, self.trainingPass)
        var sums = [Double](repeating: 0, count: 2 * channels)
        gradient.data.withUnsafeBufferPointer { dy in
            normalized.withUnsafeBufferPointer { xhat in
                dx.withUnsafeMutableBufferPointer { dx in
                    sums.withUnsafeMutableBufferPointer { sums in
                        let dx = UnsafeSendablePointer(dx.baseAddress!), sums = UnsafeSendablePointer(sums.baseAddress!)
                        // One worker per channel, as in the forward pass.
                        parallelFor(workers, workPerItem: gradient.count / workers * 4) { worker in
                            for c in stride(from: worker, to: channels, by: workers) {
                                var sumDy = 0.0, sumDyXhat = 0.0
                                for image in 0..<n {
                                    let base = (image * channels + c) * plane
                                    let (s, q) = BatchNorm2d.sums(dy.baseAddress! + base, xhat.baseAddress! + base, count: plane)
                                    sumDy += Double(s)
                                    sumDyXhat += Double(q)
                                }
                                sums.pointer[2 * c] = sumDy
                                sums.pointer[2 * c + 1] = sumDyXhat
                                let scale = gammas[c] * inverse[c]
                                let a = scale / count, sdy = Float(sumDy), sxy = Float(sumDyXhat)
                                for image in 0..<n {
                                    let base = (image * channels + c) * plane
                                    let g = dy.baseAddress! + base, xh = xhat.baseAddress! + base, d = dx.pointer + base
                                    var i = 0
                                    if trainingPass {
                                        while i < plane { d[i] = a * (count * g[i] - sdy - xh[i] * sxy); i &+= 1 }
                                    } else {
                                        while i < plane { d[i] = scale * g[i]; i &+= 1 }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for c in 0..<channels {
            gamma.gradient.data[c] += Float(sums[2 * c + 1])
            beta.gradient.data[c] += Float(sums[2 * c])
        }
        return Tensor(shape: shape, data: dx)
    }

    /// (Σ a[i], Σ a[i]·b[i]) over `count` values, in eight lanes summed in a fixed order:
    /// deterministic, and not bound by the latency of one running sum.
    static func sums(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> (Float, Float) {
        var s = SIMD8<Float>(repeating: 0), q = SIMD8<Float>(repeating: 0)
        let aRaw = UnsafeRawPointer(a), bRaw = UnsafeRawPointer(b)
        var i = 0
        while i &+ 8 <= count {
            let av = aRaw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            let bv = bRaw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            s += av
            q += av * bv
            i &+= 8
        }
        var sum = s.sum(), products = q.sum()
        while i < count { sum += a[i]; products += a[i] * b[i]; i &+= 1 }
        return (sum, products)
    }
}
