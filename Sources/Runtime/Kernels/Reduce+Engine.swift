import ModelFormat

// The reduction loop driver and the element functions of each ReduceKind.

/// One reduction: fold `In` values into an `Acc` starting at `identity`, then `finish` with the count.
protocol ReduceFn {
  associatedtype In
  associatedtype Acc
  var identity: Acc { get }
  func step(_ a: Acc, _ x: In) -> Acc
  func finish(_ a: Acc, _ n: Int) -> In
}

// Float element functions: storage `S`, computing in `C` (float16 computes in Float).
struct FSum<S: BinaryFloatingPoint, C: MathFloat>: ReduceFn {
  var identity: C { 0 }
  @inline(__always) func step(_ a: C, _ x: S) -> C { a + C(x) }
  @inline(__always) func finish(_ a: C, _ n: Int) -> S { S(a) }
}
struct FMean<S: BinaryFloatingPoint, C: MathFloat>: ReduceFn {
  var identity: C { 0 }
  @inline(__always) func step(_ a: C, _ x: S) -> C { a + C(x) }
  @inline(__always) func finish(_ a: C, _ n: Int) -> S { S(a / C(n)) }
}
/// Max/min propagate NaN, as numpy's `max`.
struct FMax<S: BinaryFloatingPoint, C: MathFloat>: ReduceFn {
  var identity: C { -.infinity }
  @inline(__always) func step(_ a: C, _ x: S) -> C { let v = C(x); return v > a || v.isNaN ? v : a }
  @inline(__always) func finish(_ a: C, _ n: Int) -> S { S(a) }
}
struct FMin<S: BinaryFloatingPoint, C: MathFloat>: ReduceFn {
  var identity: C { .infinity }
  @inline(__always) func step(_ a: C, _ x: S) -> C { let v = C(x); return v < a || v.isNaN ? v : a }
  @inline(__always) func finish(_ a: C, _ n: Int) -> S { S(a) }
}
struct FProd<S: BinaryFloatingPoint, C: MathFloat>: ReduceFn {
  var identity: C { 1 }
  @inline(__always) func step(_ a: C, _ x: S) -> C { a * C(x) }
  @inline(__always) func finish(_ a: C, _ n: Int) -> S { S(a) }
}
struct FL1<S: BinaryFloatingPoint, C: MathFloat>: ReduceFn {
  var identity: C { 0 }
  @inline(__always) func step(_ a: C, _ x: S) -> C { a + abs(C(x)) }
  @inline(__always) func finish(_ a: C, _ n: Int) -> S { S(a) }
}
struct FL2<S: BinaryFloatingPoint, C: MathFloat>: ReduceFn {
  var identity: C { 0 }
  @inline(__always) func step(_ a: C, _ x: S) -> C { let v = C(x); return a + v * v }
  @inline(__always) func finish(_ a: C, _ n: Int) -> S { S(a.squareRoot()) }
}
struct FSumSquare<S: BinaryFloatingPoint, C: MathFloat>: ReduceFn {
  var identity: C { 0 }
  @inline(__always) func step(_ a: C, _ x: S) -> C { let v = C(x); return a + v * v }
  @inline(__always) func finish(_ a: C, _ n: Int) -> S { S(a) }
}
struct FLogSum<S: BinaryFloatingPoint, C: MathFloat>: ReduceFn {
  var identity: C { 0 }
  @inline(__always) func step(_ a: C, _ x: S) -> C { a + C(x) }
  @inline(__always) func finish(_ a: C, _ n: Int) -> S { S(C.log(a)) }
}
/// Single-pass log-sum-exp: keeps the running max `m` and the sum of `exp(x - m)`, rescaling when
/// the max grows, so `exp` never overflows.
struct FLogSumExp<S: BinaryFloatingPoint, C: MathFloat>: ReduceFn {
  var identity: (C, C) { (-.infinity, 0) }
  @inline(__always) func step(_ a: (C, C), _ x: S) -> (C, C) {
    let v = C(x)
    if v > a.0 { return (v, a.1 * C.exp(a.0 - v) + 1) }
    if v == -.infinity { return a }
    return (a.0, a.1 + C.exp(v - a.0))
  }
  @inline(__always) func finish(_ a: (C, C), _ n: Int) -> S { S(a.0 + C.log(a.1)) }
}

