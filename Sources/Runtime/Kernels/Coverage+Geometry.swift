import ModelFormat

/// `AffineGrid` (20): sampling grids for GridSample from affine matrices; `Col2Im` (18): sums sliding
/// blocks back into an image (the inverse of im2col); `Det` (11): determinants by LU decomposition.
enum GeometryKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("AffineGrid", since: 20) { try AffineGridKernel($0) },
    OpRegistration("Col2Im", since: 18) { try Col2ImKernel($0) },
    OpRegistration("Det", since: 11) { try DetKernel($0) },
  ]
}

/// theta (N, 2, 3) with size (N, C, H, W) → grid (N, H, W, 2); theta (N, 3, 4) with size (N, C, D, H, W)
/// → (N, D, H, W, 3). Base coordinates span [−1, 1] at pixel centers (or corners with align_corners).
final class AffineGridKernel: OpKernel {
  let label: String
  let alignCorners: Bool
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    alignCorners = try ctx.int("align_corners", 0) != 0
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let theta = try required(inputs, 0, label)
    let size = try values.ints(1, label)
    let r = size.count - 2
    guard r == 2 || r == 3, theta.shape == [size[0], r, r + 1], size.allSatisfy({ $0 >= 0 }) else {
      throw SecateurError.invalidModel("\(label): theta \(theta.shape) and size \(size) must be (N, 2, 3)/(N,C,H,W) or (N, 3, 4)/(N,C,D,H,W)")
    }
    try theta.require([.float, .double, .float16, .bfloat16], label)
    return [TensorSpec(theta.dataType, [size[0]] + Array(size[2...]) + [r])]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let tv = inputs[0] else { return }
    let theta = try readAsDouble(tv.dataType, tv.data, count: tv.count, label)
    let out = outputs[0]
    let r = out.shape.count - 2
    let dims = Array(out.shape[1...r])  // (H, W) or (D, H, W)
    func coord(_ i: Int, _ n: Int) -> Double {
      if alignCorners { return n == 1 ? -1 : -1 + 2 * Double(i) / Double(n - 1) }
      let step = 2 / Double(n)
      return -1 + step / 2 + Double(i) * step
    }
    let points = dims.reduce(1, *)
    var y = [Double](repeating: 0, count: out.count)
    let st = stridesOf(dims)
    for n in 0..<out.shape[0] {
      for p in 0..<points {
        // Homogeneous (x, y[, z], 1): x runs along the last spatial axis.
        var h = [Double](repeating: 1, count: r + 1)
        for k in 0..<r { let axis = r - 1 - k; h[k] = coord((p / st[axis]) % dims[axis], dims[axis]) }
        for row in 0..<r {
          var acc = 0.0
          for c in 0...r { acc += theta[(n * r + row) * (r + 1) + c] * h[c] }
          y[(n * points + p) * r + row] = acc
        }
      }
    }
    try writeFromDouble(y, out.dataType, out.data, saturate: true, rounding: .up, label)
  }
}

