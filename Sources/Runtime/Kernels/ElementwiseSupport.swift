import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

// Helpers shared by the elementwise, binary, softmax and reduce families: libm access generic over
// Float/Double, safe numeric conversions, and a broadcast loop driver with merged axes.

/// Real types with the libm functions the elementwise kernels need. Float16 computes through Float.
protocol MathFloat: BinaryFloatingPoint, Sendable {
  static func exp(_ x: Self) -> Self
  static func expm1(_ x: Self) -> Self
  static func log(_ x: Self) -> Self
  static func log1p(_ x: Self) -> Self
  static func tanh(_ x: Self) -> Self
  static func erf(_ x: Self) -> Self
  static func sin(_ x: Self) -> Self
  static func cos(_ x: Self) -> Self
  static func tan(_ x: Self) -> Self
  static func asin(_ x: Self) -> Self
  static func acos(_ x: Self) -> Self
  static func atan(_ x: Self) -> Self
  static func sinh(_ x: Self) -> Self
  static func cosh(_ x: Self) -> Self
  static func asinh(_ x: Self) -> Self
  static func acosh(_ x: Self) -> Self
  static func atanh(_ x: Self) -> Self
  static func pow(_ x: Self, _ y: Self) -> Self
  static func fmod(_ x: Self, _ y: Self) -> Self
}

extension Float: MathFloat {
  @inline(__always) static func exp(_ x: Float) -> Float { expf(x) }
  @inline(__always) static func expm1(_ x: Float) -> Float { expm1f(x) }
  @inline(__always) static func log(_ x: Float) -> Float { logf(x) }
  @inline(__always) static func log1p(_ x: Float) -> Float { log1pf(x) }
  @inline(__always) static func tanh(_ x: Float) -> Float { tanhf(x) }
  @inline(__always) static func erf(_ x: Float) -> Float { erff(x) }
  @inline(__always) static func sin(_ x: Float) -> Float { sinf(x) }
  @inline(__always) static func cos(_ x: Float) -> Float { cosf(x) }
  @inline(__always) static func tan(_ x: Float) -> Float { tanf(x) }
  @inline(__always) static func asin(_ x: Float) -> Float { asinf(x) }
  @inline(__always) static func acos(_ x: Float) -> Float { acosf(x) }
  @inline(__always) static func atan(_ x: Float) -> Float { atanf(x) }
  @inline(__always) static func sinh(_ x: Float) -> Float { sinhf(x) }
  @inline(__always) static func cosh(_ x: Float) -> Float { coshf(x) }
  @inline(__always) static func asinh(_ x: Float) -> Float { asinhf(x) }
  @inline(__always) static func acosh(_ x: Float) -> Float { acoshf(x) }
  @inline(__always) static func atanh(_ x: Float) -> Float { atanhf(x) }
  @inline(__always) static func pow(_ x: Float, _ y: Float) -> Float { powf(x, y) }
  @inline(__always) static func fmod(_ x: Float, _ y: Float) -> Float { fmodf(x, y) }
}

extension Double: MathFloat {
  @inline(__always) static func exp(_ x: Double) -> Double { Glibc.exp(x) }
  @inline(__always) static func expm1(_ x: Double) -> Double { Glibc.expm1(x) }
  @inline(__always) static func log(_ x: Double) -> Double { Glibc.log(x) }
  @inline(__always) static func log1p(_ x: Double) -> Double { Glibc.log1p(x) }
  @inline(__always) static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
  @inline(__always) static func erf(_ x: Double) -> Double { Glibc.erf(x) }
  @inline(__always) static func sin(_ x: Double) -> Double { Glibc.sin(x) }
  @inline(__always) static func cos(_ x: Double) -> Double { Glibc.cos(x) }
  @inline(__always) static func tan(_ x: Double) -> Double { Glibc.tan(x) }
  @inline(__always) static func asin(_ x: Double) -> Double { Glibc.asin(x) }
  @inline(__always) static func acos(_ x: Double) -> Double { Glibc.acos(x) }
  @inline(__always) static func atan(_ x: Double) -> Double { Glibc.atan(x) }
  @inline(__always) static func sinh(_ x: Double) -> Double { Glibc.sinh(x) }
  @inline(__always) static func cosh(_ x: Double) -> Double { Glibc.cosh(x) }
  @inline(__always) static func asinh(_ x: Double) -> Double { Glibc.asinh(x) }
  @inline(__always) static func acosh(_ x: Double) -> Double { Glibc.acosh(x) }
  @inline(__always) static func atanh(_ x: Double) -> Double { Glibc.atanh(x) }
  @inline(__always) static func pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
  @inline(__always) static func fmod(_ x: Double, _ y: Double) -> Double { Glibc.fmod(x, y) }
}

