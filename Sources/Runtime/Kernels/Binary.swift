import ModelFormat

/// ONNX binary ops with numpy broadcasting: arithmetic (Add, Sub, Mul, Div, Mod, Pow, PRelu), bitwise
/// and logical ops here; comparisons and Where in Binary+Compare.swift; variadic Sum/Mean/Min/Max in
/// Binary+Variadic.swift. The broadcast loop driver is `BroadcastPlan` (ElementwiseSupport.swift).
///
/// Opsets before 7 broadcast only with the legacy `broadcast=1` + `axis` attributes; without `axis`
/// that is numpy's suffix alignment, which is what these kernels do. An explicit legacy `axis` is rejected.
enum BinaryKernels {
  static let registrations: [OpRegistration] =
    arithmetic + compareRegistrations + variadicRegistrations

  static let arithmetic: [OpRegistration] = [
    // 7: numpy broadcasting replaces the `broadcast`/`axis` attributes. 14: int8/int16/uint8/uint16 added.
    binary("Add", AddOp()), binary("Add", since: 7, AddOp()),
    binary("Sub", SubOp()), binary("Sub", since: 7, SubOp()),
    binary("Mul", MulOp()), binary("Mul", since: 7, MulOp()),
    binary("Div", DivOp()), binary("Div", since: 7, DivOp()),
    OpRegistration("Mod", since: 10) { c in
      let fmod = try c.int("fmod", 0)
      guard fmod == 0 || fmod == 1 else { throw c.error("attribute fmod \(fmod): must be 0 or 1") }
      return try ArithKernel(ModOp(fmod: fmod == 1), c)
    },
    binary("PRelu", PReluOp()), binary("PRelu", since: 7, PReluOp()),
    binary("And", AndOp()), binary("And", since: 7, AndOp()),
    binary("Or", OrOp()), binary("Or", since: 7, OrOp()),
    binary("Xor", XorOp()), binary("Xor", since: 7, XorOp()),
    binary("BitwiseAnd", since: 18, BitAndOp()),
    binary("BitwiseOr", since: 18, BitOrOp()),
    binary("BitwiseXor", since: 18, BitXorOp()),
    OpRegistration("BitShift", since: 11) { c in
      let dir = try c.string("direction", "")
      guard dir == "LEFT" || dir == "RIGHT" else {
        throw c.error("attribute direction '\(dir)': must be 'LEFT' or 'RIGHT'")
      }
      // 28: signed integer types (arithmetic right shift).
      return try ArithKernel(BitShiftOp(left: dir == "LEFT", signed: c.opset >= 28), c)
    },
    // 7: numpy broadcasting. 12: the exponent may have a different (also integer) type than the base.
    OpRegistration("Pow") { c in try PowKernel(c) },
    OpRegistration("Pow", since: 7) { c in try PowKernel(c) },
    OpRegistration("Pow", since: 12) { c in try PowKernel(c) },
  ]

  static func binary<Op: ArithOp>(_ name: String, since: Int = 1, _ op: Op) -> OpRegistration {
    OpRegistration(name, since: since) { c in try ArithKernel(op, c) }
  }

  /// Rejects the pre-7 explicit broadcast axis, which aligns shapes differently from numpy.
  static func checkLegacyBroadcast(_ c: NodeContext) throws {
    if c.opset < 7, c.node.attribute("axis") != nil, try c.int("broadcast", 0) != 0 {
      throw c.unsupported("legacy broadcasting with an explicit 'axis' (opset \(c.opset)) is not supported")
    }
  }
}

/// The element function of a same-type binary op.
protocol ArithOp: Sendable {
  /// Element types the op accepts (inputs and output share it).
  var types: Set<DataType> { get }
  /// Which of the four float32 fast paths computes this op, or nil.
  var floatArith: FloatArith? { get }
  func float<T: MathFloat>(_ a: T, _ b: T) -> T
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T
}

extension ArithOp {
  var types: Set<DataType> { ElementTypes.numeric }
  var floatArith: FloatArith? { nil }
  func float<T: MathFloat>(_ a: T, _ b: T) -> T { a }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a }
}

struct FloatFn<Op: ArithOp, T: MathFloat>: ElementFn2 {
  let op: Op
  @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { op.float(a, b) }
}
/// float16 computes in Float (x86 has no float16 arithmetic).
struct HalfFn<Op: ArithOp>: ElementFn2 {
  let op: Op
  @inline(__always) func callAsFunction(_ a: Float16, _ b: Float16) -> Float16 { Float16(op.float(Float(a), Float(b))) }
}
struct IntFn<Op: ArithOp, T: FixedWidthInteger>: ElementFn2 {
  let op: Op
  @inline(__always) func callAsFunction(_ a: T, _ b: T) -> T { op.int(a, b) }
}

