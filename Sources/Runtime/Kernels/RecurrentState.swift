import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// Stateful sequence blocks of recent hybrid models (opset 27): `LinearAttention` (linear / gated /
/// delta / gated-delta state updates, grouped heads) and `CausalConvWithState` (depthwise causal 1-D
/// convolution carrying its last k−1 inputs). Both compute in float32 as the reference does and return
/// the state to feed the next call.
enum RecurrentStateKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("LinearAttention", since: 27) { try LinearAttentionKernel($0) },
    OpRegistration("CausalConvWithState", since: 27) { try CausalConvKernel($0) },
  ]
}

final class LinearAttentionKernel: OpKernel {
  let label: String
  let qHeads: Int, kvHeads: Int
  let scale: Double?
  let gating: Bool, delta: Bool
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    guard let q = try ctx.intOrNil("q_num_heads"), let kv = try ctx.intOrNil("kv_num_heads"), q > 0, kv > 0, q % kv == 0 else {
      throw ctx.error("q_num_heads must be a positive multiple of kv_num_heads (both required)")
    }
    qHeads = q; kvHeads = kv
    let s = Double(try ctx.float("scale", 0))
    scale = s == 0 ? nil : s
    let rule = try ctx.string("update_rule", "gated_delta")
    guard ["linear", "gated", "delta", "gated_delta"].contains(rule) else { throw ctx.error("update_rule '\(rule)' is not valid") }
    gating = rule.hasPrefix("gated")
    delta = rule.hasSuffix("delta")
  }

  private func dims(_ inputs: [TensorSpec?]) throws -> (b: Int, t: Int, dk: Int, dv: Int) {
    let q = try required(inputs, 0, label), k = try required(inputs, 1, label), v = try required(inputs, 2, label)
    try q.require([.float, .float16, .double, .bfloat16], label)
    guard q.rank == 3, k.rank == 3, v.rank == 3, q.shape[2] % qHeads == 0, v.shape[2] % kvHeads == 0,
          k.shape[0] == q.shape[0], v.shape[0] == q.shape[0], k.shape[1] == q.shape[1], v.shape[1] == q.shape[1],
          k.shape[2] == kvHeads * (q.shape[2] / qHeads) else {
      throw SecateurError.invalidModel("\(label): query \(q.shape), key \(k.shape), value \(v.shape) do not match the head counts")
    }
    let d = (q.shape[0], q.shape[1], q.shape[2] / qHeads, v.shape[2] / kvHeads)
    if inputs.count > 3, let p = inputs[3], p.shape != [d.0, kvHeads, d.2, d.3] {
      throw SecateurError.invalidModel("\(label): past_state \(p.shape) must be [\(d.0), \(kvHeads), \(d.2), \(d.3)]")
    }
    let decay = inputs.count > 4 ? inputs[4] : nil, beta = inputs.count > 5 ? inputs[5] : nil
    guard (decay != nil) == gating, (beta != nil) == delta else {
      throw SecateurError.invalidModel("\(label): decay is required exactly for gated rules and beta for delta rules")
    }
    if let decay, decay.shape != [d.0, d.1, kvHeads], decay.shape != [d.0, d.1, kvHeads * d.2] {
      throw SecateurError.invalidModel("\(label): decay \(decay.shape) must end in kv_num_heads or kv_num_heads·d_k")
    }
    if let beta, beta.shape != [d.0, d.1, kvHeads], beta.shape != [d.0, d.1, 1] {
      throw SecateurError.invalidModel("\(label): beta \(beta.shape) must end in kv_num_heads or 1")
    }
    return d
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let d = try dims(inputs)
    let t = inputs[0]!.dataType
    let stateType = (inputs.count > 3 ? inputs[3]?.dataType : nil) ?? t
    return [TensorSpec(t, [d.b, d.t, qHeads * d.dv]), TensorSpec(stateType, [d.b, kvHeads, d.dk, d.dv])]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    let (B, T, DK, DV) = try dims(inputs.map { $0?.spec })
    func read(_ i: Int) throws -> [Float]? {
      guard i < inputs.count, let v = inputs[i] else { return nil }
      return try readAsDouble(v.dataType, v.data, count: v.count, label).map { Float($0) }
    }
    guard let q = try read(0), let k = try read(1), let v = try read(2) else { return }
    let decay = try read(4), beta = try read(5)
    let decayPerKey = inputs.count > 4 && inputs[4]?.shape.last == kvHeads * DK
    let betaLast = inputs.count > 5 ? (inputs[5]?.shape.last ?? 1) : 1
    var state = try read(3) ?? [Float](repeating: 0, count: B * kvHeads * DK * DV)
    let s = Float(scale ?? 1 / Double(DK).squareRoot())
    let group = qHeads / kvHeads
    var out = [Float](repeating: 0, count: B * T * qHeads * DV)
    var vt = [Float](repeating: 0, count: DV)
    for b in 0..<B {
      for t in 0..<T {
        for h in 0..<kvHeads {
          let st = ((b * kvHeads + h) * DK) * DV
          let kBase = (b * T + t) * kvHeads * DK + h * DK
          if let decay {
            for i in 0..<DK {
              let g = decayPerKey ? decay[(b * T + t) * kvHeads * DK + h * DK + i] : decay[(b * T + t) * kvHeads + h]
              let e = Float(exp(Double(g)))
              for m in 0..<DV { state[st + i * DV + m] *= e }
            }
          }
          for m in 0..<DV { vt[m] = v[(b * T + t) * kvHeads * DV + h * DV + m] }
          if let beta {
            let bt = beta[(b * T + t) * betaLast + (betaLast == 1 ? 0 : h)]
            for m in 0..<DV {
              var r: Float = 0
              for i in 0..<DK { r += state[st + i * DV + m] * k[kBase + i] }
              vt[m] = bt * (vt[m] - r)
            }
          }
          for i in 0..<DK { for m in 0..<DV { state[st + i * DV + m] += k[kBase + i] * vt[m] } }
        }
        for hq in 0..<qHeads {
          let st = ((b * kvHeads + hq / group) * DK) * DV
          let qBase = (b * T + t) * qHeads * DK + hq * DK
          for m in 0..<DV {
            var acc: Float = 0
            for i in 0..<DK { acc += q[qBase + i] * state[st + i * DV + m] }
            out[(b * T + t) * qHeads * DV + hq * DV + m] = s * acc
          }
        }
      }
    }
    try writeFromDouble(out.map(Double.init), outputs[0].dataType, outputs[0].data, saturate: true, rounding: .up, label)
    if outputs.count > 1 {
      try writeFromDouble(state.map(Double.init), outputs[1].dataType, outputs[1].data, saturate: true, rounding: .up, label)
    }
  }
}

