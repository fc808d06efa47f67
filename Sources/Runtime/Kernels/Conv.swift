import CKernels
import COpenBLAS
import ModelFormat

enum ConvKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("Conv", since: 1) { try ConvKernel($0) },
    // 11: auto_pad semantics clarified, kernel_shape inferred from W; same kernel.
    OpRegistration("Conv", since: 11) { try ConvKernel($0) },
    OpRegistration("ConvTranspose", since: 1) { try ConvTransposeKernel($0) },
    // 11: output_shape/pads interplay clarified; same kernel.
    OpRegistration("ConvTranspose", since: 11) { try ConvTransposeKernel($0) },
  ]
}

/// Makes OpenBLAS single-threaded once per process: Secateur splits work over its own pool and each
/// worker calls a single-threaded sgemm on its slice (two pools would oversubscribe the cores).
let openBLASSingleThreaded: Void = { openblas_set_num_threads(1) }()

/// The shapes of one Conv call, resolved from the input and weight shapes.
struct ConvShape {
  var n: Int, c: Int, m: Int, group: Int
  /// Input / output channels per group.
  var cg: Int, mg: Int
  /// Geometry normalised to three spatial dims.
  var geo: WindowGeometry
  /// Output spatial dims in ONNX rank.
  var outSpatial: [Int]
  /// Rows of one group's im2col matrix (cg · kernel volume).
  var k: Int { cg * geo.kernelCount }
  var outCount: Int { geo.outCount }
  var inCount: Int { geo.inCount }
  var isPointwise: Bool {
    geo.kernel.allSatisfy { $0 == 1 } && geo.strides.allSatisfy { $0 == 1 }
      && geo.padsBegin.allSatisfy { $0 == 0 } && geo.padsEnd.allSatisfy { $0 == 0 }
  }
  /// A planar 1 × 1 conv with strides but no pads, in one group: its input subsampled is a pointwise
  /// conv's (ResNet's stride-2 downsample layers).
  var isSubsampledPointwise: Bool {
    isPlanar && group == 1 && !isPointwise && geo.kernel.allSatisfy { $0 == 1 }
      && geo.padsBegin.allSatisfy { $0 == 0 } && geo.padsEnd.allSatisfy { $0 == 0 }
  }
  var isDepthwise: Bool { group > 1 && cg == 1 && mg == 1 }
  /// 1-D or 2-D (no depth): the packed path runs it as GEMM over the implicit im2col matrix.
  var isPlanar: Bool { geo.inSize[0] == 1 && geo.kernel[0] == 1 && geo.outSize[0] == 1 }
}

/// ONNX `Conv`, opsets 1 and 11: N·C·spatial input (1-D, 2-D, 3-D), M·(C/group)·kernel weights,
/// optional bias; bias, folded scale, activation and residual applied in `ConvEpilogue`.
///
/// Float32 paths: pointwise (1×1, stride 1, no pads) is one sgemm straight on the input; depthwise is a
/// direct loop; everything else is im2col into the workspace plus sgemm, each split over (group,
/// column tile, output-channel block) tasks on the thread pool. Double and float16 use a reference loop.
final class ConvKernel: OpKernel, @unchecked Sendable {
  let label: String
  let window: WindowAttributes
  /// `group`, default 1.
  let group: Int
  /// Set by the optimizer's fusions; the ONNX op uses bias only.
  let epilogue: ConvEpilogue
  /// Float copy of a constant W (same M·K layout sgemm reads as its A operand), or nil. Nil too when
  /// `gemmWeight` holds W: the non-depthwise float path then reads only the packed panels.
  let packedWeight: [Float]?
  /// A constant W prepacked once for `sct_gemm_f32` (CKernels): per group, ⌈mg/MR⌉ panels of K × MR
  /// where K = (C/group) · kernel volume; `gemmGroupStride` floats per group. Nil for depthwise or a
  /// non-constant W.
  let gemmWeight: [Float]?
  let gemmGroupStride: Int
  /// A constant 3×3 W transformed for the Winograd path (Conv+Winograd.swift), or nil.
  let winogradWeight: [Float]?
  let packedBias: [Float]?
  /// W's type and shape when `gemmWeight` or `packedWeight` holds all of it: `run` then never reads W's
  /// data, so the program drops the constant (`releasableInputs`) and the shape comes from here.
  let constantWeightSpec: TensorSpec?
  var releasableInputs: [Int] { constantWeightSpec == nil ? [] : [1] }
  /// The shape `run` resolved last and the X, W and B shapes it came from. A session runs the same shapes
  /// again and again, and resolving builds two dozen small arrays (window geometry, padded to 3-D) per
  /// call. With this and `runPlanned`'s reused view arrays, the samples outside the C kernels of the 50 %
  /// MobileNetV2 at 1 thread went from ~6.5 % to ~3.5 % (`perf`).
  private let lastShape = Locked<(x: [Int], w: [Int], b: [Int]?, shape: ConvShape)?>(nil)

