import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// Small ops from recent opsets: `BitCast` (26), `CumProd` (26), `Swish` (24), `SwiGLU` (28) and
/// `RotaryEmbedding` (23), plus `TensorScatter` (24). Element math goes through Double and is rounded to the element type once.
enum MiscCoverageKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("BitCast", since: 26) { try BitCastKernel($0) },
    OpRegistration("CumProd", since: 26) { try CumProdKernel($0) },
    OpRegistration("Swish", since: 24) { try SwishKernel($0, glu: false) },
    OpRegistration("SwiGLU", since: 28) { try SwishKernel($0, glu: true) },
    OpRegistration("RotaryEmbedding", since: 23) { try RotaryEmbeddingKernel($0) },
    OpRegistration("TensorScatter", since: 24) { try TensorScatterKernel($0) },
  ]
}

/// Reinterprets the bytes as another type of the same width.
final class BitCastKernel: OpKernel {
  let label: String
  let to: DataType
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    let raw = try ctx.int("to", 0)
    guard let t = DataType(rawValue: Int32(truncatingIfNeeded: raw)), t.byteSize > 0 else {
      throw ctx.error("attribute to \(raw): must be a fixed-width element type")
    }
    to = t
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    guard x.dataType.bitWidth == to.bitWidth, x.dataType.byteSize > 0 else {
      throw SecateurError.invalidModel("\(label): cannot bit-cast \(x.dataType) to \(to): widths differ")
    }
    return [TensorSpec(to, x.shape)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0], let n = x.spec.byteCount, n > 0 else { return }
    outputs[0].data.copyMemory(from: x.data, byteCount: n)
  }
}

/// Cumulative product along the axis given as input 1 (`exclusive`, `reverse` as CumSum).
final class CumProdKernel: OpKernel {
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
    return [x]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0], let av = inputs[1] else { return }
    let axisValue = try readAsDouble(av.dataType, av.data, count: av.count, label).first ?? 0
    let a = try normalizeAxis(Int(axisValue), rank: x.shape.count, label)
    let scan = AxisScan(shape: x.shape, axis: a, exclusive: exclusive, reverse: reverse)
    func scanFloat<T: FloatingPoint>(_: T.Type) { scan.run(x, outputs[0], identity: 1 as T, *) }
    // Integer products wrap rather than trap on model-controlled values.
    func scanWrapping<T: FixedWidthInteger>(_: T.Type) { scan.run(x, outputs[0], identity: 1 as T, &*) }
    switch x.dataType {
    case .float: scanFloat(Float.self)
    case .double: scanFloat(Double.self)
    case .float16: scanFloat(Float16.self)
    case .int32: scanWrapping(Int32.self)
    case .int64: scanWrapping(Int64.self)
    case .uint32: scanWrapping(UInt32.self)
    case .uint64: scanWrapping(UInt64.self)
    default: throw SecateurError.unsupported("\(label): element type \(x.dataType) is not supported")
    }
  }
}

/// Swish(x) = x · σ(αx); SwiGLU(a, b) = Swish(a) · b (same shapes, no broadcasting).
final class SwishKernel: OpKernel {
  let label: String
  let alpha: Double
  let glu: Bool
  init(_ ctx: NodeContext, glu: Bool) throws {
    label = ctx.label
    alpha = Double(try ctx.float("alpha", 1))
    self.glu = glu
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let a = try required(inputs, 0, label)
    try a.require([.float, .double, .float16, .bfloat16], label)
    if glu {
      let b = try required(inputs, 1, label)
      guard b == a else { throw SecateurError.invalidModel("\(label): A \(a) and B \(b) must have one shape and type") }
    }
    return [a]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let av = inputs[0] else { return }
    let round = roundingFunction(av.dataType)
    let a = try readAsDouble(av.dataType, av.data, count: av.count, label)
    var y = a.map { round($0 * round(1 / (1 + exp(-alpha * $0)))) }
    if glu, inputs.count > 1, let bv = inputs[1] {
      let b = try readAsDouble(bv.dataType, bv.data, count: bv.count, label)
      for i in 0..<min(y.count, b.count) { y[i] *= b[i] }
    }
    try writeFromDouble(y, av.dataType, outputs[0].data, saturate: true, rounding: .up, label)
  }
}

