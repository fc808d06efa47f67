import ModelFormat
import Synchronization

/// ONNX control flow: `If` (1; 11, 13, 16, 19, 21, 23 only widened types), `Loop` (1; 11 made M and
/// cond optional; 13+ types), `Scan` (8 with a batch axis and sequence_lens; 9 per-input axes and
/// directions; 11+ negative axes and types).
///
/// Each branch/body is compiled once at session creation into its own `Program` whose inputs are
/// the graph's declared inputs followed by the outer-scope names it reads. Program.compile passes
/// those outer values to the node as implicit inputs after the declared ones (see
/// `ControlFlow.outerScopeNames`), so liveness keeps them alive; they are bound into the subgraph by
/// reference (no copy per iteration). Shapes depend on the data, so these kernels ask for their
/// inputs' values and the session runs the signature node by node.
enum ControlFlowKernels {
  static let registrations: [OpRegistration] =
    [1, 11, 13, 16, 19, 21, 23, 24, 25].map { v in OpRegistration("If", since: v) { try IfKernel($0) } }
    + [1, 11, 13, 16, 19, 21, 23, 24, 25].map { v in OpRegistration("Loop", since: v) { try LoopKernel($0) } }
    + [8, 9, 11, 16, 19, 21, 23, 24, 25].map { v in OpRegistration("Scan", since: v) { try ScanKernel($0, batched: v == 8) } }
}

enum ControlFlow {
  /// Names `g` reads that it does not define (inputs, initializers, node outputs), in first-use order.
  static func freeNames(_ g: Graph) -> [String] {
    var defined = Set(g.inputs.map(\.name)).union(g.initializers.map(\.name))
    var seen = Set<String>(), out: [String] = []
    func use(_ n: String) {
      if !n.isEmpty, !defined.contains(n), seen.insert(n).inserted { out.append(n) }
    }
    for node in g.nodes {
      node.inputs.forEach(use)
      for sub in subgraphs(of: node) { freeNames(sub).forEach(use) }
      defined.formUnion(node.outputs)
    }
    return out
  }

  static func subgraphs(of node: Node) -> [Graph] {
    node.attributes.flatMap { a -> [Graph] in
      switch a.value {
      case .graph(let g): return [g]
      case .graphs(let gs): return gs
      default: return []
      }
    }
  }

  /// The outer-scope names a node's subgraphs read: passed as implicit inputs after the declared ones.
  static func outerScopeNames(of node: Node) -> [String] {
    var seen = Set<String>(), out: [String] = []
    for g in subgraphs(of: node) { for n in freeNames(g) where seen.insert(n).inserted { out.append(n) } }
    return out
  }
}

/// A branch or loop body compiled once; evaluated node by node with its inputs bound by reference.
final class CompiledSubgraph: @unchecked Sendable {
  let program: Program
  /// Outer-scope names this graph reads, bound after its declared inputs.
  let outer: [String]
  let declared: Int
  let label: String

  init(_ g: Graph, _ ctx: NodeContext) throws {
    outer = ControlFlow.freeNames(g)
    declared = g.inputs.count
    label = ctx.label
    var sg = g
    sg.inputs = g.inputs + outer.map { ValueInfo(name: $0, type: nil) }
    let model = Model(graph: sg, opsetImports: ctx.opsetImports.isEmpty
                        ? [OpsetImport(domain: "", version: ctx.opset)] : ctx.opsetImports)
    program = try Program(model: model, memoryLimit: Int.max / 4)
  }

  /// Runs the graph on its declared inputs; outer names come from `scope`.
  func run(_ inputs: [Tensor], _ scope: [String: Tensor], _ pool: ThreadPool) throws -> [Tensor] {
    var values = [Tensor?](repeating: nil, count: program.valueNames.count)
    for (vid, t) in program.constants { values[vid] = t }
    for (k, vid) in program.inputIds.enumerated() {
      if k < declared {
        guard k < inputs.count else { throw SecateurError.runtime("\(label): subgraph input \(k) missing") }
        values[vid] = inputs[k]
      } else {
        guard let t = scope[outer[k - declared]] else {
          throw SecateurError.runtime("\(label): outer-scope value '\(outer[k - declared])' is not available")
        }
        values[vid] = t
      }
    }
    for step in program.steps {
      let ins = step.inputs.map { $0 >= 0 ? values[$0] : nil }
      let outs = try Executor.evaluate(step.kernel, ins, label: step.label, pool: pool, memoryLimit: program.memoryLimit)
      for (k, vid) in step.outputs.enumerated() where vid >= 0 && k < outs.count { values[vid] = outs[k] }
    }
    return try program.outputIds.map {
      guard let t = values[$0] else { throw SecateurError.runtime("\(label): subgraph output '\(program.valueNames[$0])' was not computed") }
      return t
    }
  }
}

