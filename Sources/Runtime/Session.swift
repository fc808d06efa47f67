import ModelFormat
import Optimizer

/// Options for creating a session.
public struct SessionOptions: Sendable {
  /// Threads used inside one run (the caller counts as one). 0 = one per available core.
  public var threads = 0
  /// Run the optimizer's default pipeline on the model first (off for debugging).
  public var optimize = true
  /// Cap on memory a run may plan (arena + outputs + folded constants), in bytes.
  public var memoryLimit = 8 << 30
  /// Input-shape signatures whose plans (and arenas) are kept; the least recently used is dropped beyond
  /// this, so a long-running host fed ever-new shapes stays flat.
  public var planCacheCapacity = 32
  /// Time every node of every run (read with `Session.stepTimings()`); off by default: it costs two clock
  /// reads per node.
  public var profile = false
  public init(threads: Int = 0, optimize: Bool = true) {
    self.threads = threads
    self.optimize = optimize
  }
}

/// A model loaded, validated, optimized and compiled once, then run many times.
///
/// `run` may be called from several threads at once: kernels are immutable, plans are cached under a
/// lock, and each concurrent run borrows its own arena.
public final class Session: @unchecked Sendable {
  /// The optimized graph the session runs, without its initializers: the compiled program owns the
  /// weights, most of them only in packed form (keeping them here too held ResNet-50's twice).
  public let model: Model
  public let options: SessionOptions
  /// Inputs the caller must feed, and the outputs a run returns, as declared by the model.
  public var inputs: [ValueInfo] { program.inputInfos }
  public var outputs: [ValueInfo] { program.outputInfos }
  /// What the optimizer did at creation.
  public let optimizationReport: [PassReport]

  let program: Program
  let pool: ThreadPool
  let profiler: StepProfiler?
  private let plans = Locked(PlanCache())

  /// Plans by input signature, least recently used first in `order`.
  struct PlanCache {
    var plans: [[TensorSpec]: Plan] = [:]
    var order: [[TensorSpec]] = []
    mutating func get(_ key: [TensorSpec]) -> Plan? {
      guard let p = plans[key] else { return nil }
      if order.last != key, let i = order.firstIndex(of: key) { order.remove(at: i); order.append(key) }
      return p
    }
    mutating func put(_ key: [TensorSpec], _ plan: Plan, capacity: Int) {
      if plans.updateValue(plan, forKey: key) == nil { order.append(key) }
      while order.count > max(1, capacity) { plans[order.removeFirst()] = nil }
    }
  }

  /// Plans currently cached (for tests and the soak check).
  public var cachedPlanCount: Int { plans.withLock { $0.plans.count } }

  /// `model` is consumed: a caller that keeps no copy (like `init(path:)`) lets the weights of the
  /// original go as soon as the optimizer has replaced them, and each packed weight go once packed.
  public init(model: consuming Model, options: SessionOptions = SessionOptions()) throws {
    var m = consume model
    if options.optimize {
      optimizationReport = try PassManager.runtime(memoryLimit: min(options.memoryLimit, 1 << 30)).run(on: &m)
    } else {
      optimizationReport = []
    }
    // Weights the optimizer left untouched are views into the model file; when they are few, copying
    // them lets the file's buffer go before the weights are packed (lower peak).
    Tensor.detachSparseViews(&m.graph.initializers)
    var structure = m
    structure.graph.initializers = []
    self.options = options
    if !Session.upgradable(m) {
      self.program = try Program(model: consume m, memoryLimit: options.memoryLimit)
    } else {
      // The retry below needs the weights, so here the program cannot be their only owner: they stay
      // until it is built, then go with `m`.
      do {
        self.program = try Program(model: m, memoryLimit: options.memoryLimit)
      } catch let e as SecateurError where e.code == .unsupported {
        // An op implemented only for newer opsets: let libonnx's version converter upgrade the model
        // (it handles opsets ≤ 17) and try once more; report the original error if that fails too.
        guard let upgraded = Session.upgraded(m), let p = try? Program(model: upgraded, memoryLimit: options.memoryLimit) else {
          throw e
        }
        structure = upgraded
        structure.graph.initializers = []
        self.program = p
      }
    }
    self.model = structure
    self.pool = ThreadPool(threadCount: options.threads > 0 ? options.threads : Session.availableCores())
    self.profiler = options.profile ? StepProfiler() : nil
  }

  /// Per-node time summed over the runs so far, in execution order (empty unless `options.profile`).
  /// `reset` clears the table after reading (so warm-up runs can be dropped).
  public func stepTimings(reset: Bool = false) -> [StepTiming] {
    guard let profiler else { return [] }
    defer { if reset { profiler.reset() } }
    return profiler.timings()
  }

  public convenience init(path: String, options: SessionOptions = SessionOptions()) throws {
    try self.init(model: try ModelLoader.load(path: path), options: options)
  }

