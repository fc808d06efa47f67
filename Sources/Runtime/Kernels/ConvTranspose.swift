import ModelFormat

/// ONNX `ConvTranspose`, opsets 1 and 11: X N·C·spatial, W C·(M/group)·kernel, optional bias.
///
/// Float32 runs as sgemm + col2im (ConvTranspose+Float.swift); double and float16 use a gather-form
/// reference loop (each output sums the inputs that scatter into it), parallel over output planes.
final class ConvTransposeKernel: OpKernel, @unchecked Sendable {
  let label: String
  let window: WindowAttributes
  let group: Int
  let outputPadding: [Int]?
  let outputShape: [Int]?

  init(_ ctx: NodeContext) throws {
    label = ctx.label
    window = try WindowAttributes(ctx)
    group = try ctx.int("group", 1)
    outputPadding = try ctx.ints("output_padding")
    outputShape = try ctx.ints("output_shape")
    guard group >= 1 else { throw ctx.error("group \(group) must be ≥ 1") }
  }

  struct Shape {
    var n: Int, c: Int, m: Int, cg: Int, mg: Int
    var geo: WindowGeometry
    var outSpatial: [Int]
  }

  /// Transposed-conv shape rule: out = stride·(in − 1) + output_padding + (kernel − 1)·dilation + 1 − pads,
  /// or `output_shape` with the pads derived from it.
  func resolve(_ x: [Int], _ w: [Int], _ b: [Int]?) throws -> Shape {
    func fail(_ s: String) -> SecateurError { SecateurError.invalidModel("\(label): \(s)") }
    guard x.count >= 3, x.count <= 5 else { throw fail("input X \(x) must have rank 3 to 5") }
    guard w.count == x.count else { throw fail("weight W \(w) must have the rank of X \(x)") }
    let r = x.count - 2, c = x[1]
    guard w[0] == c else { throw fail("W \(w) must have \(c) input channels first") }
    guard c % group == 0 else { throw fail("input channels \(c) must be a multiple of group \(group)") }
    let m = w[1] * group
    guard m >= 1 else { throw fail("W \(w) has no output channels") }
    if let b, b != [m] { throw fail("bias B \(b) must have shape [\(m)]") }
    let inSize = Array(x[2...])
    let kernel = window.kernel ?? Array(w[2...])
    guard kernel == Array(w[2...]) else { throw fail("kernel_shape \(kernel) does not match W \(w)") }
    let strides = window.strides ?? Array(repeating: 1, count: r)
    let dil = window.dilations ?? Array(repeating: 1, count: r)
    let opad = outputPadding ?? Array(repeating: 0, count: r)
    guard strides.count == r, dil.count == r, opad.count == r else { throw fail("strides, dilations and output_padding must have \(r) values") }
    guard strides.allSatisfy({ $0 >= 1 && $0 < 1 << 31 }), dil.allSatisfy({ $0 >= 1 && $0 < 1 << 31 }),
          kernel.allSatisfy({ $0 >= 1 && $0 < 1 << 31 }) else { throw fail("kernel, strides and dilations must be ≥ 1") }
    guard opad.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else { throw fail("output_padding \(opad) must be ≥ 0") }
    var pb = [Int](repeating: 0, count: r), pe = pb, out = pb
    var explicitOut: [Int]? = nil
    if let os = outputShape { explicitOut = os.count == r + 2 ? Array(os[2...]) : os }
    if let eo = explicitOut, eo.count != r { throw fail("output_shape \(eo) must have \(r) values") }
    for i in 0..<r {
      let full = strides[i] * (inSize[i] - 1) + opad[i] + (kernel[i] - 1) * dil[i] + 1
      if let eo = explicitOut {
        out[i] = eo[i]
        // A negative total (output_shape beyond the full output) pads the end with bias-only positions.
        let total = full - eo[i]
        if window.autoPad == .sameLower { pb[i] = total - total / 2; pe[i] = total / 2 }
        else { pb[i] = total / 2; pe[i] = total - total / 2 }
        if window.autoPad == .notSet, let p = window.pads, p.count == 2 * r, p.contains(where: { $0 != 0 }) {
          pb[i] = p[i]; pe[i] = p[i + r]
        }
      } else {
        switch window.autoPad {
        case .sameUpper, .sameLower:
          out[i] = inSize[i] * strides[i]
          let total = max(0, full - out[i])
          if window.autoPad == .sameUpper { pb[i] = total / 2; pe[i] = total - total / 2 }
          else { pb[i] = total - total / 2; pe[i] = total / 2 }
        case .valid:
          out[i] = full
        case .notSet:
          if let p = window.pads {
            guard p.count == 2 * r, p.allSatisfy({ $0 >= 0 && $0 < 1 << 31 }) else { throw fail("pads \(p) must be \(2 * r) values ≥ 0") }
            pb[i] = p[i]; pe[i] = p[i + r]
          }
          out[i] = full - pb[i] - pe[i]
        }
      }
      guard out[i] >= 1 else { throw fail("output spatial size \(out[i]) on axis \(i) must be ≥ 1") }
    }
    let g = WindowGeometry(inSize: inSize, kernel: kernel, strides: strides, dilations: dil,
                           padsBegin: pb, padsEnd: pe, outSize: out)
    return Shape(n: x[0], c: c, m: m, cg: c / group, mg: w[1], geo: g.padded3, outSpatial: out)
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), w = try required(inputs, 1, label)
    let b = inputs.count > 2 ? inputs[2] : nil
    try x.require([.float, .double, .float16], label, "X")
    guard w.dataType == x.dataType, b.map({ $0.dataType == x.dataType }) ?? true else {
      throw SecateurError.invalidModel("\(label): X, W and B must share one element type")
    }
    let s = try resolve(x.shape, w.shape, b?.shape)
    return [TensorSpec(x.dataType, [s.n, s.m] + s.outSpatial)]
  }

  func workspaceBytes(_ inputs: [TensorSpec?], _ outputs: [TensorSpec]) -> Int {
    guard let x = inputs.first ?? nil, x.dataType == .float, inputs.count > 1, let w = inputs[1],
          let s = try? resolve(x.shape, w.shape, nil) else { return 0 }
    guard let floats = floatWorkspaceFloats(s) else { return Int.max }
    let (bytes, overflow) = floats.multipliedReportingOverflow(by: 4)
    return overflow ? Int.max : bytes
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard inputs.count >= 2, let x = inputs[0], let w = inputs[1], let y = outputs.first else { return }
    let b = inputs.count > 2 ? inputs[2] : nil
    let s = try resolve(x.shape, w.shape, b?.shape)
    switch x.dataType {
    case .float: try runFloat(s, x, w, b, y, context)
    case .double: reference(s, x, w, b, y, Double.self, context)
    case .float16: reference(s, x, w, b, y, Float16.self, context)
    default: throw SecateurError.unsupported("\(label): element type \(x.dataType) is not supported")
    }
  }

  private func reference<T: KernelFloat>(_ s: Shape, _ x: TensorView, _ w: TensorView, _ b: TensorView?,
                                         _ y: TensorView, _: T.Type, _ context: RunContext) {
    let xp = x.pointer(T.self), wp = w.pointer(T.self), bp = b?.pointer(T.self), yp = y.pointer(T.self)
    let g = s.geo, os = g.outCount, inCount = g.inCount, kc = g.kernelCount
    // For output o and tap k the input index is (o + pad − k·dil) / stride when that divides exactly.
    func source(_ o: Int, _ k: Int, _ a: Int) -> Int {
      let t = o + g.padsBegin[a] - k * g.dilations[a]
      if t < 0 || t % g.strides[a] != 0 { return -1 }
      let i = t / g.strides[a]
      return i < g.inSize[a] ? i : -1
    }
    context.pool.parallelRanges(s.n * s.m, grain: 1) { planes in
      for plane in planes {
        let n = plane / s.m, oc = plane % s.m, grp = oc / s.mg, ocg = oc % s.mg
        for o in 0..<os {
          let ow = o % g.outSize[2], oh = (o / g.outSize[2]) % g.outSize[1], od = o / (g.outSize[2] * g.outSize[1])
          var acc = bp.map { Double($0[oc]) } ?? 0
          for kd in 0..<g.kernel[0] {
            let id = source(od, kd, 0)
            if id < 0 { continue }
            for kh in 0..<g.kernel[1] {
              let ih = source(oh, kh, 1)
              if ih < 0 { continue }
              for kw in 0..<g.kernel[2] {
                let iw = source(ow, kw, 2)
                if iw < 0 { continue }
                let xi = (id * g.inSize[1] + ih) * g.inSize[2] + iw
                let ki = (kd * g.kernel[1] + kh) * g.kernel[2] + kw
                for ci in 0..<s.cg {
                  let ic = grp * s.cg + ci
                  acc += Double(xp[(n * s.c + ic) * inCount + xi]) * Double(wp[(ic * s.mg + ocg) * kc + ki])
                }
              }
            }
          }
          yp[plane * os + o] = T(acc)
        }
      }
    }
  }
}
