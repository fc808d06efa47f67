import ModelFormat

/// Evaluates one node on constant inputs. The Runtime implements it with its own kernels, so the
/// Optimizer folds exactly what the Runtime would compute — without depending on the Runtime.
public protocol ConstantEvaluator: Sendable {
  func evaluate(_ node: Node, opset: Int, inputs: [Tensor?]) throws -> [Tensor]
}

/// Replaces every node whose inputs are all constant (and Constant nodes) by initializers — shape
/// arithmetic (Shape→Gather→Unsqueeze→Concat→Reshape) included once input shapes are static, because
/// `Shape` of a statically shaped value is itself constant.
///
/// Applies when: every input is an initializer (not a graph input) or the node is `Shape`/`Size` of a
/// value whose declared or inferred shape is fully static; the op is deterministic (no Random*). Nodes
/// the evaluator cannot run are left alone. Idempotent.
public struct FoldConstants: GraphPass {
  public let name = "fold-constants"
  let evaluator: ConstantEvaluator
  /// Concrete shapes of values, when known (lets Shape/Size fold).
  let shapes: (@Sendable (Model) -> [String: [Int]]?)?
  /// Largest folded output kept (bytes): folding must not bloat the file with, e.g., a huge ConstantOfShape.
  public var maxBytes = 64 << 20

  public init(evaluator: ConstantEvaluator, shapes: (@Sendable (Model) -> [String: [Int]]?)? = nil) {
    self.evaluator = evaluator
    self.shapes = shapes
  }

  static let nondeterministic: Set<String> = ["RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout"]

  public func run(on model: inout Model) throws -> PassReport {
    var g = model.graph
    let known = shapes?(model) ?? [:]
    var folded = 0
    var kept: [Node] = []
    let graphInputs = Set(g.inputs.map(\.name))
    var constants: [String: Tensor] = [:]
    for t in g.initializers where !graphInputs.contains(t.name) { constants[t.name] = t }
    for n in g.nodes {
      let domain = n.domain == "ai.onnx" ? "" : n.domain
      guard domain.isEmpty, !Self.nondeterministic.contains(n.opType), !n.hasSubgraph,
            let opset = model.opsetVersion(for: "") else { kept.append(n); continue }
      var inputs: [Tensor?] = []
      var allConstant = true
      for name in n.inputs {
        if name.isEmpty { inputs.append(nil); continue }
        if let t = constants[name] { inputs.append(t) } else { allConstant = false; break }
      }
      var results: [Tensor]?
      if allConstant {
        results = try? evaluator.evaluate(n, opset: opset, inputs: inputs)
      } else if (n.opType == "Shape" || n.opType == "Size"), let x = n.input(0), let s = known[x] {
        results = try? shapeOnly(n, opset: opset, shape: s)
      }
      guard let results, results.count >= n.outputs.filter({ !$0.isEmpty }).count,
            results.allSatisfy({ $0.byteCount <= maxBytes && $0.dataType != .string }) else {
        kept.append(n)
        continue
      }
      for (k, o) in n.outputs.enumerated() where !o.isEmpty && k < results.count {
        var t = results[k]
        t.name = o
        constants[o] = t
        g.setInitializer(t)
      }
      folded += 1
    }
    g.nodes = kept
    model.graph = g
    return PassReport(pass: name, changes: folded, summary: "\(folded) nodes folded into constants")
  }

  /// Shape/Size of a statically shaped value, honouring Shape's start/end (opset 15).
  func shapeOnly(_ n: Node, opset: Int, shape: [Int]) throws -> [Tensor] {
    if n.opType == "Size" {
      return [try Tensor([Int64(shape.reduce(1, *))], shape: [], dataType: .int64)]
    }
    let r = shape.count
    func clamp(_ v: Int) -> Int { let x = v < 0 ? v + r : v; return min(max(x, 0), r) }
    let start = clamp(n.attribute("start")?.intValue ?? 0), end = clamp(n.attribute("end")?.intValue ?? r)
    let dims = start < end ? Array(shape[start..<end]) : []
    return [try Tensor(dims.map { Int64($0) }, shape: [dims.count], dataType: .int64)]
  }
}

extension Node {
  var hasSubgraph: Bool {
    attributes.contains { if case .graph = $0.value { return true }; if case .graphs = $0.value { return true }; return false }
  }
}
