import ModelFormat

// Unary ops that do not fit `UnaryKernel`: Clip (bounds from attributes or inputs), and the ops whose
// output type differs from a float input (IsNaN, IsInf) or that work on bits and bools.

extension ElementwiseKernels {
  static let special: [OpRegistration] = [
    // 1, 6: bounds are the float attributes `min`/`max` (default: unbounded).
    OpRegistration("Clip") { c in
      ClipKernel(c, bounds: (try c.float("min", -.infinity), try c.float("max", .infinity)), integers: false)
    },
    // 11: bounds moved to optional scalar inputs 1 and 2.
    OpRegistration("Clip", since: 11) { c in ClipKernel(c, bounds: nil, integers: false) },
    // 12: integer element types allowed.
    OpRegistration("Clip", since: 12) { c in ClipKernel(c, bounds: nil, integers: true) },
    OpRegistration("IsNaN", since: 9) { c in PredicateKernel(c, .isNaN) },
    OpRegistration("IsInf", since: 10) { c in
      PredicateKernel(c, .isInf(negative: try c.int("detect_negative", 1) != 0,
                                positive: try c.int("detect_positive", 1) != 0))
    },
    OpRegistration("Not") { c in PredicateKernel(c, .not) },
    OpRegistration("BitwiseNot", since: 18) { c in PredicateKernel(c, .bitwiseNot) },
  ]
}

/// ONNX `Clip`: `min(max(x, lo), hi)`; when lo > hi every element becomes hi (as the spec says).
final class ClipKernel: OpKernel {
  let label: String
  /// The attribute bounds (opsets before 11); nil when bounds come from inputs 1 and 2.
  let bounds: (Float, Float)?
  let integers: Bool

  init(_ ctx: NodeContext, bounds: (Float, Float)?, integers: Bool) {
    self.label = ctx.label
    self.bounds = bounds
    self.integers = integers
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require(integers ? ElementTypes.numeric : ElementTypes.floats, label)
    for i in 1...2 {
      guard let b = optionalSpec(inputs, i) else { continue }
      guard b.dataType == x.dataType, b.elementCount == 1 else {
        throw SecateurError.invalidModel(
          "\(label): input \(i) \(b): \(i == 1 ? "min" : "max") must be a scalar of the input's type \(x.dataType)")
      }
    }
    return [x]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputView(inputs, 0), let y = outputs.first else { return }
    let lo = inputView(inputs, 1), hi = inputView(inputs, 2), pool = context.pool
    let n = min(x.count, y.count)
    func go<T: Comparable>(_: T.Type) {
      clip(x.pointer(T.self), y.pointer(T.self), n, lo.map { $0.pointer(T.self)[0] }, hi.map { $0.pointer(T.self)[0] }, pool)
    }
    switch x.dataType {
    case .float:
      if let (a, b) = bounds {
        clip(x.pointer(Float.self), y.pointer(Float.self), n, a, b, pool)
      } else {
        go(Float.self)
      }
    case .double:
      if let (a, b) = bounds {
        clip(x.pointer(Double.self), y.pointer(Double.self), n, Double(a), Double(b), pool)
      } else {
        go(Double.self)
      }
    case .float16:
      if let (a, b) = bounds {
        clip(x.pointer(Float16.self), y.pointer(Float16.self), n, Float16(a), Float16(b), pool)
      } else {
        go(Float16.self)
      }
    case .int8: go(Int8.self)
    case .int16: go(Int16.self)
    case .int32: go(Int32.self)
    case .int64: go(Int64.self)
    case .uint8: go(UInt8.self)
    case .uint16: go(UInt16.self)
    case .uint32: go(UInt32.self)
    case .uint64: go(UInt64.self)
    default: break
    }
  }

  private func clip<T: Comparable>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int,
                                   _ lo: T?, _ hi: T?, _ pool: ThreadPool) {
    parallelChunks(pool, n) { r in
      switch (lo, hi) {
      case let (a?, b?): for i in r { y[i] = min(max(x[i], a), b) }
      case let (a?, nil): for i in r { y[i] = max(x[i], a) }
      case let (nil, b?): for i in r { y[i] = min(x[i], b) }
      case (nil, nil): if x != y { for i in r { y[i] = x[i] } }
      }
    }
  }
}

/// IsNaN, IsInf (float → bool), Not (bool → bool) and BitwiseNot (integers).
final class PredicateKernel: OpKernel {
  enum Kind { case isNaN, isInf(negative: Bool, positive: Bool), not, bitwiseNot }
  let label: String
  let kind: Kind

  init(_ ctx: NodeContext, _ kind: Kind) {
    self.label = ctx.label
    self.kind = kind
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    switch kind {
    case .isNaN, .isInf:
      try x.require(ElementTypes.floats, label)
      return [TensorSpec(.bool, x.shape)]
    case .not:
      try x.require([.bool], label)
      return [x]
    case .bitwiseNot:
      try x.require(ElementTypes.ints, label)
      return [x]
    }
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputView(inputs, 0), let y = outputs.first else { return }
    let n = min(x.count, y.count), pool = context.pool
    switch kind {
    case .isNaN, .isInf:
      let o = y.pointer(UInt8.self)
      var neg = true, pos = true, nan = true
      if case .isInf(let a, let b) = kind { neg = a; pos = b; nan = false }
      func go<T: BinaryFloatingPoint>(_ p: UnsafeMutablePointer<T>) {
        parallelChunks(pool, n) { r in
          if nan {
            for i in r { o[i] = p[i].isNaN ? 1 : 0 }
          } else {
            for i in r { o[i] = p[i].isInfinite && (p[i] < 0 ? neg : pos) ? 1 : 0 }
          }
        }
      }
      switch x.dataType {
      case .float: go(x.pointer(Float.self))
      case .double: go(x.pointer(Double.self))
      case .float16: go(x.pointer(Float16.self))
      default: break
      }
    case .not:
      let p = x.pointer(UInt8.self), o = y.pointer(UInt8.self)
      parallelChunks(pool, n) { r in for i in r { o[i] = p[i] == 0 ? 1 : 0 } }
    case .bitwiseNot:
      // Bitwise not only depends on the width, so each width runs as one unsigned type.
      func go<T: FixedWidthInteger>(_: T.Type) {
        let p = x.pointer(T.self), o = y.pointer(T.self)
        parallelChunks(pool, n) { r in for i in r { o[i] = ~p[i] } }
      }
      switch x.dataType.byteSize {
      case 1: go(UInt8.self)
      case 2: go(UInt16.self)
      case 4: go(UInt32.self)
      case 8: go(UInt64.self)
      default: break
      }
    }
  }
}
