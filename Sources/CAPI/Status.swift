#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ModelFormat

// The boundary between C and Swift: every exported function runs its body inside `guarded`, which
// turns a thrown error into an `sct_status` plus the calling thread's last-error message. Every
// pointer, count and handle is checked by the helpers below before it is used, because a Swift trap
// here would kill the host process.

/// `SCT_OK`; every other status is a `SecateurError.Code` raw value.
let statusOK: Int32 = 0

/// Runs `body`, converting a thrown error into its status code and recording
/// "`function`: message" as this thread's last error.
@inline(__always)
func guarded(_ function: StaticString, _ body: () throws -> Void) -> Int32 {
  do {
    try body()
    return statusOK
  } catch let e as SecateurError {
    LastError.set("\(function): \(e.message)")
    return e.code.rawValue
  } catch {
    LastError.set("\(function): \(error)")
    return SecateurError.Code.runtime.rawValue
  }
}

/// The per-thread message behind `sct_last_error`: a malloc'd C string in a pthread key, replaced on
/// each failure and freed when the thread exits.
///
/// Implementation note: a pthread key rather than a Swift `TaskLocal` because C callers have no task,
/// and rather than one global string because two threads may fail at once.
enum LastError {
  static let key: pthread_key_t = {
    var k = pthread_key_t()
    _ = pthread_key_create(&k) { free($0) }
    return k
  }()

  static func set(_ message: String) {
    let old = pthread_getspecific(key)
    // strdup can only fail when memory is exhausted; the thread then reports an empty message.
    pthread_setspecific(key, strdup(message))
    free(old)
  }

  static var current: UnsafePointer<CChar> {
    if let p = pthread_getspecific(key) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
    return cString("")
  }
}

/// A pointer to a string literal's bytes, valid for the life of the process.
func cString(_ s: StaticString) -> UnsafePointer<CChar> {
  UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

// MARK: - Handles

/// Base of every object the C API hands out as an opaque pointer. A handle is retained once when it
/// is returned (`Unmanaged.passRetained`) and released by the matching `sct_*_release`.
class Handle {
  /// The C type name used in error messages ("sct_model").
  class var cName: String { "sct_handle" }

  func opaque() -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }

  /// The handle behind `pointer`, checked to be non-NULL and of the expected kind (catches a session
  /// passed where a tensor belongs, e.g. from ctypes, which has no C types to check).
  static func from(_ pointer: OpaquePointer?, _ argument: String) throws -> Self {
    guard let pointer else { throw SecateurError.invalidArgument("argument '\(argument)' is NULL") }
    let object = Unmanaged<Handle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    guard let typed = object as? Self else {
      throw SecateurError.invalidArgument("argument '\(argument)' is a \(type(of: object).cName), not a \(cName)")
    }
    return typed
  }

  /// Drops the reference returned to C; NULL is accepted and ignored.
  static func release(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Unmanaged<Handle>.fromOpaque(UnsafeRawPointer(pointer)).release()
  }
}

// MARK: - Argument checks

/// `pointer`, or an `invalidArgument` error naming the NULL argument.
func nonNull<T>(_ pointer: T?, _ argument: String) throws -> T {
  guard let pointer else { throw SecateurError.invalidArgument("argument '\(argument)' is NULL") }
  return pointer
}

/// A C string argument decoded as UTF-8 (invalid sequences are repaired, never trapped on).
func string(_ pointer: UnsafePointer<CChar>?, _ argument: String) throws -> String {
  String(cString: try nonNull(pointer, argument))
}

/// A `size_t` count as `Int`, bounded so that later arithmetic cannot overflow.
func count(_ n: UInt, _ argument: String, max: Int = 1 << 24) throws -> Int {
  guard n <= UInt(max) else { throw SecateurError.invalidArgument("argument '\(argument)' is \(n), over the limit of \(max)") }
  return Int(n)
}

/// `count` C strings from `array`, each checked non-NULL; an empty array may be NULL.
func strings(_ array: UnsafePointer<UnsafePointer<CChar>?>?, _ n: Int, _ argument: String) throws -> [String] {
  guard n > 0 else { return [] }
  let a = try nonNull(array, argument)
  return try (0..<n).map { i in
    guard let p = a[i] else { throw SecateurError.invalidArgument("argument '\(argument)[\(i)]' is NULL") }
    return String(cString: p)
  }
}

/// Copies `text` into a caller buffer of `capacity` bytes (truncated, always NUL-terminated when
/// capacity > 0) and stores its full length, as `snprintf` does.
func copyOut(_ text: String, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: UInt,
             _ length: UnsafeMutablePointer<UInt>?) throws {
  var bytes = Array(text.utf8)
  if capacity > 0 {
    let b = try nonNull(buffer, "buffer")
    let n = min(bytes.count, Int(min(capacity - 1, UInt(Int.max))))
    bytes.withUnsafeMutableBytes { raw in
      if n > 0, let src = raw.baseAddress { memcpy(b, src, n) }
    }
    b[n] = 0
  }
  length?.pointee = UInt(bytes.count)
}

// MARK: - Status and errors

/// `const char *sct_last_error(void)`: this thread's last failure message ("" if none).
@c public func sct_last_error() -> UnsafePointer<CChar> {
  LastError.current
}

/// `const char *sct_status_name(sct_status)`: "SCT_OK", "SCT_INVALID_ARGUMENT", ….
@c public func sct_status_name(_ status: Int32) -> UnsafePointer<CChar> {
  switch status {
  case 0: return cString("SCT_OK")
  case 1: return cString("SCT_INVALID_ARGUMENT")
  case 2: return cString("SCT_INVALID_MODEL")
  case 3: return cString("SCT_UNSUPPORTED")
  case 4: return cString("SCT_IO_ERROR")
  case 5: return cString("SCT_OUT_OF_MEMORY")
  case 6: return cString("SCT_RUNTIME_ERROR")
  default: return cString("SCT_UNKNOWN_STATUS")
  }
}

/// `void sct_memory_release(void *)`: frees memory the library allocated for the caller.
@c public func sct_memory_release(_ data: UnsafeMutableRawPointer?) {
  free(data)
}
