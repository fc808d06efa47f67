import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// ONNX `Resize` and the deprecated `Upsample`: nearest, linear and cubic interpolation over any
/// axes, every coordinate transformation mode, and antialiased downsampling (18).
///
/// Implementation note: nearest is one gather through per-axis index maps (any element type);
/// linear and cubic are separable, so they run as one 1-D pass per resized axis in Float, each pass
/// reading [outer, in, inner] and writing [outer, out, inner] with a small per-axis tap table.
enum ResizeKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("Upsample", since: 7) { try ResizeKernel($0, upsample: true) },  // 7: scales attribute
    OpRegistration("Upsample", since: 9) { try ResizeKernel($0, upsample: true) },  // 9: scales moved to an input
    OpRegistration("Resize", since: 10) { try ResizeKernel($0, upsample: false) },  // 10: X, scales; asymmetric
    OpRegistration("Resize", since: 11) { try ResizeKernel($0, upsample: false) },  // 11: roi, sizes, coordinate modes, cubic
    OpRegistration("Resize", since: 13) { try ResizeKernel($0, upsample: false) },  // 13: roi and scales optional
    OpRegistration("Resize", since: 18) { try ResizeKernel($0, upsample: false) },  // 18: antialias, axes, keep_aspect_ratio_policy
    OpRegistration("Resize", since: 19) { try ResizeKernel($0, upsample: false) },  // 19: half_pixel_symmetric
  ]
}

final class ResizeKernel: OpKernel {
  enum Mode: String { case nearest, linear, cubic }
  enum Transform: String {
    case halfPixel = "half_pixel", halfPixelSymmetric = "half_pixel_symmetric", pytorchHalfPixel = "pytorch_half_pixel"
    case alignCorners = "align_corners", asymmetric, tfHalfPixelForNN = "tf_half_pixel_for_nn"
    case tfCropAndResize = "tf_crop_and_resize"
  }
  enum Rounding: String { case roundPreferFloor = "round_prefer_floor", roundPreferCeil = "round_prefer_ceil", floor, ceil, simple }
  enum AspectPolicy: String { case stretch, notLarger = "not_larger", notSmaller = "not_smaller" }

  let label: String
  let mode: Mode
  let transform: Transform
  let rounding: Rounding
  let cubicA: Double
  let excludeOutside: Bool
  let extrapolation: Double
  let antialias: Bool
  let axes: [Int]?
  let policy: AspectPolicy
  let attributeScales: [Float]?
  /// Input indices of roi, scales and sizes (-1 = none) for this op version.
  let roiInput: Int, scalesInput: Int, sizesInput: Int

  init(_ ctx: NodeContext, upsample: Bool) throws {
    label = ctx.label
    var m = try ctx.string("mode", "nearest")
    if m == "bilinear" || m == "trilinear" { m = "linear" }  // Upsample-7 spellings
    guard let mode = Mode(rawValue: m), !(upsample && mode == .cubic) else { throw ctx.error("mode '\(m)' is not supported") }
    self.mode = mode
    let legacy = upsample || ctx.opset < 11
    let t = legacy ? "asymmetric" : try ctx.string("coordinate_transformation_mode", "half_pixel")
    guard let tr = Transform(rawValue: t) else { throw ctx.error("coordinate_transformation_mode '\(t)' is not supported") }
    transform = tr
    // Before 11 nearest truncated when upsampling and took the ceiling when downsampling (as ONNX Runtime).
    let r = legacy ? "simple" : try ctx.string("nearest_mode", "round_prefer_floor")
    guard let rd = Rounding(rawValue: r) else { throw ctx.error("nearest_mode '\(r)' is not supported") }
    rounding = upsample ? .floor : rd
    cubicA = Double(try ctx.float("cubic_coeff_a", -0.75))
    excludeOutside = try ctx.int("exclude_outside", 0) != 0
    extrapolation = Double(try ctx.float("extrapolation_value", 0))
    antialias = try ctx.int("antialias", 0) != 0
    axes = ctx.opset >= 18 && !upsample ? try ctx.ints("axes") : nil
    let p = try ctx.string("keep_aspect_ratio_policy", "stretch")
    guard let pol = AspectPolicy(rawValue: p) else { throw ctx.error("keep_aspect_ratio_policy '\(p)' is not supported") }
    policy = pol
    if upsample && ctx.opset < 9 {
      guard let s = try ctx.floats("scales") else { throw ctx.error("attribute 'scales' is required") }
      attributeScales = s
      (roiInput, scalesInput, sizesInput) = (-1, -1, -1)
    } else {
      attributeScales = nil
      (roiInput, scalesInput, sizesInput) = legacy ? (-1, 1, -1) : (1, 2, 3)
    }
  }

