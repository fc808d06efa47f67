import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// ONNX `Attention` (opset 23; 24 adds the `nonpad_kv_seqlen` input; 25 adds `left_window_size` /
/// `right_window_size`): scaled dot-product attention with optional mask, KV cache, causal and
/// sliding-window masking, softcap, and grouped-query heads.
///
/// Inputs Q, K, V are (B, H, S, D), or (B, S, H·D) with `q_num_heads` / `kv_num_heads`; outputs are Y,
/// present_key, present_value (past ++ new along the sequence axis) and qk_matmul_output.
/// Numbers follow the ONNX reference: √scale is applied to Q and K separately, values are rounded to
/// the element type where the reference rounds them, and a row whose bias is all −inf yields zeros.
enum AttentionKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("Attention", since: 23) { try AttentionKernel($0) },
    OpRegistration("Attention", since: 24) { try AttentionKernel($0) },  // 24: nonpad_kv_seqlen input
    OpRegistration("Attention", since: 25) { try AttentionKernel($0) },  // 25: sliding-window attributes
  ]
}

final class AttentionKernel: OpKernel {
  let label: String
  let scale: Double?
  let isCausal: Bool
  let qHeads: Int?, kvHeads: Int?
  let softcap: Double
  let qkMode: Int
  let softmaxPrecision: DataType?
  let leftWindow: Int, rightWindow: Int
  /// Which optional outputs the node names (absent ones are not written).
  let wanted: [Bool]

  init(_ ctx: NodeContext) throws {
    label = ctx.label
    scale = ctx.node.attribute("scale") != nil ? Double(try ctx.float("scale", 0)) : nil
    isCausal = try ctx.int("is_causal", 0) != 0
    qHeads = try ctx.intOrNil("q_num_heads")
    kvHeads = try ctx.intOrNil("kv_num_heads")
    softcap = Double(try ctx.float("softcap", 0))
    qkMode = try ctx.int("qk_matmul_output_mode", 0)
    guard (0...3).contains(qkMode) else { throw ctx.error("attribute qk_matmul_output_mode \(qkMode): must be 0...3") }
    if let p = try ctx.intOrNil("softmax_precision") {
      guard let t = DataType(rawValue: Int32(truncatingIfNeeded: p)), t.isFloatingPoint else {
        throw ctx.error("attribute softmax_precision \(p): must be a floating-point type")
      }
      softmaxPrecision = t
    } else {
      softmaxPrecision = nil
    }
    leftWindow = try ctx.int("left_window_size", -1)
    rightWindow = try ctx.int("right_window_size", -1)
    guard leftWindow >= -1, rightWindow >= -1 else { throw ctx.error("window sizes must be -1 or nonnegative") }
    wanted = (0..<4).map { $0 < ctx.node.outputs.count && !ctx.node.outputs[$0].isEmpty }
  }

  /// Q, K, V (and past) dimensions in the (B, H, S, D) view.
  struct Dims {
    var b = 0, hq = 0, hkv = 0, sq = 0, skv = 0, dq = 0, dv = 0, past = 0
    var rank3 = false
    var total: Int { past + skv }
  }