  /// True when `upgraded` may convert the model (an ai.onnx opset older than libonnx's newest).
  static func upgradable(_ m: Model) -> Bool {
    guard let v = m.opsetVersion(for: "") else { return false }
    return v < ONNXChecker.maxOpset
  }

  /// The model converted to opset 13 (or 17), when it is older and libonnx can convert it.
  static func upgraded(_ m: Model) -> Model? {
    guard upgradable(m), let v = m.opsetVersion(for: "") else { return nil }
    for target in [13, ONNXChecker.maxOpset] where target > v {
      if let c = try? ONNXChecker.convert(m, toOpset: target) { return c }
    }
    return nil
  }

  static func availableCores() -> Int {
    return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
  }

  /// Runs the model. `feeds` maps every input name to a tensor; returns the requested outputs (all when nil)
  /// in the order asked.
  public func run(_ feeds: [String: Tensor], outputNames: [String]? = nil) throws -> [Tensor] {
    let inputTensors = try orderedInputs(feeds)
    let wanted = try outputIndices(outputNames)
    let all = try runAll(inputTensors)
    return wanted.map { all[$0] }
  }

  /// The fed tensors in declaration order, after checking each against its declared input.
  func orderedInputs(_ feeds: [String: Tensor]) throws -> [Tensor] {
    for name in feeds.keys where !program.inputInfos.contains(where: { $0.name == name }) {
      throw SecateurError.invalidArgument(
        "'\(name)' is not an input of this model (inputs: \(program.inputInfos.map(\.name).joined(separator: ", ")))")
    }
    var inputTensors: [Tensor] = []
    for info in program.inputInfos {
      guard let t = feeds[info.name] else {
        throw SecateurError.invalidArgument("input '\(info.name)' was not given (expected \(info.type.map(\.description) ?? "?"))")
      }
      try Session.check(t, against: info)
      inputTensors.append(t)
    }
    return inputTensors
  }

  /// Indices into `outputs` of the named outputs (all, in declaration order, when nil).
  func outputIndices(_ names: [String]?) throws -> [Int] {
    var wanted: [Int] = []
    for name in names ?? program.outputInfos.map(\.name) {
      guard let k = program.outputInfos.firstIndex(where: { $0.name == name }) else {
        throw SecateurError.invalidArgument(
          "'\(name)' is not an output of this model (outputs: \(program.outputInfos.map(\.name).joined(separator: ", ")))")
      }
      wanted.append(k)
    }
    return wanted
  }

  /// The plan for these input shapes (built on first use, then cached).
  func plan(for specs: [TensorSpec]) throws -> Plan {
    if let p = plans.withLock({ $0.get(specs) }) { return p }
    let p = try Plan(program: program, inputSpecs: specs, threads: pool.threadCount)
    let capacity = options.planCacheCapacity
    plans.withLock { $0.put(specs, p, capacity: capacity) }
    return p
  }

  func runAll(_ inputs: [Tensor]) throws -> [Tensor] {
    let specs = inputs.map { TensorSpec($0.dataType, $0.shape) }
    let plan = try plan(for: specs)
    if plan.dynamic { return try runNodeByNode(inputs) }
    return try runPlanned(plan, inputs)
  }

  /// Runs a static plan. `destinations[k]`, when given, is where output `k` is written instead of a new
  /// buffer (the caller has checked its size; `Tensor.init` checks it again).
  func runPlanned(_ plan: Plan, _ inputs: [Tensor], into destinations: [Int: Buffer] = [:]) throws -> [Tensor] {
    var outputs: [Tensor] = []
    for (k, vid) in program.outputIds.enumerated() {
      switch plan.locations[vid] {
      case .constant(let t): outputs.append(t)
      case .input(let i): outputs.append(inputs[i])
      default:
        guard let s = plan.specs[vid] else { throw SecateurError.runtime("output '\(program.valueNames[vid])' has no shape") }
        if let b = destinations[k] {
          outputs.append(try Tensor(dataType: s.dataType, shape: s.shape, buffer: b))
        } else {
          outputs.append(try Tensor(zeros: s.dataType, shape: s.shape))
        }
      }
    }
    let arena = try plan.takeArena()
    defer { plan.returnArena(arena) }
    // Several threads: the plan's layout for where they sit (Plan.assignArena says why).
    let locations = pool.threadsLookApart ? plan.locations : plan.sameDieLocations ?? plan.locations
    func pointer(_ vid: Int) -> UnsafeMutableRawPointer? {
      switch locations[vid] {
      case .constant(let t): return t.buffer.baseAddress
      case .input(let k): return inputs[k].buffer.baseAddress
      case .arena(let offset): return arena.baseAddress + offset
      case .output(let k): return outputs[k].buffer.baseAddress
      case .absent: return nil
      }
    }
    let context = RunContext(pool: pool, workspace: arena.baseAddress + plan.workspaceOffset)
    // One pair of view arrays for every step, emptied in between (kernels do not keep them): two
    // allocations per step were a measurable part of a small model's run.
    var ins: [TensorView?] = [], outs: [TensorView] = []
    for step in plan.steps {
      ins.removeAll(keepingCapacity: true)
      for (k, vid) in step.inputs.enumerated() {
        if vid >= 0, let spec = step.inputSpecs[k], let p = pointer(vid) {
          ins.append(TensorView(spec: spec, data: p))
        } else {
          ins.append(nil)
        }
      }
      outs.removeAll(keepingCapacity: true)
      var omitted = plan.omittedOutputOffset
      for (k, spec) in step.outputSpecs.enumerated() {
        let vid = k < step.outputs.count ? step.outputs[k] : -1
        if vid >= 0, let p = pointer(vid) {
          outs.append(TensorView(spec: spec, data: p))
        } else {
          // An output the graph omits still gets its own space (planned per step), never shared memory.
          outs.append(TensorView(spec: spec, data: arena.baseAddress + omitted))
          omitted += ((spec.byteCount ?? 0) + 63) & ~63
        }
      }
      // A step whose every output is empty has nothing to write; skipping it keeps kernels from looping
      // over degenerate shapes like [0, 2^40, 2^40] whose other dims are unchecked.
      if outs.allSatisfy({ $0.count == 0 }) { continue }
      if let profiler {
        let t0 = StepProfiler.now()
        try step.kernel.run(ins, outs, context)
        profiler.record(step.label, seconds: StepProfiler.now() - t0)
      } else {
        try step.kernel.run(ins, outs, context)
      }
    }
    return withExtendedLifetime(inputs) { outputs }
  }

