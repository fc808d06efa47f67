import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// Ops that rearrange a tensor's elements: Concat, Split, Slice, Transpose, Tile, Gather.
/// (Pad, indexing, casting and the rest live in Tensor+*.swift.)
enum TensorKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("Concat", since: 1) { try ConcatKernel($0) },
    OpRegistration("Concat", since: 11) { try ConcatKernel($0) },  // 11: negative axis
    OpRegistration("Split", since: 1) { try SplitKernel($0) },  // 1/2: 'split' attribute
    OpRegistration("Split", since: 11) { try SplitKernel($0) },  // 11: negative axis
    OpRegistration("Split", since: 13) { try SplitKernel($0) },  // 13: 'split' moved from attribute to input
    OpRegistration("Split", since: 18) { try SplitKernel($0) },  // 18: num_outputs
    OpRegistration("Slice", since: 1) { try SliceKernel($0) },  // 1: starts/ends/axes attributes
    OpRegistration("Slice", since: 10) { try SliceKernel($0) },  // 10: inputs, steps
    OpRegistration("Transpose", since: 1) { try TransposeKernel($0) },
    OpRegistration("Tile", since: 6) { TileKernel($0) },
    OpRegistration("Gather", since: 1) { try GatherKernel($0) },
    OpRegistration("Gather", since: 11) { try GatherKernel($0) },  // 11: negative indices
  ] + CastKernels.registrations + PadKernels.registrations + IndexKernels.registrations + MiscTensorKernels.registrations
}

/// `Concat` along `axis`: every input has the same shape except along the axis.
final class ConcatKernel: OpKernel {
  let label: String
  let axis: Int
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    // Concat-1 defaulted the axis to 1; from 4 it is required.
    guard let a = try ctx.intOrNil("axis") ?? (ctx.opset < 4 ? 1 : nil) else { throw ctx.error("attribute 'axis' is required") }
    axis = a
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let present = inputs.compactMap { $0 }
    guard let first = present.first else { throw SecateurError.invalidModel("\(label): no inputs") }
    try requireMovable(first.dataType, label)
    let a = try normalizeAxis(axis, rank: first.rank, label)
    var out = first.shape
    out[a] = 0
    for s in present {
      guard s.dataType == first.dataType, s.rank == first.rank,
            s.shape.enumerated().allSatisfy({ $0.offset == a || $0.element == first.shape[$0.offset] }) else {
        throw SecateurError.invalidModel("\(label): inputs \(present.map(\.description)) differ off axis \(axis)")
      }
      out[a] += s.shape[a]
    }
    return [TensorSpec(first.dataType, out)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    let y = outputs[0]
    let a = axis < 0 ? axis + y.shape.count : axis
    let es = y.dataType.byteSize
    let outer = product(y.shape[0..<a])
    let rowBytes = product(y.shape[a...]) * es
    var offset = 0
    for case let x? in inputs {
      let bytes = product(x.shape[a...]) * es
      if bytes > 0 {
        let dst = y.data + offset, src = x.data
        context.pool.parallelRanges(outer, grain: max(1, 65536 / bytes)) { r in
          for o in r { memcpy(dst + o * rowBytes, src + o * bytes, bytes) }
        }
      }
      offset += bytes
    }
  }
}