  init(_ ctx: NodeContext, epilogue: ConvEpilogue = ConvEpilogue()) throws {
    _ = openBLASSingleThreaded
    label = ctx.label
    let window = try WindowAttributes(ctx)
    self.window = window
    let group = try ctx.int("group", 1)
    self.group = group
    guard group >= 1 else { throw ctx.error("group \(group) must be ≥ 1") }
    self.epilogue = epilogue
    // Weights are prepacked only for a session's own program (see NodeContext.prepack).
    let wConst = ctx.prepack ? ctx.constant(1) : nil
    winogradWeight = wConst.flatMap { ConvKernel.winogradWeights($0, group: group, window: window) }
    if winogradWeight != nil {
      // The Winograd path serves every shape this W can take (2-D, stride 1); a plane too wide for it
      // falls back to sgemm on W itself, so no GEMM packing is kept.
      packedWeight = nil
      gemmWeight = nil; gemmGroupStride = 0
    } else if let w = wConst, w.dataType == .float, w.shape.count >= 3, w.shape[0] >= group, w.shape[0] % group == 0,
       !(w.shape[1] == 1 && w.shape[0] == group && group > 1),
       let k = shapeElementCount(Array(w.shape[1...])), k >= 1 {
      // At least one row per group and a non-empty row (fuzz finding: W [0, …] with group 2^40 passed
      // `0 % group == 0` and packed zero rows 2^40 times); the row length is overflow-checked.
      let groups = group, mg = w.shape[0] / groups
      let stride = sct_gemm_packed_count(mg, k)
      gemmGroupStride = stride
      gemmWeight = w.withElements(as: Float.self) { src in
        [Float](unsafeUninitializedCapacity: stride * groups) { buf, n in
          Buffer.prefault(UnsafeMutableRawPointer(buf.baseAddress!), stride * groups * 4)
          for g in 0..<groups { sct_gemm_pack_f32(mg, k, src.baseAddress! + g * mg * k, buf.baseAddress! + g * stride) }
          n = stride * groups
        }
      }
      packedWeight = nil
    } else if let w = wConst, w.dataType == .float {
      packedWeight = w.withElements(as: Float.self) { Array($0) }
      gemmWeight = nil; gemmGroupStride = 0
    } else {
      packedWeight = nil
      gemmWeight = nil; gemmGroupStride = 0
    }
    // Winograd keeps W: a plane too wide for it runs the sgemm path on W itself.
    constantWeightSpec = (gemmWeight != nil || packedWeight != nil) ? wConst.map { TensorSpec($0.dataType, $0.shape) } : nil
    if let b = ctx.constant(2), b.dataType == .float {
      packedBias = b.withElements(as: Float.self) { Array($0) }
    } else {
      packedBias = nil
    }
  }

