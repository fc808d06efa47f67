import Testing
import ModelFormat
@testable import Runtime

/// Strided copies (Transpose and friends) against a naive index walk, including the tiled path.
@Test(arguments: [[2, 37, 45], [3, 64, 9, 17], [1, 8, 8], [40, 33], [5, 1, 70, 3]])
func transposeMatchesNaive(_ shape: [Int]) throws {
  let n = shape.reduce(1, *)
  let x = (0..<n).map { Float($0) }
  let perms: [[Int]] = shape.count == 2 ? [[1, 0]] : shape.count == 3 ? [[0, 2, 1], [2, 1, 0], [1, 2, 0]]
    : [[0, 2, 3, 1], [0, 3, 1, 2], [3, 2, 1, 0]]
  for perm in perms {
    let outShape = perm.map { shape[$0] }
    var y = [Float](repeating: -1, count: n)
    let st = stridesOf(shape)
    x.withUnsafeBytes { xs in
      y.withUnsafeMutableBytes { ys in
        stridedCopy(dst: ys.baseAddress!, stridesOf(outShape), src: xs.baseAddress!, perm.map { st[$0] },
                    shape: outShape, elementSize: 4, pool: testPool)
      }
    }
    let ost = stridesOf(outShape)
    for o in 0..<n {
      var rem = o, src = 0
      for k in 0..<outShape.count { src += (rem / ost[k]) * st[perm[k]]; rem %= ost[k] }
      #expect(y[o] == x[src], "perm \(perm) shape \(shape) at \(o)")
      if y[o] != x[src] { break }
    }
  }
}
let testPool = ThreadPool(threadCount: 2)
