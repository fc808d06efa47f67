import ModelFormat

/// ONNX `RMSNormalization` (23): Y = X / √(mean(X², axes axis…) + ε) · scale, scale broadcast to X.
/// The mean is taken in float32 or wider (stash_type 1), as the reference.
enum RMSNormalizationKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("RMSNormalization", since: 23) { try RMSNormKernel($0) },
  ]
}

final class RMSNormKernel: OpKernel {
  let label: String
  let axis: Int
  let epsilon: Double
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.int("axis", -1)
    epsilon = Double(try ctx.float("epsilon", 1e-5))
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), s = try required(inputs, 1, label)
    try x.require([.float, .double, .float16, .bfloat16], label)
    _ = try normalizeAxis(axis, rank: x.rank, label)
    guard try broadcastShapes([x.shape, s.shape], label) == x.shape else {
      throw SecateurError.invalidModel("\(label): scale \(s.shape) does not broadcast to X \(x.shape)")
    }
    return [TensorSpec(x.dataType, x.shape)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0], let sv = inputs[1] else { return }
    let a = try normalizeAxis(axis, rank: xv.shape.count, label)
    let x = try readAsDouble(xv.dataType, xv.data, count: xv.count, label)
    let s = try readAsDouble(sv.dataType, sv.data, count: sv.count, label)
    let inner = xv.shape[a...].reduce(1, *)
    let sStrides = broadcastStrides(sv.shape, to: xv.shape)
    let xStrides = stridesOf(xv.shape)
    var y = [Double](repeating: 0, count: x.count)
    var row = 0
    while row < x.count {
      var ss = 0.0
      for j in 0..<inner { ss += x[row + j] * x[row + j] }
      let r = 1 / (ss / Double(inner) + epsilon).squareRoot()
      for j in 0..<inner {
        let i = row + j
        var k = 0, rem = i
        for d in 0..<xStrides.count { k += (rem / xStrides[d]) * sStrides[d]; rem %= xStrides[d] }
        y[i] = x[i] * r * s[k]
      }
      row += max(inner, 1)
    }
    try writeFromDouble(y, xv.dataType, outputs[0].data, saturate: true, rounding: .up, label)
  }
}
