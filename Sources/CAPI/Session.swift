import ModelFormat
import Runtime

/// `sct_session`: a compiled model plus the C view of its inputs and outputs. Immutable after
/// creation; `Session.run` is safe to call from many threads at once, and so is everything here.
final class SessionHandle: Handle {
  override class var cName: String { "sct_session" }
  let session: Session
  let inputs: ValueInfoTable
  let outputs: ValueInfoTable

  init(_ session: Session) throws {
    self.session = session
    inputs = try ValueInfoTable(session.inputs)
    outputs = try ValueInfoTable(session.outputs)
  }

  /// Named inputs from C's parallel arrays: every name and tensor non-NULL, no name twice, every name
  /// an input of the model (the message lists the inputs).
  func feeds(_ names: UnsafePointer<UnsafePointer<CChar>?>?, _ tensors: UnsafePointer<OpaquePointer?>?,
             _ n: UInt) throws -> [String: Tensor] {
    let k = try count(n, "input_count")
    let keys = try strings(names, k, "input_names")
    var feeds: [String: Tensor] = [:]
    guard k > 0 else { return feeds }
    let values = try nonNull(tensors, "inputs")
    for i in 0..<k {
      let t = try TensorHandle.from(values[i], "inputs[\(i)]")
      guard feeds.updateValue(t.tensor, forKey: keys[i]) == nil else {
        throw SecateurError.invalidArgument("input '\(keys[i])' is given twice")
      }
    }
    return feeds
  }

  /// The requested output names: the given ones, or all outputs when `names` is NULL (then `n` must
  /// equal the number of outputs, the size of the caller's array).
  func outputNames(_ names: UnsafePointer<UnsafePointer<CChar>?>?, _ n: Int) throws -> [String] {
    guard names != nil else {
      let all = session.outputs.map(\.name)
      guard n == all.count else {
        throw SecateurError.invalidArgument(
          "output_names is NULL (all outputs) but output_count is \(n): the model has \(all.count) outputs")
      }
      return all
    }
    return try strings(names, n, "output_names")
  }
}

// MARK: - Creating and releasing

/// `sct_status sct_session_create(const sct_model *model, const sct_options *options, sct_session **session)`
@c public func sct_session_create(_ model: OpaquePointer?, _ options: OpaquePointer?,
                                  _ session: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
  guarded("sct_session_create") {
    let out = try nonNull(session, "session")
    out.pointee = nil
    let m = try ModelHandle.from(model, "model")
    let o = options == nil ? SessionOptions() : try OptionsHandle.from(options, "options").options
    out.pointee = try SessionHandle(try Session(model: m.model, options: o)).opaque()
  }
}

/// `sct_status sct_session_create_from_file(const char *path, const sct_options *options, sct_session **session)`
@c public func sct_session_create_from_file(_ path: UnsafePointer<CChar>?, _ options: OpaquePointer?,
                                            _ session: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
  guarded("sct_session_create_from_file") {
    let out = try nonNull(session, "session")
    out.pointee = nil
    let p = try string(path, "path")
    let o = options == nil ? SessionOptions() : try OptionsHandle.from(options, "options").options
    // The loaded model is referenced only by the session under construction, which consumes it: weights
    // are released as kernels pack them (see Session.init).
    out.pointee = try SessionHandle(try Session(model: try ModelLoader.load(path: p), options: o)).opaque()
  }
}

/// `void sct_session_release(sct_session *session)`
@c public func sct_session_release(_ session: OpaquePointer?) {
  Handle.release(session)
}

// MARK: - Inputs and outputs

/// `sct_status sct_session_input_count(const sct_session *session, size_t *count)`
@c public func sct_session_input_count(_ session: OpaquePointer?, _ count: UnsafeMutablePointer<UInt>?) -> Int32 {
  guarded("sct_session_input_count") {
    let out = try nonNull(count, "count")
    out.pointee = UInt(try SessionHandle.from(session, "session").inputs.entries.count)
  }
}

/// `sct_status sct_session_output_count(const sct_session *session, size_t *count)`
@c public func sct_session_output_count(_ session: OpaquePointer?, _ count: UnsafeMutablePointer<UInt>?) -> Int32 {
  guarded("sct_session_output_count") {
    let out = try nonNull(count, "count")
    out.pointee = UInt(try SessionHandle.from(session, "session").outputs.entries.count)
  }
}

