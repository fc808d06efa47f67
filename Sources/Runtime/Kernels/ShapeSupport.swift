import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// Helpers for the data-movement families (Shape, Tensor, Resize): these ops move elements without
/// looking at their values, so they work on element *size* (1/2/4/8 bytes) rather than per type.

/// An unsigned integer standing in for any element of its size.
public protocol ByteElement: FixedWidthInteger & UnsignedInteger & Sendable {}
extension UInt8: ByteElement {}
extension UInt16: ByteElement {}
extension UInt32: ByteElement {}
extension UInt64: ByteElement {}

/// Runs `body` with the unsigned type of `t`'s element size, or throws naming the node.
@inlinable
func withElementSize<R>(_ t: DataType, _ label: String, _ body: (any ByteElement.Type) throws -> R) throws -> R {
  switch t.byteSize {
  case 1: return try body(UInt8.self)
  case 2: return try body(UInt16.self)
  case 4: return try body(UInt32.self)
  case 8: return try body(UInt64.self)
  default: throw SecateurError.unsupported("\(label): element type \(t) is not supported")
  }
}

/// Throws unless `t` has a byte layout this family can move (no strings, no sub-byte or 16-byte types).
func requireMovable(_ t: DataType, _ label: String) throws {
  guard t != .string, [1, 2, 4, 8].contains(t.byteSize) else {
    throw SecateurError.unsupported("\(label): element type \(t) is not supported")
  }
}

/// The integer contents of an index-like input view (int32/int64), for `run`.
func readInts(_ v: TensorView?) -> [Int] {
  guard let v else { return [] }
  switch v.dataType {
  case .int64: return v.buffer(Int64.self).map { Int($0) }
  case .int32: return v.buffer(Int32.self).map { Int($0) }
  case .int16: return v.buffer(Int16.self).map { Int($0) }
  case .int8: return v.buffer(Int8.self).map { Int($0) }
  case .uint8, .bool: return v.buffer(UInt8.self).map { Int($0) }
  case .uint16: return v.buffer(UInt16.self).map { Int($0) }
  case .uint32: return v.buffer(UInt32.self).map { Int($0) }
  case .uint64: return v.buffer(UInt64.self).map { Int(truncatingIfNeeded: $0) }
  default: return []
  }
}

/// Reads index element `i` of an int32/int64 indices view.
@inline(__always)
func indexAt(_ v: TensorView, _ i: Int) -> Int {
  v.dataType == .int32 ? Int(v.pointer(Int32.self)[i]) : Int(v.pointer(Int64.self)[i])
}

/// Product of `shape[range]` (1 when empty).
@inline(__always)
func product(_ shape: ArraySlice<Int>) -> Int { shape.reduce(1, &*) }

/// A small int64 tensor built at plan time (Shape, Size).
func int64Tensor(_ values: [Int], shape: [Int]) throws -> Tensor {
  try Tensor(values.map { Int64($0) }, shape: shape, dataType: .int64)
}

/// Copies a strided view of `src` into a strided view of `dst`: for every index `i` of `shape`,
/// `dst[Σ i_k·dstStrides_k] = src[Σ i_k·srcStrides_k]` (strides in elements; the pointers already
/// point at each view's origin). Transpose, Slice, Expand, Tile, Pad and DepthToSpace are all this.
///
/// Implementation note: unit axes are dropped and axes that are contiguous in both views are merged
/// first, so a "transpose" that is really a copy becomes one `memcpy`.
func stridedCopy(dst: UnsafeMutableRawPointer, _ dstStrides: [Int], src: UnsafeRawPointer, _ srcStrides: [Int],
                 shape: [Int], elementSize: Int, pool: ThreadPool) {
  var sh: [Int] = [], ss: [Int] = [], ds: [Int] = []
  for k in 0..<shape.count {
    if shape[k] == 0 { return }
    if shape[k] == 1 { continue }
    if let last = sh.indices.last, ss[last] == srcStrides[k] &* shape[k], ds[last] == dstStrides[k] &* shape[k] {
      sh[last] &*= shape[k]
      ss[last] = srcStrides[k]
      ds[last] = dstStrides[k]
      continue
    }
    sh.append(shape[k]); ss.append(srcStrides[k]); ds.append(dstStrides[k])
  }
  if sh.isEmpty {
    memcpy(dst, src, elementSize)
    return
  }
  switch elementSize {
  case 1: stridedCopyTyped(UInt8.self, dst, ds, src, ss, sh, pool)
  case 2: stridedCopyTyped(UInt16.self, dst, ds, src, ss, sh, pool)
  case 4: stridedCopyTyped(UInt32.self, dst, ds, src, ss, sh, pool)
  default: stridedCopyTyped(UInt64.self, dst, ds, src, ss, sh, pool)
  }
}

