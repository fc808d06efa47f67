import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// `LpNormalization` (1; 22 widened types): x / ‖x‖ₚ along `axis` (p = 1 or 2), and `CenterCropPad`
/// (18): per listed axis, center-crop or zero-pad to the target size (odd excess goes to the end).
enum LpKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("LpNormalization", since: 1) { try LpNormKernel($0) },
    OpRegistration("LpNormalization", since: 22) { try LpNormKernel($0) },  // 22: more float types
    OpRegistration("CenterCropPad", since: 18) { try CenterCropPadKernel($0) },
  ]
}

final class LpNormKernel: OpKernel {
  let label: String
  let axis: Int, p: Int
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.int("axis", -1)
    p = try ctx.int("p", 2)
    guard p == 1 || p == 2 else { throw ctx.error("attribute p \(p): must be 1 or 2") }
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require([.float, .double, .float16, .bfloat16], label)
    _ = try normalizeAxis(axis, rank: x.rank, label)
    return [x]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0] else { return }
    let a = try normalizeAxis(axis, rank: xv.shape.count, label)
    let x = try readAsDouble(xv.dataType, xv.data, count: xv.count, label)
    let n = xv.shape.isEmpty ? 1 : xv.shape[a], inner = xv.shape.isEmpty ? 1 : xv.shape[(a + 1)...].reduce(1, *)
    let outer = xv.shape.isEmpty ? 1 : xv.shape[..<a].reduce(1, *)
    var y = x
    for o in 0..<outer {
      for i in 0..<inner {
        var norm = 0.0
        for k in 0..<n { let v = x[(o * n + k) * inner + i]; norm += p == 1 ? abs(v) : v * v }
        if p == 2 { norm = norm.squareRoot() }
        // A zero vector stays zero (as onnxruntime), not 0/0.
        for k in 0..<n { y[(o * n + k) * inner + i] = norm == 0 ? 0 : x[(o * n + k) * inner + i] / norm }
      }
    }
    try writeFromDouble(y, xv.dataType, outputs[0].data, saturate: true, rounding: .up, label)
  }
}

final class CenterCropPadKernel: OpKernel {
  let label: String
  let axes: [Int]?
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axes = try ctx.ints("axes")
  }
  private func plan(_ x: [Int], _ target: [Int]) throws -> [Int] {
    let ax = try (axes ?? Array(0..<x.count)).map { try normalizeAxis($0, rank: x.count, label) }
    guard ax.count == target.count, target.allSatisfy({ $0 >= 0 }) else {
      throw SecateurError.invalidModel("\(label): shape \(target) must give one nonnegative size per axis \(ax)")
    }
    var out = x
    for (a, t) in zip(ax, target) { out[a] = t }
    return out
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    guard x.dataType.byteSize > 0 else { throw SecateurError.unsupported("\(label): element type \(x.dataType)") }
    return [TensorSpec(x.dataType, try plan(x.shape, try values.ints(1, label)))]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0] else { return }
    let y = outputs[0]
    let es = xv.dataType.byteSize
    if let b = y.spec.byteCount { y.data.initializeMemory(as: UInt8.self, repeating: 0, count: b) }
    // Per axis: source start (crop) and destination start (pad) and the copied length.
    var srcStart = [Int](), dstStart = [Int](), len = [Int]()
    for (d, t) in zip(xv.shape, y.shape) {
      if t <= d { srcStart.append((d - t) / 2); dstStart.append(0); len.append(t) } else { srcStart.append(0); dstStart.append((t - d) / 2); len.append(d) }
    }
    let total = len.reduce(1, *)
    if total == 0 { return }
    let xs = stridesOf(xv.shape), ys = stridesOf(y.shape)
    var idx = [Int](repeating: 0, count: len.count)
    for _ in 0..<total {
      var so = 0, d = 0
      for k in 0..<len.count { so += (srcStart[k] + idx[k]) * xs[k]; d += (dstStart[k] + idx[k]) * ys[k] }
      (y.data + d * es).copyMemory(from: xv.data + so * es, byteCount: es)
      var k = len.count - 1
      while k >= 0 { idx[k] += 1; if idx[k] < len[k] { break }; idx[k] = 0; k -= 1 }
    }
  }
}
