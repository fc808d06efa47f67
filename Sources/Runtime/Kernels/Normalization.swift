import Foundation
import ModelFormat

enum NormalizationKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("BatchNormalization", since: 1) { try BatchNormKernel($0) },
    // 6: 'consumed_inputs' removed.
    OpRegistration("BatchNormalization", since: 6) { try BatchNormKernel($0) },
    // 7: 'is_test' removed (inference unless outputs beyond Y are asked for).
    OpRegistration("BatchNormalization", since: 7) { try BatchNormKernel($0) },
    // 9: 'spatial' removed; any rank ≥ 2.
    OpRegistration("BatchNormalization", since: 9) { try BatchNormKernel($0) },
    // 14: 'training_mode' attribute; running mean/var outputs.
    OpRegistration("BatchNormalization", since: 14) { try BatchNormKernel($0) },
    // 15: scale/B and mean/var may have their own float types.
    OpRegistration("BatchNormalization", since: 15) { try BatchNormKernel($0) },
    OpRegistration("InstanceNormalization", since: 1) { try InstanceNormKernel($0) },
    // 6: 'consumed_inputs' removed.
    OpRegistration("InstanceNormalization", since: 6) { try InstanceNormKernel($0) },
    OpRegistration("LayerNormalization", since: 17) { try LayerNormKernel($0, rms: false) },
    OpRegistration("RMSNormalization", since: 23) { try LayerNormKernel($0, rms: true) },
    OpRegistration("GroupNormalization", since: 18) { try GroupNormKernel($0) },
    // 21: scale and bias are per channel (were per group).
    OpRegistration("GroupNormalization", since: 21) { try GroupNormKernel($0) },
    OpRegistration("LpNormalization", since: 1) { try LpNormKernel($0) },
    OpRegistration("LRN", since: 1) { try LRNKernel($0) },
    OpRegistration("MeanVarianceNormalization", since: 1) { try MVNKernel($0) },
    // 13: axes may be any subset (was fixed to [0, 2, 3] in practice).
    OpRegistration("MeanVarianceNormalization", since: 13) { try MVNKernel($0) },
  ]
}

let normFloatTypes: Set<DataType> = [.float, .double, .float16]

/// The elements of a small float parameter tensor (scale, bias, mean…) as Double.
func parameterValues(_ v: TensorView?) -> [Double] {
  guard let v else { return [] }
  switch v.dataType {
  case .float: return v.buffer(Float.self).map(Double.init)
  case .double: return Array(v.buffer(Double.self))
  case .float16: return v.buffer(Float16.self).map(Double.init)
  default: return []
  }
}

/// Dispatches `body` on the float element type of `t` (float, double, float16).
func withNormType(_ t: DataType, _ label: String, _ body: (any KernelFloat.Type) -> Void) throws {
  try withFloatType(t, label) { body($0) }
}

/// ONNX `BatchNormalization`: y = (x − mean[c]) / √(var[c] + ε) · scale[c] + B[c], channels on axis 1.
///
/// Inference uses the given mean/var. Training mode (opset 14 `training_mode`=1, or older graphs asking
/// for the extra outputs) uses the batch statistics and also returns the updated running mean/var.
final class BatchNormKernel: OpKernel, @unchecked Sendable {
  let label: String
  /// `epsilon` default 1e-5, `momentum` default 0.9.
  let epsilon: Double, momentum: Double
  let training: Bool

  init(_ ctx: NodeContext) throws {
    label = ctx.label
    epsilon = Double(try ctx.float("epsilon", 1e-5))
    momentum = Double(try ctx.float("momentum", 0.9))
    let outs = ctx.node.outputs.filter { !$0.isEmpty }.count
    if ctx.opset >= 14 {
      training = try ctx.int("training_mode", 0) != 0
    } else {
      training = try outs > 1 && ctx.int("is_test", 0) == 0
    }
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require(normFloatTypes, label, "X")
    guard x.shape.count >= 2 else { throw SecateurError.invalidModel("\(label): X \(x.shape) must have rank ≥ 2") }
    let c = x.shape[1]
    for i in 1...4 {
      let p = try required(inputs, i, label)
      try p.require(normFloatTypes, label, "input \(i)")
      guard p.elementCount == c else { throw SecateurError.invalidModel("\(label): input \(i) \(p.shape) must hold \(c) values (one per channel)") }
    }
    guard training else { return [x] }
    let stat = TensorSpec(inputs[3]?.dataType ?? x.dataType, [c])
    return [x, stat, stat]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard inputs.count >= 5, let x = inputs[0], let y = outputs.first else { return }
    let c = x.shape[1], n = x.shape[0], inner = x.shape[2...].reduce(1, *)
    let scale = parameterValues(inputs[1]), bias = parameterValues(inputs[2])
    var mean = parameterValues(inputs[3]), variance = parameterValues(inputs[4])
    guard scale.count == c, bias.count == c, mean.count == c, variance.count == c else { return }
    if training {
      let stats = try channelStats(x, n, c, inner)
      for ch in 0..<c {
        let (bm, bv) = stats[ch]
        if outputs.count > 1 { writeStat(outputs[1], ch, mean[ch] * momentum + bm * (1 - momentum)) }
        if outputs.count > 2 { writeStat(outputs[2], ch, variance[ch] * momentum + bv * (1 - momentum)) }
        mean[ch] = bm
        variance[ch] = bv
      }
    }
    // Fold into one multiply-add per element.
    var mul = [Double](repeating: 0, count: c), add = mul
    for ch in 0..<c {
      mul[ch] = scale[ch] / (variance[ch] + epsilon).squareRoot()
      add[ch] = bias[ch] - mean[ch] * mul[ch]
    }
    try withNormType(x.dataType, label) { t in affine(t, x, y, n, c, inner, mul, add, context) }
  }

