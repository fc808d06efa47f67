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

  /// `original` is consumed: when the caller keeps no copy, `constants` is the only owner of the weights,
  /// and a weight a kernel has packed (`OpKernel.releasableInputs`) is freed as soon as no node left to
  /// compile reads it, so creation never holds every weight twice.
  init(model original: consuming Model, memoryLimit: Int, prepack: Bool = true) throws {
    self.prepack = prepack
    // Clamped to 2^48 bytes (256 TiB, beyond any host) so sums of a few checked sizes never overflow.
    self.memoryLimit = min(max(0, memoryLimit), 1 << 48)
    var model = consume original
    // Local functions run as their bodies (whether or not the optimizer ran).
    if !model.functions.isEmpty { _ = try InlineFunctions().run(on: &model) }
    // The weights move into `constants`; the model keeps the structure only.
    var initializers = model.graph.initializers
    model.graph.initializers = []
    let g = model.graph
    inputInfos = g.runtimeInputs
    outputInfos = g.outputs
    for t in initializers { constants[id(t.name)] = t }
    initializers = []
    for i in inputInfos {
      let vid = id(i.name)
      constants[vid] = nil  // a graph input overrides an initializer of the same name
      inputIds.append(vid)
    }
    // Initializers that are also graph inputs are overridable defaults; only pure initializers are constants.
    var release = prepack ? ConstantRelease(g) : nil
    for n in g.nodes {
      try compile(n, model: model, release: &release)
    }
    for o in g.outputs {
      guard let vid = valueIds[o.name] else {
        throw SecateurError.invalidModel("graph output '\(o.name)' is never produced")
      }
      outputIds.append(vid)
    }
    // What a step still reads may be a view into the model file; copy it out when that lets the file's
    // buffer go (most of it was packed and dropped above).
    if prepack { Tensor.detachSparseViews(&constants.values) }
  }

  private func id(_ name: String) -> Int {
    if let i = valueIds[name] { return i }
    let i = valueNames.count
    valueNames.append(name)
    valueIds[name] = i
    return i
  }

  private func compile(_ n: Node, model: Model, release: inout ConstantRelease?) throws {
    try compileNode(n, model: model, release: &release)
    // The node's reads are done: drop the constants nothing needs any more. (Mutated through the
    // optional, in place: a copy would copy its tables once per node.)
    for name in release?.finished(n) ?? [] {
      if let vid = valueIds[name], release?.readAtRun.contains(vid) == false { constants[vid] = nil }
    }
  }

  private func compileNode(_ n: Node, model: Model, release: inout ConstantRelease?) throws {
    var inputs: [Int] = []
    let domain = n.domain == "ai.onnx" ? "" : n.domain
    guard let opset = model.opsetVersion(for: domain) else {
      throw SecateurError.invalidModel("\(n.label): no opset imported for domain '\(n.domain)'")
    }
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
    var stepInputs = inputs
    if release != nil {
      for k in kernel.releasableInputs where k < n.inputs.count && stepInputs[k] >= 0 && constants[stepInputs[k]] != nil {
        stepInputs[k] = -1
      }
      release?.stepReads(stepInputs)
    }
    steps.append(Step(kernel: kernel, inputs: stepInputs, outputs: outputs, label: n.label))
  }
}

/// Which constants a session's program may drop while compiling: a value is dropped once every node
/// that reads it has been compiled, no step reads it at run time (its kernels packed it, or it was only
/// folded), and it is not a graph output.
struct ConstantRelease {
  /// Reads of each value name by nodes not yet compiled, plus one per graph output naming it.
  private var pending: [String: Int] = [:]
  /// Value ids some step reads at run time.
  private(set) var readAtRun = Set<Int>()

  init(_ g: Graph) {
    for n in g.nodes {
      for name in Self.reads(n) { pending[name, default: 0] += 1 }
    }
    for o in g.outputs { pending[o.name, default: 0] += 1 }
  }

  /// Every name a node reads: its inputs and what its subgraphs read from the enclosing scope.
  private static func reads(_ n: Node) -> [String] {
    n.inputs.filter { !$0.isEmpty } + ControlFlow.outerScopeNames(of: n)
  }

  mutating func stepReads(_ vids: [Int]) {
    for vid in vids where vid >= 0 { readAtRun.insert(vid) }
  }

  /// Records that `n` is compiled; returns the names it was the last node to read.
  mutating func finished(_ n: Node) -> [String] {
    var last: [String] = []
    for name in Self.reads(n) {
      guard let left = pending[name] else { continue }
      pending[name] = left - 1
      if left == 1 { last.append(name) }
    }
    return last
  }
}
