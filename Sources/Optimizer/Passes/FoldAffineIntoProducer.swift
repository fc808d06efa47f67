import ModelFormat

/// Folds an inference BatchNormalization — or a constant per-channel Mul/Add/Sub/Div, the form several
/// exporters (and MABN's `γ·x/√(v+ε)+β`) use — into the Conv, ConvTranspose or Gemm that produces its input.
///
/// Before:  y = BN(Conv(x, W, b), γ, β, m, v)        (or Mul/Div/Add/Sub by a per-channel constant c)
/// After:   y = Conv(x, W′, b′)   W′[o] = W[o]·s[o]   b′[o] = b[o]·s[o] + t[o]   (s, t: the affine)
/// Applies when: the producer's output has no other use; W, b and the affine's operands are float32
/// constants; the affine runs over the producer's output channels. Chains fold one link per round until
/// nothing changes. Idempotent.
public struct FoldAffineIntoProducer: GraphPass {
  public let name = "fold-batchnorm"
  public init() {}

  public func run(on model: inout Model) throws -> PassReport {
    var g = model.graph
    var folded: [String: Int] = [:]
    var changed = true
    while changed {
      changed = false
      let index = GraphIndex(g)
      for (i, n) in g.nodes.enumerated() {
        guard let (dataInput, affine) = matchAffine(n, g, index) else { continue }
        guard let p = index.producer[dataInput], index.hasSingleUse(dataInput) else { continue }
        guard let rewritten = fold(affine, into: g.nodes[p], output: n.outputs[0], graph: &g) else { continue }
        g.nodes[p] = rewritten
        g.nodes.remove(at: i)
        folded[n.opType, default: 0] += 1
        changed = true
        break
      }
    }
    model.graph = g
    let total = folded.values.reduce(0, +)
    let detail = folded.sorted { $0.key < $1.key }.map { "\($1) \($0)" }.joined(separator: ", ")
    return PassReport(pass: name, changes: total, summary: total == 0 ? "nothing to fold" : "\(detail) folded into Conv/Gemm")
  }

  /// The data input of an affine node and its per-channel scale/shift, with channel count checked later.
  func matchAffine(_ n: Node, _ g: Graph, _ index: GraphIndex) -> (String, AffineSpec)? {
    guard n.domain.isEmpty || n.domain == "ai.onnx", n.outputs.first.map({ !$0.isEmpty }) == true else { return nil }
    switch n.opType {
    case "BatchNormalization":
      guard let a = ChannelAffine.batchNorm(n, in: g) else { return nil }
      return (n.inputs[0], .affine(a))
    case "Mul", "Add", "Sub", "Div":
      guard n.inputs.count == 2 else { return nil }
      // One operand constant, the other computed; Sub and Div only with the constant second.
      if let c = g.constant(n.inputs[1]), g.constant(n.inputs[0]) == nil {
        return (n.inputs[0], .elementwise(n.opType, c))
      }
      if (n.opType == "Mul" || n.opType == "Add"), let c = g.constant(n.inputs[0]), g.constant(n.inputs[1]) == nil {
        return (n.inputs[1], .elementwise(n.opType, c))
      }
      return nil
    default:
      return nil
    }
  }

  enum AffineSpec {
    case affine(ChannelAffine)
    case elementwise(String, Tensor)

    /// The affine over `channels` channels of a rank-`rank` output, or nil when the constant does not
    /// broadcast per channel.
    func resolve(channels: Int, rank: Int) -> ChannelAffine? {
      switch self {
      case .affine(let a): return a.scale.count == channels ? a : nil
      case .elementwise(let op, let t):
        guard let c = ChannelAffine.perChannel(t, rank: rank, channels: channels) else { return nil }
        let ones = [Float](repeating: 1, count: channels), zeros = [Float](repeating: 0, count: channels)
        switch op {
        case "Mul": return ChannelAffine(scale: c, shift: zeros)
        case "Div":
          guard !c.contains(0) else { return nil }
          return ChannelAffine(scale: c.map { 1 / $0 }, shift: zeros)
        case "Add": return ChannelAffine(scale: ones, shift: c)
        case "Sub": return ChannelAffine(scale: ones, shift: c.map { -$0 })
        default: return nil
        }
      }
    }
  }

