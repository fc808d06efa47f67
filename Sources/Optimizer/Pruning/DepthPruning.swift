import ModelFormat

/// A removable block: `y = x + f(x)` where `f` is a branch whose only non-constant input is `x` and whose
/// values are read nowhere else. Removing it makes the block the identity (`y = x`).
public struct ResidualBlock: Sendable {
  /// Stable id, in graph order of the residual Add.
  public var id: Int
  /// The Add node and its output.
  public var add: String
  public var output: String
  /// The shortcut value `x`.
  public var identity: String
  /// Nodes of the branch `f`, in graph order.
  public var branch: [String]
  /// "b<id>", the name specs use.
  public var key: String { "b\(id)" }
}

/// Depth pruning: finding residual blocks and replacing chosen ones by their shortcut.
///
/// Before:  y = Add(x, BN(Conv(Relu(BN(Conv(x))))))
/// After:   uses of y read x; the branch and the Add are gone
/// Applies when: both Add operands have the output's shape; the branch reads only `x` and constants;
/// no branch value is a graph output or read outside the branch.
public enum DepthPruning {
  public static func findBlocks(in graph: Graph, shapes: [String: [Int]]) -> [ResidualBlock] {
    var producer: [String: Int] = [:]
    var consumers: [String: [Int]] = [:]
    for (i, n) in graph.nodes.enumerated() {
      for o in n.outputs where !o.isEmpty { producer[o] = i }
      for v in n.inputs where !v.isEmpty { consumers[v, default: []].append(i) }
    }
    let inputNames = Set(graph.inputs.map(\.name))
    var constants = Set(graph.initializers.map(\.name))
    constants.subtract(inputNames)
    let outputs = Set(graph.outputs.map(\.name))
    var blocks: [ResidualBlock] = []
    for (ai, n) in graph.nodes.enumerated() where n.opType == "Add" && (n.domain.isEmpty || n.domain == "ai.onnx") {
      guard n.inputs.count == 2, let out = n.outputs.first, !constants.contains(n.inputs[0]),
            !constants.contains(n.inputs[1]), let so = shapes[out],
            shapes[n.inputs[0]] == so, shapes[n.inputs[1]] == so else { continue }
      for (x, f) in [(n.inputs[0], n.inputs[1]), (n.inputs[1], n.inputs[0])] where x != f {
        guard let start = producer[f] else { continue }
        var set = Set<Int>([start]), stack = [start], ok = true
        while let k = stack.popLast(), ok {
          for v in graph.nodes[k].inputs where !v.isEmpty && v != x && !constants.contains(v) {
            guard let p = producer[v], !inputNames.contains(v) else { ok = false; break }
            if set.insert(p).inserted { stack.append(p) }
            if set.count > 500 { ok = false }
          }
        }
        guard ok else { continue }
        for k in set {
          for o in graph.nodes[k].outputs where !o.isEmpty {
            if outputs.contains(o) { ok = false }
            for c in consumers[o] ?? [] where c != ai && !set.contains(c) { ok = false }
          }
        }
        guard ok else { continue }
        blocks.append(ResidualBlock(id: blocks.count, add: nodeName(n), output: out, identity: x,
                                    branch: set.sorted().map { nodeName(graph.nodes[$0]) }))
        break
      }
    }
    return blocks
  }

  static func nodeName(_ n: Node) -> String { n.name.isEmpty ? (n.outputs.first ?? n.opType) : n.name }

  /// Replaces each block by its shortcut. Blocks inside an already removed branch are skipped.
  public static func remove(_ blocks: [ResidualBlock], from model: inout Model) {
    var g = model.graph
    // Removing a block renames its output to its shortcut; a later block whose shortcut was that output
    // (consecutive blocks) must follow the rename.
    var renamed: [String: String] = [:]
    func resolve(_ v: String) -> String { var v = v; while let r = renamed[v] { v = r }; return v }
    for b0 in blocks {
      var b = b0
      b.identity = resolve(b.identity)
      guard let ai = g.nodes.firstIndex(where: { nodeName($0) == b.add }) else { continue }
      let drop = Set(b.branch + [b.add])
      if g.outputs.contains(where: { $0.name == b.output }) {
        g.nodes[ai] = Node(name: b.add, opType: "Identity", inputs: [b.identity], outputs: [b.output])
        let branch = Set(b.branch)
        g.nodes.removeAll { branch.contains(nodeName($0)) }
      } else {
        g.nodes.removeAll { drop.contains(nodeName($0)) }
        g.replaceUses(of: b.output, with: b.identity)
        renamed[b.output] = b.identity
      }
    }
    let read = Set(g.nodes.flatMap(\.inputs) + g.outputs.map(\.name) + g.inputs.map(\.name))
    g.initializers.removeAll { !read.contains($0.name) }
    g.valueInfo.removeAll { !read.contains($0.name) }
    model.graph = g
  }
}
