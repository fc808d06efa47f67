import ModelFormat

/// Everything decided once per input-shape signature: every value's shape, which values are known
/// before running (folded), and where each intermediate lives in one arena (liveness-based reuse).
///
/// When a shape depends on data (e.g. `NonZero`, or a `Reshape` whose target is computed from input
/// values), the plan is `dynamic` and the session executes that signature node by node instead.
final class Plan: @unchecked Sendable {
  enum Location {
    case constant(Tensor)
    case input(Int)
    case arena(offset: Int)
    case output(Int)
    case absent
  }

  struct Step {
    let kernel: OpKernel
    let inputs: [Int]
    let outputs: [Int]
    let inputSpecs: [TensorSpec?]
    let outputSpecs: [TensorSpec]
    let workspace: Int
    let label: String
  }

  private(set) var specs: [TensorSpec?]
  private(set) var locations: [Location]
  /// A several-thread plan's second layout, for runs while the pool's threads share a die: the values
  /// placed by recency, inside the same arena (`assignArena` says why; nil when there is one layout).
  private(set) var sameDieLocations: [Location]?
  private(set) var steps: [Step] = []
  private(set) var arenaBytes = 0
  private(set) var workspaceOffset = 0
  /// Where outputs a node computes but the graph omits (optional outputs named "") are written: a
  /// region of the arena private to the step running at the time.
  private(set) var omittedOutputOffset = 0
  private(set) var dynamic = false
  private let arenas = Locked<[Buffer]>([])

  /// Up to this many bytes of intermediates, a several-thread plan also has a layout giving every value
  /// bytes of its own, for runs while the threads sit on different dies (`assignArena`).
  static let unsharedArenaLimit = 64 << 20

  /// `threads`: the session's pool size, which picks the arena layout (`assignArena`) and sizes the
  /// scratch of kernels whose threads each need their own.
  init(program: Program, inputSpecs: [TensorSpec], threads: Int = 1) throws {
    let n = program.valueNames.count
    specs = Array(repeating: nil, count: n)
    locations = Array(repeating: .absent, count: n)
    var known: [Int: Tensor] = program.constants
    for (vid, t) in program.constants {
      specs[vid] = TensorSpec(t.dataType, t.shape)
      locations[vid] = .constant(t)
    }
    for (k, vid) in program.inputIds.enumerated() {
      specs[vid] = inputSpecs[k]
      locations[vid] = .input(k)
    }
    var maxWorkspace = 0
    var maxOmitted = 0
    // Bytes of values folded at plan time; they count against the memory limit with the arena and outputs.
    var foldedBytes = 0
    for s in program.steps {
      let inSpecs = s.inputs.map { $0 >= 0 ? specs[$0] : nil }
      let inValues = s.inputs.map { $0 >= 0 ? known[$0] : nil }
      // Shape/Size: the output is known from specs alone.
      if let values = try s.kernel.valuesFromSpecs(inSpecs) {
        record(values, s.outputs, &known)
        continue
      }
      let present = s.inputs.filter { $0 >= 0 }
      if s.kernel.isDeterministic, !present.isEmpty, present.allSatisfy({ known[$0] != nil }) {
        let values = try Executor.evaluate(s.kernel, inValues, label: s.label, pool: nil,
                                           memoryLimit: program.memoryLimit - foldedBytes)
        foldedBytes += values.reduce(0) { $0 + $1.byteCount }
        record(values, s.outputs, &known)
        continue
      }
      let outSpecs: [TensorSpec]
      do {
        outSpecs = try s.kernel.outputSpecs(inSpecs, InputValues(inValues))
      } catch KernelError.needsValue {
        dynamic = true
        return
      }
      try Executor.rejectStrings(inSpecs + outSpecs.map { $0 }, label: s.label)
      for (k, vid) in s.outputs.enumerated() where vid >= 0 && k < outSpecs.count {
        specs[vid] = outSpecs[k]
      }
      // Every output fits the limit before a kernel sizes its scratch from them (fuzz finding: Resize's
      // scratch size overflowed on a huge output shape).
      for spec in outSpecs {
        guard let b = spec.byteCount, b <= program.memoryLimit else {
          throw SecateurError(.outOfMemory,
            "\(s.label): output \(spec) needs \(spec.byteCount.map(String.init) ?? "more than Int.max") bytes, over the session limit of \(program.memoryLimit)")
        }
      }
      let ws = s.kernel.workspaceBytes(inSpecs, outSpecs, threads: threads)
      guard ws >= 0, ws <= program.memoryLimit else {
        throw SecateurError(.outOfMemory, "\(s.label): scratch of \(ws) bytes is over the session limit of \(program.memoryLimit)")
      }
      maxWorkspace = max(maxWorkspace, ws)
      var omitted = 0
      for (k, spec) in outSpecs.enumerated() where k >= s.outputs.count || s.outputs[k] < 0 {
        guard let b = spec.byteCount, b <= program.memoryLimit - omitted else {
          throw SecateurError(.outOfMemory, "\(s.label): omitted output \(spec) is over the session limit of \(program.memoryLimit)")
        }
        omitted += (b + 63) & ~63
      }
      maxOmitted = max(maxOmitted, omitted)
      steps.append(Step(kernel: s.kernel, inputs: s.inputs, outputs: s.outputs, inputSpecs: inSpecs,
                        outputSpecs: outSpecs, workspace: ws, label: s.label))
    }
    // Outputs get their own buffers each run: their bytes are checked here, before any run allocates them
    // (fuzz finding: a model whose output shape was huge passed the arena check and allocated at run time).
    var outputBytes = 0
    for (k, vid) in program.outputIds.enumerated() {
      if case .constant = locations[vid] { continue }
      if case .input = locations[vid] { continue }
      locations[vid] = .output(k)
      guard let spec = specs[vid], let b = spec.byteCount, b <= program.memoryLimit - outputBytes else {
        throw SecateurError(.outOfMemory,
          "output '\(program.valueNames[vid])' of shape \(specs[vid]?.shape.description ?? "?") needs more memory than is left, over the session limit of \(program.memoryLimit)")
      }
      outputBytes += b
    }
    try assignArena(program: program, workspace: maxWorkspace, omitted: maxOmitted, fixed: outputBytes + foldedBytes,
                    threads: threads)
  }