/// Shared by the three kernels: implicit-input binding, and the hand-over of results computed by the
/// shape rule (which must run the subgraph to know the shapes) to `run` for the same input buffers.
class ControlFlowKernel: @unchecked Sendable {
  let label: String
  let declaredInputs: Int
  let outerNames: [String]
  private let results = Mutex<[[UInt]: [Tensor]]>([:])

  init(base ctx: NodeContext) {
    label = ctx.label
    declaredInputs = ctx.node.inputs.count
    outerNames = ControlFlow.outerScopeNames(of: ctx.node)
  }

  /// Computes the outputs from all inputs (declared ones, then the implicit outer-scope ones).
  func compute(_ inputs: [Tensor?], _ scope: [String: Tensor], _ pool: ThreadPool) throws -> [Tensor] { [] }

  private func scope(_ inputs: [Tensor?]) -> [String: Tensor] {
    var s: [String: Tensor] = [:]
    for (k, name) in outerNames.enumerated() where declaredInputs + k < inputs.count {
      if let t = inputs[declaredInputs + k] { s[name] = t }
    }
    return s
  }

  private func key(_ ptrs: [UnsafeMutableRawPointer?]) -> [UInt] { ptrs.map { UInt(bitPattern: $0) } }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    var tensors: [Tensor?] = []
    for (i, s) in inputs.enumerated() {
      guard s != nil else { tensors.append(nil); continue }
      guard let t = values[i] else { throw KernelError.needsValue(input: i) }
      tensors.append(t)
    }
    let out = try compute(tensors, scope(tensors), .serial)
    let k = key(tensors.map { $0?.buffer.baseAddress })
    results.withLock { cache in
      if cache.count > 64 { cache.removeAll() }
      cache[k] = out
    }
    return out.map { TensorSpec($0.dataType, $0.shape) }
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    let k = key(inputs.map { $0?.data })
    var out = results.withLock { $0.removeValue(forKey: k) }
    if out == nil {
      let tensors = try inputs.map { v in try v.map { try Tensor(dataType: $0.dataType, shape: $0.shape, buffer: Buffer(borrowing: $0.data, count: $0.spec.byteCount ?? 0)) } }
      out = try compute(tensors, scope(tensors), context.pool)
    }
    for (o, t) in zip(outputs, out ?? []) where o.spec == TensorSpec(t.dataType, t.shape) {
      if t.byteCount > 0 { o.data.copyMemory(from: t.buffer.baseAddress, byteCount: t.byteCount) }
    }
  }

  var isDeterministic: Bool { true }
}

/// `If`: runs then_branch or else_branch on the boolean `cond`.
final class IfKernel: ControlFlowKernel, OpKernel {
  let thenBranch: CompiledSubgraph, elseBranch: CompiledSubgraph
  init(_ ctx: NodeContext) throws {
    guard let t = ctx.node.attribute("then_branch")?.graph, let e = ctx.node.attribute("else_branch")?.graph else {
      throw ctx.error("then_branch and else_branch are required")
    }
    thenBranch = try CompiledSubgraph(t, ctx)
    elseBranch = try CompiledSubgraph(e, ctx)
    super.init(base: ctx)
  }
  override func compute(_ inputs: [Tensor?], _ scope: [String: Tensor], _ pool: ThreadPool) throws -> [Tensor] {
    guard let c = inputs.first ?? nil, let v = c.intValues()?.first else {
      throw SecateurError.runtime("\(label): cond must be a one-element bool tensor")
    }
    return try (v != 0 ? thenBranch : elseBranch).run([], scope, pool)
  }
}

