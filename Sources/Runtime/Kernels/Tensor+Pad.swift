import ModelFormat

/// ONNX `Pad`: modes constant, reflect, edge, wrap; negative pads crop.
enum PadKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("Pad", since: 1) { try PadKernel($0) },  // 1: 'paddings' attribute; 2: 'pads', 'value'
    OpRegistration("Pad", since: 11) { try PadKernel($0) },  // 11: pads and constant_value moved to inputs
    OpRegistration("Pad", since: 18) { try PadKernel($0) },  // 18: axes input
    OpRegistration("Pad", since: 19) { try PadKernel($0) },  // 19: wrap mode
  ]
}

final class PadKernel: OpKernel {
  enum Mode: String { case constant, reflect, edge, wrap }
  let label: String
  let mode: Mode
  let attributePads: [Int]?
  let attributeValue: Float
  let fromInputs: Bool
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    let m = try ctx.string("mode", "constant")
    guard let mode = Mode(rawValue: m) else { throw ctx.error("mode '\(m)' is not supported") }
    self.mode = mode
    fromInputs = ctx.opset >= 11
    attributePads = fromInputs ? nil : try ctx.ints("pads") ?? ctx.ints("paddings")
    attributeValue = try ctx.float("value", 0)
    if !fromInputs && attributePads == nil { throw ctx.error("attribute 'pads' is required") }
  }

  /// Begin and end pads per axis.
  func pads(_ x: TensorSpec, _ inputs: [TensorSpec?], _ values: InputValues) throws -> ([Int], [Int]) {
    let r = x.rank
    let raw = try attributePads ?? values.ints(1, label)
    var axes = Array(0..<r)
    if fromInputs, inputs.count > 3, inputs[3] != nil {
      axes = try values.ints(3, label).map { try normalizeAxis($0, rank: r, label) }
    }
    guard raw.count == 2 * axes.count else {
      throw SecateurError.invalidModel("\(label): \(raw.count) pads for \(axes.count) axes")
    }
    var begin = [Int](repeating: 0, count: r), end = begin
    for (i, a) in axes.enumerated() {
      begin[a] = raw[i]
      end[a] = raw[i + axes.count]
    }
    return (begin, end)
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    let (b, e) = try pads(x, inputs, values)
    var out = x.shape
    for k in 0..<x.rank {
      out[k] = x.shape[k] &+ b[k] &+ e[k]
      guard out[k] >= 0, b[k] > -(1 << 40), e[k] > -(1 << 40), b[k] < (1 << 40), e[k] < (1 << 40) else {
        throw SecateurError.invalidModel("\(label): pads \(b)/\(e) do not fit shape \(x.shape)")
      }
      if mode != .constant, x.shape[k] == 0, out[k] > 0 {
        throw SecateurError.invalidModel("\(label): \(mode.rawValue) padding of an empty axis")
      }
    }
    return [TensorSpec(x.dataType, out)]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let y = outputs[0]
    var known: [Tensor?] = [nil]
    for i in 1..<inputs.count {
      known.append(try inputs[i].flatMap { v in
        v.dataType.isInteger ? try Tensor(readInts(v).map { Int64($0) }, shape: v.shape, dataType: .int64) : nil
      })
    }
    let (begin, _) = try pads(x.spec, inputs.map { $0?.spec }, InputValues(known))
    let es = x.dataType.byteSize
    // Per output axis: which input index each output index reads (-1 = the constant).
    var maps: [[Int]] = []
    for k in 0..<x.shape.count {
      let dim = x.shape[k]
      maps.append((0..<y.shape[k]).map { o in
        let i = o - begin[k]
        if i >= 0 && i < dim { return i }
        switch mode {
        case .constant: return -1
        case .edge: return i < 0 ? 0 : dim - 1
        case .wrap: return ((i % dim) + dim) % dim
        case .reflect:
          if dim == 1 { return 0 }
          let period = 2 * (dim - 1)
          var m = ((i % period) + period) % period
          if m >= dim { m = period - m }
          return m
        }
      })
    }
    var fill = [UInt8](repeating: 0, count: 8)
    if mode == .constant {
      if fromInputs, inputs.count > 2, let v = inputs[2], v.count > 0 {
        fill.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: v.data, byteCount: es) }
      } else if !fromInputs {
        fill = try scalarBytes(Double(attributeValue), x.dataType, label)
      }
    }
    try withElementSize(x.dataType, label) { t in
      gatherByAxisMaps(t, x, y, maps, fill, context.pool)
    }
  }
}

/// y[o] = x[Σ maps_k[o_k]·stride_k], or `fill` where any map entry is -1 (Pad, nearest Resize).
func gatherByAxisMaps<T: ByteElement>(_: T.Type, _ x: TensorView, _ y: TensorView, _ maps: [[Int]], _ fill: [UInt8],
                                     _ pool: ThreadPool) {
  let rank = y.shape.count
  let value = fill.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
  let dst = y.pointer(T.self), src = x.pointer(T.self)
  if rank == 0 { dst[0] = src[0]; return }
  let st = x.spec.strides
  let inner = y.shape[rank - 1]
  let outer = product(y.shape[0..<(rank - 1)])
  let innerMap = maps[rank - 1]
  if inner == 0 { return }
  pool.parallelRanges(outer, grain: max(1, 16384 / inner)) { range in
    for o in range {
      var rem = o, base = 0, valid = true
      for k in stride(from: rank - 2, through: 0, by: -1) {
        let i = maps[k][rem % y.shape[k]]
        rem /= y.shape[k]
        if i < 0 { valid = false; break }
        base += i * st[k]
      }
      let row = dst + o * inner
      if !valid {
        row.update(repeating: value, count: inner)
        continue
      }
      for j in 0..<inner {
        let i = innerMap[j]
        row[j] = i < 0 ? value : src[base + i]
      }
    }
  }
}
