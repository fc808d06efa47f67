import ModelFormat

/// ONNX linear quantization: `QuantizeLinear`, `DequantizeLinear` and `DynamicQuantizeLinear`.
///
/// Scale and zero point are a scalar, a 1-D vector along `axis` (13+), or blocks of `block_size`
/// along `axis` (21+, same rank as x). Quantize: y = saturate(round_half_even(x / scale) + zp) for
/// the integer types; float8 types cast x / scale (saturating unless `saturate` = 0, 19+).
/// Dequantize: y = (x − zp) · scale computed in float32, stored as scale's type (or `output_dtype`, 23+).
enum QuantizeKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("QuantizeLinear", since: 10) { try QuantizeKernel($0, quantize: true) },
    OpRegistration("QuantizeLinear", since: 13) { try QuantizeKernel($0, quantize: true) },  // 13: per-axis
    OpRegistration("QuantizeLinear", since: 19) { try QuantizeKernel($0, quantize: true) },  // 19: float8, saturate
    OpRegistration("QuantizeLinear", since: 21) { try QuantizeKernel($0, quantize: true) },  // 21: blocks, int4, output_dtype
    OpRegistration("QuantizeLinear", since: 23) { try QuantizeKernel($0, quantize: true) },  // 23: float4, precision
    OpRegistration("QuantizeLinear", since: 25) { try QuantizeKernel($0, quantize: true) },  // 25: int2/uint2
    OpRegistration("DequantizeLinear", since: 10) { try QuantizeKernel($0, quantize: false) },
    OpRegistration("DequantizeLinear", since: 13) { try QuantizeKernel($0, quantize: false) },  // 13: per-axis
    OpRegistration("DequantizeLinear", since: 19) { try QuantizeKernel($0, quantize: false) },  // 19: float8
    OpRegistration("DequantizeLinear", since: 21) { try QuantizeKernel($0, quantize: false) },  // 21: blocks, int4
    OpRegistration("DequantizeLinear", since: 23) { try QuantizeKernel($0, quantize: false) },  // 23: output_dtype
    OpRegistration("DequantizeLinear", since: 25) { try QuantizeKernel($0, quantize: false) },  // 25: int2/uint2
    OpRegistration("DynamicQuantizeLinear", since: 11) { try DynamicQuantizeKernel($0) },
  ]
}

/// Integer ranges of the quantized integer types.
func quantRange(_ t: DataType) -> (Double, Double)? {
  switch t {
  case .uint8: return (0, 255)
  case .int8: return (-128, 127)
  case .uint16: return (0, 65535)
  case .int16: return (-32768, 32767)
  case .int32: return (-2147483648, 2147483647)
  case .uint4: return (0, 15)
  case .int4: return (-8, 7)
  case .uint2: return (0, 3)
  case .int2: return (-2, 1)
  default: return nil
  }
}

final class QuantizeKernel: OpKernel {
  let label: String
  let quantize: Bool
  let axis: Int
  let blockSize: Int
  let saturate: Bool
  let outputType: DataType?
  let precision: DataType?

  init(_ ctx: NodeContext, quantize: Bool) throws {
    label = ctx.label
    self.quantize = quantize
    axis = try ctx.int("axis", 1)
    blockSize = try ctx.int("block_size", 0)
    guard blockSize >= 0 else { throw ctx.error("attribute block_size \(blockSize): must be nonnegative") }
    saturate = try ctx.int("saturate", 1) != 0
    func type(_ name: String) throws -> DataType? {
      guard let raw = try ctx.intOrNil(name), raw != 0 else { return nil }
      guard let t = DataType(rawValue: Int32(truncatingIfNeeded: raw)) else { throw ctx.error("attribute \(name) \(raw): not a type") }
      return t
    }
    outputType = try type("output_dtype")
    precision = try type("precision")
  }

  /// Where each element's scale lives: (outer, n, inner) around the axis and the blocking.
  private func layout(_ x: [Int], _ s: [Int]) throws -> (outer: Int, n: Int, inner: Int, mode: Int) {
    let count = s.reduce(1, *)
    if s.isEmpty || count == 1 { return (1, 1, 1, 0) }
    let a = try normalizeAxis(axis, rank: x.count, label)
    let outer = x[..<a].reduce(1, *), n = x[a], inner = x[(a + 1)...].reduce(1, *)
    if blockSize == 0 {
      guard s.count == 1, s[0] == n else {
        throw SecateurError.invalidModel("\(label): scale shape \(s) must be [\(n)] for axis \(axis) of \(x)")
      }
      return (outer, n, inner, 1)
    }
    var want = x
    want[a] = (n + blockSize - 1) / blockSize
    guard s == want else { throw SecateurError.invalidModel("\(label): blocked scale shape \(s) must be \(want)") }
    return (outer, n, inner, 2)
  }

