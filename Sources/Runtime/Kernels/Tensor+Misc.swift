import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// The remaining data-movement ops: EyeLike, Trilu, CumSum, DepthToSpace, SpaceToDepth,
/// ReverseSequence (TopK and Unique live in Tensor+Sort.swift).
enum MiscTensorKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("EyeLike", since: 9) { try EyeLikeKernel($0) },
    OpRegistration("Trilu", since: 14) { try TriluKernel($0) },
    OpRegistration("CumSum", since: 11) { try CumSumKernel($0) },
    OpRegistration("DepthToSpace", since: 1) { try SpaceDepthKernel($0, toSpace: true) },
    OpRegistration("DepthToSpace", since: 11) { try SpaceDepthKernel($0, toSpace: true) },  // 11: mode DCR/CRD
    OpRegistration("SpaceToDepth", since: 1) { try SpaceDepthKernel($0, toSpace: false) },
    OpRegistration("ReverseSequence", since: 10) { try ReverseSequenceKernel($0) },
  ] + SortKernels.registrations
}

/// `EyeLike`: a 2-D tensor of the input's shape with ones on diagonal `k`, type `dtype` (default: the input's).
final class EyeLikeKernel: OpKernel {
  let label: String
  let dtype: DataType?
  let k: Int
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    k = try ctx.int("k", 0)
    if let raw = try ctx.intOrNil("dtype") {
      guard let t = DataType(rawValue: Int32(truncatingIfNeeded: raw)) else { throw ctx.error("dtype \(raw) is not an ONNX type") }
      dtype = t
    } else {
      dtype = nil
    }
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    guard x.rank == 2 else { throw SecateurError.invalidModel("\(label): input must be 2-D, got \(x.shape)") }
    let t = dtype ?? x.dataType
    _ = try withCastType(t, label) { _ in 0 }
    return [TensorSpec(t, x.shape)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    let y = outputs[0]
    let es = y.dataType.byteSize, rows = y.shape[0], cols = y.shape[1]
    memset(y.data, 0, y.count * es)
    let one = try scalarBytes(1, y.dataType, label)
    for i in 0..<rows {
      let j = i &+ k
      if j >= 0 && j < cols { one.withUnsafeBytes { memcpy(y.data + (i * cols + j) * es, $0.baseAddress!, es) } }
    }
  }
}

/// `Trilu`: keeps the upper (j − i ≥ k) or lower (j − i ≤ k) triangle of the last two axes, zeroing the rest.
final class TriluKernel: OpKernel {
  let label: String
  let upper: Bool
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    upper = try ctx.int("upper", 1) != 0
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    guard x.rank >= 2 else { throw SecateurError.invalidModel("\(label): input must be at least 2-D, got \(x.shape)") }
    return [x]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let y = outputs[0]
    let k = inputs.count > 1 ? readInts(inputs[1]).first ?? 0 : 0
    let r = x.shape.count, rows = x.shape[r - 2], cols = x.shape[r - 1], es = x.dataType.byteSize
    copyThrough(inputs, outputs)
    for m in 0..<product(x.shape[0..<(r - 2)]) {
      for i in 0..<rows {
        let row = y.data + ((m * rows + i) * cols) * es
        // Zero columns [0, i+k) for upper, (i+k, cols) for lower.
        let cut = min(max(i &+ k, -1), cols)
        if upper {
          if cut > 0 { memset(row, 0, cut * es) }
        } else if cut + 1 < cols {
          memset(row + (cut + 1) * es, 0, (cols - cut - 1) * es)
        }
      }
    }
  }
}

/// `CumSum` along the axis given as input 1; `exclusive` shifts by one, `reverse` sums from the end.
final class CumSumKernel: OpKernel {
  let label: String
  let exclusive: Bool, reverse: Bool
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    exclusive = try ctx.int("exclusive", 0) != 0
    reverse = try ctx.int("reverse", 0) != 0
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    _ = try required(inputs, 1, label)
    _ = try withNumericType(x.dataType, label) { _ in 0 }
    if let a = try? values.ints(1, label).first { _ = try normalizeAxis(a, rank: x.rank, label) }
    return [x]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let a = try normalizeAxis(readInts(inputs[1]).first ?? 0, rank: x.shape.count, label)
    let scan = AxisScan(shape: x.shape, axis: a, exclusive: exclusive, reverse: reverse)
    func scanWrapping<T: FixedWidthInteger>(_: T.Type) { scan.run(x, outputs[0], identity: 0 as T, &+) }
    func scanNumeric<T: Numeric>(_: T.Type) { scan.run(x, outputs[0], identity: 0 as T, +) }
    // Integer sums wrap rather than trap on model-controlled values.
    switch x.dataType {
    case .int8: scanWrapping(Int8.self); case .int16: scanWrapping(Int16.self)
    case .int32: scanWrapping(Int32.self); case .int64: scanWrapping(Int64.self)
    case .uint8: scanWrapping(UInt8.self); case .uint16: scanWrapping(UInt16.self)
    case .uint32: scanWrapping(UInt32.self); case .uint64: scanWrapping(UInt64.self)
    default: try withNumericType(x.dataType, label) { t in scanNumeric(t) }
    }
  }
}

/// The scan shared by CumSum and CumProd: a running `combine` along `axis`, seeded with the combine's
/// identity; `exclusive` writes the accumulator before folding the element in, `reverse` runs from the end.
struct AxisScan {
  let outer: Int, dim: Int, inner: Int
  let exclusive: Bool, reverse: Bool

