/// ONNX tensor element types, numbered exactly as `TensorProto.DataType` (onnx.proto, IR 10).
public enum DataType: Int32, Sendable, CaseIterable, CustomStringConvertible {
  case undefined = 0
  case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7
  case string = 8, bool = 9, float16 = 10, double = 11, uint32 = 12, uint64 = 13
  case complex64 = 14, complex128 = 15, bfloat16 = 16
  case float8e4m3fn = 17, float8e4m3fnuz = 18, float8e5m2 = 19, float8e5m2fnuz = 20
  case uint4 = 21, int4 = 22, float4e2m1 = 23, float8e8m0 = 24, uint2 = 25, int2 = 26

  /// Bits per element as stored in `raw_data` (sub-byte types are packed, low bits first).
  public var bitWidth: Int {
    switch self {
    case .undefined, .string: return 0
    case .uint2, .int2: return 2
    case .uint4, .int4, .float4e2m1: return 4
    case .uint8, .int8, .bool, .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0: return 8
    case .uint16, .int16, .float16, .bfloat16: return 16
    case .float, .int32, .uint32: return 32
    case .int64, .uint64, .double, .complex64: return 64
    case .complex128: return 128
    }
  }

  /// Bytes per element for byte-addressable types; 0 for strings and sub-byte types.
  public var byteSize: Int { bitWidth % 8 == 0 ? bitWidth / 8 : 0 }

  /// Bytes needed to store `count` elements (packed for sub-byte types), or nil on overflow.
  public func storageBytes(count: Int) -> Int? {
    guard count >= 0 else { return nil }
    let (bits, o) = count.multipliedReportingOverflow(by: bitWidth)
    if o { return nil }
    return (bits + 7) / 8
  }

  public var isFloatingPoint: Bool {
    switch self {
    case .float, .double, .float16, .bfloat16, .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz,
         .float4e2m1, .float8e8m0: return true
    default: return false
    }
  }

  public var isInteger: Bool {
    switch self {
    case .uint8, .int8, .uint16, .int16, .int32, .int64, .uint32, .uint64, .uint4, .int4, .uint2, .int2: return true
    default: return false
    }
  }

  public var description: String {
    switch self {
    case .undefined: return "undefined"
    case .float: return "float32"
    case .uint8: return "uint8"
    case .int8: return "int8"
    case .uint16: return "uint16"
    case .int16: return "int16"
    case .int32: return "int32"
    case .int64: return "int64"
    case .string: return "string"
    case .bool: return "bool"
    case .float16: return "float16"
    case .double: return "float64"
    case .uint32: return "uint32"
    case .uint64: return "uint64"
    case .complex64: return "complex64"
    case .complex128: return "complex128"
    case .bfloat16: return "bfloat16"
    case .float8e4m3fn: return "float8e4m3fn"
    case .float8e4m3fnuz: return "float8e4m3fnuz"
    case .float8e5m2: return "float8e5m2"
    case .float8e5m2fnuz: return "float8e5m2fnuz"
    case .uint4: return "uint4"
    case .int4: return "int4"
    case .float4e2m1: return "float4e2m1"
    case .float8e8m0: return "float8e8m0"
    case .uint2: return "uint2"
    case .int2: return "int2"
    }
  }
}
