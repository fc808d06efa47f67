#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ModelFormat
import Optimizer
import Runtime

/// `sct_model`: a loaded model plus the C view of its inputs and outputs.
///
/// Implementation note: `Model` is a value type, so a session created from this handle keeps its own
/// copy; optimizing or releasing the handle afterwards does not affect the session.
final class ModelHandle: Handle {
  override class var cName: String { "sct_model" }
  private(set) var model: Model
  private(set) var inputs: ValueInfoTable
  private(set) var outputs: ValueInfoTable

  init(_ model: Model) throws {
    self.model = model
    self.inputs = try ValueInfoTable(model.graph.runtimeInputs)
    self.outputs = try ValueInfoTable(model.graph.outputs)
  }

  /// Replaces the model (after a rewrite) and rebuilds the value tables.
  func update(_ m: Model) throws {
    let i = try ValueInfoTable(m.graph.runtimeInputs), o = try ValueInfoTable(m.graph.outputs)
    model = m
    inputs = i
    outputs = o
  }
}

// MARK: - Loading and saving

/// `sct_status sct_model_load_file(const char *path, sct_model **model)`
@c public func sct_model_load_file(_ path: UnsafePointer<CChar>?, _ model: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
  guarded("sct_model_load_file") {
    let out = try nonNull(model, "model")
    out.pointee = nil
    let p = try string(path, "path")
    out.pointee = try ModelHandle(try ModelLoader.load(path: p)).opaque()
  }
}

/// `sct_status sct_model_load_memory(const void *data, size_t size, sct_model **model)`
@c public func sct_model_load_memory(_ data: UnsafeRawPointer?, _ size: UInt,
                                     _ model: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
  guarded("sct_model_load_memory") {
    let out = try nonNull(model, "model")
    out.pointee = nil
    let d = try nonNull(data, "data")
    guard size <= UInt(Int.max) else { throw SecateurError.invalidArgument("argument 'size' is \(size), too large") }
    let bytes = UnsafeRawBufferPointer(start: d, count: Int(size))
    out.pointee = try ModelHandle(try ModelLoader.load(bytes: bytes)).opaque()
  }
}

/// `void sct_model_release(sct_model *model)`
@c public func sct_model_release(_ model: OpaquePointer?) {
  Handle.release(model)
}

/// `sct_status sct_model_save_file(const sct_model *model, const char *path)`
@c public func sct_model_save_file(_ model: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
  guarded("sct_model_save_file") {
    let m = try ModelHandle.from(model, "model")
    try ModelLoader.save(try PassManager.exportable(m.model), to: try string(path, "path"))
  }
}

/// `sct_status sct_model_save_memory(const sct_model *model, void **data, size_t *size)`
@c public func sct_model_save_memory(_ model: OpaquePointer?, _ data: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                     _ size: UnsafeMutablePointer<UInt>?) -> Int32 {
  guarded("sct_model_save_memory") {
    let outData = try nonNull(data, "data"), outSize = try nonNull(size, "size")
    outData.pointee = nil
    outSize.pointee = 0
    let m = try ModelHandle.from(model, "model")
    let bytes = ModelLoader.serialize(try PassManager.exportable(m.model))
    guard let p = malloc(max(bytes.count, 1)) else {
      throw SecateurError(.outOfMemory, "out of memory allocating \(bytes.count) bytes for the serialized model")
    }
    bytes.withUnsafeBytes { if let src = $0.baseAddress { memcpy(p, src, bytes.count) } }
    outData.pointee = p
    outSize.pointee = UInt(bytes.count)
  }
}

// MARK: - Inputs and outputs

/// `sct_status sct_model_input_count(const sct_model *model, size_t *count)`
@c public func sct_model_input_count(_ model: OpaquePointer?, _ count: UnsafeMutablePointer<UInt>?) -> Int32 {
  guarded("sct_model_input_count") {
    let out = try nonNull(count, "count")
    out.pointee = UInt(try ModelHandle.from(model, "model").inputs.entries.count)
  }
}

/// `sct_status sct_model_output_count(const sct_model *model, size_t *count)`
@c public func sct_model_output_count(_ model: OpaquePointer?, _ count: UnsafeMutablePointer<UInt>?) -> Int32 {
  guarded("sct_model_output_count") {
    let out = try nonNull(count, "count")
    out.pointee = UInt(try ModelHandle.from(model, "model").outputs.entries.count)
  }
}

/// `sct_status sct_model_input_info(const sct_model *model, size_t index, sct_value_info *info)`
@c public func sct_model_input_info(_ model: OpaquePointer?, _ index: UInt, _ info: UnsafeMutableRawPointer?) -> Int32 {
  guarded("sct_model_input_info") {
    try ModelHandle.from(model, "model").inputs.write(index, to: info, what: "input")
  }
}

/// `sct_status sct_model_output_info(const sct_model *model, size_t index, sct_value_info *info)`
@c public func sct_model_output_info(_ model: OpaquePointer?, _ index: UInt, _ info: UnsafeMutableRawPointer?) -> Int32 {
  guarded("sct_model_output_info") {
    try ModelHandle.from(model, "model").outputs.write(index, to: info, what: "output")
  }
}

// MARK: - Optimizer

/// `sct_status sct_model_optimize(sct_model *model, char *report, size_t capacity, size_t *length)`
@c public func sct_model_optimize(_ model: OpaquePointer?, _ report: UnsafeMutablePointer<CChar>?, _ capacity: UInt,
                                  _ length: UnsafeMutablePointer<UInt>?) -> Int32 {
  guarded("sct_model_optimize") {
    let m = try ModelHandle.from(model, "model")
    if capacity > 0 { _ = try nonNull(report, "report") }
    var rewritten = m.model
    let reports = try PassManager.runtime.run(on: &rewritten)
    try m.update(rewritten)
    try copyOut(reports.map(\.description).joined(separator: "\n"), report, capacity, length)
  }
}