  /// Everything the shape rule and the run need: output shape, per-axis scale and roi.
  struct Params {
    var outShape: [Int]
    var scales: [Double]
    var roiStart: [Double]
    var roiEnd: [Double]
  }

  func params(_ x: [Int], roi: [Double]?, scales: [Double]?, sizes: [Int]?) throws -> Params {
    let r = x.count
    let ax = try (axes ?? Array(0..<r)).map { try normalizeAxis($0, rank: r, label) }
    var p = Params(outShape: x, scales: Array(repeating: 1, count: r), roiStart: Array(repeating: 0, count: r),
                   roiEnd: Array(repeating: 1, count: r))
    if let roi, !roi.isEmpty, transform == .tfCropAndResize {
      guard roi.allSatisfy({ $0.isFinite && abs($0) < 1e9 }) else { throw SecateurError.invalidModel("\(label): roi \(roi) is not finite") }
      guard roi.count == 2 * ax.count else { throw SecateurError.invalidModel("\(label): roi has \(roi.count) values for \(ax.count) axes") }
      for (i, a) in ax.enumerated() { p.roiStart[a] = roi[i]; p.roiEnd[a] = roi[i + ax.count] }
    }
    if let sizes, !sizes.isEmpty {
      guard sizes.count == ax.count, sizes.allSatisfy({ $0 > 0 }) else {
        throw SecateurError.invalidModel("\(label): sizes \(sizes) must be \(ax.count) positive dims")
      }
      if policy == .stretch {
        for (i, a) in ax.enumerated() {
          p.outShape[a] = sizes[i]
          p.scales[a] = x[a] == 0 ? 1 : Double(sizes[i]) / Double(x[a])
        }
      } else {
        let ratios = ax.enumerated().map { Double(sizes[$0.offset]) / Double(max(x[$0.element], 1)) }
        let s = (policy == .notLarger ? ratios.min() : ratios.max()) ?? 1
        for a in ax {
          p.scales[a] = s
          let n = (s * Double(x[a]) + 0.5).rounded(.down)
          guard n < Double(1 << 40) else { throw SecateurError.invalidModel("\(label): output dim \(n) is too large") }
          p.outShape[a] = Int(n)
        }
      }
    } else if let scales, !scales.isEmpty {
      guard scales.count == ax.count, scales.allSatisfy({ $0 > 0 && $0.isFinite }) else {
        throw SecateurError.invalidModel("\(label): scales \(scales) must be \(ax.count) positive numbers")
      }
      for (i, a) in ax.enumerated() {
        p.scales[a] = scales[i]
        let n = (Double(x[a]) * scales[i]).rounded(.down)
        guard n < Double(1 << 40) else { throw SecateurError.invalidModel("\(label): output dim \(n) is too large") }
        p.outShape[a] = Int(n)
      }
    } else {
      throw SecateurError.invalidModel("\(label): one of scales and sizes is required")
    }
    for a in 0..<r where x[a] == 0 && p.outShape[a] > 0 {
      throw SecateurError.invalidModel("\(label): cannot resize an empty axis \(a) to \(p.outShape[a])")
    }
    return p
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    if mode != .nearest { _ = try withFloatType(x.dataType, label) { _ in 0 } }
    func present(_ i: Int) -> Bool { i >= 0 && i < inputs.count && inputs[i] != nil && inputs[i]!.elementCount > 0 }
    func doubles(_ i: Int) throws -> [Double]? {
      guard present(i) else { return nil }
      guard let t = values[i] else { throw KernelError.needsValue(input: i) }
      return t.doubleValues()
    }
    let sizes: [Int]? = present(sizesInput) ? try values.ints(sizesInput, label) : nil
    let scales = try attributeScales.map { $0.map(Double.init) } ?? doubles(scalesInput)
    let p = try params(x.shape, roi: transform == .tfCropAndResize ? try doubles(roiInput) : nil, scales: scales, sizes: sizes)
    return [TensorSpec(x.dataType, p.outShape)]
  }

