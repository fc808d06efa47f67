/// The project's own structural validation, applied to every loaded model whatever its IR/opset:
/// names defined before use (in topological order, sorting when a file lists nodes out of order),
/// each value produced once, and an opset for every domain used.
extension Model {
  public mutating func validate() throws {
    guard irVersion >= 3 else {
      throw SecateurError.unsupported("IR version \(irVersion) is older than 3 (ONNX 1.0); re-export the model")
    }
    guard !opsetImports.isEmpty else { throw SecateurError.invalidModel("the model imports no opset") }
    for o in opsetImports where o.version < 1 {
      throw SecateurError.invalidModel("opset import '\(o.domain)' has invalid version \(o.version)")
    }
    try graph.validate(outerScope: [], opsets: opsetImports, functions: functions)
  }
}

extension Graph {
  /// Checks the graph (and nested subgraphs, which may use `outerScope` names); sorts nodes topologically
  /// when the file lists them out of order.
  public mutating func validate(outerScope: Set<String>, opsets: [OpsetImport], functions: [Function]) throws {
    var defined = outerScope
    for i in inputs {
      guard !i.name.isEmpty else { throw SecateurError.invalidModel("graph '\(name)': an input has no name") }
      defined.insert(i.name)
    }
    for t in initializers { defined.insert(t.name) }
    let domains = Set(opsets.map { $0.domain == "ai.onnx" ? "" : $0.domain })
    var produced = Set<String>()
    for n in nodes {
      let d = n.domain == "ai.onnx" ? "" : n.domain
      guard domains.contains(d) || functions.contains(where: { $0.domain == n.domain && $0.name == n.opType }) else {
        throw SecateurError.invalidModel("\(n.label): domain '\(n.domain)' has no opset import")
      }
      for o in n.outputs where !o.isEmpty {
        guard produced.insert(o).inserted, !initializers.contains(where: { $0.name == o }) else {
          throw SecateurError.invalidModel("\(n.label): value '\(o)' is produced more than once")
        }
      }
    }
    try sortTopologically(defined: defined)
    for i in nodes.indices {
      for a in nodes[i].attributes {
        switch a.value {
        case .graph(var g):
          try g.validate(outerScope: defined.union(produced), opsets: opsets, functions: functions)
          nodes[i].setAttribute(Attribute(name: a.name, value: .graph(g), docString: a.docString))
        case .graphs(var gs):
          for j in gs.indices { try gs[j].validate(outerScope: defined.union(produced), opsets: opsets, functions: functions) }
          nodes[i].setAttribute(Attribute(name: a.name, value: .graphs(gs), docString: a.docString))
        default: break
        }
      }
    }
    let available = defined.union(produced)
    for o in outputs where !available.contains(o.name) {
      throw SecateurError.invalidModel("graph '\(name)': output '\(o.name)' is not produced by any node")
    }
  }

  /// Orders nodes so that every input is produced before use (Kahn's algorithm, stable for sorted files).
  mutating func sortTopologically(defined: Set<String>) throws {
    var available = defined
    var remaining = nodes
    var sorted: [Node] = []
    sorted.reserveCapacity(nodes.count)
    // Fast path: already in order (the common case).
    var inOrder = true
    for n in nodes {
      if n.inputs.contains(where: { !$0.isEmpty && !available.contains($0) }) {
        inOrder = false
        break
      }
      for o in n.outputs { available.insert(o) }
    }
    if inOrder { return }
    available = defined
    while !remaining.isEmpty {
      var progressed = false
      var next: [Node] = []
      for n in remaining {
        if n.inputs.allSatisfy({ $0.isEmpty || available.contains($0) }) {
          sorted.append(n)
          for o in n.outputs { available.insert(o) }
          progressed = true
        } else {
          next.append(n)
        }
      }
      if !progressed {
        let n = next[0]
        let missing = n.inputs.first { !$0.isEmpty && !available.contains($0) } ?? "?"
        throw SecateurError.invalidModel("\(n.label): input '\(missing)' is never defined (or the graph has a cycle)")
      }
      remaining = next
    }
    nodes = sorted
  }
}

