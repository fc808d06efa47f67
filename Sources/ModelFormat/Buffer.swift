#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A block of bytes: either owned (64-byte aligned, freed on deinit) or a view into another `Buffer`
/// that is kept alive by this one.
///
/// Implementation note: tensors read from a model file point into the file's buffer rather than copying
/// it, so a weight is copied at most once between the file and a kernel's prepacked layout.
public final class Buffer: @unchecked Sendable {
  public let baseAddress: UnsafeMutableRawPointer
  public let count: Int
  private let owner: Buffer?
  private let ownsMemory: Bool

  /// Allocates `count` zeroed bytes, 64-byte aligned. Throws instead of trapping when the allocation fails.
  public convenience init(zeroedCount count: Int) throws {
    try self.init(uninitializedCount: count)
    memset(baseAddress, 0, max(count, 64))
  }

  /// Allocates `count` bytes, 64-byte aligned, left uninitialized: for a caller about to overwrite
  /// all of them (a file read), where zeroing first only touched every page twice. `prefault`: a large
  /// block written in full right away (model bytes, weights) has its pages mapped in one call
  /// (`prefault(_:_:)`).
  public init(uninitializedCount count: Int, prefault: Bool = false) throws {
    guard count >= 0 else { throw SecateurError(.outOfMemory, "cannot allocate a negative byte count \(count)") }
    var p: UnsafeMutableRawPointer? = nil
    let rc = posix_memalign(&p, 64, max(count, 64))
    guard rc == 0, let base = p else {
      throw SecateurError(.outOfMemory, "allocation of \(count) bytes failed")
    }
    self.baseAddress = base
    self.count = count
    self.owner = nil
    self.ownsMemory = true
    if prefault { Buffer.prefault(base, count) }
  }

  /// Copies `bytes` into a new owned buffer.
  public convenience init(copying bytes: UnsafeRawBufferPointer) throws {
    try self.init(uninitializedCount: bytes.count)
    if let src = bytes.baseAddress, bytes.count > 0 { memcpy(baseAddress, src, bytes.count) }
    // The allocation's slack past `count` (at least 64 bytes are allocated) stays zeroed, as before.
    let allocated = max(bytes.count, 64)
    if allocated > bytes.count { memset(baseAddress + bytes.count, 0, allocated - bytes.count) }
  }

  public static func copying(_ bytes: [UInt8]) throws -> Buffer {
    try bytes.withUnsafeBytes { try Buffer(copying: $0) }
  }

  /// A view of `range` inside `parent`; the parent is retained.
  public init(slicing parent: Buffer, range: Range<Int>) {
    let lo = max(0, min(range.lowerBound, parent.count)), hi = max(lo, min(range.upperBound, parent.count))
    self.baseAddress = parent.baseAddress + lo
    self.count = hi - lo
    self.owner = parent
    self.ownsMemory = false
  }

  /// Wraps memory the caller owns and keeps valid for this buffer's lifetime (used by the C ABI for
  /// caller-provided output buffers). Not freed on deinit.
  public init(borrowing base: UnsafeMutableRawPointer, count: Int) {
    self.baseAddress = base
    self.count = count
    self.owner = nil
    self.ownsMemory = false
  }

  deinit {
    if ownsMemory { free(baseAddress) }
  }

  /// The buffer this one is a view into (a model file's bytes, for tensors read from it), or nil.
  public var parent: Buffer? { owner }

  public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: baseAddress, count: count) }
  public var mutableBytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: baseAddress, count: count) }
}
