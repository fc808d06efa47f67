import ModelFormat

/// Quantized convolutions: `ConvInteger` (10: int32 = conv(x − x_zp, w − w_zp)) and `QLinearConv`
/// (10: the same requantized with x_scale·w_scale / y_scale, y_zp, plus an int32 bias). N-D, NCHW,
/// with group, strides, dilations, pads / auto_pad. A direct loop: these ops appear in small
/// quantized heads, and the float Conv fast path lives in Conv.swift.
enum ConvIntegerKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("ConvInteger", since: 10) { try IntegerConvKernel($0, quantized: false) },
    OpRegistration("QLinearConv", since: 10) { try IntegerConvKernel($0, quantized: true) },
  ]
}

final class IntegerConvKernel: OpKernel {
  let label: String
  let quantized: Bool
  let autoPad: String
  let group: Int
  let strides: [Int]?, dilations: [Int]?, pads: [Int]?, kernelShape: [Int]?
  init(_ ctx: NodeContext, quantized: Bool) throws {
    label = ctx.label
    self.quantized = quantized
    autoPad = try ctx.string("auto_pad", "NOTSET")
    group = try ctx.int("group", 1)
    strides = try ctx.ints("strides")
    dilations = try ctx.ints("dilations")
    pads = try ctx.ints("pads")
    kernelShape = try ctx.ints("kernel_shape")
    guard group >= 1 else { throw ctx.error("group \(group) must be positive") }
  }
  private var wIndex: Int { quantized ? 3 : 1 }

  struct Geometry { var k: [Int], s: [Int], d: [Int], padBegin: [Int], out: [Int] }

  private func geometry(_ x: TensorSpec, _ w: TensorSpec) throws -> Geometry {
    let r = x.rank - 2
    guard r >= 1, w.rank == x.rank, x.shape[1] == w.shape[1] * group, w.shape[0] % group == 0 else {
      throw SecateurError.invalidModel("\(label): X \(x.shape) and W \(w.shape) do not match (group \(group))")
    }
    let k = kernelShape ?? Array(w.shape[2...])
    let s = strides ?? Array(repeating: 1, count: r), d = dilations ?? Array(repeating: 1, count: r)
    var p = pads ?? Array(repeating: 0, count: 2 * r)
    guard k.count == r, s.count == r, d.count == r, p.count == 2 * r, s.allSatisfy({ $0 > 0 }), d.allSatisfy({ $0 > 0 }) else {
      throw SecateurError.invalidModel("\(label): kernel/stride/dilation/pad attributes do not match rank \(r)")
    }
    var out: [Int] = []
    for i in 0..<r {
      let n = x.shape[i + 2], eff = d[i] * (k[i] - 1) + 1
      if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
        let o = (n + s[i] - 1) / s[i]
        let total = max(0, (o - 1) * s[i] + eff - n)
        p[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
        out.append(o)
      } else {
        if autoPad == "VALID" { p[i] = 0; p[i + r] = 0 }
        out.append((n + p[i] + p[i + r] - eff) / s[i] + 1)
      }
    }
    return Geometry(k: k, s: s, d: d, padBegin: Array(p[..<r]), out: out)
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), w = try required(inputs, wIndex, label)
    try x.require([.uint8, .int8], label)
    try w.require([.uint8, .int8], label)
    let g = try geometry(x, w)
    let t: DataType = quantized ? ((inputs.count > 7 ? inputs[7]?.dataType : nil) ?? x.dataType) : .int32
    return [TensorSpec(t, [x.shape[0], w.shape[0]] + g.out)]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0], let wv = inputs[wIndex] else { return }
    func read(_ i: Int) throws -> [Double]? {
      guard i < inputs.count, let v = inputs[i] else { return nil }
      return try readAsDouble(v.dataType, v.data, count: v.count, label)
    }
    let g = try geometry(xv.spec, wv.spec)
    let x = try read(0) ?? [], w = try read(wIndex) ?? []
    let xzp = try read(quantized ? 2 : 2) ?? [0], wzp = try read(quantized ? 5 : 3) ?? [0]
    let r = g.k.count, N = xv.shape[0], C = xv.shape[1], M = wv.shape[0], cg = C / group, mg = M / group
    let inDims = Array(xv.shape[2...]), inSt = stridesOf(inDims), outSt = stridesOf(g.out), kSt = stridesOf(g.k)
    let inSize = inDims.reduce(1, *), outSize = g.out.reduce(1, *), kSize = g.k.reduce(1, *)
    var y = [Double](repeating: 0, count: N * M * outSize)
    for n in 0..<N {
      for m in 0..<M {
        let grp = m / mg, zw = wzp.count == 1 ? wzp[0] : wzp[min(m, wzp.count - 1)]
        for o in 0..<outSize {
          var acc = 0.0
          for c in 0..<cg {
            let ch = grp * cg + c
            for kk in 0..<kSize {
              var off = 0, inside = true
              for i in 0..<r {
                let pos = ((o / outSt[i]) % g.out[i]) * g.s[i] + ((kk / kSt[i]) % g.k[i]) * g.d[i] - g.padBegin[i]
                if pos < 0 || pos >= inDims[i] { inside = false; break }
                off += pos * inSt[i]
              }
              // Padding holds the zero point, so it contributes (x_zp − x_zp) = 0.
              guard inside else { continue }
              acc += (x[(n * C + ch) * inSize + off] - xzp[0]) * (w[(m * cg + c) * kSize + kk] - zw)
            }
          }
          y[(n * M + m) * outSize + o] = acc
        }
      }
    }
    let out = outputs[0]
    if !quantized {
      try writeFromDouble(y, .int32, out.data, saturate: true, rounding: .up, label)
      return
    }
    let xs = try read(1)?.first ?? 1, ws = try read(4) ?? [1], ys = try read(6)?.first ?? 1, yzp = try read(7)?.first ?? 0
    let bias = try read(8)
    guard let (lo, hi) = quantRange(out.dataType) else { throw SecateurError.unsupported("\(label): output type \(out.dataType)") }
    for i in 0..<y.count {
      let m = (i / outSize) % M
      let scale = Double(Float(xs) * Float(ws.count == 1 ? ws[0] : ws[m]) / Float(ys))
      y[i] = min(max(((y[i] + (bias?[m] ?? 0)) * scale).rounded(.toNearestOrEven) + yzp, lo), hi)
    }
    try writeFromDouble(y, out.dataType, out.data, saturate: true, rounding: .up, label)
  }
}
