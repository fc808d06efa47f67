import ModelFormat

/// ONNX `LayerNormalization` (17) and `RMSNormalization` (23): statistics over the dims from `axis` on;
/// Scale (and B) broadcast to those dims. LayerNorm optionally returns Mean and InvStdDev (float, stash_type 1).
final class LayerNormKernel: OpKernel, @unchecked Sendable {
  let label: String
  /// `axis` default −1, `epsilon` default 1e-5.
  let axis: Int
  let epsilon: Double
  let rms: Bool

  init(_ ctx: NodeContext, rms: Bool) throws {
    label = ctx.label
    axis = try ctx.int("axis", -1)
    epsilon = Double(try ctx.float("epsilon", 1e-5))
    self.rms = rms
    let stash = try ctx.int("stash_type", 1)
    guard stash == 1 else { throw ctx.unsupported("stash_type \(stash) is not supported (only 1, float)") }
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require(normFloatTypes, label, "X")
    let r = x.shape.count
    let a = try normalizeAxis(axis, rank: r, label)
    let inner = Array(x.shape[a...])
    for i in 1...2 where i < inputs.count {
      guard let p = inputs[i] else { continue }
      guard p.dataType == x.dataType else { throw SecateurError.invalidModel("\(label): input \(i) is \(p.dataType), X is \(x.dataType)") }
      guard p.shape.count <= inner.count, try broadcastShapes([p.shape, inner], label) == inner else {
        throw SecateurError.invalidModel("\(label): input \(i) \(p.shape) does not broadcast to the normalized shape \(inner)")
      }
    }
    let statShape = Array(x.shape[..<a]) + Array(repeating: 1, count: r - a)
    return rms ? [x] : [x, TensorSpec(.float, statShape), TensorSpec(.float, statShape)]
  }

  /// Parameter `v` expanded to the normalized shape (nil when absent).
  private func expanded(_ v: TensorView?, _ inner: [Int]) -> [Double]? {
    guard let v else { return nil }
    let vals = parameterValues(v)
    let count = inner.reduce(1, *)
    if vals.count == count { return vals }
    let strides = broadcastStrides(v.shape, to: inner)
    var out = [Double](repeating: 0, count: count)
    for i in 0..<count {
      var rest = i, off = 0
      for d in stride(from: inner.count - 1, through: 0, by: -1) {
        off += (rest % inner[d]) * strides[d]
        rest /= inner[d]
      }
      if off < vals.count { out[i] = vals[off] }
    }
    return out
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs.first ?? nil, let y = outputs.first else { return }
    let a = try normalizeAxis(axis, rank: x.shape.count, label)
    let innerShape = Array(x.shape[a...])
    let outer = x.shape[..<a].reduce(1, *), inner = innerShape.reduce(1, *)
    let scale = expanded(inputs.count > 1 ? inputs[1] : nil, innerShape) ?? [Double](repeating: 1, count: inner)
    let bias = expanded(inputs.count > 2 ? inputs[2] : nil, innerShape)
    guard scale.count == inner else { return }
    let meanOut = outputs.count > 1 ? outputs[1].pointer(Float.self) : nil
    let invOut = outputs.count > 2 ? outputs[2].pointer(Float.self) : nil
    let statsOK = !rms && outputs.count > 2 && outputs[1].count == outer && outputs[2].count == outer
    let stats: ((Int, Double, Double) -> Void)? = statsOK ? { r, m, s in meanOut?[r] = Float(m); invOut?[r] = Float(s) } : nil
    let affine: (Int, Int, Double) -> Double
    if let bias { affine = { _, i, v in v * scale[i] + bias[i] } } else { affine = { _, i, v in v * scale[i] } }
    let eps = epsilon, rms = self.rms
    try withNormType(x.dataType, label) { t in
      call(t, x, y, outer, inner, eps, rms, context, stats, affine)
    }
  }

  private func call<T: KernelFloat>(_: T.Type, _ x: TensorView, _ y: TensorView, _ outer: Int, _ inner: Int, _ eps: Double,
                                    _ rms: Bool, _ context: RunContext, _ stats: ((Int, Double, Double) -> Void)?,
                                    _ affine: @escaping (Int, Int, Double) -> Double) {
    normalizeRows(T.self, x.pointer(T.self), y.pointer(T.self), outer: outer, inner: inner, epsilon: eps, rms: rms,
                  context: context, stats: stats, affine: affine)
  }
}

/// ONNX `GroupNormalization`: statistics per (n, group) over its channels and spatial dims. Opset 18 has
/// one scale/bias per group; opset 21 one per channel.
final class GroupNormKernel: OpKernel, @unchecked Sendable {
  let label: String
  /// `num_groups` required; `epsilon` default 1e-5.
  let groups: Int
  let epsilon: Double
  let perChannel: Bool

  init(_ ctx: NodeContext) throws {
    label = ctx.label
    guard let g = try ctx.intOrNil("num_groups") else { throw ctx.error("attribute num_groups is required") }
    guard g >= 1 else { throw ctx.error("num_groups \(g) must be ≥ 1") }
    groups = g
    epsilon = Double(try ctx.float("epsilon", 1e-5))
    perChannel = ctx.opset >= 21
    let stash = try ctx.int("stash_type", 1)
    guard stash == 1 else { throw ctx.unsupported("stash_type \(stash) is not supported (only 1, float)") }
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require(normFloatTypes, label, "X")
    guard x.shape.count >= 2 else { throw SecateurError.invalidModel("\(label): X \(x.shape) must have rank ≥ 2") }
    let c = x.shape[1]
    guard c % groups == 0 else { throw SecateurError.invalidModel("\(label): channels \(c) must be divisible by num_groups \(groups)") }
    let want = perChannel ? c : groups
    for i in 1...2 {
      let p = try required(inputs, i, label)
      guard p.elementCount == want, p.dataType == x.dataType else {
        throw SecateurError.invalidModel("\(label): input \(i) \(p) must hold \(want) \(x.dataType) values")
      }
    }
    return [x]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard inputs.count >= 3, let x = inputs[0], let y = outputs.first else { return }
    let c = x.shape[1], g = groups, spatial = x.shape[2...].reduce(1, *), cpg = c / g
    let scale = parameterValues(inputs[1]), bias = parameterValues(inputs[2])
    let perChannel = self.perChannel
    guard scale.count == (perChannel ? c : g), bias.count == scale.count else { return }
    let affine: (Int, Int, Double) -> Double = { r, i, v in
      let k = perChannel ? (r % g) * cpg + i / max(spatial, 1) : r % g
      return v * scale[k] + bias[k]
    }
    let eps = epsilon
    try withNormType(x.dataType, label) { t in
      call(t, x, y, x.shape[0] * g, cpg * spatial, eps, context, affine)
    }
  }

  private func call<T: KernelFloat>(_: T.Type, _ x: TensorView, _ y: TensorView, _ outer: Int, _ inner: Int, _ eps: Double,
                                    _ context: RunContext, _ affine: @escaping (Int, Int, Double) -> Double) {
    normalizeRows(T.self, x.pointer(T.self), y.pointer(T.self), outer: outer, inner: inner, epsilon: eps,
                  context: context, affine: affine)
  }
}
