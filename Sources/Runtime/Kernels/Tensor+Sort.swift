import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// `TopK` and `Unique`: ops that order elements. Values are compared as Double (exact for every
/// supported type but 64-bit integers beyond 2^53); outputs copy the original bytes.
enum SortKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("TopK", since: 1) { try TopKKernel($0) },  // 1: k attribute
    OpRegistration("TopK", since: 10) { try TopKKernel($0) },  // 10: k moved to an input
    OpRegistration("TopK", since: 11) { try TopKKernel($0) },  // 11: largest, sorted, negative axis
    OpRegistration("Unique", since: 11) { try UniqueKernel($0) },
  ]
}

/// The elements of `v` as Double.
func doublesOf(_ v: TensorView, _ label: String) throws -> [Double] {
  var d = [Double](repeating: 0, count: v.count)
  try d.withUnsafeMutableBytes {
    try convertElements(from: v.dataType, v.data, to: .double, $0.baseAddress!, count: v.count, pool: .serial, label)
  }
  return d
}

/// `TopK`: the k largest (or smallest) along `axis`, ties broken by lower index; indices as int64.
final class TopKKernel: OpKernel {
  let label: String
  let axis: Int
  let largest: Bool
  let attributeK: Int?
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.int("axis", -1)
    largest = try ctx.int("largest", 1) != 0
    attributeK = ctx.opset < 10 ? try ctx.int("k", 0) : nil
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    _ = try withCastType(x.dataType, label) { _ in 0 }
    let a = try normalizeAxis(axis, rank: x.rank, label)
    let k = try attributeK ?? values.ints(1, label).first ?? -1
    guard k >= 0, k <= x.shape[a] else { throw SecateurError.invalidModel("\(label): k = \(k) is out of range for dim \(x.shape[a])") }
    var s = x.shape
    s[a] = k
    return [TensorSpec(x.dataType, s), TensorSpec(.int64, s)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let a = try normalizeAxis(axis, rank: x.shape.count, label)
    let k = outputs[0].shape[a], dim = x.shape[a]
    let outer = product(x.shape[0..<a]), inner = product(x.shape[(a + 1)...])
    let d = try doublesOf(x, label)
    let es = x.dataType.byteSize
    let vals = outputs[0].data, idxs = outputs.count > 1 ? outputs[1].pointer(Int64.self) : nil
    let largest = self.largest
    var order = [Int](repeating: 0, count: dim)
    for o in 0..<outer {
      for i in 0..<inner {
        let base = o * dim * inner + i
        for j in 0..<dim { order[j] = j }
        order.sort { p, q in
          let u = d[base + p * inner], v = d[base + q * inner]
          if u == v || (u.isNaN && v.isNaN) { return p < q }
          if u.isNaN { return largest }  // NaN sorts as the largest value
          if v.isNaN { return !largest }
          return largest ? u > v : u < v
        }
        for j in 0..<k {
          let src = base + order[j] * inner, dst = (o * k + j) * inner + i
          memcpy(vals + dst * es, x.data + src * es, es)
          idxs?[dst] = Int64(order[j])
        }
      }
    }
  }
}

/// `Unique`: distinct elements (or slices along `axis`), sorted or in first-occurrence order, with
/// first indices, inverse indices and counts. Its output shape depends on the data.
final class UniqueKernel: OpKernel {
  let label: String
  let axis: Int?
  let sorted: Bool
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.intOrNil("axis")
    sorted = try ctx.int("sorted", 1) != 0
    outputCount = max(1, min(4, ctx.node.outputs.count))
  }
  let outputCount: Int

  struct Result { var first: [Int]; var inverse: [Int]; var counts: [Int]; var slices: Int; var shape: [Int]; var axis: Int }

  func compute(_ d: [Double], _ shape: [Int]) throws -> Result {
    let s = axis == nil ? [d.count] : shape
    let a = try normalizeAxis(axis ?? 0, rank: s.count, label)
    let dim = s[a], outer = product(s[0..<a]), inner = product(s[(a + 1)...])
    func key(_ j: Int) -> [Double] {
      var k: [Double] = []
      k.reserveCapacity(outer * inner)
      for o in 0..<outer { for i in 0..<inner { k.append(d[(o * dim + j) * inner + i]) } }
      return k
    }
    var keys: [[Double]] = [], first: [Int] = [], counts: [Int] = [], inverse = [Int](repeating: 0, count: dim)
    var seen: [[Double]: Int] = [:]
    for j in 0..<dim {
      let kj = key(j)
      if let u = seen[kj] {
        counts[u] += 1
        inverse[j] = u
      } else {
        seen[kj] = keys.count
        inverse[j] = keys.count
        keys.append(kj); first.append(j); counts.append(1)
      }
    }
    if sorted {
      let perm = keys.indices.sorted { keys[$0].lexicographicallyPrecedes(keys[$1]) }
      var rank = [Int](repeating: 0, count: perm.count)
      for (r, u) in perm.enumerated() { rank[u] = r }
      first = perm.map { first[$0] }
      counts = perm.map { counts[$0] }
      inverse = inverse.map { rank[$0] }
    }
    var outShape = s
    outShape[a] = first.count
    return Result(first: first, inverse: inverse, counts: counts, slices: first.count, shape: outShape, axis: a)
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    _ = try withCastType(x.dataType, label) { _ in 0 }
    guard let t = values[0] else { throw KernelError.needsValue(input: 0) }
    guard let d = t.doubleValues() else { throw SecateurError.unsupported("\(label): element type \(x.dataType) is not supported") }
    let r = try compute(d, x.shape)
    return Array([TensorSpec(x.dataType, r.shape), TensorSpec(.int64, [r.slices]), TensorSpec(.int64, [r.inverse.count]),
                  TensorSpec(.int64, [r.slices])].prefix(outputCount))
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let r = try compute(try doublesOf(x, label), x.shape)
    let s = axis == nil ? [x.count] : x.shape
    let dim = s[r.axis], outer = product(s[0..<r.axis]), inner = product(s[(r.axis + 1)...]) * x.dataType.byteSize
    let y = outputs[0].data
    for o in 0..<outer {
      for (u, j) in r.first.enumerated() {
        memcpy(y + (o * r.slices + u) * inner, x.data + (o * dim + j) * inner, inner)
      }
    }
    func write(_ k: Int, _ v: [Int]) {
      guard k < outputs.count else { return }
      let p = outputs[k].pointer(Int64.self)
      for (i, e) in v.enumerated() where i < outputs[k].count { p[i] = Int64(e) }
    }
    write(1, r.first)
    write(2, r.inverse)
    write(3, r.counts)
  }
}