  func resolve(_ x: [Int], _ w: [Int], _ b: [Int]?) throws -> ConvShape {
    guard x.count >= 3 else { throw SecateurError.invalidModel("\(label): input X has shape \(x): rank must be ≥ 3 (N, C, spatial…)") }
    guard x.count <= 5 else { throw SecateurError.unsupported("\(label): \(x.count - 2)-D convolution is not supported (at most 3-D)") }
    guard w.count == x.count else { throw SecateurError.invalidModel("\(label): weight W \(w) must have the rank of X \(x)") }
    let c = x[1], m = w[0]
    // Overflow-checked: group and W's dims come from the model (fuzz finding: w[1] * group trapped).
    let (expected, overflow) = w[1].multipliedReportingOverflow(by: group)
    guard !overflow, expected == c else {
      throw SecateurError.invalidModel("\(label): X has \(c) channels but W \(w) with group \(group) expects \(overflow ? "an overflowing count" : String(expected))")
    }
    guard m % group == 0, m >= 1 else {
      throw SecateurError.invalidModel("\(label): output channels \(m) must be a positive multiple of group \(group)")
    }
    if let b, b != [m] { throw SecateurError.invalidModel("\(label): bias B \(b) must have shape [\(m)]") }
    let g = try WindowGeometry.resolve(window, inSize: Array(x[2...]), kernel: Array(w[2...]), label)
    let shape = ConvShape(n: x[0], c: c, m: m, group: group, cg: c / group, mg: m / group, geo: g.padded3, outSpatial: g.outSize)
    // BLAS takes 32-bit sizes.
    guard shape.k < Int32.max, shape.outCount < Int32.max, shape.inCount < Int32.max, m < Int32.max else {
      throw SecateurError.unsupported("\(label): X \(x) with W \(w) is too large for a 32-bit BLAS call")
    }
    return shape
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), w = try weightSpec(inputs)
    let b = inputs.count > 2 ? inputs[2] : nil
    try x.require([.float, .double, .float16], label, "X")
    guard w.dataType == x.dataType, b.map({ $0.dataType == x.dataType }) ?? true else {
      throw SecateurError.invalidModel("\(label): X, W and B must share one element type, got \(x.dataType), \(w.dataType), \(b?.dataType.description ?? "-")")
    }
    let s = try resolve(x.shape, w.shape, b?.shape)
    if let r = epilogue.residualInput {
      let want = [s.n, s.m] + s.outSpatial
      guard r < inputs.count, let rs = inputs[r], rs.shape == want, rs.dataType == .float, x.dataType == .float else {
        throw SecateurError.invalidModel("\(label): fused residual input must be float \(want)")
      }
    }
    return [TensorSpec(x.dataType, [s.n, s.m] + s.outSpatial)]
  }

  func workspaceBytes(_ inputs: [TensorSpec?], _ outputs: [TensorSpec]) -> Int {
    workspaceBytes(inputs, outputs, threads: 1)
  }

  func workspaceBytes(_ inputs: [TensorSpec?], _ outputs: [TensorSpec], threads: Int) -> Int {
    guard let x = inputs.first ?? nil, x.dataType == .float, let w = try? weightSpec(inputs),
          let s = try? resolve(x.shape, w.shape, nil), !s.isPointwise, !s.isDepthwise else { return 0 }
    // Winograd: a band's scratch per lane (see winogradLanes).
    if let plan = winogradPlan(s) {
      return plan.workspaceFloats(s) &* 4 &* Self.winogradLanes(plan, c: s.c, m: s.m, threads: threads)
    }
    // The subsampled input of a strided 1 × 1 conv (one batch item), read as a pointwise conv's.
    if gemmWeight != nil && s.isSubsampledPointwise { return s.c &* s.outCount &* 4 }
    // Other packed planar convs gather im2col values straight into the GEMM's panels (sct_conv_gemm_f32).
    if gemmWeight != nil && s.isPlanar { return 0 }
    // One batch item's im2col matrix for every group: (C · kernel volume) × output positions.
    return s.c &* s.geo.kernelCount &* s.outCount &* 4
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard inputs.count >= 2, let x = inputs[0], let y = outputs.first else { return }
    let w = inputs[1], b = inputs.count > 2 ? inputs[2] : nil
    let s = try resolvedShape(x.shape, try (w?.spec ?? weightSpec([])).shape, b?.shape)
    switch x.dataType {
    case .float:
      let wp = packedWeight
      let bp = packedBias
      let residual = epilogue.residualInput.flatMap { $0 < inputs.count ? inputs[$0]?.pointer(Float.self) : nil }
      if let plan = winogradPlan(s) {
        try withFloatPointer(bp, b) { bPtr in
          try runWinograd(s, plan, x.pointer(Float.self), bPtr, residual, y.pointer(Float.self), context)
        }
        return
      }
      if let gw = gemmWeight, !s.isDepthwise {
        try gw.withUnsafeBufferPointer { gwp in
          try withFloatPointer(bp, b) { bPtr in
            try runPackedGemm(s, x.pointer(Float.self), gwp.baseAddress!, bPtr, residual, y.pointer(Float.self), context)
          }
        }
        return
      }
      guard wp != nil || w != nil else { throw SecateurError.runtime("\(label): weight W is missing") }
      try withFloatPointer(wp, w) { wPtr in
        try withFloatPointer(bp, b) { bPtr in
          try runFloat(s, x.pointer(Float.self), wPtr, bPtr, residual, y.pointer(Float.self), context)
        }
      }
    case .double, .float16:
      // Only a float W is ever packed (and then dropped), and X must share W's type: W is here.
      guard let w else { throw SecateurError.runtime("\(label): weight W is missing") }
      if x.dataType == .double { convReference(s, x, w, b, y, Double.self, context) }
      else { convReference(s, x, w, b, y, Float16.self, context) }
    default: throw SecateurError.unsupported("\(label): element type \(x.dataType) is not supported")
    }
  }

  /// `resolve`, through `lastShape`.
  private func resolvedShape(_ x: [Int], _ w: [Int], _ b: [Int]?) throws -> ConvShape {
    if let hit = lastShape.withLock({ last in last.flatMap { $0.x == x && $0.w == w && $0.b == b ? $0.shape : nil } }) {
      return hit
    }
    let s = try resolve(x, w, b)
    lastShape.withLock { $0 = (x, w, b, s) }
    return s
  }

  /// W's spec: the input's, or the one kept when the program dropped the constant W.
  private func weightSpec(_ inputs: [TensorSpec?]) throws -> TensorSpec {
    if inputs.count > 1, let w = inputs[1] { return w }
    if let w = constantWeightSpec { return w }
    return try required(inputs, 1, label)
  }

  /// Calls `body` with the packed array's storage when present, else the input's.
  private func withFloatPointer(_ packed: [Float]?, _ view: TensorView?,
                                _ body: (UnsafePointer<Float>?) throws -> Void) throws {
    if let packed { try packed.withUnsafeBufferPointer { try body($0.baseAddress) } }
    else { try body(view.map { UnsafePointer($0.pointer(Float.self)) }) }
  }

  /// The reference loop for double and float16 (accumulates in Double; bias and epilogue applied after).
  private func convReference<T: KernelFloat>(_ s: ConvShape, _ x: TensorView, _ w: TensorView, _ b: TensorView?,
                                             _ y: TensorView, _: T.Type, _ context: RunContext) {
    let xp = x.pointer(T.self), wp = w.pointer(T.self), bp = b?.pointer(T.self), yp = y.pointer(T.self)
    let g = s.geo, os = s.outCount, ep = epilogue
    context.pool.parallelRanges(s.n * s.m, grain: 1) { planes in
      for plane in planes {
        let n = plane / s.m, oc = plane % s.m, grp = oc / s.mg
        for o in 0..<os {
          let ow = o % g.outSize[2], oh = (o / g.outSize[2]) % g.outSize[1], od = o / (g.outSize[2] * g.outSize[1])
          var acc = 0.0
          for ci in 0..<s.cg {
            let xc = xp + (n * s.c + grp * s.cg + ci) * s.inCount
            let wc = wp + (oc * s.cg + ci) * g.kernelCount
            for kd in 0..<g.kernel[0] {
              let id = od * g.strides[0] - g.padsBegin[0] + kd * g.dilations[0]
              if id < 0 || id >= g.inSize[0] { continue }
              for kh in 0..<g.kernel[1] {
                let ih = oh * g.strides[1] - g.padsBegin[1] + kh * g.dilations[1]
                if ih < 0 || ih >= g.inSize[1] { continue }
                for kw in 0..<g.kernel[2] {
                  let iw = ow * g.strides[2] - g.padsBegin[2] + kw * g.dilations[2]
                  if iw < 0 || iw >= g.inSize[2] { continue }
                  acc += Double(xc[(id * g.inSize[1] + ih) * g.inSize[2] + iw])
                    * Double(wc[(kd * g.kernel[1] + kh) * g.kernel[2] + kw])
                }
              }
            }
          }
          if ep.isIdentity {
            yp[plane * os + o] = T(acc + (bp.map { Double($0[oc]) } ?? 0))
          } else {
            var v = Float(acc)
            ep.apply(&v, count: 1, channel: oc, bias: bp.map { Float($0[oc]) } ?? 0, residual: nil)
            yp[plane * os + o] = T(v)
          }
        }
      }
    }
  }
}
