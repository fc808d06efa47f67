import ModelFormat

/// Folds a per-channel affine (inference BatchNormalization, or a constant per-channel Mul/Add chain
/// already merged into one BN) into the Conv that consumes it.
///
/// Before:  y = Conv(BN(x), W, b)
/// After:   y = Conv(x, W′, b′)   W′[o,i,k] = W[o,i,k]·s[c(o,i)]   b′[o] = b[o] + Σ_{i,k} W[o,i,k]·t[c(o,i)]
///          where c(o,i) is the input channel that weight (o,i) reads in its group.
/// Applies when: the affine's output feeds only this Conv; the Conv has no padding (a padded border is
/// zero *after* the affine, so folding it would turn those zeros into −t/s·…: not exact — declined);
/// W, b and the BN operands are float32 constants. Idempotent.
public struct FoldAffineIntoNextConv: GraphPass {
  public let name = "fold-batchnorm-into-next-conv"
  public init() {}

  public func run(on model: inout Model) throws -> PassReport {
    var g = model.graph
    var folded = 0, declinedPadding = 0
    var changed = true
    while changed {
      changed = false
      let index = GraphIndex(g)
      for (i, n) in g.nodes.enumerated() where n.opType == "BatchNormalization" && (n.domain.isEmpty || n.domain == "ai.onnx") {
        guard let a = ChannelAffine.batchNorm(n, in: g), let out = n.outputs.first,
              let c = index.singleConsumer(out) else { continue }
        let conv = g.nodes[c]
        guard conv.opType == "Conv", conv.input(0) == out else { continue }
        guard Self.hasNoPadding(conv) else { declinedPadding += 1; continue }
        guard let rewritten = fold(a, into: conv, input: n.inputs[0], &g) else { continue }
        g.nodes[c] = rewritten
        g.nodes.remove(at: i)
        folded += 1
        changed = true
        break
      }
    }
    model.graph = g
    var summary = "\(folded) BatchNormalization folded into the following Conv"
    if declinedPadding > 0 { summary += " (\(declinedPadding) left: the Conv pads its input, folding would not be exact)" }
    return PassReport(pass: name, changes: folded, summary: summary)
  }

  static func hasNoPadding(_ conv: Node) -> Bool {
    let autoPad = conv.attribute("auto_pad")?.stringValue ?? "NOTSET"
    if autoPad == "VALID" { return true }
    guard autoPad == "NOTSET" || autoPad.isEmpty else { return false }
    return (conv.attribute("pads")?.ints ?? []).allSatisfy { $0 == 0 }
  }

  func fold(_ a: ChannelAffine, into conv: Node, input: String, _ g: inout Graph) -> Node? {
    guard conv.inputs.count >= 2, let wt = g.constant(conv.inputs[1]), wt.dataType == .float, wt.shape.count >= 3,
          var w = g.floatConstant(conv.inputs[1]) else { return nil }
    let group = conv.attribute("group")?.intValue ?? 1
    let cout = wt.shape[0], cinPerGroup = wt.shape[1], inner = wt.shape.dropFirst(2).reduce(1, *)
    guard group >= 1, cout % group == 0, cinPerGroup * group == a.scale.count else { return nil }
    var bias = [Float](repeating: 0, count: cout)
    if let bname = conv.input(2) {
      guard let b = g.floatConstant(bname), b.count == cout else { return nil }
      bias = b
    }
    let outPerGroup = cout / group
    for o in 0..<cout {
      let groupBase = (o / outPerGroup) * cinPerGroup
      var extra = 0.0
      for i in 0..<cinPerGroup {
        let ch = groupBase + i
        for k in 0..<inner {
          let idx = (o * cinPerGroup + i) * inner + k
          extra += Double(w[idx]) * Double(a.shift[ch])
          w[idx] *= a.scale[ch]
        }
      }
      bias[o] += Float(extra)
    }
    let wName = g.freshName(conv.inputs[1] + "_folded"), bName = g.freshName((conv.outputs.first ?? "conv") + "_bias_folded")
    guard let wT = try? Tensor(name: wName, w, shape: wt.shape, dataType: .float),
          let bT = try? Tensor(name: bName, bias, shape: [cout], dataType: .float) else { return nil }
    g.setInitializer(wT)
    g.setInitializer(bT)
    var q = conv
    q.inputs = [input, wName, bName]
    return q
  }
}
