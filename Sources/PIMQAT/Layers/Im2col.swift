/// The patch geometry of one convolution on one input size: how an image's C×H×W planes
/// become the (C·k·k) × (Ho·Wo) patch matrix a GEMM multiplies (im2col) and how patch
/// gradients go back to the input positions they came from (col2im).
///
/// Patch rows run input channel outermost, then kernel row, then kernel column — the fan-in
/// order in which the PIM engine groups inputs per conversion. Positions outside the padded
/// input are zero. A dilation d spaces the kernel's taps d pixels apart (d = 1: adjacent).
/// Stride-1 convolutions that keep the plane's size ((k − 1)·d = 2p) build their patches as
/// whole-plane shifted copies (``PatchShift``); the others use row loops.
struct ConvGeometry {
    /// Input channels, kernel size, stride, zero padding and dilation (elements).
    let channels: Int, kernel: Int, stride: Int, padding: Int, dilation: Int
    /// Input and output plane sizes.
    let h: Int, w: Int, ho: Int, wo: Int
    /// The k·k patch shifts in kernel order when the convolution keeps the plane's size at
    /// stride 1 (ResNets' 3×3 with padding 1 and 1×1 without), else nil.
    let shifts: [PatchShift]?

    init(channels: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1, h: Int, w: Int) {
        (self.channels, self.kernel, self.stride, self.padding, self.dilation, self.h, self.w) = (channels, kernel, stride, padding, dilation, h, w)
        (ho, wo) = (Self.outputSize(h, kernel: kernel, stride: stride, padding: padding, dilation: dilation),
                    Self.outputSize(w, kernel: kernel, stride: stride, padding: padding, dilation: dilation))
        if stride == 1, ho == h, wo == w {
            var shifts: [PatchShift] = []
            shifts.reserveCapacity(kernel * kernel)
            for ki in 0..<kernel {
                for kj in 0..<kernel { shifts.append(PatchShift(h: h, w: w, rowShift: ki * dilation - padding, columnShift: kj * dilation - padding)) }
            }
            self.shifts = shifts
        } else {
            shifts = nil
        }
    }

    /// ⌊(size + 2p − (k − 1)·d − 1) / s⌋ + 1 output positions along one axis.
    static func outputSize(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1) -> Int {
        (size + 2 * padding - (kernel - 1) * dilation - 1) / stride + 1
    }

    /// Patch rows: C·k·k.
    var rows: Int { channels * kernel * kernel }
    /// Output positions per image: Ho·Wo.
    var pixels: Int { ho * wo }

    /// The output columns of kernel column `kj` whose input column lies inside the image:
    /// [first, last), the same for every output row.
    private func insideColumns(_ kj: Int) -> (first: Int, last: Int) {
        let offset = kj * dilation
        let first = min(wo, max(0, (padding - offset + stride - 1) / stride))
        return (first, max(first, min(wo, (w - 1 + padding - offset) / stride + 1)))
    }

    /// One image's (C·k·k) × (Ho·Wo) patches of its C planes at `x` into `out`.
    func im2col(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let (k, s, p, d) = (kernel, stride, padding, dilation)
        let pixels = ho * wo
        if let shifts {
            Self.samePatches(x, channels: channels, shifts: shifts, into: out)
            return
        }
        for c in 0..<channels {
            let plane = x + c * h * w
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = out + ((c * k + ki) * k + kj) * pixels
                    let (first, last) = insideColumns(kj)
                    // Rows are short (7–32 values): plain counted loops, no library calls.
                    for oh in 0..<ho {
                        let ih = oh &* s &- p &+ ki &* d
                        let target = row + oh &* wo
                        guard ih >= 0 && ih < h else {
                            var j = 0
                            while j < wo { target[j] = 0; j &+= 1 }
                            continue
                        }
                        var j = 0
                        while j < first { target[j] = 0; j &+= 1 }
                        j = last
                        while j < wo { target[j] = 0; j &+= 1 }
                        let offset: Int = ih &* w &+ first &* s &- p &+ kj &* d
                        let source = plane + offset
                        let inside = target + first, count = last &- first
                        j = 0
                        if s == 1 {
                            while j < count { inside[j] = source[j]; j &+= 1 }
                        } else {
                            while j < count { inside[j] = source[j &* s]; j &+= 1 }
                        }
                    }
                }
            }
        }
    }

    /// Adds one image's patch gradients `columns` back to the input positions they came from,
    /// into `dx` (C×H×W; the backward pass of convolutions that change the plane's size).
    func col2im(_ columns: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        let (k, s, p, d) = (kernel, stride, padding, dilation)
        let pixels = ho * wo
        for c in 0..<channels {
            let plane = dx + c * h * w
            for ki in 0..<k {
                for kj in 0..<k {
                    let row = columns + ((c * k + ki) * k + kj) * pixels
                    let (first, last) = insideColumns(kj)
                    for oh in 0..<ho {
                        let ih = oh * s - p + ki * d
                        guard ih >= 0 && ih < h else { continue }
                        let source = row + oh * wo + first
                        let target = plane + ih * w + first * s - p + kj * d
                        // Plain counted loops (wrapping index arithmetic) so the stride-1 case vectorises.
                        let count = last - first
                        if s == 1 {
                            var i = 0
                            while i < count { target[i] += source[i]; i &+= 1 }
                        } else {
                            var i = 0
                            while i < count { target[i &* s] += source[i]; i &+= 1 }
                        }
                    }
                }
            }
        }
    }

    /// The patches of one image's `channels` planes at `x` for a same-size convolution
    /// (`shifts` of that size), as im2col lays them out.
    static func samePatches(_ x: UnsafePointer<Float>, channels: Int, shifts: [PatchShift], into out: UnsafeMutablePointer<Float>) {
        guard let plane = shifts.first.map({ $0.h * $0.w }) else { return }
        for c in 0..<channels {
            for (index, shift) in shifts.enumerated() {
                shift.copy(x + c * plane, into: out + (c * shifts.count + index) * plane)
            }
        }
    }
}
