/// Protocol-buffers wire format, read and written by hand for the handful of ONNX messages.
///
/// Implementation note: a hand-written codec lets tensor payloads stay views into the file buffer (no copy),
/// bounds-checks every length against what is left (a hostile length never allocates), and keeps the
/// build free of generated code. Only the wire format lives here; ONNX field numbers live in the reader/writer.
enum WireType: UInt8 {
  case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
}

struct ProtoReader {
  /// The buffer the bytes live in (so payloads can be returned as zero-copy slices of it).
  let storage: Buffer
  private(set) var position: Int
  let end: Int
  /// The message being read, for error messages.
  let context: String

  init(storage: Buffer, range: Range<Int>, context: String) {
    self.storage = storage
    self.position = range.lowerBound
    self.end = range.upperBound
    self.context = context
  }

  var isAtEnd: Bool { position >= end }

  private func truncated() -> SecateurError {
    SecateurError.invalidModel("\(context): truncated or malformed protobuf at byte \(position)")
  }

  /// Reads the next field key, or returns nil at the end of the message.
  mutating func nextField() throws -> (number: Int, wire: WireType)? {
    if isAtEnd { return nil }
    let key = try readVarint()
    guard let wire = WireType(rawValue: UInt8(key & 7)), key >> 3 > 0, key >> 3 <= 536_870_911 else {
      throw SecateurError.invalidModel("\(context): invalid protobuf field key \(key) at byte \(position)")
    }
    return (Int(key >> 3), wire)
  }

  mutating func readVarint() throws -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    let base = storage.baseAddress
    while true {
      guard position < end, shift < 64 else { throw truncated() }
      let b = base.load(fromByteOffset: position, as: UInt8.self)
      position += 1
      result |= UInt64(b & 0x7f) << shift
      if b & 0x80 == 0 { return result }
      shift += 7
    }
  }

  mutating func readInt() throws -> Int { Int(truncatingIfNeeded: try readVarint()) }

  mutating func readFixed32() throws -> UInt32 {
    guard end - position >= 4 else { throw truncated() }
    let v = storage.baseAddress.loadUnaligned(fromByteOffset: position, as: UInt32.self)
    position += 4
    return UInt32(littleEndian: v)
  }

  mutating func readFixed64() throws -> UInt64 {
    guard end - position >= 8 else { throw truncated() }
    let v = storage.baseAddress.loadUnaligned(fromByteOffset: position, as: UInt64.self)
    position += 8
    return UInt64(littleEndian: v)
  }

  /// Reads a length-delimited field and returns its byte range inside `storage`.
  mutating func readLengthDelimited() throws -> Range<Int> {
    let len = try readVarint()
    guard len <= UInt64(end - position) else {
      throw SecateurError.invalidModel(
        "\(context): field length \(len) exceeds the \(end - position) bytes left at byte \(position)")
    }
    let start = position
    position += Int(len)
    return start..<position
  }

  mutating func readBytes() throws -> [UInt8] {
    let r = try readLengthDelimited()
    return Array(UnsafeRawBufferPointer(start: storage.baseAddress + r.lowerBound, count: r.count))
  }

  mutating func readString() throws -> String {
    let r = try readLengthDelimited()
    return String(decoding: UnsafeRawBufferPointer(start: storage.baseAddress + r.lowerBound, count: r.count),
                  as: UTF8.self)
  }

  /// A reader over a nested message.
  mutating func readMessage(_ context: String) throws -> ProtoReader {
    let r = try readLengthDelimited()
    return ProtoReader(storage: storage, range: r, context: context)
  }

  /// Reads one or many varints (packed or not) and appends them.
  mutating func readRepeatedVarint(_ wire: WireType, into out: inout [Int]) throws {
    if wire == .lengthDelimited {
      var sub = ProtoReader(storage: storage, range: try readLengthDelimited(), context: context)
      while !sub.isAtEnd { out.append(try sub.readInt()) }
    } else {
      out.append(try readInt())
    }
  }

  mutating func readRepeatedFixed32(_ wire: WireType, into out: inout [UInt32]) throws {
    if wire == .lengthDelimited {
      let r = try readLengthDelimited()
      guard r.count % 4 == 0 else { throw truncated() }
      out.reserveCapacity(out.count + r.count / 4)
      for i in stride(from: r.lowerBound, to: r.upperBound, by: 4) {
        out.append(UInt32(littleEndian: storage.baseAddress.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
      }
    } else {
      out.append(try readFixed32())
    }
  }

  mutating func readRepeatedFixed64(_ wire: WireType, into out: inout [UInt64]) throws {
    if wire == .lengthDelimited {
      let r = try readLengthDelimited()
      guard r.count % 8 == 0 else { throw truncated() }
      out.reserveCapacity(out.count + r.count / 8)
      for i in stride(from: r.lowerBound, to: r.upperBound, by: 8) {
        out.append(UInt64(littleEndian: storage.baseAddress.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
      }
    } else {
      out.append(try readFixed64())
    }
  }

  /// Skips a field of the given wire type.
  mutating func skip(_ wire: WireType) throws {
    switch wire {
    case .varint: _ = try readVarint()
    case .fixed64: guard end - position >= 8 else { throw truncated() }; position += 8
    case .fixed32: guard end - position >= 4 else { throw truncated() }; position += 4
    case .lengthDelimited: _ = try readLengthDelimited()
    case .startGroup, .endGroup:
      throw SecateurError.invalidModel("\(context): protobuf groups are not used by ONNX (byte \(position))")
    }
  }
}

/// Appends protobuf fields to a byte array.
struct ProtoWriter {
  var bytes: [UInt8] = []

  mutating func varint(_ v: UInt64) {
    var v = v
    while v >= 0x80 {
      bytes.append(UInt8(v & 0x7f) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  mutating func key(_ field: Int, _ wire: WireType) { varint(UInt64(field) << 3 | UInt64(wire.rawValue)) }

  mutating func int(_ field: Int, _ v: Int) {
    key(field, .varint)
    varint(UInt64(bitPattern: Int64(v)))
  }

  /// Writes an integer only when it differs from the proto3 default (0).
  mutating func intIfSet(_ field: Int, _ v: Int) { if v != 0 { int(field, v) } }

  mutating func float(_ field: Int, _ v: Float) {
    key(field, .fixed32)
    withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
  }

  mutating func bytesField(_ field: Int, _ b: UnsafeRawBufferPointer) {
    key(field, .lengthDelimited)
    varint(UInt64(b.count))
    bytes.append(contentsOf: b)
  }

  mutating func bytesField(_ field: Int, _ b: [UInt8]) { b.withUnsafeBytes { bytesField(field, $0) } }

  mutating func string(_ field: Int, _ s: String) { bytesField(field, Array(s.utf8)) }

  mutating func stringIfSet(_ field: Int, _ s: String) { if !s.isEmpty { string(field, s) } }

  mutating func message(_ field: Int, _ build: (inout ProtoWriter) -> Void) {
    var sub = ProtoWriter()
    build(&sub)
    bytesField(field, sub.bytes)
  }

  mutating func packedVarints(_ field: Int, _ values: [Int]) {
    guard !values.isEmpty else { return }
    var sub = ProtoWriter()
    for v in values { sub.varint(UInt64(bitPattern: Int64(v))) }
    bytesField(field, sub.bytes)
  }

  mutating func packedFloats(_ field: Int, _ values: [Float]) {
    guard !values.isEmpty else { return }
    var sub = ProtoWriter()
    for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { sub.bytes.append(contentsOf: $0) } }
    bytesField(field, sub.bytes)
  }
}
