import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// ONNX loss ops: `NegativeLogLikelihoodLoss` and `SoftmaxCrossEntropyLoss` (opsets 12/13/22; 13 and
/// 22 only widened the element types). Both gather −x[n, target[n, d…], d…] over input shaped
/// (N, C, d1…dk) with targets (N, d1…dk), weight it by `weight[target]` (0 where target ==
/// ignore_index), then reduce: none (shape of target), sum, or mean = Σ loss / Σ weight.
enum LossKernels {
  static let registrations: [OpRegistration] = [12, 13, 22].flatMap { v in
    [
      OpRegistration("NegativeLogLikelihoodLoss", since: v) { try LossKernel($0, softmax: false) },
      OpRegistration("SoftmaxCrossEntropyLoss", since: v) { try LossKernel($0, softmax: true) },
    ]
  }
}

final class LossKernel: OpKernel {
  enum Reduction: String { case none, sum, mean }
  let label: String
  let softmax: Bool
  let reduction: Reduction
  let ignoreIndex: Int?
  /// SoftmaxCrossEntropyLoss's optional log_prob output is produced only when the node names it.
  let wantsLogProb: Bool

  init(_ ctx: NodeContext, softmax: Bool) throws {
    label = ctx.label
    self.softmax = softmax
    let r = try ctx.string("reduction", "mean")
    guard let red = Reduction(rawValue: r) else { throw ctx.error("attribute reduction '\(r)': must be none, sum or mean") }
    reduction = red
    ignoreIndex = try ctx.intOrNil("ignore_index")
    wantsLogProb = softmax && ctx.node.outputs.count > 1 && !ctx.node.outputs[1].isEmpty
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), t = try required(inputs, 1, label)
    try x.require([.float, .double, .float16], label)
    try t.require([.int32, .int64], label, "target")
    guard x.shape.count >= 2 else { throw SecateurError.invalidModel("\(label): input shape \(x.shape) must be (N, C, ...)") }
    var want = x.shape
    want.remove(at: 1)
    guard t.shape == want else {
      throw SecateurError.invalidModel("\(label): target shape \(t.shape) must be \(want) for input \(x.shape)")
    }
    if inputs.count > 2, let w = inputs[2] {
      guard w.dataType == x.dataType, w.shape == [x.shape[1]] else {
        throw SecateurError.invalidModel("\(label): weight \(w) must be \(x.dataType)[\(x.shape[1])]")
      }
    }
    let loss = TensorSpec(x.dataType, reduction == .none ? t.shape : [])
    return wantsLogProb ? [loss, x] : [loss]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0], let t = inputs[1] else { return }
    let w = inputs.count > 2 ? inputs[2] : nil
    try withFloatType(x.dataType, label) { T in try compute(T, x, t, w, outputs) }
  }

  private func compute<T: KernelFloat>(_: T.Type, _ xv: TensorView, _ tv: TensorView, _ wv: TensorView?,
                                       _ outputs: [TensorView]) throws {
    let n = xv.shape[0], c = xv.shape[1]
    let d = xv.count / max(n * c, 1)
    let xp = xv.pointer(T.self)
    // SoftmaxCrossEntropyLoss: log-softmax over C first (kept in Double, written to log_prob when asked).
    var logp = [Double](repeating: 0, count: xv.count)
    for i in 0..<n {
      for j in 0..<d {
        let base = i * c * d + j
        if softmax {
          var m = -Double.infinity
          for k in 0..<c { m = max(m, Double(xp[base + k * d])) }
          var s = 0.0
          for k in 0..<c { s += exp(Double(xp[base + k * d]) - m) }
          let ls = log(s)
          for k in 0..<c { logp[base + k * d] = Double(xp[base + k * d]) - m - ls }
        } else {
          for k in 0..<c { logp[base + k * d] = Double(xp[base + k * d]) }
        }
      }
    }
    if wantsLogProb, outputs.count > 1 {
      let lp = outputs[1].pointer(T.self)
      for i in 0..<min(logp.count, outputs[1].count) { lp[i] = T(logp[i]) }
    }
    let targets: [Int] = tv.dataType == .int64
      ? (0..<tv.count).map { Int(tv.pointer(Int64.self)[$0]) }
      : (0..<tv.count).map { Int(tv.pointer(Int32.self)[$0]) }
    let weights = wv.map { w in (0..<c).map { Double(w.pointer(T.self)[$0]) } }
    var losses = [Double](repeating: 0, count: n * d)
    var weightSum = 0.0
    for i in 0..<n {
      for j in 0..<d {
        let tgt = targets[i * d + j]
        if let ig = ignoreIndex, tgt == ig { continue }
        guard tgt >= 0, tgt < c else {
          throw SecateurError.runtime("\(label): target \(tgt) is out of range [0, \(c))")
        }
        let wt = weights?[tgt] ?? 1
        losses[i * d + j] = -logp[i * c * d + tgt * d + j] * wt
        weightSum += wt
      }
    }
    let y = outputs[0].pointer(T.self)
    switch reduction {
    case .none:
      for i in 0..<min(losses.count, outputs[0].count) { y[i] = T(losses[i]) }
    case .sum:
      y[0] = T(losses.reduce(0, +))
    case .mean:
      // The reference divides by the element count when there is neither a weight nor an ignore_index
      // (the same as Σ weight then); otherwise by Σ weight of the kept elements.
      y[0] = T(losses.reduce(0, +) / weightSum)
    }
  }
}

