import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// Index-driven ops: GatherElements, GatherND, ScatterElements (and Scatter), ScatterND, Compress,
/// OneHot, NonZero. Indices are int32/int64; negative indices count from the end; an index out of
/// range is a run-time error naming the node.
enum IndexKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("GatherElements", since: 11) { try GatherElementsKernel($0) },
    OpRegistration("GatherND", since: 11) { try GatherNDKernel($0) },
    OpRegistration("GatherND", since: 12) { try GatherNDKernel($0) },  // 12: batch_dims
    OpRegistration("Scatter", since: 9) { try ScatterElementsKernel($0) },  // deprecated in 11 for ScatterElements
    OpRegistration("ScatterElements", since: 11) { try ScatterElementsKernel($0) },
    OpRegistration("ScatterElements", since: 16) { try ScatterElementsKernel($0) },  // 16: reduction add/mul
    OpRegistration("ScatterElements", since: 18) { try ScatterElementsKernel($0) },  // 18: reduction max/min
    OpRegistration("ScatterND", since: 11) { try ScatterNDKernel($0) },
    OpRegistration("ScatterND", since: 16) { try ScatterNDKernel($0) },  // 16: reduction add/mul
    OpRegistration("ScatterND", since: 18) { try ScatterNDKernel($0) },  // 18: reduction max/min
    OpRegistration("Compress", since: 9) { try CompressKernel($0) },
    OpRegistration("Compress", since: 11) { try CompressKernel($0) },  // 11: negative axis
    OpRegistration("OneHot", since: 9) { try OneHotKernel($0) },
    OpRegistration("OneHot", since: 11) { try OneHotKernel($0) },  // 11: negative axis
    OpRegistration("NonZero", since: 9) { NonZeroKernel($0) },
  ]
}

/// Resolves a possibly negative index against `dim`, or throws naming the node.
@inline(__always)
func resolveIndex(_ i: Int, _ dim: Int, _ label: String) throws -> Int {
  let r = i < 0 ? i + dim : i
  guard r >= 0, r < dim else { throw SecateurError.invalidArgument("\(label): index \(i) is out of range for dim \(dim)") }
  return r
}

/// Throws naming the node if an axis-wise index tensor (GatherElements/ScatterElements) is longer than
/// the data on any axis other than `axis`.
func checkElementIndicesShape(_ indices: [Int], dataShape: [Int], axis: Int, _ label: String) throws {
  for k in 0..<dataShape.count where k != axis && indices[k] > dataShape[k] {
    throw SecateurError.invalidArgument("\(label): indices shape \(indices) exceeds data shape \(dataShape)")
  }
}

/// Offsets into `data` (in elements) addressed by each element of an axis-wise index tensor
/// (GatherElements/ScatterElements): the index's own position with `axis` replaced by its value.
func elementOffsets(_ idx: TensorView, dataShape: [Int], axis: Int, _ label: String) throws -> [Int] {
  let shape = idx.shape, r = shape.count
  let ds = stridesOf(dataShape)
  var out = [Int](repeating: 0, count: idx.count)
  var pos = [Int](repeating: 0, count: r)
  for n in 0..<idx.count {
    var off = 0
    for k in 0..<r where k != axis { off += pos[k] * ds[k] }
    out[n] = off + (try resolveIndex(indexAt(idx, n), dataShape[axis], label)) * ds[axis]
    var k = r - 1
    while k >= 0 {
      pos[k] += 1
      if pos[k] < shape[k] { break }
      pos[k] = 0
      k -= 1
    }
  }
  return out
}

