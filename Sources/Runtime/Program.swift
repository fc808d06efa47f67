import ModelFormat
import Optimizer

/// A graph compiled for execution: values numbered, constants gathered and folded, one kernel per node.
/// Built once per session; immutable afterwards (shared by concurrent runs).
final class Program: @unchecked Sendable {
  struct Step {
    let kernel: OpKernel
    let inputs: [Int]    // value ids; -1 for an absent optional input
    let outputs: [Int]   // value ids; -1 for an unused optional output
    let label: String
  }

  var valueNames: [String] = []
  var valueIds: [String: Int] = [:]
  /// Values known at session creation: initializers, Constant nodes, and nodes whose inputs are all constant.
  var constants: [Int: Tensor] = [:]
  var steps: [Step] = []
  var inputIds: [Int] = []
  var outputIds: [Int] = []
  let inputInfos: [ValueInfo]
  let outputInfos: [ValueInfo]
  let memoryLimit: Int

  /// False for a program that only plans shapes (see `NodeContext.prepack`).
  let prepack: Bool

  init(model original: Model, memoryLimit: Int, prepack: Bool = true) throws {
    self.prepack = prepack
    // Clamped to 2^48 bytes (256 TiB, beyond any host) so sums of a few checked sizes never overflow.
    self.memoryLimit = min(max(0, memoryLimit), 1 << 48)
    var model = original
    // Local functions run as their bodies (whether or not the optimizer ran).
    if !model.functions.isEmpty { _ = try InlineFunctions().run(on: &model) }
    let g = model.graph
    inputInfos = g.runtimeInputs
    outputInfos = g.outputs
    for t in g.initializers { constants[id(t.name)] = t }
    for i in inputInfos {
      let vid = id(i.name)
      constants[vid] = nil  // a graph input overrides an initializer of the same name
      inputIds.append(vid)
    }
    // Initializers that are also graph inputs are overridable defaults; only pure initializers are constants.
    for n in g.nodes {
      try compile(n, model: model)
    }
    for o in g.outputs {
      guard let vid = valueIds[o.name] else {
        throw SecateurError.invalidModel("graph output '\(o.name)' is never produced")
      }
      outputIds.append(vid)
    }
  }

  private func id(_ name: String) -> Int {
    if let i = valueIds[name] { return i }
    let i = valueNames.count
    valueNames.append(name)
    valueIds[name] = i
    return i
  }

  private func compile(_ n: Node, model: Model) throws {
    let domain = n.domain == "ai.onnx" ? "" : n.domain
    guard let opset = model.opsetVersion(for: domain) else {
      throw SecateurError.invalidModel("\(n.label): no opset imported for domain '\(n.domain)'")
    }
    var inputs: [Int] = []
    for name in n.inputs {
      if name.isEmpty { inputs.append(-1); continue }
      guard let vid = valueIds[name] else {
        throw SecateurError.invalidModel("\(n.label): input '\(name)' is not defined before use")
      }
      inputs.append(vid)
    }
    // Control flow (If/Loop/Scan): the values its subgraphs read from this scope become implicit
    // inputs after the declared ones, so liveness keeps them and the kernel receives them.
    for name in ControlFlow.outerScopeNames(of: n) {
      guard let vid = valueIds[name] else {
        throw SecateurError.invalidModel("\(n.label): subgraph reads '\(name)', which is not defined before the node")
      }
      inputs.append(vid)
    }
    let consts = inputs.map { $0 >= 0 ? constants[$0] : nil }
    let kernel = try OpRegistry.makeKernel(
      NodeContext(node: n, opset: opset, constants: consts, opsetImports: model.opsetImports, prepack: prepack))
    let outputs = n.outputs.map { $0.isEmpty ? -1 : id($0) }

    // Fold now when every present input is constant: Constant nodes, weight transposes, shape arithmetic.
    let present = inputs.filter { $0 >= 0 }
    if kernel.isDeterministic, present.allSatisfy({ constants[$0] != nil }) {
      let inputTensors = inputs.map { $0 >= 0 ? constants[$0] : nil }
      let results = try Executor.evaluate(kernel, inputTensors, label: n.label, pool: nil, memoryLimit: memoryLimit)
      for (k, vid) in outputs.enumerated() where vid >= 0 && k < results.count {
        var t = results[k]
        t.name = n.outputs[k]
        constants[vid] = t
      }
      return
    }
    steps.append(Step(kernel: kernel, inputs: inputs, outputs: outputs, label: n.label))
  }
}
