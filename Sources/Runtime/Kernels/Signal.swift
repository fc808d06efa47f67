import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// ONNX signal processing: `DFT` (17: axis attribute; 20: axis input, default −2), `STFT` (17) and the
/// `HannWindow` / `HammingWindow` / `BlackmanWindow` generators (17). Transforms are direct O(n²) sums
/// in Double (the sizes these ops see in models are small frame lengths).
enum SignalKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("DFT", since: 17) { try DFTKernel($0, axisInput: false) },
    OpRegistration("DFT", since: 20) { try DFTKernel($0, axisInput: true) },  // 20: axis moved to input 2
    OpRegistration("STFT", since: 17) { try STFTKernel($0) },
  ] + [WindowKernel.Kind.hann, .hamming, .blackman].map { k in
    OpRegistration(k.rawValue, since: 17) { try WindowKernel($0, k) }
  }
}

/// Complex DFT of `n` points from `count` complex inputs (zero-padded or truncated to n).
private func dft(_ re: [Double], _ im: [Double], n: Int, inverse: Bool) -> ([Double], [Double]) {
  var outRe = [Double](repeating: 0, count: n), outIm = outRe
  let sign = inverse ? 1.0 : -1.0
  for k in 0..<n {
    var sr = 0.0, si = 0.0
    for t in 0..<min(n, re.count) {
      let a = sign * 2 * Double.pi * Double((k * t) % n) / Double(n)
      let c = cos(a), s = sin(a)
      sr += re[t] * c - im[t] * s
      si += re[t] * s + im[t] * c
    }
    outRe[k] = inverse ? sr / Double(n) : sr
    outIm[k] = inverse ? si / Double(n) : si
  }
  return (outRe, outIm)
}

final class DFTKernel: OpKernel {
  let label: String
  let axisInput: Bool
  let axisAttribute: Int
  let inverse: Bool, onesided: Bool
  init(_ ctx: NodeContext, axisInput: Bool) throws {
    label = ctx.label
    self.axisInput = axisInput
    axisAttribute = try ctx.int("axis", 1)
    inverse = try ctx.int("inverse", 0) != 0
    onesided = try ctx.int("onesided", 0) != 0
  }

  private func geometry(_ x: TensorSpec, _ values: InputValues) throws -> (axis: Int, n: Int, out: [Int]) {
    guard x.rank >= 2, x.shape.last == 1 || x.shape.last == 2 else {
      throw SecateurError.invalidModel("\(label): input \(x.shape) must end in 1 (real) or 2 (complex)")
    }
    var axis = axisAttribute
    if axisInput { axis = try values[2] != nil ? values.ints(2, label).first ?? -2 : -2 }
    axis = ((axis % x.rank) + x.rank) % x.rank
    guard axis < x.rank - 1 else { throw SecateurError.invalidModel("\(label): axis must not be the last (complex) axis") }
    var n = inverse && onesided ? 2 * (x.shape[axis] - 1) : x.shape[axis]
    if values[1] != nil, let l = try values.ints(1, label).first { n = l }
    guard n >= 1 else { throw SecateurError.invalidModel("\(label): dft_length \(n) must be positive") }
    var out = x.shape
    out[axis] = !inverse && onesided ? n / 2 + 1 : n
    out[x.rank - 1] = inverse && onesided ? 1 : 2
    return (axis, n, out)
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require([.float, .double, .float16, .bfloat16], label)
    if inputs.count > 1, inputs[1] != nil, values[1] == nil { throw KernelError.needsValue(input: 1) }
    if axisInput, inputs.count > 2, inputs[2] != nil, values[2] == nil { throw KernelError.needsValue(input: 2) }
    return [TensorSpec(x.dataType, try geometry(x, values).out)]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0] else { return }
    let tensors = try inputs.map { v in try v.map { try Tensor(dataType: $0.dataType, shape: $0.shape, buffer: Buffer(borrowing: $0.data, count: $0.spec.byteCount ?? 0)) } }
    let g = try geometry(xv.spec, InputValues(tensors))
    let x = try readAsDouble(xv.dataType, xv.data, count: xv.count, label)
    let comps = xv.shape.last ?? 1, len = xv.shape[g.axis]
    let outer = xv.shape[..<g.axis].reduce(1, *), inner = xv.shape[(g.axis + 1)..<(xv.shape.count - 1)].reduce(1, *)
    let outLen = outputs[0].shape[g.axis], outComps = outputs[0].shape.last ?? 2
    var y = [Double](repeating: 0, count: outputs[0].count)
    for o in 0..<outer {
      for i in 0..<inner {
        var re = [Double](), im = [Double]()
        for t in 0..<len {
          let p = ((o * len + t) * inner + i) * comps
          re.append(x[p]); im.append(comps == 2 ? x[p + 1] : 0)
        }
        var rRe: [Double], rIm: [Double]
        if inverse && onesided {
          // irfft: rebuild the Hermitian spectrum from the first n/2+1 bins, then the inverse DFT.
          let half = g.n / 2 + 1
          var fr = [Double](repeating: 0, count: g.n), fi = fr
          for k in 0..<min(half, len) { fr[k] = re[k]; fi[k] = im[k] }
          fi[0] = 0
          if g.n % 2 == 0 && g.n / 2 < half { fi[g.n / 2] = 0 }
          for k in 1..<max(1, (g.n + 1) / 2) where g.n - k < g.n { fr[g.n - k] = fr[k]; fi[g.n - k] = -fi[k] }
          (rRe, rIm) = dft(fr, fi, n: g.n, inverse: true)
        } else {
          (rRe, rIm) = dft(re, im, n: g.n, inverse: inverse)
        }
        for k in 0..<outLen {
          let p = ((o * outLen + k) * inner + i) * outComps
          y[p] = rRe[k]
          if outComps == 2 { y[p + 1] = rIm[k] }
        }
      }
    }
    try writeFromDouble(y, xv.dataType, outputs[0].data, saturate: true, rounding: .up, label)
  }
}