  private func scaleIndex(_ i: Int, _ l: (outer: Int, n: Int, inner: Int, mode: Int)) -> Int {
    switch l.mode {
    case 0: return 0
    case 1: return (i / l.inner) % l.n
    default:
      let r = i % l.inner, a = (i / l.inner) % l.n, o = i / (l.inner * l.n)
      let nb = (l.n + blockSize - 1) / blockSize
      return (o * nb + a / blockSize) * l.inner + r
    }
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), s = try required(inputs, 1, label)
    let zp = inputs.count > 2 ? inputs[2] : nil
    _ = try layout(x.shape, s.shape)
    if let zp, zp.shape != s.shape, zp.elementCount != s.elementCount {
      throw SecateurError.invalidModel("\(label): zero point \(zp.shape) must match scale \(s.shape)")
    }
    try requireCastable(x.dataType, label)
    if quantize {
      try x.require([.float, .float16, .bfloat16, .double, .int32], label)
      let t = zp?.dataType ?? outputType ?? .uint8
      guard quantRange(t) != nil || t.isNarrow else {
        throw SecateurError.unsupported("\(label): quantized type \(t) is not supported")
      }
      return [TensorSpec(t, x.shape)]
    }
    let t = outputType ?? s.dataType
    try requireCastable(t, label)
    return [TensorSpec(t, x.shape)]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0], let sv = inputs[1] else { return }
    let zv = inputs.count > 2 ? inputs[2] : nil
    let l = try layout(xv.shape, sv.shape)
    let x = try readAsDouble(xv.dataType, xv.data, count: xv.count, label)
    let s = try readAsDouble(sv.dataType, sv.data, count: sv.count, label)
    let z = try zv.map { try readAsDouble($0.dataType, $0.data, count: $0.count, label) }
    let y = outputs[0]
    var out = [Double](repeating: 0, count: x.count)
    if quantize {
      // The division happens in x's type (or 'precision'), as the reference's numpy arithmetic.
      let round = roundingFunction(precision ?? xv.dataType)
      let range = quantRange(y.dataType)
      for i in 0..<x.count {
        let k = scaleIndex(i, l)
        let q = round(x[i] / s[k])
        if let (lo, hi) = range {
          out[i] = min(max(q.rounded(.toNearestOrEven) + (z?[k] ?? 0), lo), hi)
        } else if y.dataType == .float4e2m1 {
          out[i] = q + (z?[k] ?? 0)
        } else {
          out[i] = q
        }
      }
    } else {
      for i in 0..<x.count {
        let k = scaleIndex(i, l)
        let dx = Double(Float(x[i] - (xv.dataType.isFloatingPoint ? 0 : (z?[k] ?? 0))))
        out[i] = Double(Float(dx) * Float(s[k]))
      }
    }
    try writeFromDouble(out, y.dataType, y.data, saturate: saturate, rounding: .up, label)
  }
}

/// `DynamicQuantizeLinear` (11): uint8 quantization with scale and zero point from x's range (and 0).
final class DynamicQuantizeKernel: OpKernel {
  let label: String
  init(_ ctx: NodeContext) throws { label = ctx.label }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require([.float], label)
    return [TensorSpec(.uint8, x.shape), TensorSpec(.float, []), TensorSpec(.uint8, [])]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0] else { return }
    let x = xv.buffer(Float.self)
    var lo: Float = 0, hi: Float = 0
    for v in x { lo = min(lo, v); hi = max(hi, v) }
    let scale = (hi - lo) / 255
    let zp = scale == 0 ? 0 : min(max((0 - lo / scale).rounded(.toNearestOrEven), 0), 255)
    let y = outputs[0].pointer(UInt8.self)
    for (i, v) in x.enumerated() {
      let q = scale == 0 ? zp : (v / scale).rounded(.toNearestOrEven) + zp
      y[i] = UInt8(min(max(q, 0), 255))
    }
    outputs[1].pointer(Float.self)[0] = scale
    if outputs.count > 2 { outputs[2].pointer(UInt8.self)[0] = UInt8(zp) }
  }
}