  /// The producer rewritten to include the affine, writing `output`; nil when it cannot absorb it.
  func fold(_ spec: AffineSpec, into p: Node, output: String, graph g: inout Graph) -> Node? {
    guard p.domain.isEmpty || p.domain == "ai.onnx", p.outputs.count == 1 else { return nil }
    switch p.opType {
    case "Conv", "ConvTranspose":
      guard let wt = g.constant(p.inputs.count > 1 ? p.inputs[1] : ""), wt.dataType == .float, wt.shape.count >= 3
      else { return nil }
      let group = p.attribute("group")?.intValue ?? 1
      guard group >= 1 else { return nil }
      let transposed = p.opType == "ConvTranspose"
      // Conv W: [Cout, Cin/g, k…]; ConvTranspose W: [Cin, Cout/g, k…].
      let cout = transposed ? wt.shape[1] * group : wt.shape[0]
      guard let a = spec.resolve(channels: cout, rank: wt.shape.count) else { return nil }
      var bias = [Float](repeating: 0, count: cout)
      if let bname = p.input(2) {
        guard let b = g.floatConstant(bname), b.count == cout else { return nil }
        bias = b
      }
      let inner = wt.shape.dropFirst(2).reduce(1, *)
      let folded: String
      if transposed {
        guard var w = g.floatConstant(p.inputs[1]) else { return nil }
        let cin = wt.shape[0], perGroupOut = wt.shape[1], perGroupIn = cin / group
        guard perGroupIn * group == cin else { return nil }
        for i in 0..<cin {
          for j in 0..<perGroupOut {
            let o = (i / perGroupIn) * perGroupOut + j
            let base = (i * perGroupOut + j) * inner
            for k in 0..<inner { w[base + k] *= a.scale[o] }
          }
        }
        folded = store(w, shape: wt.shape, base: p.inputs[1], &g)
      } else {
        guard let name = storeScaledRows(wt, scale: a.scale, base: p.inputs[1], &g) else { return nil }
        folded = name
      }
      for o in 0..<cout { bias[o] = bias[o] * a.scale[o] + a.shift[o] }
      var q = p
      q.inputs = [p.inputs[0], folded, store(bias, shape: [cout], base: output + "_bias", &g)]
      q.outputs = [output]
      return q
    case "Gemm":
      guard p.inputs.count >= 2, let bt = g.constant(p.inputs[1]), bt.dataType == .float, bt.shape.count == 2,
            var b = g.floatConstant(p.inputs[1]) else { return nil }
      let transB = (p.attribute("transB")?.intValue ?? 0) != 0
      let n = transB ? bt.shape[0] : bt.shape[1], k = transB ? bt.shape[1] : bt.shape[0]
      guard let a = spec.resolve(channels: n, rank: 2) else { return nil }
      let alpha = p.attribute("alpha")?.floatValue ?? 1, beta = p.attribute("beta")?.floatValue ?? 1
      var c = [Float](repeating: 0, count: n)
      if let cname = p.input(2) {
        guard let ct = g.constant(cname), ct.dataType == .float, let cv = g.floatConstant(cname) else { return nil }
        if cv.count == 1 { c = [Float](repeating: cv[0] * beta, count: n) }
        else if cv.count == n, ct.shape.last == n, ct.shape.dropLast().allSatisfy({ $0 == 1 }) { c = cv.map { $0 * beta } }
        else { return nil }  // a full [M, N] bias would need the batch size; decline
      }
      for col in 0..<n {
        for r in 0..<k { b[transB ? col * k + r : r * n + col] *= a.scale[col] }
        c[col] = c[col] * a.scale[col] + a.shift[col]
      }
      var q = p
      q.inputs = [p.inputs[0], store(b, shape: bt.shape, base: p.inputs[1], &g), store(c, shape: [n], base: output + "_bias", &g)]
      q.setAttribute(Attribute(name: "beta", value: .float(1)))
      q.setAttribute(Attribute(name: "alpha", value: .float(alpha)))
      q.outputs = [output]
      return q
    default:
      return nil
    }
  }

  /// Stores W′[o] = W[o]·s[o] (one row of W per scale) as a new initializer and returns its name, or nil
  /// when W's size is not rows × scale count. The products go straight into the new tensor's buffer:
  /// one pass over fresh memory where copying W out, scaling and copying it into a zeroed tensor made
  /// three (the bulk of ResNet-50's folding time, in page faults). Same products, bit for bit.
  func storeScaledRows(_ wt: Tensor, scale: [Float], base: String, _ g: inout Graph) -> String? {
    let rows = scale.count, n = wt.elementCount
    guard rows > 0, n % rows == 0, wt.buffer.count >= n * 4,
          let buffer = try? Buffer(uninitializedCount: n * 4, prefault: true) else { return nil }
    let perRow = n / rows
    let dst = buffer.baseAddress.assumingMemoryBound(to: Float.self)
    wt.withElements(as: Float.self) { src in
      for o in 0..<rows {
        let s = scale[o], base = o * perRow
        for k in 0..<perRow { dst[base + k] = src[base + k] * s }
      }
    }
    let name = g.freshName(base + "_folded")
    guard let t = try? Tensor(name: name, dataType: .float, shape: wt.shape, buffer: buffer) else { return nil }
    g.setInitializer(t)
    return name
  }

  /// Stores folded values as a new initializer (the original may be shared) and returns its name.
  func store(_ values: [Float], shape: [Int], base: String, _ g: inout Graph) -> String {
    let name = g.freshName(base + "_folded")
    if let t = try? Tensor(name: name, values, shape: shape, dataType: .float) { g.setInitializer(t) }
    return name
  }
}