  /// Axes in pass order (shrinking axes first, so later passes touch fewer elements).
  func passOrder(_ x: [Int], _ y: [Int]) -> [Int] {
    (0..<x.count).sorted { Double(y[$0]) / Double(max(x[$0], 1)) < Double(y[$1]) / Double(max(x[$1], 1)) }
  }

  func workspaceBytes(_ inputs: [TensorSpec?], _ outputs: [TensorSpec]) -> Int {
    guard mode != .nearest, let x = inputs.first ?? nil, let y = outputs.first else { return 0 }
    var shape = x.shape, largest = x.elementCount
    for a in passOrder(x.shape, y.shape) {
      shape[a] = y.shape[a]
      // Saturate: an overflowing intermediate must be refused by the memory check, never under-sized.
      largest = max(largest, shapeElementCount(shape) ?? .max)
    }
    let (bytes, overflow) = largest.multipliedReportingOverflow(by: 2 * MemoryLayout<Float>.stride)
    return overflow || bytes > .max - 128 ? .max : bytes + 128
  }

  /// Source coordinate of output index `o` along an axis.
  func sourceCoordinate(_ o: Int, inDim: Int, outDim: Int, scale: Double, roi: (Double, Double)) -> Double {
    let x = Double(o), inD = Double(inDim)
    let outF = scale * inD  // the reference uses the unrounded output length here
    switch transform {
    case .halfPixel: return (x + 0.5) / scale - 0.5
    case .halfPixelSymmetric:
      let adjustment = Double(outDim) / outF
      return inD / 2 * (1 - adjustment) + (x + 0.5) / scale - 0.5
    case .pytorchHalfPixel: return outDim > 1 ? (x + 0.5) / scale - 0.5 : 0
    case .alignCorners: return outF == 1 ? 0 : x * (inD - 1) / (outF - 1)
    case .asymmetric: return x / scale
    case .tfHalfPixelForNN: return (x + 0.5) / scale
    case .tfCropAndResize:
      let base = roi.0 * (inD - 1)
      return outF == 1 ? base + (roi.1 - roi.0) * (inD - 1) / 2 : base + x * (roi.1 - roi.0) * (inD - 1) / (outF - 1)
    }
  }

  func nearestIndex(_ c: Double, scale: Double, inDim: Int) -> Int {
    let f = c.rounded(.down)
    let i: Double
    switch rounding {
    case .roundPreferFloor: i = c - f == 0.5 ? f : c.rounded()
    case .roundPreferCeil: i = c - f == 0.5 ? f + 1 : c.rounded()
    case .floor: i = f
    case .ceil: i = c.rounded(.up)
    case .simple: i = scale < 1 ? c.rounded(.up) : c.rounded(.towardZero)
    }
    return i.isNaN ? 0 : Int(min(max(i, 0), Double(inDim - 1)))
  }

