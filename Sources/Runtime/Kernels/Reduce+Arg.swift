import ModelFormat

// ArgMax / ArgMin: int64 index of the first (or last, `select_last_index`) extreme along `axis`.

extension ReduceKernels {
  static let argRegistrations: [OpRegistration] = [
    // 11: negative axis accepted (the kernel always does). 12: `select_last_index` added.
    OpRegistration("ArgMax") { c in try ArgKernel(c, max: true) },
    OpRegistration("ArgMax", since: 12) { c in try ArgKernel(c, max: true) },
    OpRegistration("ArgMin") { c in try ArgKernel(c, max: false) },
    OpRegistration("ArgMin", since: 12) { c in try ArgKernel(c, max: false) },
  ]
}

final class ArgKernel: OpKernel {
  let label: String
  let isMax: Bool
  let axis: Int
  let keepDims: Bool
  let selectLast: Bool

  init(_ ctx: NodeContext, max: Bool) throws {
    label = ctx.label
    isMax = max
    axis = try ctx.int("axis", 0)
    keepDims = try ctx.int("keepdims", 1) != 0
    selectLast = try ctx.int("select_last_index", 0) != 0
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require(ElementTypes.numeric, label)
    let rank = x.shape.count
    guard rank > 0 else { throw SecateurError.invalidModel("\(label): input must have rank at least 1") }
    let a = try normalizeAxis(axis, rank: rank, label)
    guard x.shape[a] > 0 else {
      throw SecateurError.invalidModel("\(label): axis \(axis) of shape \(x.shape) is empty: nothing to select")
    }
    var shape = x.shape
    if keepDims { shape[a] = 1 } else { shape.remove(at: a) }
    return [TensorSpec(.int64, shape)]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputView(inputs, 0), let y = outputs.first, !x.shape.isEmpty else { return }
    let rank = x.shape.count
    let a = axis < 0 ? axis + rank : axis
    guard a >= 0, a < rank, x.shape[a] > 0 else { return }
    let outer = x.shape[..<a].reduce(1, &*), k = x.shape[a], inner = x.shape[(a + 1)...].reduce(1, &*)
    let out = y.pointer(Int64.self)
    func go<T: Comparable>(_ p: UnsafeMutablePointer<T>) {
      let isMax = self.isMax, selectLast = self.selectLast
      parallelChunks(context.pool, outer &* inner, grain: max(1, 16384 / k)) { r in
        for lane in r {
          let o = lane / inner, i = lane % inner
          let base = p + (o &* k &* inner &+ i)
          var best = base[0], at = 0
          for j in 1..<max(k, 1) {
            let v = base[j &* inner]
            let better = isMax ? (selectLast ? v >= best : v > best) : (selectLast ? v <= best : v < best)
            if better { best = v; at = j }
          }
          out[lane] = Int64(at)
        }
      }
    }
    switch x.dataType {
    case .float: go(x.pointer(Float.self))
    case .double: go(x.pointer(Double.self))
    case .float16: go(x.pointer(Float16.self))
    case .int8: go(x.pointer(Int8.self))
    case .int16: go(x.pointer(Int16.self))
    case .int32: go(x.pointer(Int32.self))
    case .int64: go(x.pointer(Int64.self))
    case .uint8: go(x.pointer(UInt8.self))
    case .uint16: go(x.pointer(UInt16.self))
    case .uint32: go(x.pointer(UInt32.self))
    case .uint64: go(x.pointer(UInt64.self))
    default: break
    }
  }
}