/// STFT (17): frames of `frame_length` every `frame_step` samples, optionally windowed, DFT per frame.
/// Input (B, L, 1|2) → output (B, frames, bins, 2); `onesided` (default 1) keeps n/2+1 bins.
final class STFTKernel: OpKernel {
  let label: String
  let onesided: Bool
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    onesided = try ctx.int("onesided", 1) != 0
  }
  private func geometry(_ x: TensorSpec, _ inputs: [TensorSpec?], _ values: InputValues) throws -> (step: Int, frame: Int, out: [Int]) {
    guard x.rank == 3, x.shape[2] == 1 || x.shape[2] == 2 else { throw SecateurError.invalidModel("\(label): signal \(x.shape) must be (B, L, 1|2)") }
    guard let step = try values.ints(1, label).first, step > 0 else { throw SecateurError.invalidModel("\(label): frame_step must be positive") }
    var frame = inputs.count > 2 ? inputs[2]?.shape.first : nil
    if inputs.count > 3, inputs[3] != nil, let f = try values.ints(3, label).first { frame = f }
    guard let frame, frame > 0, frame <= x.shape[1] else { throw SecateurError.invalidModel("\(label): frame length must be in 1...\(x.shape[1])") }
    let frames = (x.shape[1] - frame) / step + 1
    return (step, frame, [x.shape[0], frames, onesided ? frame / 2 + 1 : frame, 2])
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require([.float, .double, .float16, .bfloat16], label)
    return [TensorSpec(x.dataType, try geometry(x, inputs, values).out)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0] else { return }
    let tensors = try inputs.map { v in try v.map { try Tensor(dataType: $0.dataType, shape: $0.shape, buffer: Buffer(borrowing: $0.data, count: $0.spec.byteCount ?? 0)) } }
    let g = try geometry(xv.spec, inputs.map { $0?.spec }, InputValues(tensors))
    let x = try readAsDouble(xv.dataType, xv.data, count: xv.count, label)
    let window = try (inputs.count > 2 ? inputs[2] : nil).map { try readAsDouble($0.dataType, $0.data, count: $0.count, label) }
    let (B, L, comps) = (xv.shape[0], xv.shape[1], xv.shape[2])
    let (frames, bins) = (g.out[1], g.out[2])
    var y = [Double](repeating: 0, count: outputs[0].count)
    for b in 0..<B {
      for f in 0..<frames {
        var re = [Double](repeating: 0, count: g.frame), im = re
        for t in 0..<g.frame {
          let p = (b * L + f * g.step + t) * comps
          let w = window?[t] ?? 1
          re[t] = x[p] * w
          im[t] = comps == 2 ? x[p + 1] * w : 0
        }
        let (rRe, rIm) = dft(re, im, n: g.frame, inverse: false)
        for k in 0..<bins {
          let p = ((b * frames + f) * bins + k) * 2
          y[p] = rRe[k]; y[p + 1] = rIm[k]
        }
      }
    }
    try writeFromDouble(y, xv.dataType, outputs[0].data, saturate: true, rounding: .up, label)
  }
}

/// Hann, Hamming (α = 25/46) and Blackman windows of `size` points; periodic (default) divides by N,
/// symmetric by N − 1.
final class WindowKernel: OpKernel {
  enum Kind: String { case hann = "HannWindow", hamming = "HammingWindow", blackman = "BlackmanWindow" }
  let label: String
  let kind: Kind
  let periodic: Bool
  let outputType: DataType
  init(_ ctx: NodeContext, _ kind: Kind) throws {
    label = ctx.label
    self.kind = kind
    periodic = try ctx.int("periodic", 1) != 0
    let raw = try ctx.int("output_datatype", 1)
    guard let t = DataType(rawValue: Int32(truncatingIfNeeded: raw)), (try? requireCastable(t, ctx.label)) != nil else {
      throw ctx.error("output_datatype \(raw) is not supported")
    }
    outputType = t
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    guard let n = try values.ints(0, label).first, n >= 0 else { throw SecateurError.invalidModel("\(label): size must be nonnegative") }
    return [TensorSpec(outputType, [n])]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    let size = outputs[0].count
    let denom = Double(periodic ? size : size - 1)
    let w: [Double] = (0..<size).map { i in
      let n = Double(i)
      switch kind {
      case .hann: let s = sin(n * .pi / denom); return s * s
      case .hamming: return 25.0 / 46.0 - cos(n * .pi * 2 / denom) * (1 - 25.0 / 46.0)
      case .blackman: return cos(n * .pi * 2 / denom) * -0.5 + cos(n * .pi * 4 / denom) * 0.08 + 0.42
      }
    }
    try writeFromDouble(w, outputType, outputs[0].data, saturate: true, rounding: .up, label)
  }
}
