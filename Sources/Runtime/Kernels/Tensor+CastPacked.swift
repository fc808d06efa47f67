import ModelFormat

/// Element conversions for the narrow ONNX types: float8 (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz, e8m0),
/// float4e2m1, and the packed integers int4/uint4/int2/uint2 (two or four elements per byte, low bits
/// first). Cast, CastLike, QuantizeLinear and DequantizeLinear route through here when either side is
/// one of these types; everything else keeps Tensor+Cast.swift's fast typed loops.
///
/// The bit patterns follow the ONNX reference (which uses ml_dtypes): round to nearest even; with
/// `saturate` values beyond the largest finite value (and ±inf) clamp to it, without it they become
/// inf (e5m2) or NaN (the others). float4e2m1 has neither inf nor NaN and always clamps.

extension DataType {
  /// Types converted element by element through `NarrowCodec` rather than a Swift scalar type.
  var isNarrow: Bool {
    switch self {
    case .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0, .float4e2m1,
         .int4, .uint4, .int2, .uint2: return true
    default: return false
    }
  }
}

/// Rounding of float → float8e8m0 (Cast 24 'round_mode').
enum E8M0Rounding: String { case up, down, nearest }

/// Encodes and decodes one narrow element type.
struct NarrowCodec {
  let type: DataType
  var saturate = true
  var e8m0Rounding = E8M0Rounding.up

  /// Minifloat layout: exponent bits, mantissa bits, bias, largest finite code (sign excluded).
  private var layout: (e: Int, m: Int, bias: Int, maxCode: UInt32)? {
    switch type {
    case .float8e4m3fn: return (4, 3, 7, 0x7E)
    case .float8e4m3fnuz: return (4, 3, 8, 0x7F)
    case .float8e5m2: return (5, 2, 15, 0x7B)
    case .float8e5m2fnuz: return (5, 2, 16, 0x7F)
    case .float4e2m1: return (2, 1, 1, 0x7)
    default: return nil
    }
  }

  /// The raw code (sign included) for `x`.
  func encode(_ x: Float) -> UInt8 {
    switch type {
    case .int4, .uint4, .int2, .uint2:
      // ml_dtypes goes through a C int conversion: truncation, and x86's 0x80000000 for NaN/out of range.
      let i: Int32 = (x.isNaN || x >= 2147483648 || x < -2147483648) ? Int32.min : Int32(x.rounded(.towardZero))
      return UInt8(truncatingIfNeeded: i) & (type.bitWidth == 4 ? 0x0F : 0x03)
    case .float8e8m0:
      return encodeE8M0(x)
    default:
      return encodeMinifloat(x)
    }
  }

  private func encodeMinifloat(_ x: Float) -> UInt8 {
    guard let (eBits, mBits, bias, maxCode) = layout else { return 0 }
    let uz = type == .float8e4m3fnuz || type == .float8e5m2fnuz
    let bits = x.bitPattern
    let sign: UInt32 = type == .float4e2m1 ? (bits >> 28) & 0x8 : (bits >> 24) & 0x80
    if x.isNaN {
      switch type {
      case .float8e4m3fn: return UInt8(sign | 0x7F)
      case .float8e5m2: return UInt8(sign | 0x7E)
      case .float4e2m1: return UInt8(sign ^ 0x8)  // ml_dtypes' pattern; the type has no NaN
      default: return 0x80
      }
    }
    let a = bits & 0x7FFF_FFFF
    let overflow: UInt32 = {
      if saturate || type == .float4e2m1 { return sign | maxCode }
      switch type {
      case .float8e5m2: return sign | 0x7C
      case .float8e4m3fn: return sign | 0x7F
      default: return 0x80
      }
    }()
    if x.isInfinite { return UInt8(overflow) }
    let minNormalExp = 1 - bias
    let exp = Int((a >> 23) & 0xFF) - 127
    var code: UInt32
    if exp < minNormalExp {
      // Subnormal in the target: count units of its smallest subnormal, rounding half to even.
      let scaled = Double(Float(bitPattern: a)) * pow2(mBits - minNormalExp)
      code = UInt32(scaled.rounded(.toNearestOrEven))
    } else {
      let shift = UInt32(23 - mBits)
      let rounded = a &+ ((1 << (shift - 1)) - 1) &+ ((a >> shift) & 1)
      let t = rounded >> shift
      code = t &- (UInt32(127 - bias) << UInt32(mBits))
      _ = eBits
    }
    if code > maxCode { return UInt8(overflow) }
    if code == 0 && uz { return 0 }  // no negative zero in the fnuz types
    return UInt8(sign | code)
  }

  private func encodeE8M0(_ x: Float) -> UInt8 {
    let bits = x.bitPattern
    var e = (bits >> 23) & 0xFF
    if e == 0xFF { return 0xFF }
    let fraction = bits & 0x7F_FFFF
    switch e8m0Rounding {
    case .down: break
    case .up:
      if fraction != 0 && !(saturate && e == 0xFE) { e += 1 }
    case .nearest:
      let g = bits & 0x40_0000 != 0, r = bits & 0x20_0000 != 0, s = bits & 0x1F_FFFF != 0, lsb = e > 0
      if g && (r || s || lsb) && !(saturate && e == 0xFE) { e += 1 }
    }
    return UInt8(truncatingIfNeeded: e)
  }