/// `Loop`: body(iteration, cond, carried…) → (cond, carried…, scan outputs…); scan outputs are stacked.
final class LoopKernel: ControlFlowKernel, OpKernel {
  let body: CompiledSubgraph
  init(_ ctx: NodeContext) throws {
    guard let b = ctx.node.attribute("body")?.graph else { throw ctx.error("attribute body is required") }
    body = try CompiledSubgraph(b, ctx)
    super.init(base: ctx)
  }
  override func compute(_ inputs: [Tensor?], _ scope: [String: Tensor], _ pool: ThreadPool) throws -> [Tensor] {
    let maxTrips = (inputs.count > 0 ? inputs[0] : nil).flatMap { $0.intValues()?.first }
    var cond = (inputs.count > 1 ? inputs[1] : nil).flatMap { $0.intValues()?.first }.map { $0 != 0 } ?? true
    var carried: [Tensor] = []
    for i in 2..<max(2, declaredInputs) {
      guard let t = inputs[i] else { throw SecateurError.runtime("\(label): loop-carried input \(i) is missing") }
      carried.append(t)
    }
    var scans: [[Tensor]] = []
    var i = 0
    while cond && (maxTrips.map { i < $0 } ?? true) {
      let iter = try Tensor([Int64(i)], shape: [], dataType: .int64)
      let c = try Tensor([UInt8(1)], shape: [], dataType: .bool)
      let out = try body.run([iter, c] + carried, scope, pool)
      guard out.count >= 1 + carried.count else {
        throw SecateurError.invalidModel("\(label): body returns \(out.count) outputs, expected at least \(1 + carried.count)")
      }
      cond = (out[0].intValues()?.first ?? 0) != 0
      carried = Array(out[1...carried.count])
      let extra = Array(out[(1 + carried.count)...])
      if scans.isEmpty { scans = extra.map { [$0] } } else { for (k, t) in extra.enumerated() where k < scans.count { scans[k].append(t) } }
      i += 1
    }
    let scanCount = body.program.outputIds.count - 1 - carried.count
    var stacked: [Tensor] = []
    for k in 0..<max(0, scanCount) {
      stacked.append(k < scans.count ? try stackTensors(scans[k], axis: 0, label) : try Tensor(zeros: .float, shape: [0]))
    }
    return carried + stacked
  }
}

/// `Scan`: iterates the body over slices of the scan inputs, carrying state; scan outputs are stacked.
final class ScanKernel: ControlFlowKernel, OpKernel {
  let body: CompiledSubgraph
  let batched: Bool
  let numScanInputs: Int
  let inputAxes: [Int]?, inputDirections: [Int]?, outputAxes: [Int]?, outputDirections: [Int]?
  init(_ ctx: NodeContext, batched: Bool) throws {
    guard let b = ctx.node.attribute("body")?.graph else { throw ctx.error("attribute body is required") }
    body = try CompiledSubgraph(b, ctx)
    self.batched = batched
    numScanInputs = try ctx.int("num_scan_inputs", 0)
    inputAxes = try ctx.ints("scan_input_axes")
    inputDirections = try ctx.ints(batched ? "directions" : "scan_input_directions")
    outputAxes = try ctx.ints("scan_output_axes")
    outputDirections = try ctx.ints("scan_output_directions")
    super.init(base: ctx)
  }

  override func compute(_ inputs: [Tensor?], _ scope: [String: Tensor], _ pool: ThreadPool) throws -> [Tensor] {
    var declared = Array(inputs.prefix(declaredInputs))
    if batched { declared.removeFirst() }  // opset 8: sequence_lens (full lengths assumed)
    let values = try declared.map { t -> Tensor in
      guard let t else { throw SecateurError.runtime("\(label): missing input") }
      return t
    }
    let n = values.count - numScanInputs
    guard n >= 0 else { throw SecateurError.invalidModel("\(label): num_scan_inputs exceeds the inputs") }
    if !batched { return try scan(Array(values[..<n]), Array(values[n...]), scope, pool) }
    // Opset 8: axis 0 is a batch; run each batch entry separately and restack.
    let batch = values.first?.shape.first ?? 0
    var perBatch: [[Tensor]] = []
    for b in 0..<batch {
      let sliced = try values.map { try sliceAxis($0, axis: 0, index: b, label) }
      perBatch.append(try scan(Array(sliced[..<n]), Array(sliced[n...]), scope, pool))
    }
    let outs = perBatch.first?.count ?? 0
    return try (0..<outs).map { k in try stackTensors(perBatch.map { $0[k] }, axis: 0, label) }
  }