@inline(__always)
private func stridedCopyTyped<T: ByteElement>(_: T.Type, _ dst: UnsafeMutableRawPointer, _ ds: [Int],
                                               _ src: UnsafeRawPointer, _ ss: [Int], _ sh: [Int], _ pool: ThreadPool) {
  let d = dst.assumingMemoryBound(to: T.self), s = src.assumingMemoryBound(to: T.self)
  let rank = sh.count
  let inner = sh[rank - 1], si = ss[rank - 1], di = ds[rank - 1]
  let outer = product(sh[0..<(rank - 1)])
  let contiguous = si == 1 && di == 1
  if di == 1, si != 1, inner >= 8, let m = (0..<(rank - 1)).last(where: { ss[$0] == 1 }), sh[m] >= 8 {
    tiledTranspose(d, ds, s, ss, sh, m: m, pool)
    return
  }
  pool.parallelRanges(outer, grain: max(1, 32768 / max(inner, 1))) { range in
    var idx = [Int](repeating: 0, count: rank)
    var rem = range.lowerBound
    var so = 0, dO = 0
    for k in stride(from: rank - 2, through: 0, by: -1) {
      idx[k] = rem % sh[k]
      rem /= sh[k]
      so += idx[k] * ss[k]
      dO += idx[k] * ds[k]
    }
    for _ in range {
      if contiguous {
        (d + dO).update(from: s + so, count: inner)
      } else {
        var a = so, b = dO
        for _ in 0..<inner {
          d[b] = s[a]
          a &+= si
          b &+= di
        }
      }
      var k = rank - 2
      while k >= 0 {
        idx[k] += 1
        so += ss[k]
        dO += ds[k]
        if idx[k] < sh[k] { break }
        so -= ss[k] * idx[k]
        dO -= ds[k] * idx[k]
        idx[k] = 0
        k -= 1
      }
    }
  }
}

/// The transpose case of a strided copy: the output's inner axis is strided in the input while
/// input axis `m` is contiguous. Copying 32×32 tiles of the (m, inner) plane keeps both the reads and
/// the writes within a few cache lines instead of striding through the whole input per output row.
private func tiledTranspose<T>(_ d: UnsafeMutablePointer<T>, _ ds: [Int], _ s: UnsafePointer<T>, _ ss: [Int], _ sh: [Int],
                               m: Int, _ pool: ThreadPool) {
  let rank = sh.count, tile = 32
  let rows = sh[m], cols = sh[rank - 1], si = ss[rank - 1], dm = ds[m]
  let others = (0..<(rank - 1)).filter { $0 != m }
  let nOther = others.reduce(1) { $0 * sh[$1] }
  let blocks = (rows + tile - 1) / tile
  pool.parallelRanges(nOther * blocks, grain: max(1, 16384 / (tile * cols))) { range in
    for t in range {
      var rem = t / blocks
      var so = 0, dO = 0
      for k in others.reversed() {
        let i = rem % sh[k]
        rem /= sh[k]
        so += i * ss[k]
        dO += i * ds[k]
      }
      let a0 = (t % blocks) * tile, a1 = min(rows, a0 + tile)
      var b0 = 0
      while b0 < cols {
        let b1 = min(cols, b0 + tile)
        for a in a0..<a1 {
          let dRow = d + dO + a * dm, sRow = s + so + a
          for b in b0..<b1 { dRow[b] = sRow[b * si] }
        }
        b0 = b1
      }
    }
  }
}

/// Fills `count` elements of `elementSize` bytes at `dst` with the element at `value`.
func fillElements(_ dst: UnsafeMutableRawPointer, count: Int, value: UnsafeRawPointer, elementSize: Int) {
  switch elementSize {
  case 1: dst.assumingMemoryBound(to: UInt8.self).update(repeating: value.load(as: UInt8.self), count: count)
  case 2: dst.assumingMemoryBound(to: UInt16.self).update(repeating: value.loadUnaligned(as: UInt16.self), count: count)
  case 4: dst.assumingMemoryBound(to: UInt32.self).update(repeating: value.loadUnaligned(as: UInt32.self), count: count)
  default: dst.assumingMemoryBound(to: UInt64.self).update(repeating: value.loadUnaligned(as: UInt64.self), count: count)
  }
}

/// Copies input 0 to output 0 when they differ (Identity, Reshape and friends: the arena never aliases them).
func copyThrough(_ inputs: [TensorView?], _ outputs: [TensorView]) {
  guard let x = inputs.first ?? nil, let y = outputs.first else { return }
  let n = min(x.spec.byteCount ?? 0, y.spec.byteCount ?? 0)
  if n > 0 && x.data != y.data { memmove(y.data, x.data, n) }
}

/// Row-major strides of `shape`, and the spec's total count.
extension TensorSpec {
  var strides: [Int] { stridesOf(shape) }
  var rank: Int { shape.count }
}