  private func dims(_ inputs: [TensorSpec?]) throws -> Dims {
    let q = try required(inputs, 0, label), k = try required(inputs, 1, label), v = try required(inputs, 2, label)
    try q.require([.float, .double, .float16, .bfloat16], label)
    guard k.dataType == q.dataType, v.dataType == q.dataType, q.rank == k.rank, q.rank == v.rank,
          q.rank == 3 || q.rank == 4 else {
      throw SecateurError.invalidModel("\(label): Q \(q), K \(k), V \(v) must be all rank 3 or all rank 4 of one type")
    }
    var d = Dims()
    d.b = q.shape[0]
    if q.rank == 3 {
      guard let hq = qHeads, let hkv = kvHeads, hq > 0, hkv > 0,
            q.shape[2] % hq == 0, k.shape[2] % hkv == 0, v.shape[2] % hkv == 0 else {
        throw SecateurError.invalidModel("\(label): 3-D inputs need q_num_heads/kv_num_heads dividing the hidden sizes")
      }
      d.rank3 = true
      d.hq = hq; d.hkv = hkv
      d.sq = q.shape[1]; d.skv = k.shape[1]
      d.dq = q.shape[2] / hq; d.dv = v.shape[2] / hkv
      guard k.shape[2] / hkv == d.dq, v.shape[1] == d.skv else {
        throw SecateurError.invalidModel("\(label): K \(k.shape) / V \(v.shape) do not match Q \(q.shape)")
      }
    } else {
      d.hq = q.shape[1]; d.hkv = k.shape[1]
      d.sq = q.shape[2]; d.skv = k.shape[2]
      d.dq = q.shape[3]; d.dv = v.shape[3]
      guard k.shape[3] == d.dq, v.shape[1] == d.hkv, v.shape[2] == d.skv else {
        throw SecateurError.invalidModel("\(label): K \(k.shape) / V \(v.shape) do not match Q \(q.shape)")
      }
    }
    guard k.shape[0] == d.b, v.shape[0] == d.b, d.hkv > 0, d.hq % d.hkv == 0 else {
      throw SecateurError.invalidModel("\(label): batch or head counts of Q \(q.shape), K \(k.shape), V \(v.shape) disagree")
    }
    let pk = inputs.count > 4 ? inputs[4] : nil, pv = inputs.count > 5 ? inputs[5] : nil
    guard (pk == nil) == (pv == nil) else { throw SecateurError.invalidModel("\(label): past_key and past_value go together") }
    if let pk, let pv {
      guard pk.shape.count == 4, pv.shape.count == 4, pk.shape[0] == d.b, pk.shape[1] == d.hkv, pk.shape[3] == d.dq,
            pv.shape == [d.b, d.hkv, pk.shape[2], d.dv], pk.dataType == q.dataType, pv.dataType == q.dataType else {
        throw SecateurError.invalidModel("\(label): past_key \(pk) / past_value \(pv) do not match K and V")
      }
      d.past = pk.shape[2]
    }
    if inputs.count > 3, let m = inputs[3] {
      guard m.dataType == .bool || m.dataType == q.dataType, m.rank >= 1, m.rank <= 4 else {
        throw SecateurError.invalidModel("\(label): attn_mask \(m) must be bool or \(q.dataType), rank 1 to 4")
      }
      let target = [d.b, d.hq, d.sq, d.total]
      for (i, dim) in m.shape.enumerated() {
        let t = target[4 - m.rank + i]
        let ok = i == m.rank - 1 ? dim <= t : (dim == t || dim == 1)
        guard ok else { throw SecateurError.invalidModel("\(label): attn_mask \(m.shape) does not broadcast to \(target)") }
      }
    }
    if inputs.count > 6, let n = inputs[6] {
      guard n.dataType == .int64 || n.dataType == .int32, n.shape == [d.b], d.past == 0 else {
        throw SecateurError.invalidModel("\(label): nonpad_kv_seqlen \(n) must be int64[\(d.b)] without a past cache")
      }
    }
    return d
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let d = try dims(inputs)
    let t = inputs[0]!.dataType
    let y = d.rank3 ? [d.b, d.sq, d.hq * d.dv] : [d.b, d.hq, d.sq, d.dv]
    let all = [TensorSpec(t, y), TensorSpec(t, [d.b, d.hkv, d.total, d.dq]), TensorSpec(t, [d.b, d.hkv, d.total, d.dv]),
               TensorSpec(t, [d.b, d.hq, d.sq, d.total])]
    return Array(all.prefix(max(1, wanted.lastIndex(of: true).map { $0 + 1 } ?? 1)))
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    let specs = inputs.map { $0?.spec }
    let d = try dims(specs)
    guard let qv = inputs[0], let kv = inputs[1], let vv = inputs[2] else { return }
    let t = qv.dataType
    func read(_ v: TensorView) throws -> [Double] { try readAsDouble(v.dataType, v.data, count: v.count, label) }
    let round = roundingFunction(t)
    let q = try read(qv), kNew = try read(kv), vNew = try read(vv)
    let pastK = try inputs.count > 4 ? inputs[4].map(read) : nil
    let pastV = try inputs.count > 5 ? inputs[5].map(read) : nil
    let nonpad: [Int]? = try inputs.count > 6 ? inputs[6].map { n in try read(n).map { Int($0) } } : nil

    // present_key / present_value in (B, Hkv, L, D): past rows, then the new rows.
    let L = d.total
    func present(_ new: [Double], _ past: [Double]?, _ dim: Int) -> [Double] {
      var out = [Double](repeating: 0, count: d.b * d.hkv * L * dim)
      for b in 0..<d.b {
        for h in 0..<d.hkv {
          for j in 0..<L {
            for x in 0..<dim {
              let o = ((b * d.hkv + h) * L + j) * dim + x
              if j < d.past {
                out[o] = past?[((b * d.hkv + h) * d.past + j) * dim + x] ?? 0
              } else {
                let s = j - d.past
                out[o] = d.rank3 ? new[(b * d.skv + s) * d.hkv * dim + h * dim + x] : new[((b * d.hkv + h) * d.skv + s) * dim + x]
              }
            }
          }
        }
      }
      return out
    }
    let keys = present(kNew, pastK, d.dq), vals = present(vNew, pastV, d.dv)

    // Mask as an additive bias, indexed through right-aligned broadcast strides over (B, Hq, Sq, Lm).
    var maskData: [Double]? = nil
    var maskStrides = [0, 0, 0, 0], maskLast = 0
    if inputs.count > 3, let m = inputs[3] {
      let raw = try read(m)
      maskData = m.dataType == .bool ? raw.map { $0 != 0 ? 0 : -Double.infinity } : raw
      maskLast = m.shape.last ?? 0
      maskStrides = broadcastStrides(m.shape, to: [d.b, d.hq, d.sq, maskLast])
    }

    let s = round(sqrt(scale ?? 1 / Double(d.dq).squareRoot()))
    let group = d.hq / d.hkv
    var y = [Double](repeating: 0, count: d.b * d.hq * d.sq * d.dv)
    var qkOut = [Double](repeating: 0, count: wanted[3] ? d.b * d.hq * d.sq * L : 0)
    var scores = [Double](repeating: 0, count: L), bias = [Double](repeating: 0, count: L)
    let softmaxRound = softmaxPrecision.map(roundingFunction) ?? round
    let stepwiseSum = (softmaxPrecision ?? t) == .bfloat16
    for b in 0..<d.b {
      let offset = nonpad.map { $0[b] - d.sq } ?? d.past
      for h in 0..<d.hq {
        let hk = h / group
        for i in 0..<d.sq {
          for j in 0..<L {
            var bj = 0.0
            if let md = maskData {
              bj = j < maskLast ? md[b * maskStrides[0] + h * maskStrides[1] + i * maskStrides[2] + j * maskStrides[3]] : -.infinity
            }
            if isCausal && j > i + offset { bj += -.infinity }
            let diff = i + offset - j
            if leftWindow >= 0 && diff > leftWindow { bj += -.infinity }
            if rightWindow >= 0 && -diff > rightWindow { bj += -.infinity }
            if let np = nonpad, j >= np[b] { bj += -.infinity }
            bias[j] = bj
            var acc = 0.0
            for x in 0..<d.dq {
              let qe = d.rank3 ? q[(b * d.sq + i) * d.hq * d.dq + h * d.dq + x] : q[((b * d.hq + h) * d.sq + i) * d.dq + x]
              acc += round(qe * s) * round(keys[((b * d.hkv + hk) * L + j) * d.dq + x] * s)
            }
            var v = round(acc)
            if softcap > 0 { v = round(tanh(v / softcap) * softcap) }
            scores[j] = v
          }
          let qkBase = ((b * d.hq + h) * d.sq + i) * L
          if wanted[3] && qkMode < 2 { for j in 0..<L { qkOut[qkBase + j] = scores[j] } }
          for j in 0..<L { scores[j] = softmaxRound(scores[j] + bias[j]) }
          if wanted[3] && qkMode == 2 { for j in 0..<L { qkOut[qkBase + j] = scores[j] } }
          let mx = scores.max() ?? -.infinity
          let allMasked = bias.allSatisfy { $0 == -.infinity }
          if allMasked || mx == -.infinity {
            for j in 0..<L { scores[j] = 0 }
          } else {
            // Rounded like numpy on the reference's dtype: each step in that precision; bfloat16 (ml_dtypes)
            // also rounds every partial sum, float16 sums in float32.
            var sum = 0.0
            for j in 0..<L {
              scores[j] = softmaxRound(exp(softmaxRound(scores[j] - mx)))
              sum = stepwiseSum ? softmaxRound(sum + scores[j]) : sum + scores[j]
            }
            sum = softmaxRound(sum)
            for j in 0..<L { scores[j] = round(softmaxRound(scores[j] / sum)) }
          }
          if wanted[3] && qkMode == 3 { for j in 0..<L { qkOut[qkBase + j] = scores[j] } }
          for x in 0..<d.dv {
            var acc = 0.0
            for j in 0..<L where scores[j] != 0 { acc += scores[j] * vals[((b * d.hkv + hk) * L + j) * d.dv + x] }
            let o = d.rank3 ? (b * d.sq + i) * d.hq * d.dv + h * d.dv + x : ((b * d.hq + h) * d.sq + i) * d.dv + x
            y[o] = acc
          }
        }
      }
    }
    let results = [y, keys, vals, qkOut]
    for k in 0..<min(outputs.count, 4) where k == 0 || wanted[k] {
      try writeFromDouble(results[k], t, outputs[k].data, saturate: true, rounding: .up, label)
    }
  }
}

/// Rounds a Double to the precision of a float element type (identity for double).
func roundingFunction(_ t: DataType) -> (Double) -> Double {
  switch t {
  case .float: return { Double(Float($0)) }
  case .float16: return { Double(Float16(Float($0))) }
  case .bfloat16: return { BFloat16(double: $0).double }
  default: return { $0 }
  }
}
