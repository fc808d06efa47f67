import ModelFormat

/// ONNX `Cast`, `CastLike` and `Constant`, plus the element conversions they share with Pad/OneHot.

/// An element type Cast converts between. Conversions go through `Double` when either side is a
/// float (exact for every source but int64 beyond 2^53), and through the 64-bit two's-complement
/// pattern between integers (numpy's wrap-around).
protocol CastScalar {
  static var isFloat: Bool { get }
  var double: Double { get }
  var bits: Int64 { get }
  init(double: Double)
  init(bits: Int64)
}

extension CastScalar where Self: BinaryFloatingPoint {
  static var isFloat: Bool { true }
  var double: Double { Double(self) }
  var bits: Int64 { Int64(saturating: Double(self)) }
  init(bits: Int64) { self.init(Double(bits)) }
}
extension Float: CastScalar { init(double: Double) { self = Float(double) } }
extension Double: CastScalar { init(double: Double) { self = double } }
extension Float16: CastScalar { init(double: Double) { self = Float16(double) } }

extension Int64 {
  /// Float → integer conversion that never traps: truncates toward zero, NaN → 0, saturates.
  init(saturating d: Double) {
    if d.isNaN { self = 0 } else if d >= 9.223372036854775807e18 { self = .max } else if d <= -9.223372036854775808e18 {
      self = .min
    } else { self = Int64(d.rounded(.towardZero)) }
  }
}

extension CastScalar where Self: FixedWidthInteger {
  static var isFloat: Bool { false }
  var double: Double { Double(self) }
  var bits: Int64 { Int64(truncatingIfNeeded: self) }
  init(bits: Int64) { self.init(truncatingIfNeeded: bits) }
  init(double: Double) {
    // uint64 above 2^63 does not fit the Int64 pivot; everything else wraps like numpy's astype.
    if Self.self == UInt64.self, d63(double) { self.init(truncatingIfNeeded: UInt64(Swift.min(double, 1.8446744073709550e19))) } else {
      self.init(truncatingIfNeeded: Int64(saturating: double))
    }
  }
}
@inline(__always) private func d63(_ d: Double) -> Bool { d >= 9.223372036854775808e18 }
extension Int8: CastScalar {}
extension Int16: CastScalar {}
extension Int32: CastScalar {}
extension Int64: CastScalar {}
extension UInt8: CastScalar {}
extension UInt16: CastScalar {}
extension UInt32: CastScalar {}
extension UInt64: CastScalar {}

/// ONNX bool: one byte, 0 or 1.
struct BoolByte: CastScalar {
  var raw: UInt8
  static var isFloat: Bool { false }
  var double: Double { raw != 0 ? 1 : 0 }
  var bits: Int64 { raw != 0 ? 1 : 0 }
  init(double: Double) { raw = double != 0 ? 1 : 0 }  // NaN is truthy, as numpy
  init(bits: Int64) { raw = bits != 0 ? 1 : 0 }
}

/// bfloat16: the top half of a float32; conversion from float rounds to nearest even.
struct BFloat16: CastScalar {
  var raw: UInt16
  static var isFloat: Bool { true }
  var double: Double { Double(Float(bitPattern: UInt32(raw) << 16)) }
  var bits: Int64 { Int64(saturating: double) }
  init(bits: Int64) { self.init(double: Double(bits)) }
  init(double: Double) {
    let f = Float(double)
    if f.isNaN { raw = 0x7FC0; return }
    let b = f.bitPattern
    raw = UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
  }
}

/// Runs `body` with the CastScalar type for `t`, or throws naming the node.
func withCastType<R>(_ t: DataType, _ label: String, _ body: (any CastScalar.Type) throws -> R) throws -> R {
  switch t {
  case .float: return try body(Float.self)
  case .double: return try body(Double.self)
  case .float16: return try body(Float16.self)
  case .bfloat16: return try body(BFloat16.self)
  case .int8: return try body(Int8.self)
  case .int16: return try body(Int16.self)
  case .int32: return try body(Int32.self)
  case .int64: return try body(Int64.self)
  case .uint8: return try body(UInt8.self)
  case .uint16: return try body(UInt16.self)
  case .uint32: return try body(UInt32.self)
  case .uint64: return try body(UInt64.self)
  case .bool: return try body(BoolByte.self)
  default: throw SecateurError.unsupported("\(label): element type \(t) is not supported by Cast")
  }
}

private func castLoop<S: CastScalar, D: CastScalar>(_ s: UnsafeRawPointer, _: S.Type, _ d: UnsafeMutableRawPointer,
                                                    _: D.Type, _ range: Range<Int>) {
  let src = s.assumingMemoryBound(to: S.self), dst = d.assumingMemoryBound(to: D.self)
  if S.isFloat || D.isFloat {
    for i in range { dst[i] = D(double: src[i].double) }
  } else {
    for i in range { dst[i] = D(bits: src[i].bits) }
  }
}

private func castOuter<S: CastScalar>(_ s: S.Type, _ dstType: DataType, _ src: UnsafeRawPointer,
                                      _ dst: UnsafeMutableRawPointer, _ n: Int, _ pool: ThreadPool, _ label: String) throws {
  try withCastType(dstType, label) { d in
    pool.parallelRanges(n, grain: 16384) { r in castLoop(src, S.self, dst, d, r) }
  }
}

/// Converts `n` elements of type `from` at `src` into type `to` at `dst`.
func convertElements(from: DataType, _ src: UnsafeRawPointer, to: DataType, _ dst: UnsafeMutableRawPointer,
                     count n: Int, pool: ThreadPool, _ label: String) throws {
  if from == to {
    if let b = from.storageBytes(count: n), src != UnsafeRawPointer(dst) { dst.copyMemory(from: src, byteCount: b) }
    return
  }
  try withCastType(from, label) { s in try castOuter(s, to, src, dst, n, pool, label) }
}