  /// Data-dependent shapes: evaluate each node on heap tensors with every input value known.
  func runNodeByNode(_ inputs: [Tensor]) throws -> [Tensor] {
    var values = [Tensor?](repeating: nil, count: program.valueNames.count)
    for (vid, t) in program.constants { values[vid] = t }
    for (k, vid) in program.inputIds.enumerated() { values[vid] = inputs[k] }
    var used = 0
    for step in program.steps {
      let ins = step.inputs.map { $0 >= 0 ? values[$0] : nil }
      let outs = try Executor.evaluate(step.kernel, ins, label: step.label, pool: pool,
                                       memoryLimit: program.memoryLimit - used)
      for (k, vid) in step.outputs.enumerated() where vid >= 0 && k < outs.count {
        values[vid] = outs[k]
        used += outs[k].byteCount
      }
    }
    return try program.outputIds.map {
      guard let t = values[$0] else { throw SecateurError.runtime("output '\(program.valueNames[$0])' was not computed") }
      return t
    }
  }

  /// Checks a fed tensor against the declared input: element type, rank, and fixed dims.
  static func check(_ t: Tensor, against info: ValueInfo) throws {
    guard case .tensor(let dtype, let shape)? = info.type else { return }
    guard t.dataType == dtype else {
      throw SecateurError.invalidArgument("input '\(info.name)': got \(t.dataType), the model expects \(dtype)")
    }
    guard let shape else { return }
    guard shape.count == t.shape.count else {
      throw SecateurError.invalidArgument(
        "input '\(info.name)': got shape \(t.shape), the model expects rank \(shape.count) \(shape.map(\.description))")
    }
    for (d, got) in zip(shape, t.shape) {
      if case .value(let want) = d, want != got {
        throw SecateurError.invalidArgument(
          "input '\(info.name)': got shape \(t.shape), the model expects \(shape.map(\.description))")
      }
    }
    if t.dataType != .string {
      guard t.buffer.count >= t.byteCount else {
        throw SecateurError.invalidArgument("input '\(info.name)': buffer smaller than its shape \(t.shape)")
      }
    }
  }
}

#if canImport(Glibc)
import Glibc
#endif

/// What the planner decided for one set of input shapes (for tests, `inspect` and tuning).
public struct PlanSummary: Sendable {
  /// Bytes of the one arena a run uses for every intermediate (after liveness-based reuse) plus scratch.
  public var arenaBytes: Int
  /// Bytes all intermediates would need without reuse.
  public var intermediateBytes: Int
  /// Kernel invocations per run (nodes folded at plan time excluded).
  public var steps: Int
  /// True when shapes depend on data and the signature runs node by node.
  public var dynamic: Bool
}

extension Session {
  public func planSummary(inputShapes: [[Int]]) throws -> PlanSummary {
    guard inputShapes.count == program.inputInfos.count else {
      throw SecateurError.invalidArgument("expected \(program.inputInfos.count) input shapes, got \(inputShapes.count)")
    }
    let specs = zip(program.inputInfos, inputShapes).map { info, shape in
      TensorSpec(info.type?.tensorElementType ?? .float, shape)
    }
    let p = try plan(for: specs)
    var intermediate = 0
    for (vid, loc) in p.locations.enumerated() {
      if case .arena = loc, let b = p.specs[vid]?.byteCount { intermediate += b }
    }
    return PlanSummary(arenaBytes: p.arenaBytes, intermediateBytes: intermediate, steps: p.steps.count, dynamic: p.dynamic)
  }
}
