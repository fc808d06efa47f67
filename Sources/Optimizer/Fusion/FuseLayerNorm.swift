import ModelFormat

/// Recognises LayerNormalization written out as reductions (how older exporters emit it) and replaces
/// it with one node.
///
/// Before:  m = ReduceMean(x, [-1]); d = x − m; v = ReduceMean(d², [-1]); n = d / √(v + ε) [· γ] [+ β]
///          (d² as Pow(d, 2) or Mul(d, d))
/// After:   y = LayerNormalization(x, γ, β, axis = −1, epsilon = ε)   — the ONNX op from opset 17,
///          Secateur's own (same semantics, unfused again on export) before that.
/// Applies when: both reductions are over exactly the last axis with keepdims = 1; ε, γ, β are float
/// constants (γ, β of the last axis's size; missing γ → 1, β → 0); intermediates have one use
/// (d has exactly two). Idempotent.
public struct FuseLayerNorm: GraphPass {
  public let name = "fuse-layernorm"
  public init() {}

  public func run(on model: inout Model) throws -> PassReport {
    var g = model.graph
    let opset = model.opsetVersion(for: "") ?? 17
    var count = 0
    var changed = true
    while changed {
      changed = false
      let ix = GraphIndex(g)
      for (i, n) in g.nodes.enumerated() where n.opType == "Div" && standard(n) {
        guard let m = match(div: i, g, ix) else { continue }
        var end = i
        var output = n.outputs[0]
        var gamma: String?, beta: String?
        var removed = m.removed + [i]
        // Optional scale and shift, each a single-use Mul / Add by a constant.
        if let c = ix.singleConsumer(output), g.nodes[c].opType == "Mul", let k = constOperand(g.nodes[c], other: output, g) {
          gamma = k; end = c; output = g.nodes[c].outputs[0]; removed.append(c)
          if let c2 = ix.singleConsumer(output), g.nodes[c2].opType == "Add", let k2 = constOperand(g.nodes[c2], other: output, g) {
            beta = k2; end = c2; output = g.nodes[c2].outputs[0]; removed.append(c2)
          }
        }
        let scale = gamma ?? g.freshName(output + "_ln_scale")
        if gamma == nil, let size = m.lastAxisSize {
          g.setInitializer(try Tensor(name: scale, [Float](repeating: 1, count: size), shape: [size], dataType: .float))
        } else if gamma == nil { continue }  // the scale's length is unknown without shapes: decline
        let node = Node(name: (n.name.isEmpty ? output : n.name) + "_layernorm", opType: "LayerNormalization",
                        domain: opset >= 17 ? "" : SecateurOps.domain, inputs: [m.x, scale] + (beta.map { [$0] } ?? []),
                        outputs: [output],
                        attributes: [Attribute(name: "axis", value: .int(-1)), Attribute(name: "epsilon", value: .float(m.epsilon))])
        g.nodes[end] = node
        let dead = Set(removed.filter { $0 != end })
        g.nodes = g.nodes.enumerated().filter { !dead.contains($0.offset) }.map(\.element)
        count += 1
        changed = true
        break
      }
    }
    model.graph = g
    model.importSecateurDomainIfUsed()
    return PassReport(pass: name, changes: count, summary: "\(count) decomposed LayerNormalization fused")
  }

  func standard(_ n: Node) -> Bool { n.domain.isEmpty || n.domain == "ai.onnx" }

  struct Match { let x: String; let epsilon: Float; let removed: [Int]; let lastAxisSize: Int? }

  /// The non-constant operand's partner: the constant input of a binary node whose other input is `other`.
  func constOperand(_ n: Node, other: String, _ g: Graph) -> String? {
    guard n.inputs.count == 2, standard(n) else { return nil }
    let k = n.inputs[0] == other ? n.inputs[1] : (n.inputs[1] == other ? n.inputs[0] : nil)
    guard let k, let t = g.constant(k), t.dataType == .float, t.shape.count <= 1 else { return nil }
    return k
  }

  /// True when a ReduceMean reduces exactly the last axis with keepdims = 1.
  func isLastAxisMean(_ n: Node, _ g: Graph) -> Bool {
    guard n.opType == "ReduceMean", standard(n), (n.attribute("keepdims")?.intValue ?? 1) == 1 else { return false }
    let axes = n.attribute("axes")?.ints ?? (n.input(1).flatMap { g.constant($0)?.intValues() })
    return axes == [-1]
  }

  func match(div i: Int, _ g: Graph, _ ix: GraphIndex) -> Match? {
    let div = g.nodes[i]
    guard div.inputs.count == 2, let pd = ix.producer[div.inputs[0]], let ps = ix.producer[div.inputs[1]] else { return nil }
    let sub = g.nodes[pd], sqrt = g.nodes[ps]
    guard sub.opType == "Sub", standard(sub), sqrt.opType == "Sqrt", standard(sqrt), ix.hasSingleUse(div.inputs[1]),
          let pm = ix.producer[sub.inputs[1]], isLastAxisMean(g.nodes[pm], g), g.nodes[pm].inputs[0] == sub.inputs[0],
          ix.hasSingleUse(sub.inputs[1]) else { return nil }
    let d = sub.outputs[0]
    guard Set(ix.consumers[d] ?? []).count == 2, !ix.graphOutputs.contains(d),
          let pa = ix.producer[sqrt.inputs[0]], ix.hasSingleUse(sqrt.inputs[0]) else { return nil }
    let add = g.nodes[pa]
    guard add.opType == "Add", standard(add), add.inputs.count == 2 else { return nil }
    let (vName, epsName) = g.constant(add.inputs[1]) != nil ? (add.inputs[0], add.inputs[1]) : (add.inputs[1], add.inputs[0])
    guard let eps = g.scalarConstant(epsName), let pv = ix.producer[vName], ix.hasSingleUse(vName),
          isLastAxisMean(g.nodes[pv], g), let pp = ix.producer[g.nodes[pv].inputs[0]], ix.hasSingleUse(g.nodes[pv].inputs[0])
    else { return nil }
    let sq = g.nodes[pp]
    let squares = (sq.opType == "Pow" && sq.inputs.count == 2 && sq.inputs[0] == d && g.scalarConstant(sq.inputs[1]) == 2)
      || (sq.opType == "Mul" && sq.inputs.count == 2 && sq.inputs[0] == d && sq.inputs[1] == d)
    guard squares, standard(sq) else { return nil }
    return Match(x: sub.inputs[0], epsilon: eps, removed: [pm, pd, pp, pv, pa, ps], lastAxisSize: nil)
  }
}