  private func scan(_ initial: [Tensor], _ scanInputs: [Tensor], _ scope: [String: Tensor], _ pool: ThreadPool) throws -> [Tensor] {
    var states = initial
    let axes = try scanInputs.enumerated().map { k, t in
      try normalizeAxis(inputAxes.map { k < $0.count ? $0[k] : 0 } ?? 0, rank: t.shape.count, label)
    }
    guard let first = scanInputs.first else { throw SecateurError.invalidModel("\(label): no scan inputs") }
    let length = first.shape[axes[0]]
    for (k, t) in scanInputs.enumerated() where t.shape[axes[k]] != length {
      throw SecateurError.invalidModel("\(label): scan inputs have different lengths along their axes")
    }
    var scans: [[Tensor]] = []
    for step in 0..<length {
      var slices: [Tensor] = []
      for (k, t) in scanInputs.enumerated() {
        let reverse = (inputDirections.map { k < $0.count ? $0[k] : 0 } ?? 0) == 1
        slices.append(try sliceAxis(t, axis: axes[k], index: reverse ? length - 1 - step : step, label))
      }
      let out = try body.run(states + slices, scope, pool)
      states = Array(out[..<states.count])
      let extra = Array(out[states.count...])
      if scans.isEmpty { scans = extra.map { [$0] } } else { for (k, t) in extra.enumerated() where k < scans.count { scans[k].append(t) } }
    }
    var results = states
    for (k, list) in scans.enumerated() {
      let reverse = (outputDirections.map { k < $0.count ? $0[k] : 0 } ?? 0) == 1
      let rank = (list.first?.shape.count ?? 0) + 1
      let axis = try normalizeAxis(outputAxes.map { k < $0.count ? $0[k] : 0 } ?? 0, rank: rank, label)
      results.append(try stackTensors(reverse ? list.reversed() : list, axis: axis, label))
    }
    return results
  }
}

/// The slice of `t` at `index` along `axis`, with that axis removed (a copy).
func sliceAxis(_ t: Tensor, axis: Int, index: Int, _ label: String) throws -> Tensor {
  let es = t.dataType.byteSize
  guard es > 0, axis < t.shape.count, index >= 0, index < t.shape[axis] else {
    throw SecateurError.runtime("\(label): cannot slice \(t.dataType)\(t.shape) at \(index) along axis \(axis)")
  }
  var shape = t.shape
  shape.remove(at: axis)
  var out = try Tensor(zeros: t.dataType, shape: shape)
  let outer = t.shape[..<axis].reduce(1, *), inner = t.shape[(axis + 1)...].reduce(1, *) * es
  let n = t.shape[axis]
  for o in 0..<outer where inner > 0 {
    out.buffer.baseAddress.advanced(by: o * inner)
      .copyMemory(from: t.buffer.baseAddress.advanced(by: (o * n + index) * inner), byteCount: inner)
  }
  out.name = ""
  return out
}

/// Stacks same-shaped tensors along a new `axis`.
func stackTensors(_ list: [Tensor], axis: Int, _ label: String) throws -> Tensor {
  guard let f = list.first else { throw SecateurError.runtime("\(label): nothing to stack") }
  let es = f.dataType.byteSize
  guard es > 0, axis <= f.shape.count, list.allSatisfy({ $0.shape == f.shape && $0.dataType == f.dataType }) else {
    throw SecateurError.runtime("\(label): iterations produced tensors of different shapes or types")
  }
  var shape = f.shape
  shape.insert(list.count, at: axis)
  let out = try Tensor(zeros: f.dataType, shape: shape)
  let outer = f.shape[..<axis].reduce(1, *), inner = f.shape[axis...].reduce(1, *) * es
  for (k, t) in list.enumerated() where inner > 0 {
    for o in 0..<outer {
      out.buffer.baseAddress.advanced(by: (o * list.count + k) * inner)
        .copyMemory(from: t.buffer.baseAddress.advanced(by: o * inner), byteCount: inner)
    }
  }
  return out
}