/// input (N, C·∏block, L) → (N, C, image…): each column of L adds its block at its sliding position.
final class Col2ImKernel: OpKernel {
  let label: String
  let dilations: [Int]?, pads: [Int]?, strides: [Int]?
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    dilations = try ctx.ints("dilations")
    pads = try ctx.ints("pads")
    strides = try ctx.ints("strides")
  }
  private func geometry(_ x: TensorSpec, _ image: [Int], _ block: [Int]) throws -> (c: Int, counts: [Int], d: [Int], p: [Int], s: [Int]) {
    let r = image.count
    let d = dilations ?? Array(repeating: 1, count: r), s = strides ?? Array(repeating: 1, count: r)
    let p = pads ?? Array(repeating: 0, count: 2 * r)
    let blockSize = block.reduce(1, *)
    guard block.count == r, d.count == r, s.count == r, p.count == 2 * r, x.rank == 3, blockSize > 0,
          x.shape[1] % blockSize == 0, s.allSatisfy({ $0 > 0 }), d.allSatisfy({ $0 > 0 }) else {
      throw SecateurError.invalidModel("\(label): input \(x.shape), image_shape \(image), block_shape \(block) are inconsistent")
    }
    var counts: [Int] = []
    for i in 0..<r {
      let eff = d[i] * (block[i] - 1) + 1
      counts.append((image[i] + p[i] + p[i + r] - eff) / s[i] + 1)
    }
    guard counts.reduce(1, *) == x.shape[2] else {
      throw SecateurError.invalidModel("\(label): \(x.shape[2]) blocks do not tile image \(image) with block \(block)")
    }
    return (x.shape[1] / blockSize, counts, d, p, s)
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    let image = try values.ints(1, label), block = try values.ints(2, label)
    let g = try geometry(x, image, block)
    return [TensorSpec(x.dataType, [x.shape[0], g.c] + image)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0], let iv = inputs[1], let bv = inputs[2] else { return }
    let image = try readAsDouble(iv.dataType, iv.data, count: iv.count, label).map { Int($0) }
    let block = try readAsDouble(bv.dataType, bv.data, count: bv.count, label).map { Int($0) }
    let g = try geometry(xv.spec, image, block)
    let x = try readAsDouble(xv.dataType, xv.data, count: xv.count, label)
    let r = image.count, N = xv.shape[0], L = xv.shape[2]
    let blockSize = block.reduce(1, *), imageSize = image.reduce(1, *)
    let bSt = stridesOf(block), cSt = stridesOf(g.counts), iSt = stridesOf(image)
    var y = [Double](repeating: 0, count: outputs[0].count)
    for n in 0..<N {
      for c in 0..<g.c {
        for k in 0..<blockSize {
          for l in 0..<L {
            var off = 0, inside = true
            for i in 0..<r {
              let bi = (k / bSt[i]) % block[i], li = (l / cSt[i]) % g.counts[i]
              let pos = li * g.s[i] + bi * g.d[i] - g.p[i]
              if pos < 0 || pos >= image[i] { inside = false; break }
              off += pos * iSt[i]
            }
            if inside { y[(n * g.c + c) * imageSize + off] += x[((n * g.c + c) * blockSize + k) * L + l] }
          }
        }
      }
    }
    try writeFromDouble(y, xv.dataType, outputs[0].data, saturate: true, rounding: .up, label)
  }
}

/// Determinant of the trailing (M, M) matrices, by partial-pivot LU in Double.
final class DetKernel: OpKernel {
  let label: String
  init(_ ctx: NodeContext) throws { label = ctx.label }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require([.float, .double, .float16, .bfloat16], label)
    guard x.rank >= 2, x.shape[x.rank - 1] == x.shape[x.rank - 2] else {
      throw SecateurError.invalidModel("\(label): input \(x.shape) must end in a square matrix")
    }
    return [TensorSpec(x.dataType, Array(x.shape.dropLast(2)))]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let xv = inputs[0] else { return }
    let m = xv.shape.last ?? 0
    let x = try readAsDouble(xv.dataType, xv.data, count: xv.count, label)
    var y = [Double](repeating: 0, count: outputs[0].count)
    for b in 0..<y.count {
      var a = Array(x[(b * m * m)..<((b + 1) * m * m)])
      var det = 1.0
      for col in 0..<m {
        var piv = col
        for r in col..<m where abs(a[r * m + col]) > abs(a[piv * m + col]) { piv = r }
        if a[piv * m + col] == 0 { det = 0; break }
        if piv != col { for c in 0..<m { a.swapAt(piv * m + c, col * m + c) }; det = -det }
        det *= a[col * m + col]
        for r in (col + 1)..<m {
          let f = a[r * m + col] / a[col * m + col]
          for c in col..<m { a[r * m + c] -= f * a[col * m + c] }
        }
      }
      y[b] = det
    }
    try writeFromDouble(y, xv.dataType, outputs[0].data, saturate: true, rounding: .up, label)
  }
}
