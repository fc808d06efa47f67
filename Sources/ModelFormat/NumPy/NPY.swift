/// NumPy `.npy` files (format versions 1–3, little-endian, C order): the CLI's input/output format.
public enum NPY {
  static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

  static func descr(_ t: DataType) throws -> String {
    switch t {
    case .float: return "<f4"
    case .double: return "<f8"
    case .float16: return "<f2"
    case .int8: return "|i1"
    case .int16: return "<i2"
    case .int32: return "<i4"
    case .int64: return "<i8"
    case .uint8: return "|u1"
    case .uint16: return "<u2"
    case .uint32: return "<u4"
    case .uint64: return "<u8"
    case .bool: return "|b1"
    default: throw SecateurError.unsupported("numpy has no dtype for \(t)")
    }
  }

  static func dataType(_ descr: String) throws -> DataType {
    var d = descr
    if d.first == "<" || d.first == "|" || d.first == "=" { d.removeFirst() }
    else if d.first == ">" { throw SecateurError.unsupported("big-endian .npy data ('\(descr)') is not supported") }
    switch d {
    case "f4": return .float
    case "f8": return .double
    case "f2": return .float16
    case "i1": return .int8
    case "i2": return .int16
    case "i4": return .int32
    case "i8": return .int64
    case "u1": return .uint8
    case "u2": return .uint16
    case "u4": return .uint32
    case "u8": return .uint64
    case "b1": return .bool
    default: throw SecateurError.unsupported(".npy dtype '\(descr)' is not supported")
    }
  }

  /// Encodes a tensor as a version-1 `.npy` file.
  public static func encode(_ t: Tensor) throws -> [UInt8] {
    let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '\(try descr(t.dataType))', 'fortran_order': False, 'shape': \(shape), }"
    // Pad so the data starts on a 64-byte boundary, ending with a newline (as numpy does).
    let unpadded = magic.count + 2 + 2 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    var out = magic + [1, 0]
    let len = UInt16(header.utf8.count)
    out += [UInt8(len & 0xff), UInt8(len >> 8)]
    out += Array(header.utf8)
    out += UnsafeRawBufferPointer(start: t.buffer.baseAddress, count: t.byteCount)
    return out
  }

  /// Decodes a `.npy` file held in `bytes`.
  public static func decode(_ bytes: UnsafeRawBufferPointer, name: String = "") throws -> Tensor {
    guard bytes.count >= 10, Array(bytes.prefix(6)) == magic else {
      throw SecateurError.invalidArgument("'\(name)' is not a .npy file (bad magic)")
    }
    let major = bytes[6]
    let headerLen: Int, start: Int
    if major == 1 {
      headerLen = Int(bytes[8]) | Int(bytes[9]) << 8
      start = 10
    } else if major == 2 || major == 3, bytes.count >= 12 {
      headerLen = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
      start = 12
    } else {
      throw SecateurError.invalidArgument("'\(name)': unsupported .npy version \(major)")
    }
    guard start + headerLen <= bytes.count else { throw SecateurError.invalidArgument("'\(name)': truncated .npy header") }
    let header = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + headerLen)]), as: UTF8.self)
    guard let descr = field(header, "descr").map({ $0.trimmingCharacters("'\" ") }),
          let shapeText = field(header, "shape") else {
      throw SecateurError.invalidArgument("'\(name)': .npy header lacks descr or shape: \(header)")
    }
    if let f = field(header, "fortran_order"), f.contains("True") {
      throw SecateurError.unsupported("'\(name)': Fortran-ordered .npy arrays are not supported")
    }
    let type = try dataType(descr)
    let dims = try shapeText.trimmingCharacters("() ").split(separator: ",").compactMap { part -> Int? in
      let s = String(part).trimmingCharacters(" ")
      if s.isEmpty { return nil }
      guard let v = Int(s), v >= 0 else { throw SecateurError.invalidArgument("'\(name)': bad .npy shape \(shapeText)") }
      return v
    }
    guard let n = shapeElementCount(dims), let byteCount = type.storageBytes(count: n),
          start + headerLen + byteCount <= bytes.count else {
      throw SecateurError.invalidArgument("'\(name)': .npy data is shorter than its shape \(dims) needs")
    }
    let data = UnsafeRawBufferPointer(rebasing: bytes[(start + headerLen)..<(start + headerLen + byteCount)])
    return try Tensor(name: name, dataType: type, shape: dims, buffer: Buffer(copying: data))
  }

  /// The text after `'key':` up to the next top-level comma (tuples kept whole).
  static func field(_ header: String, _ key: String) -> String? {
    let chars = Array(header), pattern = Array("'\(key)'")
    guard chars.count >= pattern.count,
          let at = (0...(chars.count - pattern.count)).first(where: { Array(chars[$0..<($0 + pattern.count)]) == pattern })
    else { return nil }
    var s = Substring(String(chars[(at + pattern.count)...])).drop { $0 == " " || $0 == ":" }
    var depth = 0
    var out = ""
    while let c = s.first {
      if c == "(" { depth += 1 }
      if c == ")" { depth -= 1; if depth == 0 { out.append(c); break } }
      if (c == "," || c == "}") && depth == 0 { break }
      out.append(c)
      s = s.dropFirst()
    }
    return out
  }
}

extension String {
  func trimmingCharacters(_ set: String) -> String {
    var s = Substring(self)
    while let f = s.first, set.contains(f) { s = s.dropFirst() }
    while let l = s.last, set.contains(l) { s = s.dropLast() }
    return String(s)
  }
}
