import ModelFormat

/// Rewrites activations that exporters spell out as several nodes into one `Activation` node.
///
/// | pattern (x used elsewhere too; inner values single-use)          | becomes    |
/// |-------------------------------------------------------------------|------------|
/// | `x · Clip(x + 3, 0, 6) / 6` (Div by 6 or Mul by 1/6, either order) | HardSwish  |
/// | `x · HardSigmoid(x)` with α = 1/6, β = 0.5                         | HardSwish  |
/// | `x · 0.5 · (1 + Erf(x / √2))` (Div by √2 or Mul by 1/√2)           | Gelu       |
/// | `x · Sigmoid(x)`                                                   | SiLU       |
/// Applies when: every constant matches to 1e-4 relative. Idempotent.
public struct RecognizeActivations: GraphPass {
  public let name = "recognize-activations"
  public init() {}

  public func run(on model: inout Model) throws -> PassReport {
    var g = model.graph
    var found: [String: Int] = [:]
    var changed = true
    while changed {
      changed = false
      let index = GraphIndex(g)
      for (i, n) in g.nodes.enumerated() {
        guard let m = match(n, g, index) else { continue }
        let node = Node(name: n.name.isEmpty ? n.outputs[0] : n.name, opType: "Activation", domain: SecateurOps.domain,
                        inputs: [m.input], outputs: n.outputs, attributes: ActivationSpec(kind: m.kind).attributes)
        let dead = Set(m.removed)
        g.nodes[i] = node
        g.nodes = g.nodes.enumerated().filter { !dead.contains($0.offset) || $0.offset == i }.map(\.element)
        found[m.kind, default: 0] += 1
        changed = true
        break
      }
    }
    model.graph = g
    model.importSecateurDomainIfUsed()
    let total = found.values.reduce(0, +)
    let detail = found.sorted { $0.key < $1.key }.map { "\($1) \($0)" }.joined(separator: ", ")
    return PassReport(pass: name, changes: total, summary: total == 0 ? "no multi-node activations" : "\(detail) recognized")
  }

  struct Match { let kind: String; let input: String; let removed: [Int] }

  /// Tries every pattern ending at `n`.
  func match(_ n: Node, _ g: Graph, _ ix: GraphIndex) -> Match? {
    guard n.domain.isEmpty || n.domain == "ai.onnx", n.outputs.count == 1 else { return nil }
    return matchSiLU(n, g, ix) ?? matchHardSwish(n, g, ix) ?? matchGelu(n, g, ix)
  }

  // MARK: helpers

  func near(_ a: Float?, _ b: Float) -> Bool { a.map { abs($0 - b) <= 1e-4 * max(1, abs(b)) } ?? false }

  /// The single-use producer of `value` with op `op` (index and node).
  func producer(_ value: String, _ op: String, _ g: Graph, _ ix: GraphIndex) -> (Int, Node)? {
    guard let p = ix.producer[value], ix.hasSingleUse(value), g.nodes[p].opType == op,
          g.nodes[p].domain.isEmpty || g.nodes[p].domain == "ai.onnx" else { return nil }
    return (p, g.nodes[p])
  }

  /// For a binary node, the non-constant operand and the scalar constant operand (either order).
  func splitConst(_ n: Node, _ g: Graph) -> (String, Float)? {
    guard n.inputs.count == 2 else { return nil }
    if let c = g.scalarConstant(n.inputs[1]), g.constant(n.inputs[0]) == nil { return (n.inputs[0], c) }
    if n.opType == "Mul" || n.opType == "Add", let c = g.scalarConstant(n.inputs[0]), g.constant(n.inputs[1]) == nil {
      return (n.inputs[1], c)
    }
    return nil
  }

  /// `y = a · b` with one of a, b produced (single use) by `op`: returns (other operand, producer).
  func mulWith(_ n: Node, _ op: String, _ g: Graph, _ ix: GraphIndex) -> (String, Int, Node)? {
    guard n.opType == "Mul", n.inputs.count == 2 else { return nil }
    for (a, b) in [(0, 1), (1, 0)] {
      if let (p, node) = producer(n.inputs[b], op, g, ix) { return (n.inputs[a], p, node) }
    }
    return nil
  }

  // MARK: patterns

  func matchSiLU(_ n: Node, _ g: Graph, _ ix: GraphIndex) -> Match? {
    guard let (x, p, s) = mulWith(n, "Sigmoid", g, ix), s.inputs.first == x else { return nil }
    return Match(kind: "SiLU", input: x, removed: [p])
  }

