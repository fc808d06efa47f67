import ModelFormat

/// ONNX Softmax, LogSoftmax and Hardmax.
///
/// Before opset 13 the input is coerced to 2-D at `axis` (default 1): every row of
/// `shape[axis...]` elements is normalised as one lane. From 13 the lane is the single axis `axis`
/// (default -1), strided by the product of the dims after it.
enum SoftmaxKernels {
  static let registrations: [OpRegistration] = [Kind.softmax, .logSoftmax, .hardmax].flatMap { kind in
    [
      // 1, 11 (negative axis accepted; the kernel always does): coerce to 2-D at axis, default 1.
      OpRegistration(kind.rawValue) { c in SoftmaxKernel(c, kind, axis: try c.int("axis", 1), coerce2D: true) },
      // 13: normalise along the single axis `axis`, default -1.
      OpRegistration(kind.rawValue, since: 13) { c in
        SoftmaxKernel(c, kind, axis: try c.int("axis", -1), coerce2D: false)
      },
    ]
  }

  enum Kind: String { case softmax = "Softmax", logSoftmax = "LogSoftmax", hardmax = "Hardmax" }
}

final class SoftmaxKernel: OpKernel {
  let label: String
  let kind: SoftmaxKernels.Kind
  let axis: Int
  let coerce2D: Bool

  init(_ ctx: NodeContext, _ kind: SoftmaxKernels.Kind, axis: Int, coerce2D: Bool) {
    self.label = ctx.label
    self.kind = kind
    self.axis = axis
    self.coerce2D = coerce2D
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require(ElementTypes.floats, label)
    let rank = x.shape.count
    // The 2-D coercion allows axis == rank (each lane is one element).
    let a = axis < 0 ? axis + rank : axis
    guard rank == 0 || (a >= 0 && a <= (coerce2D ? rank : rank - 1)) else {
      throw SecateurError.invalidModel("\(label): axis \(axis) is out of range for rank \(rank)")
    }
    return [x]
  }

  /// (outer, lane length, lane stride) for this input shape.
  private func layout(_ shape: [Int]) -> (Int, Int, Int) {
    let rank = shape.count
    let a = min(max(axis < 0 ? axis + rank : axis, 0), rank)
    let outer = shape[..<a].reduce(1, &*)
    if coerce2D { return (outer, shape[a...].reduce(1, &*), 1) }
    guard a < rank else { return (outer, 1, 1) }
    return (outer, shape[a], shape[(a + 1)...].reduce(1, &*))
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputView(inputs, 0), let y = outputs.first, x.count > 0 else { return }
    let (outer, k, inner) = layout(x.shape)
    switch x.dataType {
    case .float: compute(x.pointer(Float.self), y.pointer(Float.self), Float.self, outer, k, inner, context.pool)
    case .double: compute(x.pointer(Double.self), y.pointer(Double.self), Double.self, outer, k, inner, context.pool)
    case .float16: compute(x.pointer(Float16.self), y.pointer(Float16.self), Float.self, outer, k, inner, context.pool)
    default: break
    }
  }

  /// Storage type `S`, computing in `C` (float16 computes in Float).
  private func compute<S: BinaryFloatingPoint, C: MathFloat>(
    _ x: UnsafeMutablePointer<S>, _ y: UnsafeMutablePointer<S>, _: C.Type, _ outer: Int, _ k: Int, _ inner: Int,
    _ pool: ThreadPool
  ) {
    let kind = self.kind
    let lanes = outer &* inner
    parallelChunks(pool, lanes, grain: max(1, 4096 / max(k, 1))) { r in
      for lane in r {
        let o = lane / inner, i = lane % inner
        let base = o &* k &* inner &+ i
        let xs = x + base, ys = y + base
        var m = -C.infinity, best = 0
        for j in 0..<k {
          let v = C(xs[j &* inner])
          if v > m { m = v; best = j }
        }
        switch kind {
        case .hardmax:
          for j in 0..<k { ys[j &* inner] = j == best ? 1 : 0 }
        case .softmax:
          var sum: C = 0
          for j in 0..<k {
            let e = C.exp(C(xs[j &* inner]) - m)
            sum += e
            ys[j &* inner] = S(e)
          }
          let s = 1 / sum
          for j in 0..<k { ys[j &* inner] = S(C(ys[j &* inner]) * s) }
        case .logSoftmax:
          var sum: C = 0
          for j in 0..<k { sum += C.exp(C(xs[j &* inner]) - m) }
          let l = m + C.log(sum)
          for j in 0..<k { ys[j &* inner] = S(C(xs[j &* inner]) - l) }
        }
      }
    }
  }
}
