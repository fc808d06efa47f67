import CKernels
import ModelFormat

/// The Winograd F(2×2, 3×3) path of `Conv` (CKernels/winograd_body.h): 3×3, stride 1, dilation 1,
/// one group, float32, constant weights transformed and prepacked once at session creation.
///
/// 2.25× fewer multiplies than the direct GEMM; measured on this machine's Zen 4 core (best of 10,
/// one thread) it ran ResNet's 3×3 layers at 135–160 effective GFLOP/s for 56×56 … 14×14 planes
/// against 83–92 for im2col + GEMM, and level at 7×7. Any channel count: the GEMMs mask like the rest.
///
/// A run goes band by band (tile rows sized to ~96 tiles so a band's transformed input and products stay
/// in L2): input transform, the 16 GEMMs (one per transform point), then the output transform with the
/// fused epilogue (bias, folded scale, residual, clamp). With several threads each takes its own share of
/// the tile rows through all three phases, in its own slice of the workspace (`winogradLanes`).
extension ConvKernel {
  /// Input / output channel counts from which the transforms pay for themselves.
  static let winogradMinChannels = 8

  /// The weights for this path, when W is a constant fit for it; nil otherwise.
  static func winogradWeights(_ w: Tensor, group: Int, window: WindowAttributes) -> [Float]? {
    guard w.dataType == .float, group == 1, w.shape.count == 4, w.shape[2] == 3, w.shape[3] == 3,
          (window.strides ?? [1, 1]).allSatisfy({ $0 == 1 }), (window.dilations ?? [1, 1]).allSatisfy({ $0 == 1 }),
          w.shape[0] >= winogradMinChannels, w.shape[1] >= winogradMinChannels else { return nil }
    let m = w.shape[0], c = w.shape[1]
    let count = sct_wino23_weights_count(m, c)
    // The transform writes every float of its scratch (16 · m · c) before packing it: no zeroing.
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 16 * m * c)
    defer { scratch.deallocate() }
    // Both blocks are written before they are read, and the scratch (16 MB for a 512 × 512 layer) is
    // fresh memory each time: prefaulting saves most of their page faults (ModelFormat's Buffer).
    Buffer.prefault(UnsafeMutableRawPointer(scratch), 16 * m * c * 4)
    return w.withElements(as: Float.self) { src in
      [Float](unsafeUninitializedCapacity: count) { buf, n in
        Buffer.prefault(UnsafeMutableRawPointer(buf.baseAddress!), count * 4)
        sct_wino23_weights_f32(src.baseAddress!, m, c, scratch, buf.baseAddress!)
        n = count
      }
    }
  }

  /// Band layout for a shape this path takes, or nil (then the GEMM path runs).
  struct WinogradPlan {
    var geometry: sct_wino_geometry
    var tilesWide: Int, tileRows: Int, bandRows: Int
    /// Floats of workspace: one band's transformed input (16·C·tiles) and products (16·M·tiles), plus the
    /// output transform's over-read slack.
    func workspaceFloats(_ s: ConvShape) -> Int { 16 * (s.c + s.m) * bandRows * tilesWide + 64 }
  }

  func winogradPlan(_ s: ConvShape) -> WinogradPlan? {
    guard winogradWeight != nil, s.group == 1, s.geo.kernel == [1, 3, 3], s.geo.inSize[0] == 1,
          s.geo.strides == [1, 1, 1], s.geo.dilations == [1, 1, 1] else { return nil }
    var g = sct_wino_geometry(ih: s.geo.inSize[1], iw: s.geo.inSize[2], oh: s.geo.outSize[1], ow: s.geo.outSize[2],
                              ph: s.geo.padsBegin[1], pw: s.geo.padsBegin[2])
    guard sct_wino23_supported(&g) != 0 else { return nil }
    let tw = (g.ow + 1) / 2, th = (g.oh + 1) / 2
    return WinogradPlan(geometry: g, tilesWide: tw, tileRows: th, bandRows: max(1, min(th, (96 + tw - 1) / tw)))
  }

  /// Threads that each take their own tile rows through all three phases, in bands in their own slice
  /// of the workspace; 1 when the phases are split among the pool's threads instead (`runWinogradShared`).
  ///
  /// Why: split by phase (the input transform by channels, the GEMMs by transform point, the output
  /// transform by channel blocks), each phase reads what the other threads wrote in the one before, twice
  /// per band, and where this VM's two vCPUs sit on two AMD CCDs those hand-overs cross the fabric:
  /// ResNet-18's 56 × 56 Winograd layers took 2.1× as long at 2 threads there (1.14 → 2.36 ms) as when
  /// the vCPUs shared an L3. Only where the transformed input and products outweigh the transformed
  /// weights (16 · m · c floats), which every lane reads whole: on 14 × 14 and 7 × 7 planes with hundreds
  /// of channels, lanes streamed the weights once per thread (ResNet-18 +10 % at 2 threads on one CCD).
  static func winogradLanes(_ plan: WinogradPlan, c: Int, m: Int, threads: Int) -> Int {
    let tiles = plan.tileRows * plan.tilesWide
    guard threads > 1, plan.tileRows >= threads, tiles * (c + m) >= 2 * m * c else { return 1 }
    return threads
  }

  func runWinograd(_ s: ConvShape, _ plan: WinogradPlan, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                   _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ context: RunContext) throws {
    guard let ww = winogradWeight, let ws = context.workspace?.assumingMemoryBound(to: Float.self) else {
      throw SecateurError.runtime("\(label): missing Winograd weights or workspace")
    }
    let pool = context.pool, ep = epilogue
    let c = s.c, m = s.m, plane = s.outCount, tw = plan.tilesWide
    let (lo, hi) = ep.clampBounds ?? (-.infinity, .infinity)
    let unfusedActivation = ep.clampBounds == nil
    let packed = sct_gemm_packed_count(m, c)
    let lanes = Self.winogradLanes(plan, c: c, m: m, threads: pool.threadCount), laneFloats = plan.workspaceFloats(s)
    let geo = plan.geometry
    try ww.withUnsafeBufferPointer { wbuf in
      try (ep.scale ?? []).withUnsafeBufferPointer { scaleBuf in
        guard ep.scale == nil || scaleBuf.count >= m else { throw SecateurError.runtime("\(label): folded scale has \(scaleBuf.count) values for \(m) channels") }
        let scale = ep.scale == nil ? nil : scaleBuf.baseAddress
        let u = wbuf.baseAddress!
        if lanes == 1 {
          runWinogradShared(s, plan, x, u: u, scale: scale, bias: bias, residual: residual, y: y, ws: ws, pool: pool)
          return
        }
        for n in 0..<s.n {
          let xn = x + n * c * s.inCount, yn = y + n * m * plane
          let rn = residual.map { $0 + n * m * plane }
          pool.parallelFor(lanes, bands: true) { lane in
            // This lane's scratch: a band's transformed input (16 · c · tiles), then its products.
            let v = ws + lane * laneFloats, mt = v + 16 * c * plan.bandRows * tw
            var none = sct_gemm_epilogue(scale: nil, bias: nil, residual: nil, ldr: 0, lo: -.infinity, hi: .infinity)
            var e = sct_gemm_epilogue(scale: scale, bias: bias, residual: rn, ldr: plane, lo: lo, hi: hi)
            var g = geo
            var ty0 = plan.tileRows * lane / lanes
            let end = plan.tileRows * (lane + 1) / lanes
            while ty0 < end {
              let ty1 = min(end, ty0 + plan.bandRows), tiles = (ty1 - ty0) * tw
              sct_wino23_input_f32(xn, &g, 0, c, ty0, ty1, v, c * tiles, tiles)
              for xi in 0..<16 {
                sct_gemm_f32(0, m, tiles, c, u + xi * packed, v + xi * c * tiles, tiles, mt + xi * m * tiles, tiles, &none)
              }
              sct_wino23_output_f32(mt, m * tiles, tiles, &g, 0, m, ty0, ty1, yn, &e)
              if unfusedActivation {
                let r0 = 2 * ty0, r1 = min(g.oh, 2 * ty1)
                for ch in 0..<m { ep.activation.apply(yn + ch * plane + r0 * g.ow, count: (r1 - r0) * g.ow) }
              }
              ty0 = ty1
            }
          }
        }
      }
    }
  }

  /// One band at a time, each phase split among the pool's threads: the input transform by channels, the
  /// 16 GEMMs one per transform point, the output transform by blocks of output channels.
  private func runWinogradShared(_ s: ConvShape, _ plan: WinogradPlan, _ x: UnsafePointer<Float>, u: UnsafePointer<Float>,
                                 scale: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
                                 residual: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
                                 ws: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    let ep = epilogue, c = s.c, m = s.m, plane = s.outCount, tw = plan.tilesWide
    let (lo, hi) = ep.clampBounds ?? (-.infinity, .infinity)
    let unfusedActivation = ep.clampBounds == nil
    let packed = sct_gemm_packed_count(m, c)
    let threads = pool.threadCount
    let cChunks = threads == 1 ? 1 : min(c, threads * 2)
    let mBlocks = threads == 1 ? 1 : min(m, threads * 2)  // output-transform blocks: any channel boundary
    let band = plan.bandRows * tw
    let v = ws, mt = ws + 16 * c * band
    let geo = plan.geometry
    for n in 0..<s.n {
      let xn = x + n * c * s.inCount, yn = y + n * m * plane
      let rn = residual.map { $0 + n * m * plane }
      var ty0 = 0
      while ty0 < plan.tileRows {
        let ty1 = min(plan.tileRows, ty0 + plan.bandRows), tiles = (ty1 - ty0) * tw
        pool.parallelFor(cChunks) { chunk in
          var g = geo
          sct_wino23_input_f32(xn, &g, c * chunk / cChunks, c * (chunk + 1) / cChunks, ty0, ty1, v, c * tiles, tiles)
        }
        // One task per transform point ξ, each GEMM over every output channel. Split by blocks of
        // output channels instead, every block packed the same transformed input again (a 16-row block
        // reuses a packed panel twice, against eight times for all 64 rows): ResNet-18 ran 1.2–1.4×
        // faster on 2 threads than on 1 in its Winograd layers, and 11 % slower overall than with this
        // split (alternating runs in one process).
        pool.parallelFor(16) { xi in
          var none = sct_gemm_epilogue(scale: nil, bias: nil, residual: nil, ldr: 0, lo: -.infinity, hi: .infinity)
          sct_gemm_f32(0, m, tiles, c, u + xi * packed, v + xi * c * tiles, tiles, mt + xi * m * tiles, tiles, &none)
        }
        pool.parallelFor(mBlocks) { block in
          let m0 = m * block / mBlocks, m1 = m * (block + 1) / mBlocks
          if m1 <= m0 { return }
          var e = sct_gemm_epilogue(scale: scale, bias: bias, residual: rn, ldr: plane, lo: lo, hi: hi)
          var g = geo
          sct_wino23_output_f32(mt, m * tiles, tiles, &g, m0, m1, ty0, ty1, yn, &e)
          if unfusedActivation {
            let r0 = 2 * ty0, r1 = min(g.oh, 2 * ty1)
            for ch in m0..<m1 { ep.activation.apply(yn + ch * plane + r0 * g.ow, count: (r1 - r0) * g.ow) }
          }
        }
        ty0 = ty1
      }
    }
  }
}