/// `out = op(a, b)` broadcast, dispatched once on the element type.
func runArith<Op: ArithOp>(_ op: Op, _ a: TensorView, _ b: TensorView, _ out: TensorView, _ pool: ThreadPool?) {
  switch out.dataType {
  case .float:
    if let kind = op.floatArith { return broadcastFloatArith(kind, a, b, out, pool) }
    broadcastBinary(FloatFn<Op, Float>(op: op), a, b, out, pool)
  case .double: broadcastBinary(FloatFn<Op, Double>(op: op), a, b, out, pool)
  case .float16: broadcastBinary(HalfFn<Op>(op: op), a, b, out, pool)
  case .int8: broadcastBinary(IntFn<Op, Int8>(op: op), a, b, out, pool)
  case .int16: broadcastBinary(IntFn<Op, Int16>(op: op), a, b, out, pool)
  case .int32: broadcastBinary(IntFn<Op, Int32>(op: op), a, b, out, pool)
  case .int64: broadcastBinary(IntFn<Op, Int64>(op: op), a, b, out, pool)
  case .uint8, .bool: broadcastBinary(IntFn<Op, UInt8>(op: op), a, b, out, pool)
  case .uint16: broadcastBinary(IntFn<Op, UInt16>(op: op), a, b, out, pool)
  case .uint32: broadcastBinary(IntFn<Op, UInt32>(op: op), a, b, out, pool)
  case .uint64: broadcastBinary(IntFn<Op, UInt64>(op: op), a, b, out, pool)
  default: break
  }
}

/// A same-type binary op: both inputs and the output share one element type; shapes broadcast.
final class ArithKernel<Op: ArithOp>: OpKernel {
  let op: Op
  let label: String
  let isPRelu: Bool

  init(_ op: Op, _ ctx: NodeContext) throws {
    try BinaryKernels.checkLegacyBroadcast(ctx)
    self.op = op
    self.label = ctx.label
    self.isPRelu = Op.self == PReluOp.self
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let a = try required(inputs, 0, label), b = try required(inputs, 1, label)
    guard a.dataType == b.dataType else {
      throw SecateurError.invalidModel("\(label): input types \(a.dataType) and \(b.dataType) differ: they must match")
    }
    try a.require(op.types, label)
    let shape = try broadcastShapes([a.shape, b.shape], label)
    if isPRelu && shape != a.shape {
      throw SecateurError.invalidModel("\(label): slope shape \(b.shape) must broadcast to the input shape \(a.shape)")
    }
    return [TensorSpec(a.dataType, shape)]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let a = inputView(inputs, 0), let b = inputView(inputs, 1), let out = outputs.first else { return }
    runArith(op, a, b, out, context.pool)
  }
}

struct AddOp: ArithOp {
  var floatArith: FloatArith? { .add }
  func float<T: MathFloat>(_ a: T, _ b: T) -> T { a + b }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a &+ b }
}
struct SubOp: ArithOp {
  var floatArith: FloatArith? { .sub }
  func float<T: MathFloat>(_ a: T, _ b: T) -> T { a - b }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a &- b }
}
struct MulOp: ArithOp {
  var floatArith: FloatArith? { .mul }
  func float<T: MathFloat>(_ a: T, _ b: T) -> T { a * b }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a &* b }
}
/// Integer division truncates toward zero (C semantics); division by zero gives 0 instead of trapping.
struct DivOp: ArithOp {
  var floatArith: FloatArith? { .div }
  func float<T: MathFloat>(_ a: T, _ b: T) -> T { a / b }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { b == 0 ? 0 : a.dividedReportingOverflow(by: b).partialValue }
}
/// `fmod=1`: C remainder (sign of the dividend). `fmod=0`: the sign follows the divisor (Python `%`).
struct ModOp: ArithOp {
  let fmod: Bool
  func float<T: MathFloat>(_ a: T, _ b: T) -> T {
    let r = T.fmod(a, b)
    if fmod || r == 0 || (r < 0) == (b < 0) { return r }
    return r + b
  }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T {
    if b == 0 { return 0 }
    let r = a.remainderReportingOverflow(dividingBy: b).partialValue
    if fmod || r == 0 || (r < 0) == (b < 0) { return r }
    return r &+ b
  }
}
struct PReluOp: ArithOp {
  func float<T: MathFloat>(_ a: T, _ b: T) -> T { a < 0 ? a * b : a }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a < 0 ? a &* b : a }
}
struct AndOp: ArithOp {
  var types: Set<DataType> { [.bool] }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a != 0 && b != 0 ? 1 : 0 }
}
struct OrOp: ArithOp {
  var types: Set<DataType> { [.bool] }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a != 0 || b != 0 ? 1 : 0 }
}
struct XorOp: ArithOp {
  var types: Set<DataType> { [.bool] }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { (a != 0) != (b != 0) ? 1 : 0 }
}
struct BitAndOp: ArithOp {
  var types: Set<DataType> { ElementTypes.ints }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a & b }
}
struct BitOrOp: ArithOp {
  var types: Set<DataType> { ElementTypes.ints }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a | b }
}
struct BitXorOp: ArithOp {
  var types: Set<DataType> { ElementTypes.ints }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a ^ b }
}
/// Shift amounts that are negative or at least the width shift every bit out: 0, or the sign fill
/// for a right shift of a negative signed value.
struct BitShiftOp: ArithOp {
  let left: Bool
  let signed: Bool
  var types: Set<DataType> { signed ? ElementTypes.ints : [.uint8, .uint16, .uint32, .uint64] }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T {
    if b < 0 || b >= T.bitWidth { return left || a >= 0 ? 0 : 0 &- 1 }
    return left ? a &<< b : a &>> b
  }
}
struct PowOp: ArithOp {
  var types: Set<DataType> { ElementTypes.floats }
  func float<T: MathFloat>(_ a: T, _ b: T) -> T { T.pow(a, b) }
}