/// `sct_status sct_session_input_info(const sct_session *session, size_t index, sct_value_info *info)`
@c public func sct_session_input_info(_ session: OpaquePointer?, _ index: UInt, _ info: UnsafeMutableRawPointer?) -> Int32 {
  guarded("sct_session_input_info") {
    try SessionHandle.from(session, "session").inputs.write(index, to: info, what: "input")
  }
}

/// `sct_status sct_session_output_info(const sct_session *session, size_t index, sct_value_info *info)`
@c public func sct_session_output_info(_ session: OpaquePointer?, _ index: UInt, _ info: UnsafeMutableRawPointer?) -> Int32 {
  guarded("sct_session_output_info") {
    try SessionHandle.from(session, "session").outputs.write(index, to: info, what: "output")
  }
}

// MARK: - Running

/// `sct_status sct_session_run(sct_session *session,
///     const char *const *input_names, const sct_tensor *const *inputs, size_t input_count,
///     const char *const *output_names, size_t output_count, sct_tensor **outputs)`
@c public func sct_session_run(_ session: OpaquePointer?,
                               _ inputNames: UnsafePointer<UnsafePointer<CChar>?>?, _ inputs: UnsafePointer<OpaquePointer?>?,
                               _ inputCount: UInt,
                               _ outputNames: UnsafePointer<UnsafePointer<CChar>?>?, _ outputCount: UInt,
                               _ outputs: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
  guarded("sct_session_run") {
    let n = try count(outputCount, "output_count")
    let slots = n > 0 ? try nonNull(outputs, "outputs") : nil
    for i in 0..<n { slots?[i] = nil }
    let s = try SessionHandle.from(session, "session")
    let names = try s.outputNames(outputNames, n)
    let feeds = try s.feeds(inputNames, inputs, inputCount)
    var results = try s.session.run(feeds, outputNames: names)
    // Handles are built first and published only when all succeeded, so a failure leaks nothing.
    // popLast moves each tensor out of the array, so the uniqueness test in `taking` sees only its own reference.
    var handles: [TensorHandle] = []
    results.reverse()
    while var t = results.popLast() {
      handles.append(try TensorHandle.taking(&t, output: names[handles.count]))
    }
    for (i, h) in handles.enumerated() { slots?[i] = h.opaque() }
  }
}

/// `sct_status sct_session_run_into(sct_session *session,
///     const char *const *input_names, const sct_tensor *const *inputs, size_t input_count,
///     const char *const *output_names, size_t output_count, sct_tensor *const *outputs)`
@c public func sct_session_run_into(_ session: OpaquePointer?,
                                    _ inputNames: UnsafePointer<UnsafePointer<CChar>?>?, _ inputs: UnsafePointer<OpaquePointer?>?,
                                    _ inputCount: UInt,
                                    _ outputNames: UnsafePointer<UnsafePointer<CChar>?>?, _ outputCount: UInt,
                                    _ outputs: UnsafePointer<OpaquePointer?>?) -> Int32 {
  guarded("sct_session_run_into") {
    let s = try SessionHandle.from(session, "session")
    let n = try count(outputCount, "output_count")
    let names = try s.outputNames(outputNames, n)
    var destinations: [Tensor] = []
    if n > 0 {
      let slots = try nonNull(outputs, "outputs")
      for i in 0..<n { destinations.append(try TensorHandle.from(slots[i], "outputs[\(i)]").tensor) }
    }
    let feeds = try s.feeds(inputNames, inputs, inputCount)
    try checkNoOverlap(destinations, names, feeds)
    try s.session.run(feeds, outputNames: names, into: destinations)
  }
}

/// Throws when an output buffer overlaps an input buffer or another output buffer: the run would read
/// what it is writing.
func checkNoOverlap(_ destinations: [Tensor], _ names: [String], _ feeds: [String: Tensor]) throws {
  func range(_ b: Buffer) -> Range<UInt> {
    let lo = UInt(bitPattern: b.baseAddress)
    return lo..<(lo &+ UInt(b.count))
  }
  for (i, d) in destinations.enumerated() where d.buffer.count > 0 {
    let r = range(d.buffer)
    for (name, t) in feeds where t.buffer.count > 0 && range(t.buffer).overlaps(r) {
      throw SecateurError.invalidArgument("output '\(names[i])': its buffer overlaps input '\(name)'")
    }
    for j in 0..<i where destinations[j].buffer.count > 0 && range(destinations[j].buffer).overlaps(r) {
      throw SecateurError.invalidArgument("output '\(names[i])': its buffer overlaps output '\(names[j])'")
    }
  }
}