  private func record(_ values: [Tensor], _ outputs: [Int], _ known: inout [Int: Tensor]) {
    for (k, vid) in outputs.enumerated() where vid >= 0 && k < values.count {
      known[vid] = values[k]
      specs[vid] = TensorSpec(values[k].dataType, values[k].shape)
      locations[vid] = .constant(values[k])
    }
  }

  /// Arena offsets for the intermediates over their live ranges (ArenaLayout): the recency layout at one
  /// thread; at several, also bytes of their own, for runs while the threads sit on two dies (below).
  /// Graph outputs get their own buffers (they outlive the run).
  private func assignArena(program: Program, workspace: Int, omitted: Int, fixed: Int, threads: Int) throws {
    var first: [Int: Int] = [:], last: [Int: Int] = [:]
    for (i, s) in steps.enumerated() {
      for v in s.outputs where v >= 0 { if first[v] == nil { first[v] = i }; last[v] = i }
      for v in s.inputs where v >= 0 { last[v] = i }
    }
    struct Item { let vid: Int; let size: Int; let lo: Int; let hi: Int }
    var items: [Item] = []
    for (vid, lo) in first {
      guard case .absent = locations[vid], let spec = specs[vid] else { continue }
      // Each size is checked before any sum, so the offset arithmetic below cannot overflow.
      guard let b = spec.byteCount, b <= program.memoryLimit else {
        throw SecateurError(.outOfMemory,
          "value '\(program.valueNames[vid])' of shape \(spec.shape) is over the session limit of \(program.memoryLimit)")
      }
      items.append(Item(vid: vid, size: (b + 63) & ~63, lo: lo, hi: last[vid] ?? lo))
    }
    items.sort { $0.vid < $1.vid }  // `first` is a dictionary: a fixed order keeps the layout deterministic
    let layoutItems = items.map { ArenaLayout.Item(size: $0.size, lo: $0.lo, hi: $0.hi) }
    // With several threads, a plan has two layouts (up to `unsharedArenaLimit` of intermediates), and
    // each run takes the one for where the pool's threads sit (`ThreadPool.threadsLookApart`):
    // - threads on two dies (AMD CCDs: this VM's two vCPUs are on one CCD at times and on two at
    //   others): each value gets bytes of its own. Reused bytes were just read or written by the other
    //   thread, and every line written then costs an invalidation across the dies. Cross-die phases
    //   (lines another core wrote read at 23–25 GB/s against 65–72), `secateur bench` at 2 threads:
    //   MobileNetV1 8.4–9.8 → 7.3–7.9 ms, MobileNetV2 7.1–8.7 → 5.2–6.5.
    // - threads on one die: reuse by recency, as at one thread. Own bytes there make the arena the
    //   intermediates' whole size (MobileNetV1 19 MB, against 4.6), which with the weights no longer
    //   fits the shared L3: with onnxruntime interleaved as in `make bench`, MobileNetV1 at 2 threads
    //   ÷ onnxruntime 1.05–1.09 with own bytes, 1.02–1.04 by recency.
    let unsharedTotal = layoutItems.reduce(0) { $0 + $1.size }
    let twoLayouts = threads > 1 && unsharedTotal <= min(Plan.unsharedArenaLimit, program.memoryLimit - fixed)
    let layout = twoLayouts ? ArenaLayout.unshared(layoutItems) : ArenaLayout.byRecency(layoutItems)
    guard layout.total <= program.memoryLimit - fixed else {
      throw SecateurError(.outOfMemory,
        "the model needs over \(layout.total) bytes of intermediate memory for these input shapes, over the session limit of \(program.memoryLimit)")
    }
    if twoLayouts, case let recency = ArenaLayout.byRecency(layoutItems), recency.total <= layout.total {
      // Within the unshared layout's bytes (the intermediates' whole size): one arena serves both.
      var same = locations
      for (k, it) in items.enumerated() { same[it.vid] = .arena(offset: recency.offsets[k]) }
      sameDieLocations = same
    }
    for (k, it) in items.enumerated() { locations[it.vid] = .arena(offset: layout.offsets[k]) }
    let total = layout.total
    workspaceOffset = total
    omittedOutputOffset = total + ((workspace + 63) & ~63)
    arenaBytes = omittedOutputOffset + omitted
    guard arenaBytes <= program.memoryLimit - fixed else {
      throw SecateurError(.outOfMemory,
        "the model needs \(arenaBytes) bytes of intermediate memory (+ \(fixed) for outputs and folded constants) for these input shapes, over the session limit of \(program.memoryLimit)")
    }
  }

  /// Borrows an arena for one run (reused across runs; one per concurrent caller).
  func takeArena() throws -> Buffer {
    if let b = arenas.withLock({ $0.popLast() }) { return b }
    return try Buffer(zeroedCount: arenaBytes)
  }

  func returnArena(_ b: Buffer) {
    arenas.withLock { $0.append(b) }
  }
}
