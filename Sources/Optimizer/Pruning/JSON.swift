import ModelFormat

/// A minimal JSON value with an encoder and a decoder, enough for prune specs and reports (the library
/// does not link Foundation).
public enum JSON: Equatable, Sendable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSON])
  /// Keys keep their insertion order so reports read in a stable, meaningful order.
  case object([(String, JSON)])

  public static func == (a: JSON, b: JSON) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.array(let x), .array(let y)): return x == y
    case (.object(let x), .object(let y)):
      return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: return false
    }
  }

  public subscript(key: String) -> JSON? {
    if case .object(let kv) = self { return kv.first { $0.0 == key }?.1 }
    return nil
  }

  public var double: Double? { if case .number(let v) = self { return v } else { return nil } }
  public var int: Int? { double.flatMap { $0 == $0.rounded() && abs($0) < 9e15 ? Int($0) : nil } }
  public var string: String? { if case .string(let v) = self { return v } else { return nil } }
  public var array: [JSON]? { if case .array(let v) = self { return v } else { return nil } }
  public var object: [(String, JSON)]? { if case .object(let v) = self { return v } else { return nil } }

  // MARK: Encoding

  /// Serializes the value; `indent` > 0 pretty-prints nested containers.
  public func encoded(indent: Int = 2) -> String {
    var out = ""
    write(into: &out, indent: indent, level: 0)
    return out
  }

  private func write(into out: inout String, indent: Int, level: Int) {
    let nl = indent > 0 ? "\n" : "", pad = String(repeating: " ", count: indent * (level + 1))
    let closePad = String(repeating: " ", count: indent * level)
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let d): out += JSON.format(d)
    case .string(let s): out += JSON.quote(s)
    case .array(let a):
      // Arrays of scalars stay on one line: per-layer width lists remain readable.
      let flat = a.allSatisfy { if case .array = $0 { return false }; if case .object = $0 { return false }; return true }
      if a.isEmpty { out += "[]"; return }
      if flat || indent == 0 {
        out += "["
        for (i, v) in a.enumerated() { if i > 0 { out += ", " }; v.write(into: &out, indent: 0, level: 0) }
        out += "]"
        return
      }
      out += "[" + nl
      for (i, v) in a.enumerated() {
        out += pad
        v.write(into: &out, indent: indent, level: level + 1)
        out += (i + 1 < a.count ? "," : "") + nl
      }
      out += closePad + "]"
    case .object(let kv):
      if kv.isEmpty { out += "{}"; return }
      out += "{" + nl
      for (i, (k, v)) in kv.enumerated() {
        out += pad + JSON.quote(k) + ": "
        v.write(into: &out, indent: indent, level: level + 1)
        out += (i + 1 < kv.count ? (indent > 0 ? "," : ", ") : "") + nl
      }
      out += closePad + "}"
    }
  }

  static func format(_ d: Double) -> String {
    if !d.isFinite { return "null" }
    if d == d.rounded() && abs(d) < 1e15 { return String(Int(d)) }
    return "\(d)"
  }

  static func quote(_ s: String) -> String {
    var r = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": r += "\\\""
      case "\\": r += "\\\\"
      case "\n": r += "\\n"
      case "\r": r += "\\r"
      case "\t": r += "\\t"
      default:
        if u.value < 0x20 {
          let h = String(u.value, radix: 16)
          r += "\\u" + String(repeating: "0", count: 4 - h.count) + h
        } else {
          r.unicodeScalars.append(u)
        }
      }
    }
    return r + "\""
  }

  // MARK: Decoding

  /// Parses JSON text; throws `invalidArgument` naming the byte offset of the first error.
  public static func parse(_ text: String) throws -> JSON {
    var p = Parser(bytes: Array(text.utf8))
    p.skipSpace()
    let v = try p.value()
    p.skipSpace()
    guard p.i == p.bytes.count else { throw p.error("unexpected trailing text") }
    return v
  }

  struct Parser {
    let bytes: [UInt8]
    var i = 0

    func error(_ what: String) -> SecateurError { .invalidArgument("JSON at byte \(i): \(what)") }

    mutating func skipSpace() {
      while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
    }

    mutating func value() throws -> JSON {
      guard i < bytes.count else { throw error("unexpected end") }
      switch bytes[i] {
      case UInt8(ascii: "{"):
        i += 1
        var kv: [(String, JSON)] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(kv) }
        while true {
          skipSpace()
          guard case .string(let k) = try value() else { throw error("object keys must be strings") }
          skipSpace()
          guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
          i += 1
          skipSpace()
          kv.append((k, try value()))
          skipSpace()
          guard i < bytes.count else { throw error("unterminated object") }
          if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
          if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(kv) }
          throw error("expected ',' or '}'")
        }
      case UInt8(ascii: "["):
        i += 1
        var a: [JSON] = []
        skipSpace()
        if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
        while true {
          skipSpace()
          a.append(try value())
          skipSpace()
          guard i < bytes.count else { throw error("unterminated array") }
          if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
          if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(a) }
          throw error("expected ',' or ']'")
        }
      case UInt8(ascii: "\""):
        i += 1
        var s: [UInt8] = []
        while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
          if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
            i += 1
            switch bytes[i] {
            case UInt8(ascii: "n"): s.append(0x0a)
            case UInt8(ascii: "t"): s.append(0x09)
            case UInt8(ascii: "r"): s.append(0x0d)
            case UInt8(ascii: "b"): s.append(0x08)
            case UInt8(ascii: "f"): s.append(0x0c)
            case UInt8(ascii: "u"):
              guard i + 4 < bytes.count, let code = UInt32(String(decoding: bytes[(i + 1)...(i + 4)], as: UTF8.self), radix: 16),
                    let u = Unicode.Scalar(code) else { throw error("bad \\u escape") }
              s += Array(String(u).utf8)
              i += 4
            default: s.append(bytes[i])
            }
          } else {
            s.append(bytes[i])
          }
          i += 1
        }
        guard i < bytes.count else { throw error("unterminated string") }
        i += 1
        return .string(String(decoding: s, as: UTF8.self))
      case UInt8(ascii: "t"): return try literal("true", .bool(true))
      case UInt8(ascii: "f"): return try literal("false", .bool(false))
      case UInt8(ascii: "n"): return try literal("null", .null)
      default:
        let start = i
        while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
        guard i > start, let d = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else { throw error("unexpected character") }
        return .number(d)
      }
    }

    mutating func literal(_ word: String, _ v: JSON) throws -> JSON {
      let w = Array(word.utf8)
      guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw error("unexpected character") }
      i += w.count
      return v
    }
  }
}
