import ModelFormat

/// Turns Secateur's own node types back into standard ONNX so every written model passes onnx's checker
/// and runs in any runtime: `FusedConv` → Conv [→ Add] [→ activation], `FusedGemm` → Gemm [→ activation],
/// `Activation` → the ONNX op(s) available at the model's opset (HardSwish from 14, Gelu from 20,
/// otherwise their decompositions; SiLU as Sigmoid + Mul). Idempotent; a model without such nodes is unchanged.
public struct UnfuseForExport: GraphPass {
  public let name = "unfuse-for-export"
  public init() {}

  public func run(on model: inout Model) throws -> PassReport {
    var g = model.graph
    let opset = model.opsetVersion(for: "") ?? 17
    var out: [Node] = []
    var count = 0
    for n in g.nodes {
      guard n.domain == SecateurOps.domain else { out.append(n); continue }
      count += 1
      switch n.opType {
      case "FusedConv", "FusedGemm":
        var base = n
        base.domain = ""
        base.opType = n.opType == "FusedConv" ? "Conv" : "Gemm"
        base.attributes.removeAll { $0.name == "activation" || $0.name == "activation_params" }
        let residual = n.opType == "FusedConv" && n.inputs.count > 3 && !n.inputs[3].isEmpty ? n.inputs[3] : nil
        base.inputs = Array(n.inputs.prefix(3))
        while base.inputs.last == "" { base.inputs.removeLast() }
        let act = ActivationSpec.from(fused: n)
        var value = n.outputs[0]
        if residual != nil || act != nil { value = g.freshName(n.outputs[0] + "_pre"); base.outputs = [value] }
        out.append(base)
        if let residual {
          let sum = act == nil ? n.outputs[0] : g.freshName(n.outputs[0] + "_sum")
          out.append(Node(name: base.name + "_add", opType: "Add", inputs: [value, residual], outputs: [sum]))
          value = sum
        }
        if let act { out += try activationNodes(act, input: value, output: n.outputs[0], name: base.name, opset: opset, &g) }
      case "Activation":
        guard let act = ActivationSpec.from(fused: n) else {
          throw SecateurError.invalidModel("\(n.label): Activation without an 'activation' attribute")
        }
        out += try activationNodes(act, input: n.inputs[0], output: n.outputs[0], name: n.name, opset: opset, &g)
      case "LayerNormalization":
        out += try layerNormNodes(n, &g)
      default:
        throw SecateurError.unsupported("\(n.label): no standard ONNX form for \(SecateurOps.domain)::\(n.opType)")
      }
    }
    g.nodes = out
    model.graph = g
    model.importSecateurDomainIfUsed()
    return PassReport(pass: name, changes: count, summary: "\(count) fused nodes written as standard ONNX")
  }

  /// LayerNormalization over the last axis, decomposed for opsets before 17 (ReduceMean takes `axes`
  /// as an attribute there).
  func layerNormNodes(_ n: Node, _ g: inout Graph) throws -> [Node] {
    let x = n.inputs[0], y = n.outputs[0]
    let eps = n.attribute("epsilon")?.floatValue ?? 1e-5
    func v(_ s: String) -> String { g.freshName(y + "_ln_" + s) }
    let m = v("mean"), d = v("centered"), d2 = v("sq"), varName = v("var"), ve = v("var_eps"), sd = v("std"), nrm = v("norm")
    let epsName = v("eps")
    g.setInitializer(try Tensor(name: epsName, [eps], shape: [], dataType: .float))
    let axes = Attribute(name: "axes", value: .ints([-1]))
    var nodes = [
      Node(name: v("n0"), opType: "ReduceMean", inputs: [x], outputs: [m], attributes: [axes]),
      Node(name: v("n1"), opType: "Sub", inputs: [x, m], outputs: [d]),
      Node(name: v("n2"), opType: "Mul", inputs: [d, d], outputs: [d2]),
      Node(name: v("n3"), opType: "ReduceMean", inputs: [d2], outputs: [varName], attributes: [axes]),
      Node(name: v("n4"), opType: "Add", inputs: [varName, epsName], outputs: [ve]),
      Node(name: v("n5"), opType: "Sqrt", inputs: [ve], outputs: [sd]),
      Node(name: v("n6"), opType: "Div", inputs: [d, sd], outputs: [nrm]),
    ]
    let bias = n.input(2)
    let scaled = bias == nil ? y : v("scaled")
    nodes.append(Node(name: v("n7"), opType: "Mul", inputs: [nrm, n.inputs[1]], outputs: [scaled]))
    if let bias { nodes.append(Node(name: v("n8"), opType: "Add", inputs: [scaled, bias], outputs: [y])) }
    return nodes
  }