/// Depthwise causal conv over (B, C, L) with weight (C, 1, k): the input is prefixed with past_state
/// (zeros when absent); present_state is the last k−1 columns of that padded input. Optional SiLU.
final class CausalConvKernel: OpKernel {
  let label: String
  let silu: Bool
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    let a = try ctx.string("activation", "none")
    guard ["none", "silu", "swish"].contains(a) else { throw ctx.error("activation '\(a)' must be none, silu or swish") }
    silu = a != "none"
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), w = try required(inputs, 1, label)
    try x.require([.float, .float16, .double, .bfloat16], label)
    guard x.rank == 3, w.rank == 3, w.shape[0] == x.shape[1], w.shape[1] == 1, w.shape[2] >= 1 else {
      throw SecateurError.invalidModel("\(label): input \(x.shape) must be (B, C, L) and weight \(w.shape) (C, 1, k)")
    }
    let k = w.shape[2]
    if inputs.count > 2, let b = inputs[2], b.shape != [x.shape[1]] {
      throw SecateurError.invalidModel("\(label): bias \(b.shape) must be [\(x.shape[1])]")
    }
    if inputs.count > 3, let p = inputs[3], p.shape != [x.shape[0], x.shape[1], k - 1] {
      throw SecateurError.invalidModel("\(label): past_state \(p.shape) must be [\(x.shape[0]), \(x.shape[1]), \(k - 1)]")
    }
    return [x, TensorSpec(x.dataType, [x.shape[0], x.shape[1], k - 1])]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0], let wv = inputs[1] else { return }
    let (B, C, L) = (xv.shape[0], xv.shape[1], xv.shape[2]), k = wv.shape[2]
    func read(_ i: Int) throws -> [Double]? {
      guard i < inputs.count, let v = inputs[i] else { return nil }
      return try readAsDouble(v.dataType, v.data, count: v.count, label)
    }
    guard let x = try read(0), let w = try read(1) else { return }
    let bias = try read(2), past = try read(3)
    let round = roundingFunction(xv.dataType)
    var y = [Double](repeating: 0, count: B * C * L), state = [Double](repeating: 0, count: B * C * (k - 1))
    for b in 0..<B {
      for c in 0..<C {
        let row = (b * C + c)
        // padded[j] for j in 0..<(k−1+L): past first, then the input.
        func padded(_ j: Int) -> Double { j < k - 1 ? (past?[row * (k - 1) + j] ?? 0) : x[row * L + j - (k - 1)] }
        for t in 0..<L {
          var acc = bias?[c] ?? 0
          for j in 0..<k { acc += padded(t + j) * w[c * k + j] }
          var v = round(acc)
          if silu { v = round(v / (1 + exp(-v))) }
          y[row * L + t] = v
        }
        for j in 0..<(k - 1) { state[row * (k - 1) + j] = padded(L + j) }
      }
    }
    try writeFromDouble(y, xv.dataType, outputs[0].data, saturate: true, rounding: .up, label)
    if outputs.count > 1 { try writeFromDouble(state, xv.dataType, outputs[1].data, saturate: true, rounding: .up, label) }
  }
}