final class GatherElementsKernel: OpKernel {
  let label: String
  let axis: Int
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.int("axis", 0)
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), idx = try required(inputs, 1, label)
    try requireMovable(x.dataType, label)
    try idx.require([.int32, .int64], label, "indices")
    _ = try normalizeAxis(axis, rank: x.rank, label)
    guard idx.rank == x.rank else { throw SecateurError.invalidModel("\(label): indices rank \(idx.rank) != data rank \(x.rank)") }
    return [TensorSpec(x.dataType, idx.shape)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0], let idx = inputs[1] else { return }
    let a = try normalizeAxis(axis, rank: x.shape.count, label)
    try checkElementIndicesShape(idx.shape, dataShape: x.shape, axis: a, label)
    let offs = try elementOffsets(idx, dataShape: x.shape, axis: a, label)
    let es = x.dataType.byteSize
    for (n, o) in offs.enumerated() { memcpy(outputs[0].data + n * es, x.data + o * es, es) }
  }
}

/// The reductions ScatterElements and ScatterND apply to repeated writes.
enum ScatterReduction: String { case none, add, mul, max, min }

/// Applies `updates[n]` to `out[offsets[n]]` under `reduction`, in index order.
func scatterApply(_ out: TensorView, _ updates: TensorView, offsets: [Int], block: Int, _ reduction: ScatterReduction,
                  _ label: String) throws {
  let es = out.dataType.byteSize
  if reduction == .none {
    for (n, o) in offsets.enumerated() { memcpy(out.data + o * es, updates.data + n * block * es, block * es) }
    return
  }
  func apply<T: Numeric & Comparable>(_: T.Type) {
    let d = out.pointer(T.self), u = updates.pointer(T.self)
    for (n, o) in offsets.enumerated() {
      for i in 0..<block {
        let v = u[n * block + i]
        switch reduction {
        case .add: d[o + i] = d[o + i] + v
        case .mul: d[o + i] = d[o + i] * v
        case .max: d[o + i] = Swift.max(d[o + i], v)
        case .min: d[o + i] = Swift.min(d[o + i], v)
        case .none: d[o + i] = v
        }
      }
    }
  }
  func applyWrapping<T: FixedWidthInteger>(_: T.Type) {
    let d = out.pointer(T.self), u = updates.pointer(T.self)
    for (n, o) in offsets.enumerated() {
      for i in 0..<block { d[o + i] = reduction == .add ? d[o + i] &+ u[n * block + i] : d[o + i] &* u[n * block + i] }
    }
  }
  if out.dataType.isInteger && (reduction == .add || reduction == .mul) {
    // Integer add/mul wrap rather than trap on model-controlled values.
    switch out.dataType {
    case .int8: applyWrapping(Int8.self); case .int16: applyWrapping(Int16.self)
    case .int32: applyWrapping(Int32.self); case .int64: applyWrapping(Int64.self)
    case .uint8: applyWrapping(UInt8.self); case .uint16: applyWrapping(UInt16.self)
    case .uint32: applyWrapping(UInt32.self); default: applyWrapping(UInt64.self)
    }
    return
  }
  try withNumericType(out.dataType, label) { t in apply(t) }
}

/// `ScatterElements` (and the deprecated `Scatter`): a copy of data with `updates` written at axis-wise indices.
final class ScatterElementsKernel: OpKernel {
  let label: String
  let axis: Int
  let reduction: ScatterReduction
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.int("axis", 0)
    let r = try ctx.string("reduction", "none")
    guard let red = ScatterReduction(rawValue: r) else { throw ctx.error("reduction '\(r)' is not supported") }
    reduction = red
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), idx = try required(inputs, 1, label), u = try required(inputs, 2, label)
    try requireMovable(x.dataType, label)
    try idx.require([.int32, .int64], label, "indices")
    _ = try normalizeAxis(axis, rank: x.rank, label)
    guard idx.shape == u.shape, idx.rank == x.rank, u.dataType == x.dataType else {
      throw SecateurError.invalidModel("\(label): indices \(idx.shape) and updates \(u.shape) must match in rank \(x.rank)")
    }
    return [x]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0], let idx = inputs[1], let u = inputs[2] else { return }
    let a = try normalizeAxis(axis, rank: x.shape.count, label)
    try checkElementIndicesShape(idx.shape, dataShape: x.shape, axis: a, label)
    copyThrough(inputs, outputs)
    let offs = try elementOffsets(idx, dataShape: x.shape, axis: a, label)
    try scatterApply(outputs[0], u, offsets: offs, block: 1, reduction, label)
  }
}

