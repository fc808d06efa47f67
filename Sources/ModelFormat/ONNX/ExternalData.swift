/// Loads tensor payloads stored outside the model file (`data_location = EXTERNAL`).
///
/// Security rule (CVE-2022-25882, CVE-2024-27318): a location must be a relative path that stays inside
/// the model's folder after symlinks are resolved; absolute paths and `..` escapes are refused.
/// `offset + length` is checked against the file size before anything is allocated.
public struct ExternalDataResolver: Sendable {
  public let baseDirectory: String
  public var maxBytes: Int

  public init(baseDirectory: String, maxBytes: Int = 1 << 34) {
    self.baseDirectory = baseDirectory
    self.maxBytes = maxBytes
  }

  public func load(tensorName: String, entries: [(key: String, value: String)], expectedBytes: Int) throws -> Buffer {
    var location: String?
    var offset = 0
    var length: Int?
    for (k, v) in entries {
      switch k {
      case "location": location = v
      case "offset":
        guard let o = Int(v), o >= 0 else { throw SecateurError.invalidModel("tensor '\(tensorName)': bad external offset '\(v)'") }
        offset = o
      case "length":
        guard let l = Int(v), l >= 0 else { throw SecateurError.invalidModel("tensor '\(tensorName)': bad external length '\(v)'") }
        length = l
      default: break  // "checksum" and others are informational
      }
    }
    guard let location, !location.isEmpty else {
      throw SecateurError.invalidModel("tensor '\(tensorName)': external data has no location")
    }
    let path = try resolve(location, tensorName: tensorName)
    let n = length ?? expectedBytes
    guard n == expectedBytes else {
      throw SecateurError.invalidModel(
        "tensor '\(tensorName)': external length \(n) does not match the \(expectedBytes) bytes its shape needs")
    }
    return try FileIO.read(path: path, offset: offset, count: n, limit: maxBytes)
  }

  /// The canonical path of `location` if it lies inside `baseDirectory`; throws otherwise.
  public func resolve(_ location: String, tensorName: String) throws -> String {
    guard !location.hasPrefix("/") else {
      throw SecateurError.invalidModel("tensor '\(tensorName)': external data location '\(location)' is absolute; only paths inside the model's folder are allowed")
    }
    let parts = location.split(separator: "/", omittingEmptySubsequences: true)
    guard !parts.contains("..") else {
      throw SecateurError.invalidModel("tensor '\(tensorName)': external data location '\(location)' contains '..'; only paths inside the model's folder are allowed")
    }
    guard let base = FileIO.realPath(baseDirectory) else {
      throw SecateurError.io("model folder '\(baseDirectory)' does not exist")
    }
    guard let full = FileIO.realPath(base + "/" + location) else {
      throw SecateurError.io("tensor '\(tensorName)': external data file '\(location)' not found in '\(base)'")
    }
    let prefix = base.hasSuffix("/") ? base : base + "/"
    guard full.hasPrefix(prefix) else {
      throw SecateurError.invalidModel("tensor '\(tensorName)': external data location '\(location)' resolves outside the model's folder (symlink?)")
    }
    return full
  }
}
