import Testing
#if canImport(Glibc)
import Glibc
#endif
import ModelFormat
@testable import Runtime

/// Naive references for the broadcast loop driver and the reduction engine, swept over random shapes.
struct BroadcastReduceTests {
  /// One pool for all cases.
  static let pool = ThreadPool(threadCount: 2)

  struct RNG {
    var state: UInt64
    mutating func next(_ n: Int) -> Int {
      state = state &* 6364136223846793005 &+ 1442695040888963407
      return Int((state >> 33) % UInt64(n))
    }
  }

  static func index(_ outIdx: [Int], _ shape: [Int]) -> Int {
    let off = outIdx.count - shape.count
    var i = 0
    for d in 0..<shape.count { i = i * shape[d] + (shape[d] == 1 ? 0 : outIdx[d + off]) }
    return i
  }

  static func multiIndex(_ flat: Int, _ shape: [Int]) -> [Int] {
    var r = [Int](repeating: 0, count: shape.count), f = flat
    for d in stride(from: shape.count - 1, through: 0, by: -1) { r[d] = f % shape[d]; f /= shape[d] }
    return r
  }

  @Test(arguments: 0..<200)
  func broadcastMatchesNaive(seed: Int) throws {
    var rng = RNG(state: UInt64(seed) &+ 1)
    let rank = rng.next(5)
    let out = (0..<rank).map { _ in 1 + rng.next(5) }
    func operand() -> [Int] {
      let r = rng.next(rank + 1)
      return out.suffix(r).map { rng.next(3) == 0 ? 1 : $0 }
    }
    let sa = operand(), sb = operand()
    let outShape = try broadcastShapes([sa, sb], "t")
    let na = sa.reduce(1, *), nb = sb.reduce(1, *), no = outShape.reduce(1, *)
    var a = (0..<na).map { Float($0) }, b = (0..<nb).map { Float($0 * 100) }
    var o = [Float](repeating: -1, count: no)
    let pool = Self.pool
    a.withUnsafeMutableBytes { pa in
      b.withUnsafeMutableBytes { pb in
        o.withUnsafeMutableBytes { po in
          let va = TensorView(spec: TensorSpec(.float, sa), data: pa.baseAddress!)
          let vb = TensorView(spec: TensorSpec(.float, sb), data: pb.baseAddress!)
          let vo = TensorView(spec: TensorSpec(.float, outShape), data: po.baseAddress!)
          runArith(AddOp(), va, vb, vo, pool)
        }
      }
    }
    for i in 0..<no {
      let idx = Self.multiIndex(i, outShape)
      let want = a[Self.index(idx, sa)] + b[Self.index(idx, sb)]
      #expect(o[i] == want, "a \(sa) b \(sb) out \(outShape) at \(idx)")
    }
  }

  @Test(arguments: 0..<200)
  func reduceMatchesNaive(seed: Int) {
    var rng = RNG(state: UInt64(seed) &+ 7)
    let rank = 1 + rng.next(5)
    let shape = (0..<rank).map { _ in 1 + rng.next(4) }
    let mask = (0..<rank).map { _ in rng.next(2) == 0 }
    let n = shape.reduce(1, *)
    var x = (0..<n).map { Float(($0 * 37) % 11) - 5 }
    let keptShape = shape.indices.map { mask[$0] ? 1 : shape[$0] }
    let m = keptShape.reduce(1, *)
    var want = [Float](repeating: 0, count: m), got = [Float](repeating: -99, count: m)
    for i in 0..<n {
      let idx = Self.multiIndex(i, shape)
      want[Self.index(idx.indices.map { mask[$0] ? 0 : idx[$0] }, keptShape)] += x[i]
    }
    let job = ReduceJob(shape: shape, mask: mask, pool: Self.pool)
    x.withUnsafeMutableBufferPointer { px in
      got.withUnsafeMutableBufferPointer { pg in
        job.floats(.sum, px.baseAddress!, pg.baseAddress!, Float.self)
      }
    }
    #expect(got == want, "shape \(shape) mask \(mask)")
  }
}
