import ModelFormat

/// ONNX unary elementwise ops: activations, math functions, rounding, and the predicate ops
/// (IsNaN, IsInf, Not, BitwiseNot). The per-op formulas live in Elementwise+Ops.swift; Clip and the
/// predicate ops in Elementwise+Special.swift.
enum ElementwiseKernels {
  static let registrations: [OpRegistration] = activations + math + special

  /// Activations. Opsets before 6 only differ by the legacy `consumed_inputs` attribute, which is ignored.
  static let activations: [OpRegistration] = [
    // 14: Relu accepts signed integer types (see UnaryKernel.allowIntegers).
    unary("Relu", Relu()),
    OpRegistration("LeakyRelu") { c in UnaryKernel(LeakyRelu(alpha: try c.float("alpha", 0.01)), c) },
    unary("Sigmoid", Sigmoid()),
    OpRegistration("HardSigmoid") { c in
      UnaryKernel(HardSigmoid(alpha: try c.float("alpha", 0.2), beta: try c.float("beta", 0.5)), c)
    },
    unary("HardSwish", since: 14, HardSwish()),
    unary("Tanh", Tanh()),
    OpRegistration("Elu") { c in UnaryKernel(Elu(alpha: try c.float("alpha", 1)), c) },
    OpRegistration("Selu") { c in
      UnaryKernel(Selu(alpha: try c.float("alpha", 1.67326319217681884765625),
                       gamma: try c.float("gamma", 1.05070102214813232421875)), c)
    },
    OpRegistration("Celu", since: 12) { c in UnaryKernel(Celu(alpha: try c.float("alpha", 1)), c) },
    unary("Softplus", Softplus()),
    unary("Softsign", Softsign()),
    unary("Mish", since: 18, Mish()),
    OpRegistration("Gelu", since: 20) { c in
      let mode = try c.string("approximate", "none")
      guard mode == "none" || mode == "tanh" else {
        throw c.error("attribute approximate '\(mode)': must be 'none' or 'tanh'")
      }
      return UnaryKernel(Gelu(tanhApproximation: mode == "tanh"), c)
    },
    OpRegistration("ThresholdedRelu", since: 10) { c in
      UnaryKernel(ThresholdedRelu(alpha: try c.float("alpha", 1)), c)
    },
    OpRegistration("Shrink", since: 9) { c in
      UnaryKernel(Shrink(bias: try c.float("bias", 0), lambd: try c.float("lambd", 0.5)), c)
    },
  ]

  static let math: [OpRegistration] = [
    unary("Sqrt", Sqrt()), unary("Exp", Exp()), unary("Log", Log()), unary("Neg", Neg()), unary("Abs", Abs()),
    unary("Reciprocal", Reciprocal()), unary("Floor", Floor()), unary("Ceil", Ceil()),
    unary("Round", since: 11, Round()), unary("Sign", since: 9, Sign()), unary("Erf", since: 9, Erf()),
    unary("Sin", since: 7, Sin()), unary("Cos", since: 7, Cos()), unary("Tan", since: 7, Tan()),
    unary("Asin", since: 7, Asin()), unary("Acos", since: 7, Acos()), unary("Atan", since: 7, Atan()),
    unary("Sinh", since: 9, Sinh()), unary("Cosh", since: 9, Cosh()), unary("Asinh", since: 9, Asinh()),
    unary("Acosh", since: 9, Acosh()), unary("Atanh", since: 9, Atanh()),
  ]

  static func unary<Op: UnaryOp>(_ name: String, since: Int = 1, _ op: Op) -> OpRegistration {
    OpRegistration(name, since: since) { c in UnaryKernel(op, c) }
  }
}

/// One element function of a unary op. Floats compute in their own type (float16 through Float);
/// `int` is used for the integer types listed in `integerTypes`.
protocol UnaryOp: Sendable {
  func callAsFunction<T: MathFloat>(_ x: T) -> T
  /// Integer element types this op accepts besides the float types.
  var integerTypes: Set<DataType> { get }
  func int<T: FixedWidthInteger & DoubleConvertible>(_ x: T) -> T
}

extension UnaryOp {
  var integerTypes: Set<DataType> { [] }
  func int<T: FixedWidthInteger & DoubleConvertible>(_ x: T) -> T { x }
}

/// A unary op whose output has the input's type and shape.
final class UnaryKernel<Op: UnaryOp>: OpKernel {
  let op: Op
  let label: String
  /// Relu before opset 14 is float-only; the op's integer types apply from the registration that allows them.
  let allowIntegers: Bool

  /// The float32 loop, built here where `Op` is concrete. Implementation note: `run` is reached through
  /// the OpKernel witness of this generic class, which the compiler does not specialize, so calling
  /// `op` from there went through value witnesses per element (Relu and Sigmoid were 12 % of PP-OCRv4's
  /// detector); a closure formed in the (specialized) initializer is a tight loop.
  private let floatMap: @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

  init(_ op: Op, _ ctx: NodeContext) {
    self.op = op
    self.label = ctx.label
    self.allowIntegers = !(ctx.node.opType == "Relu" && ctx.opset < 14)
    floatMap = { x, y, n in for i in 0..<n { y[i] = op(x[i]) } }
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    guard ElementTypes.floats.contains(x.dataType) || (allowIntegers && op.integerTypes.contains(x.dataType)) else {
      throw SecateurError.unsupported("\(label): input element type \(x.dataType) is not supported")
    }
    return [x]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputView(inputs, 0), let y = outputs.first else { return }
    let n = min(x.count, y.count), pool = context.pool
    switch x.dataType {
    case .float:
      let xp = x.pointer(Float.self), yp = y.pointer(Float.self), map = floatMap
      parallelChunks(pool, n) { r in map(xp + r.lowerBound, yp + r.lowerBound, r.count) }
    case .double: mapFloat(x.pointer(Double.self), y.pointer(Double.self), n, pool)
    case .float16:
      let xp = x.pointer(Float16.self), yp = y.pointer(Float16.self), op = self.op
      parallelChunks(pool, n) { r in for i in r { yp[i] = Float16(op(Float(xp[i]))) } }
    case .int8: mapInt(x.pointer(Int8.self), y.pointer(Int8.self), n, pool)
    case .int16: mapInt(x.pointer(Int16.self), y.pointer(Int16.self), n, pool)
    case .int32: mapInt(x.pointer(Int32.self), y.pointer(Int32.self), n, pool)
    case .int64: mapInt(x.pointer(Int64.self), y.pointer(Int64.self), n, pool)
    case .uint8: mapInt(x.pointer(UInt8.self), y.pointer(UInt8.self), n, pool)
    case .uint16: mapInt(x.pointer(UInt16.self), y.pointer(UInt16.self), n, pool)
    case .uint32: mapInt(x.pointer(UInt32.self), y.pointer(UInt32.self), n, pool)
    case .uint64: mapInt(x.pointer(UInt64.self), y.pointer(UInt64.self), n, pool)
    default: break
    }
  }

  private func mapFloat<T: MathFloat>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int,
                                      _ pool: ThreadPool) {
    let op = self.op
    parallelChunks(pool, n) { r in for i in r { y[i] = op(x[i]) } }
  }

  private func mapInt<T: FixedWidthInteger & DoubleConvertible>(
    _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int, _ pool: ThreadPool
  ) {
    let op = self.op
    parallelChunks(pool, n) { r in for i in r { y[i] = op.int(x[i]) } }
  }
}