  /// x·HardSigmoid(x), or the Clip(x+3, 0, 6) family.
  func matchHardSwish(_ n: Node, _ g: Graph, _ ix: GraphIndex) -> Match? {
    if let (x, p, hs) = mulWith(n, "HardSigmoid", g, ix), hs.inputs.first == x,
       near(hs.attribute("alpha")?.floatValue ?? 0.2, 1 / 6), near(hs.attribute("beta")?.floatValue ?? 0.5, 0.5) {
      return Match(kind: "HardSwish", input: x, removed: [p])
    }
    // Form A: Div(Mul(x, Clip(Add(x,3))), 6)  or Mul(Mul(...), 1/6)
    if let (inner, c) = splitConst(n, g), (n.opType == "Div" && near(c, 6)) || (n.opType == "Mul" && near(c, 1 / 6)),
       let (pm, mul) = producer(inner, "Mul", g, ix), let (x, pc, clip) = mulWith(mul, "Clip", g, ix),
       let rest = clipOfXPlus3(clip, x, g, ix) {
      return Match(kind: "HardSwish", input: x, removed: [pm, pc] + rest)
    }
    // Form B: Mul(x, Div(Clip(Add(x,3)), 6))
    if n.opType == "Mul", n.inputs.count == 2 {
      for (a, b) in [(0, 1), (1, 0)] {
        let x = n.inputs[a]
        guard let pd = ix.producer[n.inputs[b]], ix.hasSingleUse(n.inputs[b]) else { continue }
        let d = g.nodes[pd]
        guard d.opType == "Div" || d.opType == "Mul", let (clipOut, c) = splitConst(d, g),
              (d.opType == "Div" && near(c, 6)) || (d.opType == "Mul" && near(c, 1 / 6)),
              let (pc, clip) = producer(clipOut, "Clip", g, ix), let rest = clipOfXPlus3(clip, x, g, ix) else { continue }
        return Match(kind: "HardSwish", input: x, removed: [pd, pc] + rest)
      }
    }
    return nil
  }

  /// Checks `clip` is Clip(Add(x, 3), 0, 6); returns the Add's index.
  func clipOfXPlus3(_ clip: Node, _ x: String, _ g: Graph, _ ix: GraphIndex) -> [Int]? {
    guard let a = ActivationSpec(node: clip, graph: g), a.kind == "Clip", near(a.params[0], 0), near(a.params[1], 6),
          let (pa, add) = producer(clip.inputs[0], "Add", g, ix), let (ax, c) = splitConst(add, g), ax == x, near(c, 3)
    else { return nil }
    return [pa]
  }

  /// Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5) and the orderings exporters produce.
  func matchGelu(_ n: Node, _ g: Graph, _ ix: GraphIndex) -> Match? {
    guard n.opType == "Mul" else { return nil }
    // Shape 1: n = Mul(m, 0.5), m = Mul(x, Add(...))
    if let (inner, c) = splitConst(n, g), near(c, 0.5), let (pm, m) = producer(inner, "Mul", g, ix),
       let (x, pa, add) = mulWith(m, "Add", g, ix), let rest = onePlusErf(add, x, g, ix) {
      return Match(kind: "Gelu", input: x, removed: [pm, pa] + rest)
    }
    // Shape 2: n = Mul(x, m), m = Mul(Add(...), 0.5)
    for (a, b) in [(0, 1), (1, 0)] where n.inputs.count == 2 {
      let x = n.inputs[a]
      guard let (pm, m) = producer(n.inputs[b], "Mul", g, ix), let (addOut, c) = splitConst(m, g), near(c, 0.5),
            let (pa, add) = producer(addOut, "Add", g, ix), let rest = onePlusErf(add, x, g, ix) else { continue }
      return Match(kind: "Gelu", input: x, removed: [pm, pa] + rest)
    }
    return nil
  }

  /// Checks `add` is Add(Erf(x / √2), 1); returns the indices of Erf and the scaling node.
  func onePlusErf(_ add: Node, _ x: String, _ g: Graph, _ ix: GraphIndex) -> [Int]? {
    guard let (erfOut, one) = splitConst(add, g), near(one, 1), let (pe, erf) = producer(erfOut, "Erf", g, ix),
          let ps = ix.producer[erf.inputs[0]], ix.hasSingleUse(erf.inputs[0]) else { return nil }
    let s = g.nodes[ps]
    guard let (sx, c) = splitConst(s, g), sx == x,
          (s.opType == "Div" && near(c, 1.4142135)) || (s.opType == "Mul" && near(c, 0.70710678)) else { return nil }
    return [pe, ps]
  }
}
