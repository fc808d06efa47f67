import ModelFormat

/// Removes Identity nodes and inference-mode Dropout by renaming their consumers' inputs.
///
/// Before:  y = Identity(x); z = f(y)        After: z = f(x)
/// Applies when: the node's output is not a graph output (renaming those would change the model's interface),
/// and for Dropout, only its first output is used and no training_mode input is given. Idempotent.
public struct EliminateIdentity: GraphPass {
  public let name = "eliminate-identity"
  public init() {}

  public func run(on model: inout Model) throws -> PassReport {
    var g = model.graph
    let graphOutputs = Set(g.outputs.map(\.name))
    var rename: [String: String] = [:]
    var kept: [Node] = []
    for var n in g.nodes {
      n.inputs = n.inputs.map { rename[$0] ?? $0 }
      let standard = n.domain.isEmpty || n.domain == "ai.onnx"
      let removable: Bool
      switch n.opType {
      case "Identity": removable = standard && n.inputs.count == 1
      case "Dropout": removable = standard && n.inputs.count == 1 && (n.outputs.count == 1 || n.outputs[1].isEmpty)
      default: removable = false
      }
      if removable, let out = n.outputs.first, !graphOutputs.contains(out), !n.inputs[0].isEmpty,
         !g.usedBySubgraph(out) {
        rename[out] = n.inputs[0]
        continue
      }
      kept.append(n)
    }
    let removed = g.nodes.count - kept.count
    g.nodes = kept
    model.graph = g
    return PassReport(pass: name, changes: removed, summary: "\(removed) Identity/Dropout removed")
  }
}

extension Graph {
  /// True when a nested subgraph reads `value` from the outer scope (such values must keep their name).
  func usedBySubgraph(_ value: String) -> Bool {
    for n in nodes {
      for a in n.attributes {
        switch a.value {
        case .graph(let sg): if sg.referencesName(value) { return true }
        case .graphs(let gs): if gs.contains(where: { $0.referencesName(value) }) { return true }
        default: continue
        }
      }
    }
    return false
  }

  func referencesName(_ value: String) -> Bool {
    nodes.contains { $0.inputs.contains(value) } || usedBySubgraph(value)
  }
}
