#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file helpers (the library avoids Foundation to stay small; see include/secateur.h).
public enum FileIO {
  /// Reads `count` bytes at `offset` (or the whole file when `count` is nil) into a new buffer.
  /// `limit` caps how much may be read, so a hostile size never becomes a huge allocation.
  public static func read(path: String, offset: Int = 0, count: Int? = nil, limit: Int = 1 << 34) throws -> Buffer {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SecateurError.io("cannot open '\(path)': \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw SecateurError.io("cannot stat '\(path)'") }
    guard (st.st_mode & S_IFMT) == S_IFREG else { throw SecateurError.io("'\(path)' is not a regular file") }
    let size = Int(st.st_size)
    guard offset >= 0, offset <= size else {
      throw SecateurError.invalidModel("'\(path)': offset \(offset) is beyond the file's \(size) bytes")
    }
    let n = count ?? (size - offset)
    guard n >= 0, n <= size - offset else {
      throw SecateurError.invalidModel("'\(path)': \(n) bytes at offset \(offset) run past the file's \(size) bytes")
    }
    guard n <= limit else { throw SecateurError(.outOfMemory, "'\(path)': \(n) bytes exceed the \(limit)-byte limit") }
    // Every byte is read below (or the read throws and the buffer is dropped).
    let buffer = try Buffer(uninitializedCount: n, prefault: true)
    var done = 0
    while done < n {
      let got = pread(fd, buffer.baseAddress + done, n - done, off_t(offset + done))
      if got < 0 && errno == EINTR { continue }
      guard got > 0 else { throw SecateurError.io("'\(path)': read failed after \(done) of \(n) bytes") }
      done += got
    }
    return buffer
  }

  /// Writes `bytes` to `path`, replacing it.
  public static func write(path: String, bytes: UnsafeRawBufferPointer) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw SecateurError.io("cannot create '\(path)': \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var done = 0
    while done < bytes.count {
      let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw SecateurError.io("write to '\(path)' failed: \(String(cString: strerror(errno)))") }
      done += n
    }
  }

  public static func write(path: String, bytes: [UInt8]) throws {
    try bytes.withUnsafeBytes { try write(path: path, bytes: $0) }
  }

  /// The canonical absolute path (symlinks resolved), or nil if it does not exist.
  public static func realPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
  }

  /// The folder part of a path ("." when there is none).
  public static func directory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let d = String(path[..<slash])
    return d.isEmpty ? "/" : d
  }
}
