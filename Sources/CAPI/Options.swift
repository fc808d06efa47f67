import ModelFormat
import Runtime

/// `sct_options`: session settings, copied by `sct_session_create` (so one options object may be reused
/// and released right after).
final class OptionsHandle: Handle {
  override class var cName: String { "sct_options" }
  var options = SessionOptions()
}

/// `sct_status sct_options_create(sct_options **options)`
@c public func sct_options_create(_ options: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
  guarded("sct_options_create") {
    let out = try nonNull(options, "options")
    out.pointee = OptionsHandle().opaque()
  }
}

/// `void sct_options_release(sct_options *options)`
@c public func sct_options_release(_ options: OpaquePointer?) {
  Handle.release(options)
}

/// `sct_status sct_options_set_threads(sct_options *options, int32_t threads)`
@c public func sct_options_set_threads(_ options: OpaquePointer?, _ threads: Int32) -> Int32 {
  guarded("sct_options_set_threads") {
    let o = try OptionsHandle.from(options, "options")
    guard (0...1024).contains(threads) else {
      throw SecateurError.invalidArgument("threads is \(threads): it must be 0 (one per core) to 1024")
    }
    o.options.threads = Int(threads)
  }
}

/// `sct_status sct_options_set_optimize(sct_options *options, int32_t enabled)`
@c public func sct_options_set_optimize(_ options: OpaquePointer?, _ enabled: Int32) -> Int32 {
  guarded("sct_options_set_optimize") {
    try OptionsHandle.from(options, "options").options.optimize = enabled != 0
  }
}

/// `sct_status sct_options_set_memory_limit(sct_options *options, uint64_t bytes)`
@c public func sct_options_set_memory_limit(_ options: OpaquePointer?, _ bytes: UInt64) -> Int32 {
  guarded("sct_options_set_memory_limit") {
    let o = try OptionsHandle.from(options, "options")
    o.options.memoryLimit = bytes == 0 ? SessionOptions().memoryLimit : Int(clamping: bytes)
  }
}
