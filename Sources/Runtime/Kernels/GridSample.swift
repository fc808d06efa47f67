import ModelFormat

/// ONNX `GridSample` (16: 4-D, modes bilinear/nearest/bicubic; 20: N-D, modes linear/nearest/cubic;
/// 22 widened types). Samples X (N, C, D1…Dr) at grid (N, O1…Or, r) positions in [−1, 1] (last grid
/// component = last spatial axis), with zeros / border / reflection padding and align_corners.
/// Interpolation is the tensor product of 1-D linear or Keys-cubic (α = −0.75) weights, as the
/// reference evaluates it.
enum GridSampleKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("GridSample", since: 16) { try GridSampleKernel($0) },
    OpRegistration("GridSample", since: 20) { try GridSampleKernel($0) },  // 20: N-D, renamed modes
    OpRegistration("GridSample", since: 22) { try GridSampleKernel($0) },  // 22: more types
  ]
}

final class GridSampleKernel: OpKernel {
  enum Mode { case nearest, linear, cubic }
  enum Padding: String { case zeros, border, reflection }
  let label: String
  let mode: Mode
  let padding: Padding
  let alignCorners: Bool

  init(_ ctx: NodeContext) throws {
    label = ctx.label
    let m = try ctx.string("mode", ctx.opset >= 20 ? "linear" : "bilinear")
    switch m {
    case "nearest": mode = .nearest
    case "linear", "bilinear": mode = .linear
    case "cubic", "bicubic": mode = .cubic
    default: throw ctx.error("mode '\(m)' must be nearest, linear or cubic")
    }
    let p = try ctx.string("padding_mode", "zeros")
    guard let pm = Padding(rawValue: p) else { throw ctx.error("padding_mode '\(p)' must be zeros, border or reflection") }
    padding = pm
    alignCorners = try ctx.int("align_corners", 0) != 0
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), g = try required(inputs, 1, label)
    try x.require([.float, .double, .float16, .bfloat16], label)
    let r = x.rank - 2
    guard r >= 1, g.rank == r + 2, g.shape[0] == x.shape[0], g.shape[r + 1] == r else {
      throw SecateurError.invalidModel("\(label): grid \(g.shape) must be (N, out…, \(r)) for X \(x.shape)")
    }
    return [TensorSpec(x.dataType, [x.shape[0], x.shape[1]] + Array(g.shape[1...r]))]
  }

  private func reflect(_ v: Double, _ lo: Double, _ hi: Double) -> Double {
    let range = hi - lo
    if v < lo {
      let dx = lo - v, n = Int(dx / range), r = dx - Double(n) * range
      return n % 2 == 0 ? lo + r : hi - r
    }
    if v > hi {
      let dx = v - hi, n = Int(dx / range), r = dx - Double(n) * range
      return n % 2 == 0 ? hi - r : lo + r
    }
    return v
  }

  private func cubic(_ t: Double) -> [Double] {
    let a = -0.75, x = abs(t)
    return [((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a,
            ((a + 2) * x - (a + 3)) * x * x + 1,
            ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1,
            ((a * (2 - x) - 5 * a) * (2 - x) + 8 * a) * (2 - x) - 4 * a]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0], let gv = inputs[1] else { return }
    let x = try readAsDouble(xv.dataType, xv.data, count: xv.count, label)
    let grid = try readAsDouble(gv.dataType, gv.data, count: gv.count, label)
    let r = xv.shape.count - 2
    let (N, C) = (xv.shape[0], xv.shape[1])
    let dims = Array(xv.shape[2...])
    let spatial = dims.reduce(1, *)
    let points = gv.shape[1...r].reduce(1, *)
    let dStrides = stridesOf(dims)
    let lo: [Double] = dims.map { _ in alignCorners ? 0 : -0.5 }
    let hi: [Double] = dims.map { alignCorners ? Double($0 - 1) : Double($0) - 0.5 }
    var y = [Double](repeating: 0, count: N * C * points)
    var pos = [Double](repeating: 0, count: r)
    for n in 0..<N {
      for p in 0..<points {
        let gBase = (n * points + p) * r
        for i in 0..<r {
          let v = grid[gBase + r - 1 - i], len = Double(dims[i])
          var c = Double(Float(alignCorners ? (v + 1) / 2 * (len - 1) : ((v + 1) * len - 1) / 2))
          if mode == .nearest { c = c.rounded(.toNearestOrEven) }
          if c < lo[i] || c > hi[i] {
            if padding == .border { c = min(max(c, 0), len - 1) } else if padding == .reflection { c = reflect(c, lo[i], hi[i]) }
          }
          pos[i] = c
        }
        // Per axis: the taps (index, weight) of the 1-D kernel; an index resolves by padding mode.
        var taps: [[(Int, Double)]] = []
        for i in 0..<r {
          let c = pos[i]
          switch mode {
          case .nearest: taps.append([(Int(c), 1)])
          case .linear:
            let f = c.rounded(.down), t = c - f
            taps.append([(Int(f), 1 - t), (Int(f) + 1, t)])
          case .cubic:
            let f = c.rounded(.down), w = cubic(c - f)
            taps.append((0..<4).map { (Int(f) - 1 + $0, w[$0]) })
          }
        }
        func resolve(_ idx: Int, _ i: Int) -> Int? {
          let d = dims[i]
          switch padding {
          case .zeros: return idx >= 0 && idx < d ? idx : nil
          case .border: return min(max(idx, 0), d - 1)
          case .reflection:
            let v = Int(reflect(Double(idx), lo[i], hi[i]))
            return min(max(v, 0), d - 1)
          }
        }
        // Walk the tap product.
        var combos: [(Int, Double)] = [(0, 1)]
        for i in 0..<r {
          var next: [(Int, Double)] = []
          for (off, w) in combos {
            for (idx, tw) in taps[i] {
              if off >= 0, let k = resolve(idx, i) { next.append((off + k * dStrides[i], w * tw)) } else { next.append((-1, 0)) }
            }
          }
          combos = next
        }
        for c in 0..<C {
          let base = (n * C + c) * spatial
          var acc = 0.0
          for (off, w) in combos where off >= 0 { acc += w * x[base + off] }
          y[(n * C + c) * points + p] = acc
        }
      }
    }
    try writeFromDouble(y, xv.dataType, outputs[0].data, saturate: true, rounding: .up, label)
  }
}