/// Every numeric element type, convertible through Double without trapping.
protocol DoubleConvertible: Sendable {
  var asDouble: Double { get }
  /// Converts back; integers saturate and map NaN to 0 (a model value must never trap).
  init(saturating d: Double)
}
extension Float: DoubleConvertible {
  var asDouble: Double { Double(self) }
  init(saturating d: Double) { self = Float(d) }
}
extension Double: DoubleConvertible {
  var asDouble: Double { self }
  init(saturating d: Double) { self = d }
}
extension Float16: DoubleConvertible {
  var asDouble: Double { Double(self) }
  init(saturating d: Double) { self = Float16(Float(d)) }
}
extension FixedWidthInteger {
  @inline(__always) var asDouble: Double { Double(self) }
  @inline(__always) init(saturating d: Double) {
    if d.isNaN { self = 0; return }
    if d <= Double(Self.min) { self = Self.min; return }
    if d >= Double(Self.max) { self = Self.max; return }
    self = Self(d)
  }
}
extension Int8: DoubleConvertible {}
extension Int16: DoubleConvertible {}
extension Int32: DoubleConvertible {}
extension Int64: DoubleConvertible {}
extension UInt8: DoubleConvertible {}
extension UInt16: DoubleConvertible {}
extension UInt32: DoubleConvertible {}
extension UInt64: DoubleConvertible {}

/// Element type sets the elementwise, binary and reduce kernels accept.
enum ElementTypes {
  /// float, double, float16.
  static let floats: Set<DataType> = [.float, .double, .float16]
  static let signedInts: Set<DataType> = [.int8, .int16, .int32, .int64]
  static let ints: Set<DataType> = [.int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64]
  /// Every numeric type (bool excluded).
  static let numeric: Set<DataType> = floats.union(ints)
}

/// A two-operand element function, specialised per element type so inner loops have no dynamic dispatch.
protocol ElementFn2 {
  associatedtype A
  associatedtype B
  associatedtype O
  func callAsFunction(_ a: A, _ b: B) -> O
}

/// The output shape and each operand's strides with size-1 output axes dropped and adjacent axes merged
/// when every operand walks them the same way (both contiguous, or both broadcast). After merging, the
/// innermost step of each operand is 0 (broadcast) or 1 (contiguous), which keeps inner loops simple.
struct BroadcastPlan {
  var shape: [Int]
  var strides: [[Int]]

  init(outShape: [Int], operandShapes: [[Int]]) {
    let bs = operandShapes.map { broadcastStrides($0, to: outShape) }
    shape = []
    strides = [[Int]](repeating: [], count: operandShapes.count)
    for d in 0..<outShape.count where outShape[d] != 1 {
      let n = outShape[d]
      if !shape.isEmpty, (0..<bs.count).allSatisfy({ strides[$0][shape.count - 1] == bs[$0][d] &* n }) {
        shape[shape.count - 1] &*= n
        for k in 0..<bs.count { strides[k][shape.count - 1] = bs[k][d] }
      } else {
        shape.append(n)
        for k in 0..<bs.count { strides[k].append(bs[k][d]) }
      }
    }
    if shape.isEmpty {
      shape = [1]
      strides = strides.map { _ in [0] }
    }
  }

  var inner: Int { shape[shape.count - 1] }
  func step(_ k: Int) -> Int { k < strides.count ? strides[k][shape.count - 1] : 0 }