// Integer element functions wrap on overflow (a model value must never trap).
struct ISum<T: FixedWidthInteger>: ReduceFn {
  var identity: T { 0 }
  @inline(__always) func step(_ a: T, _ x: T) -> T { a &+ x }
  @inline(__always) func finish(_ a: T, _ n: Int) -> T { a }
}
struct IMean<T: FixedWidthInteger>: ReduceFn {
  var identity: T { 0 }
  @inline(__always) func step(_ a: T, _ x: T) -> T { a &+ x }
  @inline(__always) func finish(_ a: T, _ n: Int) -> T {
    guard n > 0, let d = T(exactly: n) else { return 0 }
    return a.dividedReportingOverflow(by: d).partialValue
  }
}
struct IMax<T: FixedWidthInteger>: ReduceFn {
  var identity: T { T.min }
  @inline(__always) func step(_ a: T, _ x: T) -> T { Swift.max(a, x) }
  @inline(__always) func finish(_ a: T, _ n: Int) -> T { a }
}
struct IMin<T: FixedWidthInteger>: ReduceFn {
  var identity: T { T.max }
  @inline(__always) func step(_ a: T, _ x: T) -> T { Swift.min(a, x) }
  @inline(__always) func finish(_ a: T, _ n: Int) -> T { a }
}
struct IProd<T: FixedWidthInteger>: ReduceFn {
  var identity: T { 1 }
  @inline(__always) func step(_ a: T, _ x: T) -> T { a &* x }
  @inline(__always) func finish(_ a: T, _ n: Int) -> T { a }
}
struct IL1<T: FixedWidthInteger>: ReduceFn {
  var identity: T { 0 }
  @inline(__always) func step(_ a: T, _ x: T) -> T { a &+ (x < 0 ? 0 &- x : x) }
  @inline(__always) func finish(_ a: T, _ n: Int) -> T { a }
}
struct ISumSquare<T: FixedWidthInteger>: ReduceFn {
  var identity: T { 0 }
  @inline(__always) func step(_ a: T, _ x: T) -> T { a &+ x &* x }
  @inline(__always) func finish(_ a: T, _ n: Int) -> T { a }
}
/// Integer inputs of the transcendental reductions compute in Double and convert back saturating.
struct ViaDouble<T: DoubleConvertible, F: ReduceFn>: ReduceFn where F.In == Double {
  let f: F
  var identity: F.Acc { f.identity }
  @inline(__always) func step(_ a: F.Acc, _ x: T) -> F.Acc { f.step(a, x.asDouble) }
  @inline(__always) func finish(_ a: F.Acc, _ n: Int) -> T { T(saturating: f.finish(a, n)) }
}

/// One reduction of a tensor of `shape` over the axes set in `mask`, output in row-major order of
/// the kept axes.
struct ReduceJob {
  let shape: [Int]
  let mask: [Bool]
  let pool: ThreadPool

  func floats<S: BinaryFloatingPoint, C: MathFloat>(
    _ kind: ReduceKind, _ x: UnsafeMutablePointer<S>, _ y: UnsafeMutablePointer<S>, _: C.Type
  ) {
    switch kind {
    case .sum: run(FSum<S, C>(), x, y)
    case .mean: run(FMean<S, C>(), x, y)
    case .max: run(FMax<S, C>(), x, y)
    case .min: run(FMin<S, C>(), x, y)
    case .prod: run(FProd<S, C>(), x, y)
    case .l1: run(FL1<S, C>(), x, y)
    case .l2: run(FL2<S, C>(), x, y)
    case .logSum: run(FLogSum<S, C>(), x, y)
    case .logSumExp: run(FLogSumExp<S, C>(), x, y)
    case .sumSquare: run(FSumSquare<S, C>(), x, y)
    }
  }

  func ints<T: FixedWidthInteger & DoubleConvertible>(
    _ kind: ReduceKind, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>
  ) {
    switch kind {
    case .sum: run(ISum<T>(), x, y)
    case .mean: run(IMean<T>(), x, y)
    case .max: run(IMax<T>(), x, y)
    case .min: run(IMin<T>(), x, y)
    case .prod: run(IProd<T>(), x, y)
    case .l1: run(IL1<T>(), x, y)
    case .sumSquare: run(ISumSquare<T>(), x, y)
    case .l2: run(ViaDouble<T, FL2<Double, Double>>(f: FL2()), x, y)
    case .logSum: run(ViaDouble<T, FLogSum<Double, Double>>(f: FLogSum()), x, y)
    case .logSumExp: run(ViaDouble<T, FLogSumExp<Double, Double>>(f: FLogSumExp()), x, y)
    }
  }