/// Element offsets and block size for GatherND/ScatterND index tuples (last indices axis = tuple).
func ndOffsets(_ idx: TensorView, dataShape: [Int], batchDims b: Int, _ label: String) throws -> (offsets: [Int], block: Int) {
  let k = idx.shape.last ?? 0
  let ds = stridesOf(dataShape)
  let block = product(dataShape[(b + k)...])
  let tuples = product(idx.shape.dropLast()[...])
  let perBatch = max(1, tuples / max(1, product(idx.shape[0..<b])))
  let batchStride = b == 0 ? 0 : ds[b - 1]
  var out = [Int](repeating: 0, count: tuples)
  for t in 0..<tuples {
    var off = (t / perBatch) * batchStride
    for j in 0..<k { off += try resolveIndex(indexAt(idx, t * k + j), dataShape[b + j], label) * ds[b + j] }
    out[t] = off
  }
  return (out, block)
}

final class GatherNDKernel: OpKernel {
  let label: String
  let batchDims: Int
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    batchDims = try ctx.int("batch_dims", 0)
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), idx = try required(inputs, 1, label)
    try requireMovable(x.dataType, label)
    try idx.require([.int32, .int64], label, "indices")
    let b = batchDims
    guard let k = idx.shape.last, idx.rank >= 1, b >= 0, b < min(x.rank, idx.rank), b + k <= x.rank,
          Array(idx.shape[0..<b]) == Array(x.shape[0..<b]) else {
      throw SecateurError.invalidModel("\(label): indices \(idx.shape) do not index data \(x.shape) with batch_dims \(b)")
    }
    return [TensorSpec(x.dataType, Array(idx.shape.dropLast()) + Array(x.shape[(b + k)...]))]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0], let idx = inputs[1] else { return }
    let (offs, block) = try ndOffsets(idx, dataShape: x.shape, batchDims: batchDims, label)
    let bytes = block * x.dataType.byteSize
    for (t, o) in offs.enumerated() { memcpy(outputs[0].data + t * bytes, x.data + o * x.dataType.byteSize, bytes) }
  }
}

final class ScatterNDKernel: OpKernel {
  let label: String
  let reduction: ScatterReduction
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    let r = try ctx.string("reduction", "none")
    guard let red = ScatterReduction(rawValue: r) else { throw ctx.error("reduction '\(r)' is not supported") }
    reduction = red
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), idx = try required(inputs, 1, label), u = try required(inputs, 2, label)
    try requireMovable(x.dataType, label)
    try idx.require([.int32, .int64], label, "indices")
    guard let k = idx.shape.last, k <= x.rank, u.dataType == x.dataType,
          u.shape == Array(idx.shape.dropLast()) + Array(x.shape[k...]) else {
      throw SecateurError.invalidModel("\(label): indices \(idx.shape) / updates \(u.shape) do not fit data \(x.shape)")
    }
    return [x]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let idx = inputs[1], let u = inputs[2], let x = inputs[0] else { return }
    copyThrough(inputs, outputs)
    let (offs, block) = try ndOffsets(idx, dataShape: x.shape, batchDims: 0, label)
    try scatterApply(outputs[0], u, offsets: offs, block: block, reduction, label)
  }
}