  /// Calls `body(outOffset, offset0, offset1, offset2, count)` for runs of `count` output elements
  /// along the innermost axis, spread over the pool. Operands beyond those planned get offset 0.
  func run(_ pool: ThreadPool?, _ body: (Int, Int, Int, Int, Int) -> Void) {
    let inner = self.inner
    let rank = shape.count
    let s0 = step(0), s1 = step(1), s2 = step(2)
    if rank == 1 {
      func work(_ r: Range<Int>) {
        body(r.lowerBound, r.lowerBound &* s0, r.lowerBound &* s1, r.lowerBound &* s2, r.count)
      }
      if let pool { pool.parallelRanges(inner, grain: 16384, work) } else { work(0..<inner) }
      return
    }
    var rows = 1
    for d in 0..<(rank - 1) { rows &*= shape[d] }
    func work(_ r: Range<Int>) {
      withUnsafeTemporaryAllocation(of: Int.self, capacity: rank) { idx in
        var rem = r.lowerBound
        var o = [0, 0, 0]
        for d in stride(from: rank - 2, through: 0, by: -1) {
          idx[d] = rem % self.shape[d]
          rem /= self.shape[d]
          for k in 0..<min(3, self.strides.count) { o[k] &+= idx[d] &* self.strides[k][d] }
        }
        var o0 = o[0], o1 = o[1], o2 = o[2]
        for row in r {
          body(row &* inner, o0, o1, o2, inner)
          var d = rank - 2
          while d >= 0 {
            idx[d] += 1
            let t0 = self.strides.count > 0 ? self.strides[0][d] : 0
            let t1 = self.strides.count > 1 ? self.strides[1][d] : 0
            let t2 = self.strides.count > 2 ? self.strides[2][d] : 0
            o0 &+= t0; o1 &+= t1; o2 &+= t2
            if idx[d] < self.shape[d] { break }
            o0 &-= t0 &* idx[d]; o1 &-= t1 &* idx[d]; o2 &-= t2 &* idx[d]
            idx[d] = 0
            d -= 1
          }
        }
      }
    }
    if let pool { pool.parallelRanges(rows, grain: max(1, 16384 / max(inner, 1)), work) } else { work(0..<rows) }
  }
}

/// One inner run of a broadcast binary op; steps are 0 or 1 (see `BroadcastPlan`).
@inline(__always)
func binaryRun<F: ElementFn2>(_ f: F, _ a: UnsafePointer<F.A>, _ sa: Int, _ b: UnsafePointer<F.B>, _ sb: Int,
                              _ o: UnsafeMutablePointer<F.O>, _ n: Int) {
  if sa == 1 && sb == 1 {
    for i in 0..<n { o[i] = f(a[i], b[i]) }
  } else if sa == 1 {
    let bv = b[0]
    for i in 0..<n { o[i] = f(a[i], bv) }
  } else if sb == 1 {
    let av = a[0]
    for i in 0..<n { o[i] = f(av, b[i]) }
  } else {
    let v = f(a[0], b[0])
    for i in 0..<n { o[i] = v }
  }
}

/// `out = f(a, b)` with numpy broadcasting of `a` and `b` to `out`'s shape.
func broadcastBinary<F: ElementFn2>(_ f: F, _ a: TensorView, _ b: TensorView, _ out: TensorView, _ pool: ThreadPool?) {
  guard out.count > 0 else { return }
  let plan = BroadcastPlan(outShape: out.shape, operandShapes: [a.shape, b.shape])
  let pa = a.pointer(F.A.self), pb = b.pointer(F.B.self), po = out.pointer(F.O.self)
  let sa = plan.step(0), sb = plan.step(1)
  plan.run(pool) { oo, oa, ob, _, n in
    binaryRun(f, pa + oa, sa, pb + ob, sb, po + oo, n)
  }
}

/// Runs `body(range)` over `0..<count` on the pool when it is big enough to be worth splitting.
@inline(__always)
func parallelChunks(_ pool: ThreadPool?, _ count: Int, grain: Int = 16384, _ body: (Range<Int>) -> Void) {
  if let pool { pool.parallelRanges(count, grain: grain, body) } else if count > 0 { body(0..<count) }
}

/// The input at `i`, or nil when absent or out of range.
@inline(__always)
func inputView(_ inputs: [TensorView?], _ i: Int) -> TensorView? { i < inputs.count ? inputs[i] : nil }

/// The spec at `i`, or nil when absent or out of range.
@inline(__always)
func optionalSpec(_ inputs: [TensorSpec?], _ i: Int) -> TensorSpec? { i < inputs.count ? inputs[i] : nil }