/// Rotary position embedding on (B, S, H·D) or (B, H, S, D): the first `rotary_embedding_dim` features
/// of every head rotate by (cos, sin)[position], as halves or (`interleaved`) as even/odd pairs.
final class RotaryEmbeddingKernel: OpKernel {
  let label: String
  let interleaved: Bool
  let rotaryDim: Int
  let numHeads: Int
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    interleaved = try ctx.int("interleaved", 0) != 0
    rotaryDim = try ctx.int("rotary_embedding_dim", 0)
    numHeads = try ctx.int("num_heads", 0)
  }

  private func geometry(_ x: TensorSpec) throws -> (b: Int, s: Int, h: Int, d: Int, rd: Int) {
    let (b, s, h, d): (Int, Int, Int, Int)
    if x.rank == 4 {
      (b, h, s, d) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    } else if x.rank == 3, numHeads > 0, x.shape[2] % numHeads == 0 {
      (b, s, h, d) = (x.shape[0], x.shape[1], numHeads, x.shape[2] / numHeads)
    } else {
      throw SecateurError.invalidModel("\(label): input \(x.shape) must be rank 4, or rank 3 with num_heads dividing it")
    }
    let rd = rotaryDim == 0 ? d : rotaryDim
    guard rd <= d, rd % 2 == 0 else { throw SecateurError.invalidModel("\(label): rotary_embedding_dim \(rd) must be even and ≤ \(d)") }
    return (b, s, h, d, rd)
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), c = try required(inputs, 1, label), sn = try required(inputs, 2, label)
    try x.require([.float, .double, .float16, .bfloat16], label)
    let g = try geometry(x)
    guard c.shape == sn.shape, c.shape.last == g.rd / 2 else {
      throw SecateurError.invalidModel("\(label): cos \(c.shape) / sin \(sn.shape) caches must end in \(g.rd / 2)")
    }
    if inputs.count > 3, let p = inputs[3] {
      guard p.shape == [g.b, g.s], c.rank == 2 else { throw SecateurError.invalidModel("\(label): position_ids \(p.shape) must be [\(g.b), \(g.s)]") }
    } else {
      guard c.shape == [g.b, g.s, g.rd / 2] else { throw SecateurError.invalidModel("\(label): caches must be [\(g.b), \(g.s), \(g.rd / 2)] without position_ids") }
    }
    return [x]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0], let cv = inputs[1], let sv = inputs[2] else { return }
    let g = try geometry(xv.spec)
    let x = try readAsDouble(xv.dataType, xv.data, count: xv.count, label)
    let cosC = try readAsDouble(cv.dataType, cv.data, count: cv.count, label)
    let sinC = try readAsDouble(sv.dataType, sv.data, count: sv.count, label)
    let pos = try (inputs.count > 3 ? inputs[3] : nil).map { try readAsDouble($0.dataType, $0.data, count: $0.count, label).map { Int($0) } }
    let half = g.rd / 2, rows = cv.shape[0]
    var y = x
    for b in 0..<g.b {
      for s in 0..<g.s {
        let row: Int
        if let pos {
          let p = pos[b * g.s + s]
          guard p >= 0, p < rows else { throw SecateurError.runtime("\(label): position id \(p) is outside the caches' \(rows) rows") }
          row = p * half
        } else {
          row = (b * g.s + s) * half
        }
        for h in 0..<g.h {
          let base = xv.shape.count == 4 ? ((b * g.h + h) * g.s + s) * g.d : (b * g.s + s) * g.h * g.d + h * g.d
          for k in 0..<half {
            let i1 = interleaved ? base + 2 * k : base + k
            let i2 = interleaved ? base + 2 * k + 1 : base + k + half
            let c = cosC[row + k], sn = sinC[row + k]
            y[i1] = c * x[i1] - sn * x[i2]
            y[i2] = sn * x[i1] + c * x[i2]
          }
        }
      }
    }
    try writeFromDouble(y, xv.dataType, outputs[0].data, saturate: true, rounding: .up, label)
  }
}

/// `TensorScatter` (24): writes `update` into a copy of `past_cache` along `axis` (default −2) at
/// write_indices[batch] (0 when absent), wrapping modulo the cache length in "circular" mode.
final class TensorScatterKernel: OpKernel {
  let label: String
  let axis: Int
  let circular: Bool
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.int("axis", -2)
    let mode = try ctx.string("mode", "linear")
    guard mode == "linear" || mode == "circular" else { throw ctx.error("mode '\(mode)' must be linear or circular") }
    circular = mode == "circular"
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let c = try required(inputs, 0, label), u = try required(inputs, 1, label)
    let a = try normalizeAxis(axis, rank: c.rank, label)
    guard c.dataType == u.dataType, c.rank == u.rank, c.dataType.byteSize > 0, a > 0,
          (0..<c.rank).allSatisfy({ $0 == a ? u.shape[$0] <= c.shape[$0] : u.shape[$0] == c.shape[$0] }) else {
      throw SecateurError.invalidModel("\(label): update \(u) does not fit cache \(c) along axis \(axis)")
    }
    return [c]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let cv = inputs[0], let uv = inputs[1], let bytes = cv.spec.byteCount else { return }
    let y = outputs[0]
    if y.data != cv.data { y.data.copyMemory(from: cv.data, byteCount: bytes) }
    let a = try normalizeAxis(axis, rank: cv.shape.count, label)
    let es = cv.dataType.byteSize
    let idx = try (inputs.count > 2 ? inputs[2] : nil).map { try readAsDouble($0.dataType, $0.data, count: $0.count, label).map { Int($0) } }
    let outer = cv.shape[..<a].reduce(1, *), inner = cv.shape[(a + 1)...].reduce(1, *) * es
    let maxLen = cv.shape[a], seq = uv.shape[a], perBatch = outer / max(cv.shape[0], 1)
    for o in 0..<outer {
      let start = idx?[min(o / max(perBatch, 1), (idx?.count ?? 1) - 1)] ?? 0
      for s in 0..<seq {
        var j = start + s
        if circular { j = ((j % maxLen) + maxLen) % maxLen }
        guard j >= 0, j < maxLen else { throw SecateurError.runtime("\(label): write index \(j) is outside the cache length \(maxLen)") }
        (y.data + (o * maxLen + j) * inner).copyMemory(from: uv.data + (o * seq + s) * inner, byteCount: inner)
      }
    }
  }
}
