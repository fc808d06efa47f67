import ModelFormat

/// Fuses what follows a Conv or Gemm into one `FusedConv` / `FusedGemm` node the Runtime executes in a
/// single pass over the output.
///
/// Before:  y = Act(Add(Conv(x, W, b), r))      or  y = Act(Conv(x, W, b))    or  y = Act(Gemm(a, B, c))
/// After:   y = FusedConv[activation=Act](x, W, b, r)                          y = FusedGemm[activation](a, B, c)
/// Applies when: each intermediate has exactly one use; the residual `r` has the Conv output's exact
/// shape (no broadcasting — checked with inferred shapes, so residual fusion needs them); the
/// activation has constant parameters. Idempotent.
public struct FuseConvActivation: GraphPass {
  public let name = "fuse-conv-activation"
  let shapes: (@Sendable (Model) -> [String: [Int]]?)?

  public init(shapes: (@Sendable (Model) -> [String: [Int]]?)? = nil) { self.shapes = shapes }

  public func run(on model: inout Model) throws -> PassReport {
    var g = model.graph
    let known = shapes?(model) ?? [:]
    var convs = 0, gemms = 0, residuals = 0, activations = 0
    var i = 0
    while i < g.nodes.count {
      let n = g.nodes[i]
      let standard = n.domain.isEmpty || n.domain == "ai.onnx"
      guard standard, (n.opType == "Conv" || n.opType == "Gemm"), n.outputs.count == 1 else { i += 1; continue }
      let index = GraphIndex(g)
      var fused = n
      fused.domain = SecateurOps.domain
      fused.opType = n.opType == "Conv" ? "FusedConv" : "FusedGemm"
      var out = n.outputs[0]
      var remove: [Int] = []
      // Residual: Add(conv, r) with r of identical shape.
      if n.opType == "Conv", let c = index.singleConsumer(out), g.nodes[c].opType == "Add", g.nodes[c].inputs.count == 2,
         g.nodes[c].domain.isEmpty {
        let add = g.nodes[c]
        let other = add.inputs[0] == out ? add.inputs[1] : add.inputs[0]
        if other != out, let s = known[out], known[other] == s, g.constant(other) == nil {
          while fused.inputs.count < 3 { fused.inputs.append("") }
          fused.inputs.append(other)
          out = add.outputs[0]
          remove.append(c)
          residuals += 1
        }
      }
      if let c = index.singleConsumer(out), let act = ActivationSpec(node: g.nodes[c], graph: g), g.nodes[c].inputs.first == out {
        for a in act.attributes { fused.setAttribute(a) }
        out = g.nodes[c].outputs[0]
        remove.append(c)
        activations += 1
      }
      guard !remove.isEmpty else { i += 1; continue }
      fused.outputs = [out]
      // The fused node takes the place of the last node it absorbs, where every input is available.
      let last = remove.max()!
      g.nodes[last] = fused
      let dead = Set(remove.filter { $0 != last } + [i])
      g.nodes = g.nodes.enumerated().filter { !dead.contains($0.offset) }.map(\.element)
      if n.opType == "Conv" { convs += 1 } else { gemms += 1 }
    }
    model.graph = g
    model.importSecateurDomainIfUsed()
    return PassReport(pass: name, changes: convs + gemms,
                      summary: "\(convs) Conv and \(gemms) Gemm fused (\(residuals) residual Add, \(activations) activations)")
  }
}
