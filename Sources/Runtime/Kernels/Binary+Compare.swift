import ModelFormat

// Comparisons (bool output) and Where (3-way broadcast select).

extension BinaryKernels {
  static let compareRegistrations: [OpRegistration] = [
    // 7: numpy broadcasting. 11: Equal accepts floats (the kernel always does).
    compare("Equal", EqualOp()), compare("Equal", since: 7, EqualOp()), compare("Equal", since: 11, EqualOp()),
    compare("Less", LessOp()), compare("Less", since: 7, LessOp()),
    compare("Greater", GreaterOp()), compare("Greater", since: 7, GreaterOp()),
    compare("LessOrEqual", since: 12, LessOrEqualOp()),
    compare("GreaterOrEqual", since: 12, GreaterOrEqualOp()),
    OpRegistration("Where", since: 9) { c in WhereKernel(c) },
  ]

  static func compare<Op: CompareOp>(_ name: String, since: Int = 1, _ op: Op) -> OpRegistration {
    OpRegistration(name, since: since) { c in try CompareKernel(op, c) }
  }
}

protocol CompareOp: Sendable {
  func callAsFunction<T: Comparable>(_ a: T, _ b: T) -> Bool
}
struct EqualOp: CompareOp { func callAsFunction<T: Comparable>(_ a: T, _ b: T) -> Bool { a == b } }
struct LessOp: CompareOp { func callAsFunction<T: Comparable>(_ a: T, _ b: T) -> Bool { a < b } }
struct GreaterOp: CompareOp { func callAsFunction<T: Comparable>(_ a: T, _ b: T) -> Bool { a > b } }
struct LessOrEqualOp: CompareOp { func callAsFunction<T: Comparable>(_ a: T, _ b: T) -> Bool { a <= b } }
struct GreaterOrEqualOp: CompareOp { func callAsFunction<T: Comparable>(_ a: T, _ b: T) -> Bool { a >= b } }

struct CompareFn<Op: CompareOp, T: Comparable>: ElementFn2 {
  let op: Op
  @inline(__always) func callAsFunction(_ a: T, _ b: T) -> UInt8 { op(a, b) ? 1 : 0 }
}

/// A comparison: both inputs share one numeric (or bool, for Equal) type; the output is bool.
final class CompareKernel<Op: CompareOp>: OpKernel {
  let op: Op
  let label: String

  init(_ op: Op, _ ctx: NodeContext) throws {
    try BinaryKernels.checkLegacyBroadcast(ctx)
    self.op = op
    self.label = ctx.label
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let a = try required(inputs, 0, label), b = try required(inputs, 1, label)
    guard a.dataType == b.dataType else {
      throw SecateurError.invalidModel("\(label): input types \(a.dataType) and \(b.dataType) differ: they must match")
    }
    try a.require(ElementTypes.numeric.union([.bool]), label)
    return [TensorSpec(.bool, try broadcastShapes([a.shape, b.shape], label))]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let a = inputView(inputs, 0), let b = inputView(inputs, 1), let out = outputs.first else { return }
    let pool = context.pool
    switch a.dataType {
    case .float: broadcastBinary(CompareFn<Op, Float>(op: op), a, b, out, pool)
    case .double: broadcastBinary(CompareFn<Op, Double>(op: op), a, b, out, pool)
    case .float16: broadcastBinary(CompareFn<Op, Float16>(op: op), a, b, out, pool)
    case .int8: broadcastBinary(CompareFn<Op, Int8>(op: op), a, b, out, pool)
    case .int16: broadcastBinary(CompareFn<Op, Int16>(op: op), a, b, out, pool)
    case .int32: broadcastBinary(CompareFn<Op, Int32>(op: op), a, b, out, pool)
    case .int64: broadcastBinary(CompareFn<Op, Int64>(op: op), a, b, out, pool)
    case .uint8, .bool: broadcastBinary(CompareFn<Op, UInt8>(op: op), a, b, out, pool)
    case .uint16: broadcastBinary(CompareFn<Op, UInt16>(op: op), a, b, out, pool)
    case .uint32: broadcastBinary(CompareFn<Op, UInt32>(op: op), a, b, out, pool)
    case .uint64: broadcastBinary(CompareFn<Op, UInt64>(op: op), a, b, out, pool)
    default: break
    }
  }
}

/// ONNX `Where`: `out = cond ? x : y` with all three broadcast. Elements are moved by width only,
/// so every fixed-size type (including bool and float16) shares four loops.
final class WhereKernel: OpKernel {
  let label: String

  init(_ ctx: NodeContext) { label = ctx.label }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let c = try required(inputs, 0, label), x = try required(inputs, 1, label), y = try required(inputs, 2, label)
    try c.require([.bool], label, "condition")
    guard x.dataType == y.dataType else {
      throw SecateurError.invalidModel("\(label): X type \(x.dataType) and Y type \(y.dataType) differ: they must match")
    }
    guard [1, 2, 4, 8].contains(x.dataType.byteSize) else {
      throw SecateurError.unsupported("\(label): element type \(x.dataType) is not supported")
    }
    return [TensorSpec(x.dataType, try broadcastShapes([c.shape, x.shape, y.shape], label))]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let c = inputView(inputs, 0), let x = inputView(inputs, 1), let y = inputView(inputs, 2),
          let out = outputs.first, out.count > 0 else { return }
    let plan = BroadcastPlan(outShape: out.shape, operandShapes: [c.shape, x.shape, y.shape])
    let sc = plan.step(0), sx = plan.step(1), sy = plan.step(2)
    let pc = c.pointer(UInt8.self)
    func go<T>(_: T.Type) {
      let px = x.pointer(T.self), py = y.pointer(T.self), po = out.pointer(T.self)
      plan.run(context.pool) { oo, oc, ox, oy, n in
        let cc = pc + oc, xx = px + ox, yy = py + oy, o = po + oo
        if sc == 1 && sx == 1 && sy == 1 {
          for i in 0..<n { o[i] = cc[i] != 0 ? xx[i] : yy[i] }
        } else {
          for i in 0..<n { o[i] = cc[i &* sc] != 0 ? xx[i &* sx] : yy[i &* sy] }
        }
      }
    }
    switch out.dataType.byteSize {
    case 1: go(UInt8.self)
    case 2: go(UInt16.self)
    case 4: go(UInt32.self)
    case 8: go(UInt64.self)
    default: break
    }
  }
}
