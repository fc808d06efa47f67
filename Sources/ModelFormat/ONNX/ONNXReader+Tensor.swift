#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ONNXReader {
  /// Decodes a `TensorProto`. `raw_data` stays a view into the file buffer when it is suitably aligned
  /// (or can be aligned in place); typed fields (`float_data`, `int32_data`, ...) are converted into the
  /// raw little-endian layout.
  func readTensor(_ r: inout ProtoReader) throws -> Tensor {
    let messageStart = r.position
    var dims: [Int] = []
    var dataType: Int32 = 0
    var name = "", doc = ""
    var raw: Range<Int>?
    var floats: [UInt32] = [], doubles: [UInt64] = [], uint64s: [UInt64] = []
    var int32s: [Int] = [], int64s: [Int] = []
    var strings: [[UInt8]] = []
    var external: [(key: String, value: String)] = []
    var location = 0
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, _): try r.readRepeatedVarint(wire, into: &dims)
      case (2, .varint): dataType = Int32(truncatingIfNeeded: try r.readInt())
      case (3, .lengthDelimited):
        throw SecateurError.unsupported("tensor '\(name)': segmented TensorProto is not supported")
      case (4, _): try r.readRepeatedFixed32(wire, into: &floats)
      case (5, _): try r.readRepeatedVarint(wire, into: &int32s)
      case (6, .lengthDelimited): strings.append(try r.readBytes())
      case (7, _): try r.readRepeatedVarint(wire, into: &int64s)
      case (8, .lengthDelimited): name = try r.readString()
      case (9, .lengthDelimited): raw = try r.readLengthDelimited()
      case (10, _): try r.readRepeatedFixed64(wire, into: &doubles)
      case (11, _):
        if wire == .lengthDelimited {
          var sub = try r.readMessage("TensorProto.uint64_data")
          while !sub.isAtEnd { uint64s.append(try sub.readVarint()) }
        } else { uint64s.append(try r.readVarint()) }
      case (12, .lengthDelimited): doc = try r.readString()
      case (13, .lengthDelimited):
        var e = try r.readMessage("StringStringEntryProto")
        external.append(try readStringPair(&e))
      case (14, .varint): location = try r.readInt()
      default: try r.skip(wire)
      }
    }
    guard let type = DataType(rawValue: dataType), type != .undefined else {
      throw SecateurError.invalidModel("tensor '\(name)': unknown element type \(dataType)")
    }
    guard dims.allSatisfy({ $0 >= 0 }), let count = shapeElementCount(dims) else {
      throw SecateurError.invalidModel("tensor '\(name)': dims \(dims) are negative or overflow")
    }
    if type == .string {
      guard strings.count == count else {
        throw SecateurError.invalidModel("tensor '\(name)': \(strings.count) strings for shape \(dims)")
      }
      var t = try Tensor(name: name, strings: strings, shape: dims)
      t.docString = doc
      return t
    }
    guard let byteCount = type.storageBytes(count: count) else {
      throw SecateurError.invalidModel("tensor '\(name)': \(type) shape \(dims) overflows")
    }

    let buffer: Buffer
    if location == 1 {
      guard let resolver = externalData else {
        throw SecateurError.invalidModel(
          "tensor '\(name)': external data is not allowed when loading from memory (no model folder)")
      }
      stats.externalTensors += 1
      buffer = try resolver.load(tensorName: name, entries: external, expectedBytes: byteCount)
    } else if let raw {
      guard raw.count == byteCount else {
        throw SecateurError.invalidModel(
          "tensor '\(name)': raw_data has \(raw.count) bytes but \(type) shape \(dims) needs \(byteCount)")
      }
      // Kernels load elements with natural alignment: a misaligned payload is slid back in place when
      // allowed (see `alignPayloadsInPlace`), else copied.
      let align = max(1, min(type.byteSize, 8))
      var range = raw
      let shift = Int(bitPattern: r.storage.baseAddress + raw.lowerBound) % align
      if shift != 0, alignPayloadsInPlace, raw.lowerBound - shift >= messageStart {
        // Every byte of this message before the payload is parsed (names and strings were copied out),
        // and the payload is last to be used: moving it over them loses nothing.
        let base = r.storage.baseAddress
        memmove(base + raw.lowerBound - shift, base + raw.lowerBound, raw.count)
        range = (raw.lowerBound - shift)..<(raw.upperBound - shift)
      }
      let view = Buffer(slicing: r.storage, range: range)
      buffer = Int(bitPattern: view.baseAddress) % align == 0 ? view : try Buffer(copying: view.bytes)
    } else {
      buffer = try typedFieldsToRaw(name: name, type: type, count: count, byteCount: byteCount,
                                    floats: floats, doubles: doubles, uint64s: uint64s,
                                    int32s: int32s, int64s: int64s)
    }
    var t = try Tensor(name: name, dataType: type, shape: dims, buffer: buffer)
    t.docString = doc
    return t
  }

  /// Converts the typed repeated fields to raw bytes. The field used per type is fixed by onnx.proto:
  /// float/complex64 → float_data; int32/int16/int8/uint16/uint8/bool/float16/bfloat16/float8*/4-bit → int32_data;
  /// int64 → int64_data; double/complex128 → double_data; uint32/uint64 → uint64_data.
  private func typedFieldsToRaw(name: String, type: DataType, count: Int, byteCount: Int,
                                floats: [UInt32], doubles: [UInt64], uint64s: [UInt64],
                                int32s: [Int], int64s: [Int]) throws -> Buffer {
    // Validation before allocation: the field must hold exactly what the shape needs, so a huge
    // declared shape with a few values is refused without allocating (fuzz finding, reader-typed-fields).
    let (have, want, field): (Int, Int, String)
    switch type {
    case .float: (have, want, field) = (floats.count, count, "float_data")
    case .complex64: (have, want, field) = (floats.count, count &* 2, "float_data")
    case .double: (have, want, field) = (doubles.count, count, "double_data")
    case .complex128: (have, want, field) = (doubles.count, count &* 2, "double_data")
    case .int64: (have, want, field) = (int64s.count, count, "int64_data")
    case .uint32, .uint64: (have, want, field) = (uint64s.count, count, "uint64_data")
    case .int4, .uint4, .float4e2m1, .int2, .uint2: (have, want, field) = (int32s.count, byteCount, "int32_data")
    case .string, .undefined: throw SecateurError.invalidModel("tensor '\(name)': no data for \(type)")
    default: (have, want, field) = (int32s.count, count, "int32_data")
    }
    guard count == 0 || have == want else {
      throw SecateurError.invalidModel("tensor '\(name)': \(field) has \(have) values but \(type) shape needs \(want)")
    }
    let buffer = try Buffer(zeroedCount: byteCount)
    let p = buffer.baseAddress
    func need(_ have: Int, _ want: Int, _ field: String) throws {
      guard have == want else {
        throw SecateurError.invalidModel("tensor '\(name)': \(field) has \(have) values but \(type) shape needs \(want)")
      }
    }
    if count == 0 { return buffer }
    switch type {
    case .float:
      try need(floats.count, count, "float_data")
      for (i, v) in floats.enumerated() { p.storeBytes(of: v, toByteOffset: i * 4, as: UInt32.self) }
    case .complex64:
      try need(floats.count, count * 2, "float_data")
      for (i, v) in floats.enumerated() { p.storeBytes(of: v, toByteOffset: i * 4, as: UInt32.self) }
    case .double:
      try need(doubles.count, count, "double_data")
      for (i, v) in doubles.enumerated() { p.storeBytes(of: v, toByteOffset: i * 8, as: UInt64.self) }
    case .complex128:
      try need(doubles.count, count * 2, "double_data")
      for (i, v) in doubles.enumerated() { p.storeBytes(of: v, toByteOffset: i * 8, as: UInt64.self) }
    case .int64:
      try need(int64s.count, count, "int64_data")
      for (i, v) in int64s.enumerated() { p.storeBytes(of: Int64(v), toByteOffset: i * 8, as: Int64.self) }
    case .uint32:
      try need(uint64s.count, count, "uint64_data")
      for (i, v) in uint64s.enumerated() { p.storeBytes(of: UInt32(truncatingIfNeeded: v), toByteOffset: i * 4, as: UInt32.self) }
    case .uint64:
      try need(uint64s.count, count, "uint64_data")
      for (i, v) in uint64s.enumerated() { p.storeBytes(of: v, toByteOffset: i * 8, as: UInt64.self) }
    case .int32:
      try need(int32s.count, count, "int32_data")
      for (i, v) in int32s.enumerated() { p.storeBytes(of: Int32(truncatingIfNeeded: v), toByteOffset: i * 4, as: Int32.self) }
    case .int16, .uint16, .float16, .bfloat16:
      try need(int32s.count, count, "int32_data")
      for (i, v) in int32s.enumerated() { p.storeBytes(of: UInt16(truncatingIfNeeded: v), toByteOffset: i * 2, as: UInt16.self) }
    case .int8, .uint8, .bool, .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0:
      try need(int32s.count, count, "int32_data")
      for (i, v) in int32s.enumerated() { p.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: i, as: UInt8.self) }
    case .int4, .uint4, .float4e2m1, .int2, .uint2:
      // Sub-byte types: int32_data holds the already-packed bytes, one byte per int32.
      try need(int32s.count, byteCount, "int32_data")
      for (i, v) in int32s.enumerated() { p.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: i, as: UInt8.self) }
    case .string, .undefined:
      throw SecateurError.invalidModel("tensor '\(name)': no data for \(type)")
    }
    return buffer
  }
}
