import ModelFormat

/// Secateur's own node types, used inside the IR between optimization and execution. Export converts
/// them back to standard ONNX (`UnfuseForExport`), so they never reach a written file.
///
/// - `Activation(x)`: one pointwise activation, named by the `activation` attribute.
/// - `FusedConv(x, W, [B], [residual])`: Conv (all its attributes), then `+ residual` (same shape), then
///   the activation — one pass over the output.
/// - `FusedGemm(A, B, [C])`: Gemm, then the activation.
/// Activation attributes: `activation` (string: Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish,
/// Tanh, SiLU, Gelu), `activation_params` (floats: LeakyRelu [alpha], Clip [min, max],
/// HardSigmoid [alpha, beta]).
public enum SecateurOps {
  public static let domain = "com.secateur"
  public static let version = 1
}

/// An activation as the optimizer sees it: a name and its parameters.
public struct ActivationSpec: Equatable, Sendable {
  public var kind: String
  public var params: [Float]

  public init(kind: String, params: [Float] = []) {
    self.kind = kind
    self.params = params
  }

  /// The activation a standard ONNX node computes, when it is one of the fusable ones with constant
  /// parameters (Clip's min/max inputs must be constants).
  init?(node n: Node, graph g: Graph) {
    if n.domain == SecateurOps.domain && n.opType == "Activation" {
      guard let k = n.attribute("activation")?.stringValue else { return nil }
      self.init(kind: k, params: n.attribute("activation_params")?.floats ?? [])
      return
    }
    guard n.domain.isEmpty || n.domain == "ai.onnx", n.outputs.count == 1 else { return nil }
    switch n.opType {
    case "Relu": self.init(kind: "Relu")
    case "Sigmoid": self.init(kind: "Sigmoid")
    case "Tanh": self.init(kind: "Tanh")
    case "HardSwish": self.init(kind: "HardSwish")
    case "LeakyRelu": self.init(kind: "LeakyRelu", params: [n.attribute("alpha")?.floatValue ?? 0.01])
    case "HardSigmoid":
      self.init(kind: "HardSigmoid", params: [n.attribute("alpha")?.floatValue ?? 0.2, n.attribute("beta")?.floatValue ?? 0.5])
    case "Gelu":
      guard (n.attribute("approximate")?.stringValue ?? "none") == "none" else { return nil }
      self.init(kind: "Gelu")
    case "Clip":
      var lo = -Float.infinity, hi = Float.infinity
      if let a = n.attribute("min")?.floatValue { lo = a }
      if let a = n.attribute("max")?.floatValue { hi = a }
      if n.inputs.count > 1, !n.inputs[1].isEmpty {
        guard let v = g.scalarConstant(n.inputs[1]) else { return nil }
        lo = v
      }
      if n.inputs.count > 2, !n.inputs[2].isEmpty {
        guard let v = g.scalarConstant(n.inputs[2]) else { return nil }
        hi = v
      }
      self.init(kind: "Clip", params: [lo, hi])
    default: return nil
    }
  }

  var attributes: [Attribute] {
    var a = [Attribute(name: "activation", value: .string(Array(kind.utf8)))]
    if !params.isEmpty { a.append(Attribute(name: "activation_params", value: .floats(params))) }
    return a
  }

  /// Reads the activation attributes of a fused node (nil when it has none).
  static func from(fused n: Node) -> ActivationSpec? {
    guard let k = n.attribute("activation")?.stringValue else { return nil }
    return ActivationSpec(kind: k, params: n.attribute("activation_params")?.floats ?? [])
  }
}

extension Graph {
  /// The value of a constant holding exactly one float (any rank), as float.
  func scalarConstant(_ name: String) -> Float? {
    guard let t = constant(name), t.elementCount == 1 else { return nil }
    return t.doubleValues().map { Float($0[0]) }
  }

  /// The node producing `value`, if any.
  func producer(of value: String) -> Node? { nodes.first { $0.outputs.contains(value) } }
}

extension Model {
  /// Imports the Secateur domain once fused nodes are present.
  mutating func importSecateurDomainIfUsed() {
    let used = graph.nodes.contains { $0.domain == SecateurOps.domain }
    let imported = opsetImports.contains { $0.domain == SecateurOps.domain }
    if used && !imported { opsetImports.append(OpsetImport(domain: SecateurOps.domain, version: SecateurOps.version)) }
    if !used && imported { opsetImports.removeAll { $0.domain == SecateurOps.domain } }
  }
}