  /// The value of a raw code.
  func decode(_ c: UInt8) -> Float {
    switch type {
    case .int4: return Float(Int8(bitPattern: c << 4) >> 4)
    case .uint4: return Float(c & 0x0F)
    case .int2: return Float(Int8(bitPattern: c << 6) >> 6)
    case .uint2: return Float(c & 0x03)
    case .float8e8m0:
      return c == 0xFF ? .nan : Float(pow2(Int(c) - 127))
    default:
      guard let (eBits, mBits, bias, _) = layout else { return 0 }
      let signBit: UInt8 = type == .float4e2m1 ? 0x8 : 0x80
      let uz = type == .float8e4m3fnuz || type == .float8e5m2fnuz
      if uz && c == 0x80 { return .nan }
      let mag = UInt32(c & ~signBit)
      if type == .float8e4m3fn && mag == 0x7F { return .nan }
      let e = Int(mag >> UInt32(mBits)), m = Int(mag & ((1 << UInt32(mBits)) - 1))
      if type == .float8e5m2 && e == (1 << eBits) - 1 { return m == 0 ? (c & signBit != 0 ? -.infinity : .infinity) : .nan }
      let v = e == 0 ? Double(m) * pow2(1 - bias - mBits) : Double((1 << mBits) + m) * pow2(e - bias - mBits)
      return Float(c & signBit != 0 ? -v : v)
    }
  }
}

@inline(__always) private func pow2(_ k: Int) -> Double { Double(sign: .plus, exponent: k, significand: 1) }

/// Reads element `i` of a narrow tensor's packed bytes.
@inline(__always) func narrowCode(_ p: UnsafeRawPointer, _ type: DataType, _ i: Int) -> UInt8 {
  let bytes = p.assumingMemoryBound(to: UInt8.self)
  switch type.bitWidth {
  case 4: return (bytes[i >> 1] >> UInt8((i & 1) * 4)) & 0x0F
  case 2: return (bytes[i >> 2] >> UInt8((i & 3) * 2)) & 0x03
  default: return bytes[i]
  }
}

/// Writes element `i` of a narrow tensor's packed bytes (the other elements of the byte are kept).
@inline(__always) func setNarrowCode(_ p: UnsafeMutableRawPointer, _ type: DataType, _ i: Int, _ c: UInt8) {
  let bytes = p.assumingMemoryBound(to: UInt8.self)
  switch type.bitWidth {
  case 4:
    let s = UInt8((i & 1) * 4)
    bytes[i >> 1] = (bytes[i >> 1] & ~(0x0F << s)) | ((c & 0x0F) << s)
  case 2:
    let s = UInt8((i & 3) * 2)
    bytes[i >> 2] = (bytes[i >> 2] & ~(0x03 << s)) | ((c & 0x03) << s)
  default: bytes[i] = c
  }
}

/// Reads `n` elements of any Cast-able type (narrow or not) as Double.
func readAsDouble(_ type: DataType, _ src: UnsafeRawPointer, count n: Int, _ label: String) throws -> [Double] {
  if type.isNarrow {
    let codec = NarrowCodec(type: type)
    return (0..<n).map { Double(codec.decode(narrowCode(src, type, $0))) }
  }
  return try withCastType(type, label) { s in readTyped(s, src, n) }
}

private func readTyped<S: CastScalar>(_: S.Type, _ src: UnsafeRawPointer, _ n: Int) -> [Double] {
  let p = src.assumingMemoryBound(to: S.self)
  return (0..<n).map { p[$0].double }
}

/// Writes `values` as `type` (narrow or not); narrow destinations are encoded with `codec`'s options.
func writeFromDouble(_ values: [Double], _ type: DataType, _ dst: UnsafeMutableRawPointer, saturate: Bool,
                     rounding: E8M0Rounding, _ label: String) throws {
  if type.isNarrow {
    if let b = type.storageBytes(count: values.count) { dst.initializeMemory(as: UInt8.self, repeating: 0, count: b) }
    let codec = NarrowCodec(type: type, saturate: saturate, e8m0Rounding: rounding)
    for (i, v) in values.enumerated() { setNarrowCode(dst, type, i, codec.encode(Float(v))) }
    return
  }
  try withCastType(type, label) { d in writeTyped(d, values, dst) }
}

private func writeTyped<D: CastScalar>(_: D.Type, _ values: [Double], _ dst: UnsafeMutableRawPointer) {
  let p = dst.assumingMemoryBound(to: D.self)
  for (i, v) in values.enumerated() { p[i] = D(double: v) }
}

/// Cast between any two supported types where at least one is narrow.
func convertNarrow(from: DataType, _ src: UnsafeRawPointer, to: DataType, _ dst: UnsafeMutableRawPointer, count n: Int,
                   saturate: Bool, rounding: E8M0Rounding, _ label: String) throws {
  if from == to {
    if let b = from.storageBytes(count: n), src != UnsafeRawPointer(dst) { dst.copyMemory(from: src, byteCount: b) }
    return
  }
  // Integers into packed integers wrap like the wider integer casts (no float detour).
  if to.isNarrow, to.isInteger, from.isInteger || from == .bool, !from.isNarrow {
    let ints = try withCastType(from, label) { s in readBits(s, src, n) }
    if let b = to.storageBytes(count: n) { dst.initializeMemory(as: UInt8.self, repeating: 0, count: b) }
    for (i, v) in ints.enumerated() { setNarrowCode(dst, to, i, UInt8(truncatingIfNeeded: v)) }
    return
  }
  let values = try readAsDouble(from, src, count: n, label)
  try writeFromDouble(values, to, dst, saturate: saturate, rounding: rounding, label)
}

private func readBits<S: CastScalar>(_: S.Type, _ src: UnsafeRawPointer, _ n: Int) -> [Int64] {
  let p = src.assumingMemoryBound(to: S.self)
  return (0..<n).map { p[$0].bits }
}

/// Throws unless `t` is an element type Cast handles.
func requireCastable(_ t: DataType, _ label: String) throws {
  if t.isNarrow { return }
  _ = try withCastType(t, label) { _ in 0 }
}