  private func writeStat(_ v: TensorView, _ i: Int, _ value: Double) {
    guard i < v.count else { return }
    switch v.dataType {
    case .float: v.pointer(Float.self)[i] = Float(value)
    case .double: v.pointer(Double.self)[i] = value
    case .float16: v.pointer(Float16.self)[i] = Float16(value)
    default: break
    }
  }

  private func channelStats(_ x: TensorView, _ n: Int, _ c: Int, _ inner: Int) throws -> [(Double, Double)] {
    var out: [(Double, Double)] = []
    try withNormType(x.dataType, label) { t in out = stats(t, x, n, c, inner) }
    return out
  }

  private func stats<T: KernelFloat>(_: T.Type, _ x: TensorView, _ n: Int, _ c: Int, _ inner: Int) -> [(Double, Double)] {
    let xp = x.pointer(T.self)
    return (0..<c).map { ch in
      var s = 0.0, s2 = 0.0
      for b in 0..<n {
        let p = xp + (b * c + ch) * inner
        for i in 0..<inner { let v = Double(p[i]); s += v; s2 += v * v }
      }
      let count = Double(max(n * inner, 1))
      let m = s / count
      return (m, max(s2 / count - m * m, 0))
    }
  }

  private func affine<T: KernelFloat>(_: T.Type, _ x: TensorView, _ y: TensorView, _ n: Int, _ c: Int, _ inner: Int,
                                      _ mul: [Double], _ add: [Double], _ context: RunContext) {
    let xp = x.pointer(T.self), yp = y.pointer(T.self)
    context.pool.parallelRanges(n * c, grain: max(1, 16_384 / max(inner, 1))) { range in
      for plane in range {
        let ch = plane % c
        if T.self == Float.self {
          let a = Float(mul[ch]), b = Float(add[ch])
          let xs = UnsafeMutableRawPointer(xp + plane * inner).assumingMemoryBound(to: Float.self)
          let ys = UnsafeMutableRawPointer(yp + plane * inner).assumingMemoryBound(to: Float.self)
          for i in 0..<inner { ys[i] = xs[i] * a + b }
        } else {
          let a = mul[ch], b = add[ch]
          for i in 0..<inner { yp[plane * inner + i] = T(Double(xp[plane * inner + i]) * a + b) }
        }
      }
    }
  }
}

/// Normalises each of `outer` contiguous rows of `inner` elements: y = (x − μ)·σ⁻¹·scale + bias, where
/// `scale(row, i)`/`bias(row, i)` pick the parameters. Writes μ and σ⁻¹ per row when asked. `rms` drops μ.
func normalizeRows<T: KernelFloat>(_: T.Type, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, outer: Int, inner: Int,
                                   epsilon: Double, rms: Bool = false, context: RunContext,
                                   stats: ((Int, Double, Double) -> Void)? = nil,
                                   affine: @escaping (Int, Int, Double) -> Double) {
  context.pool.parallelRanges(outer, grain: max(1, 16_384 / max(inner, 1))) { range in
    for r in range {
      let xr = x + r * inner, yr = y + r * inner
      var s = 0.0, s2 = 0.0
      for i in 0..<inner { let v = Double(xr[i]); s += v; s2 += v * v }
      let count = Double(max(inner, 1))
      let mean = rms ? 0 : s / count
      let variance = rms ? s2 / count : max(s2 / count - mean * mean, 0)
      let inv = 1 / (variance + epsilon).squareRoot()
      stats?(r, mean, inv)
      for i in 0..<inner { yr[i] = T(affine(r, i, (Double(xr[i]) - mean) * inv)) }
    }
  }
}

/// ONNX `InstanceNormalization`: per (n, c) plane statistics; scale and B per channel.
final class InstanceNormKernel: OpKernel, @unchecked Sendable {
  let label: String
  /// `epsilon` default 1e-5.
  let epsilon: Double

  init(_ ctx: NodeContext) throws {
    label = ctx.label
    epsilon = Double(try ctx.float("epsilon", 1e-5))
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require(normFloatTypes, label, "X")
    guard x.shape.count >= 3 else { throw SecateurError.invalidModel("\(label): X \(x.shape) must have rank ≥ 3") }
    for i in 1...2 {
      let p = try required(inputs, i, label)
      guard p.elementCount == x.shape[1], p.dataType == x.dataType else {
        throw SecateurError.invalidModel("\(label): input \(i) \(p) must hold \(x.shape[1]) \(x.dataType) values")
      }
    }
    return [x]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard inputs.count >= 3, let x = inputs[0], let y = outputs.first else { return }
    let c = x.shape[1], inner = x.shape[2...].reduce(1, *)
    let scale = parameterValues(inputs[1]), bias = parameterValues(inputs[2])
    guard scale.count == c, bias.count == c else { return }
    let eps = epsilon
    try withNormType(x.dataType, label) { t in
      run(t, x, y, outer: x.shape[0] * c, inner: inner, eps, context) { r, _, v in v * scale[r % c] + bias[r % c] }
    }
  }

  private func run<T: KernelFloat>(_: T.Type, _ x: TensorView, _ y: TensorView, outer: Int, inner: Int, _ eps: Double,
                                   _ context: RunContext, _ affine: @escaping (Int, Int, Double) -> Double) {
    normalizeRows(T.self, x.pointer(T.self), y.pointer(T.self), outer: outer, inner: inner, epsilon: eps,
                  context: context, affine: affine)
  }
}