  func kernelWeight(_ t: Double) -> Double {
    let a = abs(t)
    if mode == .linear { return max(0, 1 - a) }
    let A = cubicA
    if a <= 1 { return ((A + 2) * a - (A + 3)) * a * a + 1 }
    if a < 2 { return ((A * a - 5 * A) * a + 8 * A) * a - 4 * A }
    return 0
  }

  /// Per-axis taps: `taps` source indices and weights per output index, plus out-of-roi flags.
  struct Taps { var taps: Int; var index: [Int]; var weight: [Float]; var outside: [Bool]; var identity: Bool }

  func axisTaps(inDim: Int, outDim: Int, scale: Double, roi: (Double, Double)) -> Taps {
    let aa = antialias && scale < 1
    let s = aa ? scale : 1
    let lo: Int = mode == .linear ? (aa ? Int((-1 / s).rounded(.down)) + 1 : 0) : (aa ? Int((-2 / s).rounded(.down)) + 1 : -1)
    let hi = 2 - lo
    let n = hi - lo
    var t = Taps(taps: n, index: Array(repeating: 0, count: n * outDim), weight: Array(repeating: 0, count: n * outDim),
                 outside: Array(repeating: false, count: outDim), identity: inDim == outDim)
    var w = [Double](repeating: 0, count: n)
    for o in 0..<outDim {
      let c = min(max(sourceCoordinate(o, inDim: inDim, outDim: outDim, scale: scale, roi: roi), -1e12), 1e12)
      if transform == .tfCropAndResize && (c < 0 || c > Double(inDim - 1)) { t.outside[o] = true }
      // The reference takes the left neighbour with ratio in (0, 1]: an exact integer uses ratio 1.
      let base = Int(c.rounded(.up)) - 1
      let ratio = c - Double(base)
      var sum = 0.0
      for k in 0..<n {
        let idx = base + lo + k
        var wk = kernelWeight(s * (Double(lo + k) - ratio))
        if excludeOutside && (idx < 0 || idx >= inDim) { wk = 0 }
        w[k] = wk
        sum += wk
      }
      let norm = (aa || excludeOutside) && sum != 0 ? 1 / sum : 1
      for k in 0..<n {
        t.index[o * n + k] = min(max(base + lo + k, 0), inDim - 1)
        t.weight[o * n + k] = Float(w[k] * norm)
        if t.weight[o * n + k] != (base + lo + k == o ? 1 : 0) { t.identity = false }
      }
      if t.outside[o] { t.identity = false }
    }
    return t
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let y = outputs[0]
    func doubles(_ i: Int) throws -> [Double]? {
      guard i >= 0, i < inputs.count, let v = inputs[i], v.count > 0 else { return nil }
      var d = [Double](repeating: 0, count: v.count)
      try d.withUnsafeMutableBytes {
        try convertElements(from: v.dataType, v.data, to: .double, $0.baseAddress!, count: v.count, pool: .serial, label)
      }
      return d
    }
    let sizes: [Int]? = sizesInput >= 0 && sizesInput < inputs.count ? inputs[sizesInput].map(readInts) : nil
    let scales = try attributeScales.map { $0.map(Double.init) } ?? doubles(scalesInput)
    let p = try params(x.shape, roi: try doubles(roiInput), scales: scales, sizes: sizes)
    guard p.outShape == y.shape else { throw SecateurError.runtime("\(label): output shape changed") }
    let r = x.shape.count
    if y.count == 0 { return }
    if mode == .nearest {
      var maps: [[Int]] = []
      for a in 0..<r {
        maps.append((0..<y.shape[a]).map { o in
          let c = sourceCoordinate(o, inDim: x.shape[a], outDim: y.shape[a], scale: p.scales[a], roi: (p.roiStart[a], p.roiEnd[a]))
          if transform == .tfCropAndResize && (c < 0 || c > Double(x.shape[a] - 1)) { return -1 }
          return nearestIndex(c, scale: p.scales[a], inDim: x.shape[a])
        })
      }
      let fill = try scalarBytes(extrapolation, x.dataType, label)
      try withElementSize(x.dataType, label) { t in gatherByAxisMaps(t, x, y, maps, fill, context.pool) }
      return
    }
    guard let ws = context.workspace else { throw SecateurError.runtime("\(label): no workspace") }
    let largest = (workspaceBytes([x.spec], [y.spec]) - 128) / 2 / MemoryLayout<Float>.stride
    let bufs = [ws.assumingMemoryBound(to: Float.self), (ws + largest * 4).assumingMemoryBound(to: Float.self)]
    var passes: [(axis: Int, taps: Taps)] = []
    var outside: [[Bool]] = Array(repeating: [], count: r)
    for a in passOrder(x.shape, y.shape) {
      let t = axisTaps(inDim: x.shape[a], outDim: y.shape[a], scale: p.scales[a], roi: (p.roiStart[a], p.roiEnd[a]))
      outside[a] = t.outside
      if !t.identity { passes.append((a, t)) }
    }
    let extrapolate = transform == .tfCropAndResize && outside.contains(where: { $0.contains(true) })
    // Float tensors are read and written in place of the first and last scratch buffers.
    var cur: UnsafeMutablePointer<Float>
    var next = 0
    if x.dataType == .float {
      cur = x.pointer(Float.self)
    } else {
      try convertElements(from: x.dataType, x.data, to: .float, bufs[0], count: x.count, pool: context.pool, label)
      cur = bufs[0]
      next = 1
    }
    var shape = x.shape
    for (i, pass) in passes.enumerated() {
      let a = pass.axis
      let direct = i == passes.count - 1 && y.dataType == .float && !extrapolate
      let dst = direct ? y.pointer(Float.self) : bufs[next]
      let outer = product(shape[0..<a]), inner = product(shape[(a + 1)...])
      resizePass(cur, dst, outer: outer, inDim: x.shape[a], outDim: y.shape[a], inner: inner, pass.taps, context.pool)
      shape[a] = y.shape[a]
      cur = dst
      next = 1 - next
    }
    if extrapolate {
      let e = Float(extrapolation)
      let st = stridesOf(y.shape)
      if cur == x.pointer(Float.self) {
        bufs[next].update(from: cur, count: y.count)
        cur = bufs[next]
      }
      for i in 0..<y.count {
        var rem = i
        for a in 0..<r {
          let c = rem / st[a]
          rem %= st[a]
          if outside[a][c] { cur[i] = e; break }
        }
      }
    }
    if cur != y.pointer(Float.self) {
      try convertElements(from: .float, cur, to: y.dataType, y.data, count: y.count, pool: context.pool, label)
    }
  }
}

/// One separable pass: dst[o, j, i] = Σ_k w[j,k] · src[o, idx[j,k], i].
private func resizePass(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, outer: Int, inDim: Int,
                        outDim: Int, inner: Int, _ t: ResizeKernel.Taps, _ pool: ThreadPool) {
  let n = t.taps
  t.index.withUnsafeBufferPointer { idx in
    t.weight.withUnsafeBufferPointer { w in
      pool.parallelRanges(outer * outDim, grain: max(1, 4096 / max(inner * n, 1))) { range in
        for row in range {
          let o = row / outDim, j = row % outDim
          let d = dst + row * inner
          let s = src + o * inDim * inner
          if inner == 1 {
            var acc: Float = 0
            for k in 0..<n { acc += w[j * n + k] * s[idx[j * n + k]] }
            d[0] = acc
            continue
          }
          d.update(repeating: 0, count: inner)
          for k in 0..<n {
            let wk = w[j * n + k]
            if wk == 0 { continue }
            let sk = s + idx[j * n + k] * inner
            for i in 0..<inner { d[i] += wk * sk[i] }
          }
        }
      }
    }
  }
}
