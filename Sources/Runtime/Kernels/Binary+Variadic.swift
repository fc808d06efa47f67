import ModelFormat

// Variadic Sum, Mean, Max, Min: every input broadcasts to the output, folded left to right in place.

extension BinaryKernels {
  static let variadicRegistrations: [OpRegistration] = [
    // 8: numpy broadcasting (before: equal shapes, which broadcasting also accepts).
    // 12: Max/Min accept integer types (the kernel always does).
    OpRegistration("Sum") { c in VariadicKernel(AddOp(), c, types: ElementTypes.floats, mean: false) },
    OpRegistration("Sum", since: 8) { c in VariadicKernel(AddOp(), c, types: ElementTypes.floats, mean: false) },
    OpRegistration("Mean") { c in VariadicKernel(AddOp(), c, types: ElementTypes.floats, mean: true) },
    OpRegistration("Mean", since: 8) { c in VariadicKernel(AddOp(), c, types: ElementTypes.floats, mean: true) },
    OpRegistration("Max") { c in VariadicKernel(MaxOp(), c, types: ElementTypes.numeric, mean: false) },
    OpRegistration("Max", since: 8) { c in VariadicKernel(MaxOp(), c, types: ElementTypes.numeric, mean: false) },
    OpRegistration("Min") { c in VariadicKernel(MinOp(), c, types: ElementTypes.numeric, mean: false) },
    OpRegistration("Min", since: 8) { c in VariadicKernel(MinOp(), c, types: ElementTypes.numeric, mean: false) },
  ]
}

/// Max propagating NaN from either side, as numpy's `maximum`.
struct MaxOp: ArithOp {
  func float<T: MathFloat>(_ a: T, _ b: T) -> T { a > b || a.isNaN ? a : b }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { Swift.max(a, b) }
}
/// Min propagating NaN from either side, as numpy's `minimum`.
struct MinOp: ArithOp {
  func float<T: MathFloat>(_ a: T, _ b: T) -> T { a < b || a.isNaN ? a : b }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { Swift.min(a, b) }
}
/// Takes the first operand: broadcasts a single input into the output.
struct FirstOp: ArithOp {
  func float<T: MathFloat>(_ a: T, _ b: T) -> T { a }
  func int<T: FixedWidthInteger>(_ a: T, _ b: T) -> T { a }
}

final class VariadicKernel<Op: ArithOp>: OpKernel {
  let op: Op
  let label: String
  let types: Set<DataType>
  let mean: Bool

  init(_ op: Op, _ ctx: NodeContext, types: Set<DataType>, mean: Bool) {
    self.op = op
    self.label = ctx.label
    self.types = types
    self.mean = mean
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let first = try required(inputs, 0, label)
    try first.require(types, label)
    var shapes: [[Int]] = []
    for i in 0..<inputs.count {
      let s = try required(inputs, i, label)
      guard s.dataType == first.dataType else {
        throw SecateurError.invalidModel("\(label): input \(i) type \(s.dataType) differs from input 0 type \(first.dataType)")
      }
      shapes.append(s.shape)
    }
    return [TensorSpec(first.dataType, try broadcastShapes(shapes, label))]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let out = outputs.first, let first = inputView(inputs, 0) else { return }
    let pool = context.pool
    let present = inputs.compactMap { $0 }
    if present.count == 1 {
      runArith(FirstOp(), first, first, out, pool)
    } else {
      runArith(op, present[0], present[1], out, pool)
      for t in present.dropFirst(2) { runArith(op, out, t, out, pool) }
    }
    guard mean, present.count > 1 else { return }
    let n = out.count, k = present.count
    switch out.dataType {
    case .float:
      let p = out.pointer(Float.self), d = Float(k)
      parallelChunks(pool, n) { r in for i in r { p[i] /= d } }
    case .double:
      let p = out.pointer(Double.self), d = Double(k)
      parallelChunks(pool, n) { r in for i in r { p[i] /= d } }
    case .float16:
      let p = out.pointer(Float16.self), d = Float(k)
      parallelChunks(pool, n) { r in for i in r { p[i] = Float16(Float(p[i]) / d) } }
    default: break
    }
  }
}
