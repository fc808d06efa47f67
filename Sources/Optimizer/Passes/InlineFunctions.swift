import ModelFormat

/// Replaces calls to model-local functions (`ModelProto.functions`) by their bodies.
///
/// Before:  y = MyFn[alpha=2](x)        with MyFn(a) = Mul(a, Constant[value_float=@alpha])
/// After:   y = Mul(x, Constant[value_float=2])     (internal names prefixed by the call site)
/// Applies when: a node's (domain, op type, overload) names a local function. Attribute references
/// (`ref_attr_name`) take the call's attribute, else the function's default, else are dropped.
/// Nested calls are inlined up to a fixed depth; recursion beyond it is reported as an error.
public struct InlineFunctions: GraphPass {
  public let name = "inline-functions"
  public init() {}

  public func run(on model: inout Model) throws -> PassReport {
    guard !model.functions.isEmpty else { return PassReport(pass: name, changes: 0, summary: "no local functions") }
    var count = 0
    var used = Set(model.graph.nodes.flatMap { $0.outputs + $0.inputs })
    model.graph.nodes = try inline(model.graph.nodes, model.functions, depth: 0, count: &count, used: &used)
    return PassReport(pass: name, changes: count, summary: "\(count) function calls inlined")
  }

  func inline(_ nodes: [Node], _ functions: [Function], depth: Int, count: inout Int, used: inout Set<String>) throws -> [Node] {
    var out: [Node] = []
    for n in nodes {
      guard let f = functions.first(where: { $0.name == n.opType && $0.domain == n.domain && $0.overload == n.overload }) else {
        out.append(n)
        continue
      }
      guard depth < 16 else { throw SecateurError.invalidModel("\(n.label): function calls nest deeper than 16 (recursion?)") }
      count += 1
      let prefix = uniquePrefix(n, &used)
      var rename: [String: String] = [:]
      for (i, name) in f.inputs.enumerated() { rename[name] = i < n.inputs.count ? n.inputs[i] : "" }
      for (i, name) in f.outputs.enumerated() where i < n.outputs.count { rename[name] = n.outputs[i] }
      var body: [Node] = []
      for var inner in f.nodes {
        inner.inputs = inner.inputs.map { $0.isEmpty ? "" : (rename[$0] ?? prefix + $0) }
        inner.outputs = inner.outputs.map { o in
          if o.isEmpty { return "" }
          if let r = rename[o] { return r }
          let fresh = prefix + o
          rename[o] = fresh
          return fresh
        }
        inner.name = prefix + inner.name
        inner.attributes = inner.attributes.compactMap { a in
          guard case .reference(let ref, _) = a.value else { return a }
          if let given = n.attribute(ref) { return Attribute(name: a.name, value: given.value) }
          if let def = f.attributeDefaults.first(where: { $0.name == ref }) { return Attribute(name: a.name, value: def.value) }
          return nil
        }
        body.append(inner)
      }
      out += try inline(body, functions, depth: depth + 1, count: &count, used: &used)
    }
    return out
  }

  func uniquePrefix(_ n: Node, _ used: inout Set<String>) -> String {
    let base = (n.name.isEmpty ? (n.outputs.first ?? n.opType) : n.name) + "/"
    var p = base, k = 1
    while used.contains(p) { p = base + "\(k)/"; k += 1 }
    used.insert(p)
    return p
  }
}