  /// Implementation note: axes are first merged into alternating kept/reduced groups (size-1 axes
  /// dropped). One reduced group between kept ones, `[outer, k, inner]`, is the common case and has
  /// two fast loops: contiguous rows when `inner == 1`, otherwise 64-wide accumulator tiles that
  /// stream whole rows. Anything else walks the reduced axes per output element.
  func run<R: ReduceFn>(_ r: R, _ x: UnsafeMutablePointer<R.In>, _ y: UnsafeMutablePointer<R.In>) {
    var sizes: [Int] = [], reduced: [Bool] = []
    for (d, n) in shape.enumerated() where n != 1 {
      let m = d < mask.count && mask[d]
      if let last = reduced.last, last == m {
        sizes[sizes.count - 1] &*= n
      } else {
        sizes.append(n)
        reduced.append(m)
      }
    }
    var outCount = 1, k = 1
    for (n, m) in zip(sizes, reduced) { if m { k &*= n } else { outCount &*= n } }
    if outCount == 0 { return }
    if k == 0 {
      let v = r.finish(r.identity, 0)
      for i in 0..<outCount { y[i] = v }
      return
    }
    let reducedGroups = reduced.indices.filter { reduced[$0] }
    if reducedGroups.count <= 1 {
      let g = reducedGroups.first ?? sizes.count
      let inner = sizes[min(g + 1, sizes.count)...].reduce(1, &*)
      let outer = outCount / max(inner, 1)
      if inner == 1 {
        rows(r, x, y, outer, k)
      } else {
        tiles(r, x, y, outer, k, inner)
      }
      return
    }
    general(r, x, y, sizes, reduced, outCount)
  }

  private func rows<R: ReduceFn>(_ r: R, _ x: UnsafeMutablePointer<R.In>, _ y: UnsafeMutablePointer<R.In>,
                                 _ outer: Int, _ k: Int) {
    parallelChunks(pool, outer, grain: max(1, 16384 / k)) { range in
      for o in range {
        let row = x + o &* k
        var a = r.identity
        for j in 0..<k { a = r.step(a, row[j]) }
        y[o] = r.finish(a, k)
      }
    }
  }

  private func tiles<R: ReduceFn>(_ r: R, _ x: UnsafeMutablePointer<R.In>, _ y: UnsafeMutablePointer<R.In>,
                                  _ outer: Int, _ k: Int, _ inner: Int) {
    let width = 64
    let perRow = (inner + width - 1) / width
    parallelChunks(pool, outer &* perRow, grain: max(1, 16384 / (k &* width))) { range in
      withUnsafeTemporaryAllocation(of: R.Acc.self, capacity: width) { acc in
        for t in range {
          let o = t / perRow, b0 = (t % perRow) &* width, bn = min(width, inner - b0)
          acc.initialize(repeating: r.identity)
          var src = x + (o &* k &* inner &+ b0)
          for _ in 0..<k {
            for b in 0..<bn { acc[b] = r.step(acc[b], src[b]) }
            src += inner
          }
          let dst = y + (o &* inner &+ b0)
          for b in 0..<bn { dst[b] = r.finish(acc[b], k) }
        }
      }
    }
  }

  private func general<R: ReduceFn>(_ r: R, _ x: UnsafeMutablePointer<R.In>, _ y: UnsafeMutablePointer<R.In>,
                                    _ sizes: [Int], _ reduced: [Bool], _ outCount: Int) {
    var strides = [Int](repeating: 1, count: sizes.count)
    for d in stride(from: sizes.count - 2, through: 0, by: -1) { strides[d] = strides[d + 1] &* sizes[d + 1] }
    let keptSizes = sizes.indices.filter { !reduced[$0] }.map { sizes[$0] }
    let keptStrides = sizes.indices.filter { !reduced[$0] }.map { strides[$0] }
    let redSizes = sizes.indices.filter { reduced[$0] }.map { sizes[$0] }
    let redStrides = sizes.indices.filter { reduced[$0] }.map { strides[$0] }
    let k = redSizes.reduce(1, &*)
    parallelChunks(pool, outCount, grain: max(1, 16384 / k)) { range in
      withUnsafeTemporaryAllocation(of: Int.self, capacity: redSizes.count) { idx in
        for o in range {
          var rem = o, base = 0
          for d in stride(from: keptSizes.count - 1, through: 0, by: -1) {
            base &+= (rem % keptSizes[d]) &* keptStrides[d]
            rem /= keptSizes[d]
          }
          idx.initialize(repeating: 0)
          var a = r.identity, off = base
          for _ in 0..<k {
            a = r.step(a, x[off])
            var d = redSizes.count - 1
            while d >= 0 {
              idx[d] += 1
              off &+= redStrides[d]
              if idx[d] < redSizes[d] { break }
              off &-= redStrides[d] &* idx[d]
              idx[d] = 0
              d -= 1
            }
          }
          y[o] = r.finish(a, k)
        }
      }
    }
  }
}