  init(shape: [Int], axis a: Int, exclusive: Bool, reverse: Bool) {
    dim = shape.isEmpty ? 1 : shape[a]
    outer = shape.isEmpty ? 1 : product(shape[0..<a])
    inner = shape.isEmpty ? 1 : product(shape[(a + 1)...])
    self.exclusive = exclusive
    self.reverse = reverse
  }

  @inline(__always)
  func run<T>(_ x: TensorView, _ y: TensorView, identity: T, _ combine: (T, T) -> T) {
    let s = x.pointer(T.self), d = y.pointer(T.self)
    for o in 0..<outer {
      for i in 0..<inner {
        var acc = identity
        for t in 0..<dim {
          let p = (o * dim + (reverse ? dim - 1 - t : t)) * inner + i
          if exclusive { d[p] = acc; acc = combine(acc, s[p]) } else { acc = combine(acc, s[p]); d[p] = acc }
        }
      }
    }
  }
}

/// `DepthToSpace` (DCR, or CRD from 11) and `SpaceToDepth`: a reshape–transpose–reshape, done as one strided copy.
final class SpaceDepthKernel: OpKernel {
  let label: String
  let toSpace: Bool
  let block: Int
  let crd: Bool
  init(_ ctx: NodeContext, toSpace: Bool) throws {
    label = ctx.label
    self.toSpace = toSpace
    block = try ctx.int("blocksize", 0)
    guard block > 0, block < (1 << 20) else { throw ctx.error("blocksize \(block) must be in 1..<2^20") }
    let m = try ctx.string("mode", "DCR")
    guard m == "DCR" || m == "CRD" else { throw ctx.error("mode '\(m)' is not supported") }
    crd = m == "CRD"
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    guard x.rank == 4 else { throw SecateurError.invalidModel("\(label): input must be 4-D, got \(x.shape)") }
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]), b = block
    guard h < (1 << 40) / b, w < (1 << 40) / b, c < (1 << 40) / (b * b) else {
      throw SecateurError.invalidModel("\(label): shape \(x.shape) with blocksize \(b) is too large")
    }
    if toSpace {
      guard c % (b * b) == 0 else { throw SecateurError.invalidModel("\(label): channels \(c) not divisible by blocksize² \(b * b)") }
      return [TensorSpec(x.dataType, [n, c / (b * b), h * b, w * b])]
    }
    guard h % b == 0, w % b == 0 else { throw SecateurError.invalidModel("\(label): \(h)x\(w) not divisible by blocksize \(b)") }
    return [TensorSpec(x.dataType, [n, c * b * b, h / b, w / b])]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let y = outputs[0], b = block
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let shape: [Int], src: [Int]
    if toSpace {
      let cc = c / (b * b)
      // Output viewed as [N, C', H, b1, W, b2]; the input as [N, b1, b2, C', H, W] (DCR) or [N, C', b1, b2, H, W] (CRD).
      let s = stridesOf(crd ? [n, cc, b, b, h, w] : [n, b, b, cc, h, w])
      shape = [n, cc, h, b, w, b]
      src = crd ? [s[0], s[1], s[4], s[2], s[5], s[3]] : [s[0], s[3], s[4], s[1], s[5], s[2]]
    } else {
      // The input viewed as [N, C, H', b1, W', b2]; output as [N, b1, b2, C, H', W'] (DCR) or [N, C, b1, b2, H', W'] (CRD).
      let s = stridesOf([n, c, h / b, b, w / b, b])
      shape = crd ? [n, c, b, b, h / b, w / b] : [n, b, b, c, h / b, w / b]
      src = crd ? [s[0], s[1], s[3], s[5], s[2], s[4]] : [s[0], s[3], s[5], s[1], s[2], s[4]]
    }
    stridedCopy(dst: y.data, stridesOf(shape), src: x.data, src, shape: shape, elementSize: x.dataType.byteSize,
                pool: context.pool)
  }
}

/// `ReverseSequence`: reverses the first `sequence_lens[b]` steps along the time axis of each batch entry.
final class ReverseSequenceKernel: OpKernel {
  let label: String
  let timeAxis: Int, batchAxis: Int
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    timeAxis = try ctx.int("time_axis", 0)
    batchAxis = try ctx.int("batch_axis", 1)
    guard Set([timeAxis, batchAxis]) == Set([0, 1]) else { throw ctx.error("time_axis and batch_axis must be 0 and 1") }
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), l = try required(inputs, 1, label)
    try requireMovable(x.dataType, label)
    guard x.rank >= 2, l.shape == [x.shape[batchAxis]] else {
      throw SecateurError.invalidModel("\(label): sequence_lens \(l.shape) does not match input \(x.shape)")
    }
    return [x]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let lens = readInts(inputs[1])
    copyThrough(inputs, outputs)
    let T = x.shape[timeAxis], B = x.shape[batchAxis]
    let inner = product(x.shape[2...]) * x.dataType.byteSize
    func offset(_ t: Int, _ b: Int) -> Int { (timeAxis == 0 ? t * B + b : b * T + t) * inner }
    for b in 0..<B {
      let len = b < lens.count ? lens[b] : 0
      guard len >= 0, len <= T else { throw SecateurError.invalidArgument("\(label): sequence length \(len) exceeds \(T)") }
      for t in 0..<len { memcpy(outputs[0].data + offset(t, b), x.data + offset(len - 1 - t, b), inner) }
    }
  }
}