  /// Standard ONNX nodes computing `act(input)` into `output`.
  func activationNodes(_ act: ActivationSpec, input: String, output: String, name: String, opset: Int,
                       _ g: inout Graph) throws -> [Node] {
    let p = act.params
    var made = 0
    func node(_ op: String, _ ins: [String], _ outs: [String], _ attrs: [Attribute] = []) -> Node {
      made += 1  // node names must be unique too: a decomposition may use one op twice
      return Node(name: "\(name)_\(op.lowercased())\(made)", opType: op, inputs: ins, outputs: outs, attributes: attrs)
    }
    func scalar(_ v: Float, _ base: String) throws -> String {
      let n = g.freshName(name + "_" + base)
      g.setInitializer(try Tensor(name: n, [v], shape: [], dataType: .float))
      return n
    }
    switch act.kind {
    case "Relu", "Sigmoid", "Tanh": return [node(act.kind, [input], [output])]
    case "LeakyRelu": return [node("LeakyRelu", [input], [output], [Attribute(name: "alpha", value: .float(p.first ?? 0.01))])]
    case "HardSigmoid":
      return [node("HardSigmoid", [input], [output], [Attribute(name: "alpha", value: .float(p.count > 0 ? p[0] : 0.2)),
                                                       Attribute(name: "beta", value: .float(p.count > 1 ? p[1] : 0.5))])]
    case "Clip":
      let lo = p.count > 0 ? p[0] : -.infinity, hi = p.count > 1 ? p[1] : .infinity
      if opset >= 11 {
        return [node("Clip", [input, lo.isFinite ? try scalar(lo, "min") : "", hi.isFinite ? try scalar(hi, "max") : ""], [output])]
      }
      return [node("Clip", [input], [output], [Attribute(name: "min", value: .float(lo.isFinite ? lo : -3.4e38)),
                                               Attribute(name: "max", value: .float(hi.isFinite ? hi : 3.4e38))])]
    case "HardSwish":
      if opset >= 14 { return [node("HardSwish", [input], [output])] }
      let t = g.freshName(output + "_hsig")
      return [node("HardSigmoid", [input], [t], [Attribute(name: "alpha", value: .float(1.0 / 6)), Attribute(name: "beta", value: .float(0.5))]),
              node("Mul", [input, t], [output])]
    case "SiLU":
      let t = g.freshName(output + "_sig")
      return [node("Sigmoid", [input], [t]), node("Mul", [input, t], [output])]
    case "Gelu":
      if opset >= 20 { return [node("Gelu", [input], [output])] }
      let a = g.freshName(output + "_scaled"), b = g.freshName(output + "_erf"), c = g.freshName(output + "_onep"),
          d = g.freshName(output + "_xmul")
      return [node("Div", [input, try scalar(1.4142135623730951, "sqrt2")], [a]), node("Erf", [a], [b]),
              node("Add", [b, try scalar(1, "one")], [c]), node("Mul", [input, c], [d]),
              node("Mul", [d, try scalar(0.5, "half")], [output])]
    default:
      throw SecateurError.unsupported("activation '\(act.kind)' has no ONNX form")
    }
  }
}