/// `base ^ exponent` for a base of any numeric type and an exponent of another (converted through Double).
struct PowMixed<A: DoubleConvertible, B: DoubleConvertible>: ElementFn2 {
  @inline(__always) func callAsFunction(_ a: A, _ b: B) -> A { A(saturating: Double.pow(a.asDouble, b.asDouble)) }
}

/// ONNX `Pow`. Same float types run in their own precision; mixed or integer types go through Double.
final class PowKernel: OpKernel {
  let label: String
  let mixedTypes: Bool

  init(_ ctx: NodeContext) throws {
    try BinaryKernels.checkLegacyBroadcast(ctx)
    label = ctx.label
    mixedTypes = ctx.opset >= 12
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let a = try required(inputs, 0, label), b = try required(inputs, 1, label)
    try a.require(ElementTypes.floats.union([.int32, .int64]), label, "base")
    try b.require(ElementTypes.numeric, label, "exponent")
    if !mixedTypes && a.dataType != b.dataType {
      throw SecateurError.invalidModel("\(label): base \(a.dataType) and exponent \(b.dataType) types differ before opset 12")
    }
    return [TensorSpec(a.dataType, try broadcastShapes([a.shape, b.shape], label))]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let a = inputView(inputs, 0), let b = inputView(inputs, 1), let out = outputs.first else { return }
    let pool = context.pool
    if a.dataType == b.dataType, ElementTypes.floats.contains(a.dataType) {
      runArith(PowOp(), a, b, out, pool)
      return
    }
    func base<B: DoubleConvertible>(_: B.Type) {
      switch a.dataType {
      case .float: broadcastBinary(PowMixed<Float, B>(), a, b, out, pool)
      case .double: broadcastBinary(PowMixed<Double, B>(), a, b, out, pool)
      case .float16: broadcastBinary(PowMixed<Float16, B>(), a, b, out, pool)
      case .int32: broadcastBinary(PowMixed<Int32, B>(), a, b, out, pool)
      case .int64: broadcastBinary(PowMixed<Int64, B>(), a, b, out, pool)
      default: break
      }
    }
    switch b.dataType {
    case .float: base(Float.self)
    case .double: base(Double.self)
    case .float16: base(Float16.self)
    case .int8: base(Int8.self)
    case .int16: base(Int16.self)
    case .int32: base(Int32.self)
    case .int64: base(Int64.self)
    case .uint8: base(UInt8.self)
    case .uint16: base(UInt16.self)
    case .uint32: base(UInt32.self)
    case .uint64: base(UInt64.self)
    default: break
    }
  }
}

/// The float32 arithmetic real models are full of (SE gates, HardSwish pieces, residual adds the
/// optimizer could not fuse), run as concrete loops the compiler vectorizes.
///
/// Implementation note: the generic path calls `ArithOp.float<T>` through the protocol's witness for
/// every element when the op reaches it as a generic parameter of a kernel class (not specialized):
/// value-witness calls per element made Add and Mul 40 % of PP-OCRv4's detector.
enum FloatArith: Sendable { case add, sub, mul, div }

func broadcastFloatArith(_ kind: FloatArith, _ a: TensorView, _ b: TensorView, _ out: TensorView, _ pool: ThreadPool?) {
  guard out.count > 0 else { return }
  let plan = BroadcastPlan(outShape: out.shape, operandShapes: [a.shape, b.shape])
  let pa = a.pointer(Float.self), pb = b.pointer(Float.self), po = out.pointer(Float.self)
  let sa = plan.step(0), sb = plan.step(1)
  // Concrete element functions: `binaryRun` is specialized for each here (a non-generic caller).
  plan.run(pool) { oo, oa, ob, _, n in
    switch kind {
    case .add: binaryRun(FloatAdd(), pa + oa, sa, pb + ob, sb, po + oo, n)
    case .sub: binaryRun(FloatSub(), pa + oa, sa, pb + ob, sb, po + oo, n)
    case .mul: binaryRun(FloatMul(), pa + oa, sa, pb + ob, sb, po + oo, n)
    case .div: binaryRun(FloatDiv(), pa + oa, sa, pb + ob, sb, po + oo, n)
    }
  }
}

private struct FloatAdd: ElementFn2 { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
private struct FloatSub: ElementFn2 { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
private struct FloatMul: ElementFn2 { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
private struct FloatDiv: ElementFn2 { @inline(__always) func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }
