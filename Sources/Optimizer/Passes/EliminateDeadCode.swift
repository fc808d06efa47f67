import ModelFormat

/// Removes nodes whose outputs reach no graph output, and initializers nothing reads.
///
/// Applies when: a node has no side effects (every ONNX op qualifies) and none of its outputs is used
/// by a later node, a subgraph, or the graph's outputs. Idempotent.
public struct EliminateDeadCode: GraphPass {
  public let name = "eliminate-dead-code"
  public init() {}

  public func run(on model: inout Model) throws -> PassReport {
    var g = model.graph
    var live = Set(g.outputs.map(\.name))
    var keep = [Bool](repeating: false, count: g.nodes.count)
    for i in g.nodes.indices.reversed() {
      let n = g.nodes[i]
      guard n.outputs.contains(where: { live.contains($0) }) else { continue }
      keep[i] = true
      for input in n.inputs where !input.isEmpty { live.insert(input) }
      for name in n.subgraphOuterReferences() { live.insert(name) }
    }
    let before = g.nodes.count
    g.nodes = g.nodes.indices.filter { keep[$0] }.map { g.nodes[$0] }
    let inputs = Set(g.inputs.map(\.name))
    let initBefore = g.initializers.count
    g.initializers.removeAll { !live.contains($0.name) && !inputs.contains($0.name) }
    let removedNodes = before - g.nodes.count, removedInits = initBefore - g.initializers.count
    model.graph = g
    return PassReport(pass: name, changes: removedNodes + removedInits,
                      summary: "\(removedNodes) nodes and \(removedInits) initializers removed")
  }
}

extension Node {
  /// Every name read by this node's subgraphs (a superset of their outer-scope references is fine here).
  func subgraphOuterReferences() -> [String] {
    var names: [String] = []
    func visit(_ g: Graph) {
      for n in g.nodes {
        names.append(contentsOf: n.inputs)
        for a in n.attributes {
          if case .graph(let sg) = a.value { visit(sg) }
          if case .graphs(let gs) = a.value { gs.forEach(visit) }
        }
      }
      names.append(contentsOf: g.outputs.map(\.name))
    }
    for a in attributes {
      if case .graph(let sg) = a.value { visit(sg) }
      if case .graphs(let gs) = a.value { gs.forEach(visit) }
    }
    return names
  }
}