/// `Split` into `outputs.count` parts along `axis`: sizes from 'split' (attribute before 13, input
/// from 13), else equal parts (18: `num_outputs`, the last part may be smaller).
final class SplitKernel: OpKernel {
  let label: String
  let axis: Int
  let count: Int
  let attributeSplit: [Int]?
  let fromInput: Bool
  let numOutputs: Int?
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.int("axis", 0)
    count = ctx.node.outputs.count
    fromInput = ctx.opset >= 13 || (ctx.opset < 2 && ctx.node.inputs.count > 1)
    attributeSplit = ctx.opset < 13 ? try ctx.ints("split") : nil
    numOutputs = ctx.opset >= 18 ? try ctx.intOrNil("num_outputs") : nil
    if let n = numOutputs, n != count { throw ctx.error("num_outputs \(n) does not match \(count) outputs") }
  }
  func sizes(_ x: TensorSpec, _ a: Int, _ values: InputValues, _ inputs: [TensorSpec?]) throws -> [Int] {
    let dim = x.shape[a]
    var split = attributeSplit
    if fromInput, inputs.count > 1, inputs[1] != nil { split = try values.ints(1, label) }
    if let split {
      guard split.count == count, split.allSatisfy({ $0 >= 0 && $0 <= dim }), split.reduce(0, &+) == dim else {
        throw SecateurError.invalidModel("\(label): split \(split) does not divide dim \(dim) into \(count) parts")
      }
      return split
    }
    guard count > 0 else { throw SecateurError.invalidModel("\(label): no outputs") }
    if numOutputs != nil {
      let chunk = (dim + count - 1) / count
      return (0..<count).map { max(0, min(chunk, dim - $0 * chunk)) }
    }
    guard dim % count == 0 else {
      throw SecateurError.invalidModel("\(label): dim \(dim) does not split evenly into \(count) parts")
    }
    return Array(repeating: dim / count, count: count)
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    let a = try normalizeAxis(axis, rank: x.rank, label)
    return try sizes(x, a, values, inputs).map { n in
      var s = x.shape
      s[a] = n
      return TensorSpec(x.dataType, s)
    }
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let a = axis < 0 ? axis + x.shape.count : axis
    let es = x.dataType.byteSize
    let outer = product(x.shape[0..<a])
    let rowBytes = product(x.shape[a...]) * es
    var offset = 0
    for y in outputs {
      let bytes = product(y.shape[a...]) * es
      if bytes > 0 {
        for o in 0..<outer { memcpy(y.data + o * bytes, x.data + o * rowBytes + offset, bytes) }
      }
      offset += bytes
    }
  }
}

/// Per-axis start and step of a Slice, resolved against the input shape.
struct SliceAxes {
  var starts: [Int]
  var steps: [Int]
  var shape: [Int]
}

/// `Slice`: starts/ends/axes attributes before 10; from 10 inputs with optional axes and steps.
/// Starts and ends are clamped as the spec says: to [0, dim] for positive steps, [-1, dim-1] for negative.
final class SliceKernel: OpKernel {
  let label: String
  let attributes: (starts: [Int], ends: [Int], axes: [Int]?)?
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    if ctx.opset < 10 {
      guard let s = try ctx.ints("starts"), let e = try ctx.ints("ends") else { throw ctx.error("starts and ends are required") }
      attributes = (s, e, try ctx.ints("axes"))
    } else {
      attributes = nil
    }
  }
  func resolve(_ x: [Int], starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?) throws -> SliceAxes {
    let axes = axes ?? Array(0..<starts.count)
    let steps = steps ?? Array(repeating: 1, count: starts.count)
    guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
      throw SecateurError.invalidModel("\(label): starts, ends, axes and steps differ in length")
    }
    var r = SliceAxes(starts: Array(repeating: 0, count: x.count), steps: Array(repeating: 1, count: x.count), shape: x)
    var seen = Set<Int>()
    for i in 0..<axes.count {
      let a = try normalizeAxis(axes[i], rank: x.count, label)
      guard seen.insert(a).inserted else { throw SecateurError.invalidModel("\(label): axis \(axes[i]) repeats") }
      let dim = x[a], step = steps[i]
      guard step != 0, step != .min else { throw SecateurError.invalidModel("\(label): step \(step) is not allowed") }
      var s = starts[i] < 0 ? starts[i] + dim : starts[i]
      var e = ends[i] < 0 ? ends[i] + dim : ends[i]
      let n: Int
      if step > 0 {
        s = min(max(s, 0), dim); e = min(max(e, 0), dim)
        n = e > s ? (e - s - 1) / step + 1 : 0
      } else {
        s = min(max(s, 0), dim - 1); e = min(max(e, -1), dim - 1)
        n = s > e ? (s - e - 1) / (-step) + 1 : 0
      }
      r.starts[a] = n > 0 ? s : 0
      r.steps[a] = step
      r.shape[a] = n
    }
    return r
  }
  func params(_ inputs: [TensorSpec?], _ values: InputValues) throws -> SliceAxes {
    let x = try required(inputs, 0, label)
    if let at = attributes { return try resolve(x.shape, starts: at.starts, ends: at.ends, axes: at.axes, steps: nil) }
    func opt(_ i: Int) throws -> [Int]? { inputs.count > i && inputs[i] != nil ? try values.ints(i, label) : nil }
    return try resolve(x.shape, starts: values.ints(1, label), ends: values.ints(2, label), axes: opt(3), steps: opt(4))
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    return [TensorSpec(x.dataType, try params(inputs, values).shape)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let y = outputs[0]
    var known: [Tensor?] = [nil]
    for i in 1..<inputs.count {
      known.append(try inputs[i].map { v in try Tensor(readInts(v).map { Int64($0) }, shape: v.shape, dataType: .int64) })
    }
    let p = try params(inputs.map { $0?.spec }, InputValues(known))
    guard p.shape == y.shape else { throw SecateurError.runtime("\(label): slice shape changed") }
    let st = x.spec.strides
    var offset = 0
    for k in 0..<st.count { offset += p.starts[k] * st[k] }
    let es = x.dataType.byteSize
    stridedCopy(dst: y.data, y.spec.strides, src: x.data + offset * es, zip(st, p.steps).map { $0 &* $1 },
                shape: y.shape, elementSize: es, pool: context.pool)
  }
}

