import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// `CenterCropPad` (18): per listed axis, center-crop or zero-pad to the target size (odd excess goes
/// to the end).
enum CenterCropPadKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("CenterCropPad", since: 18) { try CenterCropPadKernel($0) },
  ]
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