/// `Compress`: the slices along `axis` (or of the flattened input) whose condition is true.
final class CompressKernel: OpKernel {
  let label: String
  let axis: Int?
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.intOrNil("axis")
  }
  func kept(_ cond: [Int], _ dim: Int) -> [Int] { (0..<min(cond.count, dim)).filter { cond[$0] != 0 } }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    let cond = try values.ints(1, label)
    guard let axis else { return [TensorSpec(x.dataType, [kept(cond, x.elementCount).count])] }
    let a = try normalizeAxis(axis, rank: x.rank, label)
    var s = x.shape
    s[a] = kept(cond, x.shape[a]).count
    return [TensorSpec(x.dataType, s)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let cond = readInts(inputs[1])
    let es = x.dataType.byteSize
    let shape = axis == nil ? [x.count] : x.shape
    let a = try normalizeAxis(axis ?? 0, rank: shape.count, label)
    let keep = kept(cond, shape[a])
    let outer = product(shape[0..<a]), inner = product(shape[(a + 1)...]) * es
    var d = outputs[0].data
    for o in 0..<outer {
      for j in keep {
        memcpy(d, x.data + (o * shape[a] + j) * inner, inner)
        d += inner
      }
    }
  }
}

/// `OneHot`: `values[1]` where the index (shifted by depth when negative) equals the position, else `values[0]`.
final class OneHotKernel: OpKernel {
  let label: String
  let axis: Int
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.int("axis", -1)
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let idx = try required(inputs, 0, label), v = try required(inputs, 2, label)
    _ = try required(inputs, 1, label)
    try requireMovable(v.dataType, label)
    guard v.elementCount == 2 else { throw SecateurError.invalidModel("\(label): values must hold [off, on]") }
    guard let t = values[1] else { throw KernelError.needsValue(input: 1) }
    guard let depthD = t.doubleValues()?.first, depthD >= 1, depthD < 1e9 else {
      throw SecateurError.invalidModel("\(label): depth must be a positive scalar")
    }
    _ = try withCastType(idx.dataType, label) { _ in 0 }
    let a = try normalizeAxis(axis, rank: idx.rank + 1, label)
    var s = idx.shape
    s.insert(Int(depthD), at: a)
    return [TensorSpec(v.dataType, s)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let idx = inputs[0], let v = inputs[2] else { return }
    let y = outputs[0]
    let a = try normalizeAxis(axis, rank: idx.shape.count + 1, label)
    let depth = y.shape[a]
    var ind = [Double](repeating: 0, count: idx.count)
    try ind.withUnsafeMutableBytes {
      try convertElements(from: idx.dataType, idx.data, to: .double, $0.baseAddress!, count: idx.count, pool: .serial, label)
    }
    let es = v.dataType.byteSize
    fillElements(y.data, count: y.count, value: v.data, elementSize: es)
    let outer = product(idx.shape[0..<a]), inner = product(idx.shape[a...])
    for o in 0..<outer {
      for i in 0..<inner {
        var k = Int(exactly: ind[o * inner + i].rounded(.towardZero)) ?? -depth - 1
        if k < 0 { k += depth }
        guard k >= 0, k < depth else { continue }
        memcpy(y.data + ((o * depth + k) * inner + i) * es, v.data + es, es)
      }
    }
  }
}

/// `NonZero`: int64 [rank, count] of the coordinates of non-zero elements, in row-major order. Its
/// shape depends on the data, so the plan runs it node by node unless the input is constant.
final class NonZeroKernel: OpKernel {
  let label: String
  init(_ ctx: NodeContext) { label = ctx.label }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    guard let t = values[0] else { throw KernelError.needsValue(input: 0) }
    guard let d = t.doubleValues() else { throw SecateurError.unsupported("\(label): element type \(x.dataType) is not supported") }
    return [TensorSpec(.int64, [x.rank, d.filter { $0 != 0 }.count])]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    var d = [Double](repeating: 0, count: x.count)
    try d.withUnsafeMutableBytes {
      try convertElements(from: x.dataType, x.data, to: .double, $0.baseAddress!, count: x.count, pool: .serial, label)
    }
    let y = outputs[0], p = y.pointer(Int64.self)
    let r = x.shape.count, nnz = y.shape.count > 1 ? y.shape[1] : 0
    let st = stridesOf(x.shape)
    var j = 0
    for i in 0..<x.count where d[i] != 0 && j < nnz {
      var rem = i
      for k in 0..<r {
        p[k * nnz + j] = Int64(rem / st[k])
        rem %= st[k]
      }
      j += 1
    }
  }
}
