import ModelFormat

/// Runs one kernel on heap tensors: the shared path for plan-time folding and for signatures whose
/// shapes depend on data (executed node by node).
enum Executor {
  static func evaluate(_ kernel: OpKernel, _ inputs: [Tensor?], label: String, pool: ThreadPool?,
                       memoryLimit: Int) throws -> [Tensor] {
    let specs = inputs.map { $0.map { TensorSpec($0.dataType, $0.shape) } }
    let outSpecs: [TensorSpec]
    if let known = try kernel.valuesFromSpecs(specs) { return known }
    do {
      outSpecs = try kernel.outputSpecs(specs, InputValues(inputs))
    } catch KernelError.needsValue(let i) {
      throw SecateurError.runtime("\(label): input \(i) has no value")
    }
    try rejectStrings(specs + outSpecs.map { $0 }, label: label)
    var outputs: [Tensor] = []
    var total = 0
    for s in outSpecs {
      guard let b = s.byteCount, b <= memoryLimit - total else {
        throw SecateurError(.outOfMemory, "\(label): output \(s) exceeds the session memory limit of \(memoryLimit) bytes")
      }
      total += b
      outputs.append(try Tensor(zeros: s.dataType, shape: s.shape))
    }
    let ws = kernel.workspaceBytes(specs, outSpecs, threads: (pool ?? ThreadPool.serial).threadCount)
    guard ws >= 0, ws <= memoryLimit else {
      throw SecateurError(.outOfMemory, "\(label): workspace of \(ws) bytes exceeds the session memory limit")
    }
    let workspace = ws > 0 ? try Buffer(zeroedCount: ws) : nil
    if !outputs.isEmpty, outputs.allSatisfy({ $0.elementCount == 0 }) { return outputs }  // nothing to write
    let inViews = inputs.map { $0.map(view) }
    let outViews = outputs.map(view)
    let context = RunContext(pool: pool ?? ThreadPool.serial, workspace: workspace?.baseAddress)
    try kernel.run(inViews, outViews, context)
    return withExtendedLifetime(workspace) { outputs }
  }

  /// String tensors have no byte layout in the arena; no kernel here reads them yet.
  static func rejectStrings(_ specs: [TensorSpec?], label: String) throws {
    if specs.contains(where: { $0?.dataType == .string }) {
      throw SecateurError.unsupported("\(label): string tensors are not supported")
    }
  }

  static func view(_ t: Tensor) -> TensorView {
    TensorView(spec: TensorSpec(t.dataType, t.shape), data: t.buffer.baseAddress)
  }
}

extension ThreadPool {
  /// A pool with no workers, for folding constants at session creation.
  static let serial = ThreadPool(threadCount: 1)
}
