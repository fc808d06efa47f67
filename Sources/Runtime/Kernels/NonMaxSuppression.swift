import ModelFormat

/// ONNX `NonMaxSuppression` (10; 11 only relaxed the threshold inputs): per batch and class, greedily keeps
/// the highest-scoring boxes (score > score_threshold) whose IoU with every kept box is ≤ iou_threshold,
/// at most max_output_boxes_per_class (default 0: none). Output: int64 [n, 3] of (batch, class, box).
/// The count depends on the data, so the shape rule asks for the inputs' values.
enum NonMaxSuppressionKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("NonMaxSuppression", since: 10) { try NMSKernel($0) },
    OpRegistration("NonMaxSuppression", since: 11) { try NMSKernel($0) },
  ]
}

final class NMSKernel: OpKernel {
  let label: String
  let centerPointBox: Bool
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    centerPointBox = try ctx.int("center_point_box", 0) != 0
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let b = try required(inputs, 0, label), s = try required(inputs, 1, label)
    guard b.rank == 3, b.shape[2] == 4, s.rank == 3, s.shape[0] == b.shape[0], s.shape[2] == b.shape[1] else {
      throw SecateurError.invalidModel("\(label): boxes \(b.shape) must be [N, B, 4] and scores \(s.shape) [N, C, B]")
    }
    var tensors: [Tensor?] = []
    for (i, spec) in inputs.enumerated() {
      if spec == nil { tensors.append(nil); continue }
      guard let t = values[i] else { throw KernelError.needsValue(input: i) }
      tensors.append(t)
    }
    let views = tensors.map { $0.map(Executor.view) }
    return [TensorSpec(.int64, [try select(views).count / 3, 3])]
  }

  private func select(_ inputs: [TensorView?]) throws -> [Int64] {
    guard let bv = inputs[0], let sv = inputs[1] else { return [] }
    func scalar(_ i: Int) throws -> Double? {
      guard i < inputs.count, let v = inputs[i], v.count > 0 else { return nil }
      return try readAsDouble(v.dataType, v.data, count: 1, label).first
    }
    let maxOut = max(0, Int(try scalar(2) ?? 0))
    let iou = try scalar(3) ?? 0
    let scoreThreshold = try scalar(4)
    let boxes = try readAsDouble(bv.dataType, bv.data, count: bv.count, label)
    let scores = try readAsDouble(sv.dataType, sv.data, count: sv.count, label)
    let (n, c, m) = (sv.shape[0], sv.shape[1], sv.shape[2])
    var out: [Int64] = []
    if maxOut == 0 { return out }
    for bi in 0..<n {
      for ci in 0..<c {
        let base = (bi * c + ci) * m
        var cand: [Int] = []
        for k in 0..<m where scoreThreshold.map({ t in scores[base + k] > t }) ?? true { cand.append(k) }
        cand.sort { (i: Int, j: Int) -> Bool in
          let si = scores[base + i], sj = scores[base + j]
          return si != sj ? si > sj : i < j
        }
        var kept: [Int] = []
        for k in cand {
          if kept.count >= maxOut { break }
          if kept.allSatisfy({ !suppresses(boxes, (bi * m + $0) * 4, (bi * m + k) * 4, iou) }) {
            kept.append(k)
            out += [Int64(bi), Int64(ci), Int64(k)]
          }
        }
      }
    }
    return out
  }

  /// IoU(box at a, box at b) > threshold, with corners given as any diagonal pair or as center + size.
  private func suppresses(_ d: [Double], _ a: Int, _ b: Int, _ threshold: Double) -> Bool {
    func extent(_ o: Int) -> (x0: Double, x1: Double, y0: Double, y1: Double) {
      if centerPointBox {
        return (d[o] - d[o + 2] / 2, d[o] + d[o + 2] / 2, d[o + 1] - d[o + 3] / 2, d[o + 1] + d[o + 3] / 2)
      }
      return (min(d[o + 1], d[o + 3]), max(d[o + 1], d[o + 3]), min(d[o], d[o + 2]), max(d[o], d[o + 2]))
    }
    let p = extent(a), q = extent(b)
    let ix = min(p.x1, q.x1) - max(p.x0, q.x0), iy = min(p.y1, q.y1) - max(p.y0, q.y0)
    if ix <= 0 || iy <= 0 { return false }
    let inter = ix * iy
    let a1 = (p.x1 - p.x0) * (p.y1 - p.y0), a2 = (q.x1 - q.x0) * (q.y1 - q.y0)
    let union = a1 + a2 - inter
    if a1 <= 0 || a2 <= 0 || union <= 0 { return false }
    return inter / union > threshold
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    let sel = try select(inputs)
    let y = outputs[0].pointer(Int64.self)
    for i in 0..<min(sel.count, outputs[0].count) { y[i] = sel[i] }
  }
}