/// `Transpose`: output axis k is input axis perm[k] (default: reversed).
final class TransposeKernel: OpKernel {
  let label: String
  let perm: [Int]?
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    perm = try ctx.ints("perm")
  }
  func permutation(_ rank: Int) throws -> [Int] {
    let p = perm ?? Array((0..<rank).reversed())
    guard p.count == rank, Set(p) == Set(0..<rank) else {
      throw SecateurError.invalidModel("\(label): perm \(p) is not a permutation of rank \(rank)")
    }
    return p
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    return [TensorSpec(x.dataType, try permutation(x.rank).map { x.shape[$0] })]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let y = outputs[0]
    let p = try permutation(x.shape.count)
    let st = x.spec.strides
    // Implementation note: the strided copy walks the output contiguously and gathers from the
    // input; merged axes make NCHW↔NHWC a 3-D walk.
    stridedCopy(dst: y.data, y.spec.strides, src: x.data, p.map { st[$0] }, shape: y.shape,
                elementSize: x.dataType.byteSize, pool: context.pool)
  }
}

/// `Tile`: the input repeated `repeats[k]` times along axis k.
final class TileKernel: OpKernel {
  let label: String
  init(_ ctx: NodeContext) { label = ctx.label }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    let reps = try values.ints(1, label)
    guard reps.count == x.rank, reps.allSatisfy({ $0 >= 0 }) else {
      throw SecateurError.invalidModel("\(label): repeats \(reps) must be \(x.rank) non-negative counts")
    }
    var out: [Int] = []
    for (d, r) in zip(x.shape, reps) {
      let (v, o) = d.multipliedReportingOverflow(by: r)
      guard !o else { throw SecateurError.invalidModel("\(label): repeats \(reps) overflow shape \(x.shape)") }
      out.append(v)
    }
    return [TensorSpec(x.dataType, out)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let y = outputs[0]
    // View the output as [r0, d0, r1, d1, …] and read the input with stride 0 along each r.
    var shape: [Int] = [], src: [Int] = []
    let st = x.spec.strides
    for k in 0..<x.shape.count {
      let r = x.shape[k] == 0 ? 0 : y.shape[k] / x.shape[k]
      shape += [r, x.shape[k]]
      src += [0, st[k]]
    }
    stridedCopy(dst: y.data, stridesOf(shape), src: x.data, src, shape: shape, elementSize: x.dataType.byteSize,
                pool: context.pool)
  }
}

/// `Gather` along `axis`: out[i…, j…, k…] = data[i…, indices[j…], k…]; negative indices count from the end.
final class GatherKernel: OpKernel {
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
    let a = try normalizeAxis(axis, rank: x.rank, label)
    return [TensorSpec(x.dataType, Array(x.shape[0..<a]) + idx.shape + Array(x.shape[(a + 1)...]))]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0], let idx = inputs[1] else { return }
    let y = outputs[0]
    let a = axis < 0 ? axis + x.shape.count : axis
    let dim = x.shape[a], n = idx.count
    let outer = product(x.shape[0..<a])
    let innerBytes = product(x.shape[(a + 1)...]) * x.dataType.byteSize
    var resolved = [Int](repeating: 0, count: n)
    for j in 0..<n {
      resolved[j] = try resolveIndex(indexAt(idx, j), dim, label)
    }
    if innerBytes == 0 { return }
    resolved.withUnsafeBufferPointer { rp in
      context.pool.parallelRanges(outer * n, grain: max(1, 32768 / innerBytes)) { range in
        for t in range {
          let o = t / n, j = t % n
          memcpy(y.data + t * innerBytes, x.data + (o * dim + rp[j]) * innerBytes, innerBytes)
        }
      }
    }
  }
}
