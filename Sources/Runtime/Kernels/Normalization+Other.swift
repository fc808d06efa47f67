import Foundation
import ModelFormat

/// ONNX `LpNormalization`: y = x / ‖x‖ₚ along `axis` (default −1), p ∈ {1, 2} (default 2). A zero norm gives 0.
final class LpNormKernel: OpKernel, @unchecked Sendable {
  let label: String
  let axis: Int, p: Int

  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.int("axis", -1)
    p = try ctx.int("p", 2)
    guard p == 1 || p == 2 else { throw ctx.error("p \(p) must be 1 or 2") }
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require(normFloatTypes, label, "input")
    _ = try normalizeAxis(axis, rank: x.shape.count, label)
    return [x]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs.first ?? nil, let y = outputs.first else { return }
    let a = try normalizeAxis(axis, rank: x.shape.count, label)
    let outer = x.shape[..<a].reduce(1, *), len = x.shape.isEmpty ? 1 : x.shape[a], inner = x.shape.count > a ? x.shape[(a + 1)...].reduce(1, *) : 1
    try withNormType(x.dataType, label) { t in call(t, x, y, outer, len, inner, context) }
  }

  private func call<T: KernelFloat>(_: T.Type, _ x: TensorView, _ y: TensorView, _ outer: Int, _ len: Int, _ inner: Int,
                                    _ context: RunContext) {
    let xp = x.pointer(T.self), yp = y.pointer(T.self), p = self.p
    context.pool.parallelRanges(outer * inner, grain: 64) { range in
      for r in range {
        let base = (r / inner) * len * inner + r % inner
        var s = 0.0
        for i in 0..<len { let v = Double(xp[base + i * inner]); s += p == 1 ? Swift.abs(v) : v * v }
        let norm = p == 1 ? s : s.squareRoot()
        for i in 0..<len { yp[base + i * inner] = norm == 0 ? 0 : T(Double(xp[base + i * inner]) / norm) }
      }
    }
  }
}

/// ONNX `LRN`: y = x / (bias + α/size · Σ x²)^β over a window of `size` channels around each channel.
final class LRNKernel: OpKernel, @unchecked Sendable {
  let label: String
  /// `alpha` 1e-4, `beta` 0.75, `bias` 1, `size` required.
  let alpha: Double, beta: Double, bias: Double, size: Int

  init(_ ctx: NodeContext) throws {
    label = ctx.label
    alpha = Double(try ctx.float("alpha", 1e-4))
    beta = Double(try ctx.float("beta", 0.75))
    bias = Double(try ctx.float("bias", 1))
    guard let s = try ctx.intOrNil("size") else { throw ctx.error("attribute size is required") }
    guard s >= 1 else { throw ctx.error("size \(s) must be ≥ 1") }
    size = s
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require(normFloatTypes, label, "X")
    guard x.shape.count >= 3 else { throw SecateurError.invalidModel("\(label): X \(x.shape) must have rank ≥ 3") }
    return [x]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs.first ?? nil, let y = outputs.first else { return }
    try withNormType(x.dataType, label) { t in call(t, x, y, context) }
  }

  private func call<T: KernelFloat>(_: T.Type, _ x: TensorView, _ y: TensorView, _ context: RunContext) {
    let n = x.shape[0], c = x.shape[1], inner = x.shape[2...].reduce(1, *)
    let xp = x.pointer(T.self), yp = y.pointer(T.self)
    let before = (size - 1) / 2, after = size / 2
    let (alpha, beta, bias, size) = (self.alpha, self.beta, self.bias, self.size)
    context.pool.parallelRanges(n * c, grain: 1) { range in
      for plane in range {
        let b = plane / c, ch = plane % c
        let lo = max(0, ch - before), hi = min(c - 1, ch + after)
        for i in 0..<inner {
          var s = 0.0
          for k in lo...hi { let v = Double(xp[(b * c + k) * inner + i]); s += v * v }
          let v = Double(xp[plane * inner + i])
          yp[plane * inner + i] = T(v / pow(bias + alpha / Double(size) * s, beta))
        }
      }
    }
  }
}

/// ONNX `MeanVarianceNormalization`: y = (x − mean) / (√var + 1e-9) with statistics over `axes`
/// (default [0, 2, 3]).
final class MVNKernel: OpKernel, @unchecked Sendable {
  let label: String
  let axes: [Int]

  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axes = try ctx.ints("axes") ?? [0, 2, 3]
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require(normFloatTypes, label, "X")
    for a in axes { _ = try normalizeAxis(a, rank: x.shape.count, label) }
    return [x]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs.first ?? nil, let y = outputs.first else { return }
    let reduced = Set(try axes.map { try normalizeAxis($0, rank: x.shape.count, label) })
    try withNormType(x.dataType, label) { t in call(t, x, y, reduced) }
  }

  private func call<T: KernelFloat>(_: T.Type, _ x: TensorView, _ y: TensorView, _ reduced: Set<Int>) {
    let shape = x.shape, count = x.count
    // Index of each element's statistics group: its coordinates on the kept axes.
    var keptStride = [Int](repeating: 0, count: shape.count), groups = 1
    for d in stride(from: shape.count - 1, through: 0, by: -1) where !reduced.contains(d) {
      keptStride[d] = groups
      groups *= shape[d]
    }
    func group(_ i: Int) -> Int {
      var rest = i, g = 0
      for d in stride(from: shape.count - 1, through: 0, by: -1) {
        g += (rest % shape[d]) * keptStride[d]
        rest /= shape[d]
      }
      return g
    }
    let xp = x.pointer(T.self), yp = y.pointer(T.self)
    var s = [Double](repeating: 0, count: groups), s2 = s, n = s
    for i in 0..<count { let g = group(i), v = Double(xp[i]); s[g] += v; s2[g] += v * v; n[g] += 1 }
    for i in 0..<count {
      let g = group(i), m = s[g] / max(n[g], 1)
      let sd = max(s2[g] / max(n[g], 1) - m * m, 0).squareRoot()
      yp[i] = T((Double(xp[i]) - m) / (sd + 1e-9))
    }
  }
}
