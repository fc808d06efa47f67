import ModelFormat

/// Shared helpers for kernels: numpy broadcasting, axis normalisation, dtype dispatch.

/// Numpy-style multidirectional broadcast of shapes; throws naming the node when incompatible.
public func broadcastShapes(_ shapes: [[Int]], _ label: String) throws -> [Int] {
  let rank = shapes.map(\.count).max() ?? 0
  var out = [Int](repeating: 1, count: rank)
  for s in shapes {
    let off = rank - s.count
    for (i, d) in s.enumerated() {
      let j = i + off
      if out[j] == d || d == 1 { continue }
      if out[j] == 1 { out[j] = d; continue }
      throw SecateurError.invalidModel("\(label): shapes \(shapes.map { "\($0)" }.joined(separator: " and ")) cannot be broadcast")
    }
  }
  return out
}

/// Row-major strides of `shape`.
///
/// Implementation note: wrapping multiplication. A shape whose element count fits in `Int` (every planned
/// shape) never wraps; an empty shape like [0, 2^40, 2^40] may, but then no element is ever addressed
/// (fuzz finding: Transpose of such a shape trapped here).
@inlinable public func stridesOf(_ shape: [Int]) -> [Int] {
  var s = [Int](repeating: 1, count: shape.count)
  var acc = 1
  for i in stride(from: shape.count - 1, through: 0, by: -1) {
    s[i] = acc
    acc &*= shape[i]
  }
  return s
}

/// Strides for reading `shape` as if broadcast to `outShape` (0 along broadcast axes).
@inlinable public func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
  let own = stridesOf(shape)
  let off = outShape.count - shape.count
  var s = [Int](repeating: 0, count: outShape.count)
  for i in 0..<shape.count where shape[i] != 1 || outShape[i + off] == 1 {
    s[i + off] = shape[i] == 1 ? 0 : own[i]
  }
  return s
}

/// Normalises a possibly negative axis into `0..<rank`, or throws naming the node.
public func normalizeAxis(_ axis: Int, rank: Int, _ label: String) throws -> Int {
  let a = axis < 0 ? axis + rank : axis
  // Strictly inside [0, rank): callers index `shape[a]`, so a scalar has no valid axis (fuzz finding: Split
  // on a rank-0 input trapped).
  guard a >= 0, a < rank else {
    throw SecateurError.invalidModel("\(label): axis \(axis) is out of range for rank \(rank)")
  }
  return a
}

/// Calls `body(outIndex, aIndex, bIndex)` for every element of a broadcast binary op, walking the
/// innermost axis as a tight loop (the common contiguous / scalar cases stay fast).
@inlinable
public func forEachBroadcast(_ outShape: [Int], _ aStrides: [Int], _ bStrides: [Int],
                             _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
  // body(outStart, aStart, bStart, count, aStep, bStep) over the innermost axis.
  let rank = outShape.count
  if rank == 0 { body(0, 0, 0, 1, 0, 0); return }
  let inner = outShape[rank - 1]
  let aStep = aStrides[rank - 1], bStep = bStrides[rank - 1]
  let outer = outShape.dropLast().reduce(1, &*)
  if outer == 0 || inner == 0 { return }
  var idx = [Int](repeating: 0, count: max(rank - 1, 0))
  var aOff = 0, bOff = 0
  for o in 0..<outer {
    body(o * inner, aOff, bOff, inner, aStep, bStep)
    var d = rank - 2
    while d >= 0 {
      idx[d] += 1
      aOff += aStrides[d]
      bOff += bStrides[d]
      if idx[d] < outShape[d] { break }
      aOff -= aStrides[d] * idx[d]
      bOff -= bStrides[d] * idx[d]
      idx[d] = 0
      d -= 1
    }
  }
}

/// Real floating-point element types kernels are generic over.
public protocol KernelFloat: BinaryFloatingPoint, Sendable {
  static var dataType: DataType { get }
  init(_ v: Float)
  var float: Float { get }
}
extension Float: KernelFloat {
  public static var dataType: DataType { .float }
  public var float: Float { self }
}
extension Double: KernelFloat {
  public static var dataType: DataType { .double }
  public var float: Float { Float(self) }
}
extension Float16: KernelFloat {
  public static var dataType: DataType { .float16 }
  public var float: Float { Float(self) }
}

/// Dispatches on a floating element type (float, double, float16) or throws naming the node.
@inlinable
public func withFloatType<R>(_ t: DataType, _ label: String, _ body: (any KernelFloat.Type) throws -> R) throws -> R {
  switch t {
  case .float: return try body(Float.self)
  case .double: return try body(Double.self)
  case .float16: return try body(Float16.self)
  default: throw SecateurError.unsupported("\(label): element type \(t) is not supported (expects a float type)")
  }
}

/// Swift type for each byte-addressable numeric ONNX type.
public func swiftType(of t: DataType) -> Any.Type? {
  switch t {
  case .float: return Float.self
  case .double: return Double.self
  case .float16: return Float16.self
  case .int8: return Int8.self
  case .int16: return Int16.self
  case .int32: return Int32.self
  case .int64: return Int64.self
  case .uint8: return UInt8.self
  case .uint16: return UInt16.self
  case .uint32: return UInt32.self
  case .uint64: return UInt64.self
  case .bool: return Bool.self
  default: return nil
  }
}

/// Runs `body` with the element type of `t` for numeric types (floats and integers), bool excluded.
@inlinable
public func withNumericType<R>(_ t: DataType, _ label: String,
                               _ body: (any (Numeric & Comparable & Sendable).Type) throws -> R) throws -> R {
  switch t {
  case .float: return try body(Float.self)
  case .double: return try body(Double.self)
  case .float16: return try body(Float16.self)
  case .int8: return try body(Int8.self)
  case .int16: return try body(Int16.self)
  case .int32: return try body(Int32.self)
  case .int64: return try body(Int64.self)
  case .uint8: return try body(UInt8.self)
  case .uint16: return try body(UInt16.self)
  case .uint32: return try body(UInt32.self)
  case .uint64: return try body(UInt64.self)
  default: throw SecateurError.unsupported("\(label): element type \(t) is not supported here")
  }
}

extension TensorSpec {
  /// Throws naming the node unless this is one of the given element types.
  public func require(_ types: Set<DataType>, _ label: String, _ what: String = "input") throws {
    guard types.contains(dataType) else {
      throw SecateurError.unsupported("\(label): \(what) element type \(dataType) is not supported")
    }
  }
}

/// Fetches required input `i`'s spec or throws naming the node.
@inlinable
public func required(_ inputs: [TensorSpec?], _ i: Int, _ label: String) throws -> TensorSpec {
  guard i < inputs.count, let s = inputs[i] else {
    throw SecateurError.invalidModel("\(label): required input \(i) is missing")
  }
  return s
}