/// One element of type `t` holding `value` (Pad's and OneHot's scalar attributes), as bytes.
func scalarBytes(_ value: Double, _ t: DataType, _ label: String) throws -> [UInt8] {
  var out = [UInt8](repeating: 0, count: 8)
  try [value].withUnsafeBytes { src in
    try out.withUnsafeMutableBytes { dst in
      try convertElements(from: .double, src.baseAddress!, to: t, dst.baseAddress!, count: 1, pool: .serial, label)
    }
  }
  return out
}

/// `Cast` (1; 6 widened the types; 13 bfloat16; 19 float8 + 'saturate'; 21 int4/uint4; 23 float4e2m1;
/// 24 float8e8m0 + 'round_mode'; 25 int2/uint2). Narrow types go through Tensor+CastPacked.swift.
final class CastKernel: OpKernel {
  let label: String
  let to: DataType?
  let saturate: Bool
  let rounding: E8M0Rounding
  init(_ ctx: NodeContext, like: Bool) throws {
    label = ctx.label
    saturate = try ctx.int("saturate", 1) != 0
    let mode = try ctx.string("round_mode", "up")
    guard let r = E8M0Rounding(rawValue: mode) else { throw ctx.error("attribute round_mode '\(mode)': must be up, down or nearest") }
    rounding = r
    if like {
      to = nil
    } else {
      let t: DataType
      if let name = ctx.node.attribute("to")?.stringValue {
        // Cast-1 named the type as a string ("FLOAT", "INT64", …).
        guard let named = DataType.allCases.first(where: { "\($0)".uppercased() == name.uppercased() || onnxName($0) == name.uppercased() })
        else { throw ctx.error("attribute 'to' = '\(name)' is not an ONNX element type") }
        t = named
      } else {
        let raw = try ctx.int("to", 0)
        guard let v = DataType(rawValue: Int32(truncatingIfNeeded: raw)), v != .undefined else {
          throw ctx.error("attribute 'to' = \(raw) is not an ONNX element type")
        }
        t = v
      }
      to = t
      try requireCastable(t, label)
    }
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    let t = try to ?? required(inputs, 1, label).dataType
    try requireCastable(x.dataType, label)
    try requireCastable(t, label)
    return [TensorSpec(t, x.shape)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let y = outputs[0]
    if x.dataType.isNarrow || y.dataType.isNarrow {
      try convertNarrow(from: x.dataType, x.data, to: y.dataType, y.data, count: y.count, saturate: saturate,
                        rounding: rounding, label)
      return
    }
    try convertElements(from: x.dataType, x.data, to: y.dataType, y.data, count: y.count, pool: context.pool, label)
  }
}

/// The TensorProto.DataType enum name of `t` ("FLOAT", "INT64", …), as Cast-1 spells types.
private func onnxName(_ t: DataType) -> String {
  switch t {
  case .float: return "FLOAT"
  case .double: return "DOUBLE"
  case .float16: return "FLOAT16"
  case .bfloat16: return "BFLOAT16"
  default: return "\(t)".uppercased()
  }
}

/// `Constant` (1: value; 11: sparse_value; 12: value_float(s)/value_int(s)/value_string(s)).
final class ConstantKernel: OpKernel {
  let value: Tensor
  init(_ ctx: NodeContext) throws {
    if let t = ctx.tensor("value") {
      guard t.dataType != .string else { throw ctx.unsupported("string constants are not supported") }
      value = t
    } else if let v = ctx.node.attribute("value_float")?.floatValue {
      value = try Tensor([v], shape: [], dataType: .float)
    } else if let v = ctx.node.attribute("value_floats")?.floats {
      value = try Tensor(v, shape: [v.count], dataType: .float)
    } else if let v = ctx.node.attribute("value_int")?.intValue {
      value = try Tensor([Int64(v)], shape: [], dataType: .int64)
    } else if let v = ctx.node.attribute("value_ints")?.ints {
      value = try Tensor(v.map { Int64($0) }, shape: [v.count], dataType: .int64)
    } else if ctx.node.attribute("value_string") != nil || ctx.node.attribute("value_strings") != nil {
      throw ctx.unsupported("string constants are not supported")
    } else if ctx.node.attribute("sparse_value") != nil {
      throw ctx.unsupported("sparse_value constants are not supported")
    } else {
      throw ctx.error("one of the value attributes is required")
    }
  }
  func valuesFromSpecs(_ inputs: [TensorSpec?]) throws -> [Tensor]? { [value] }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    [TensorSpec(value.dataType, value.shape)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    if let n = value.dataType.storageBytes(count: value.elementCount), n > 0 {
      outputs[0].data.copyMemory(from: value.buffer.baseAddress, byteCount: n)
    }
  }
}

enum CastKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("Cast", since: 1) { try CastKernel($0, like: false) },
    OpRegistration("Cast", since: 19) { try CastKernel($0, like: false) },  // 19: float8 types, 'saturate'
    OpRegistration("Cast", since: 24) { try CastKernel($0, like: false) },  // 24: float8e8m0, 'round_mode'
    OpRegistration("CastLike", since: 15) { try CastKernel($0, like: true) },
    OpRegistration("CastLike", since: 19) { try CastKernel($0, like: true) },  // 19: float8 types, 'saturate'
    OpRegistration("CastLike", since: 24) { try CastKernel($0, like: true) },  // 24: float8e8m0, 'round_mode'
    OpRegistration("Constant", since: 1) { try ConstantKernel($0) },
  ]
}
