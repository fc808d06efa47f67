import CKernels
import COpenBLAS
import ModelFormat

/// The float32 Conv paths: pointwise sgemm, depthwise direct loop, im2col + sgemm.
extension ConvKernel {
  func runFloat(_ s: ConvShape, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ bias: UnsafePointer<Float>?,
                _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ context: RunContext) throws {
    guard let w else { return }
    if s.isDepthwise { return depthwise(s, x, w, bias, residual, y, context) }
    let pool = context.pool, ep = epilogue
    let os = s.outCount, k = s.k, mg = s.mg, groups = s.group
    let pointwise = s.isPointwise
    guard pointwise || context.workspace != nil else {
      throw SecateurError.runtime("\(label): missing workspace")
    }
    let col = context.workspace?.assumingMemoryBound(to: Float.self)
    // Task split: column tiles first (each owns its im2col slice), then output-channel blocks when the
    // spatial extent is too small to feed every thread (late, narrow layers).
    let threads = pool.threadCount
    let target = threads == 1 ? 1 : threads * 3
    let tiles = max(1, min((os + 63) / 64, (target + groups - 1) / groups))
    let mBlocks = max(1, min((mg + 15) / 16, (target + groups * tiles - 1) / (groups * tiles)))
    let geo = s.geo
    for n in 0..<s.n {
      let xn = x + n * s.c * s.inCount
      let yn = y + n * s.m * os
      if !pointwise, let col {
        pool.parallelFor(groups * tiles) { task in
          let g = task / tiles, t = task % tiles
          let lo = os * t / tiles, hi = os * (t + 1) / tiles
          im2col(geo, xn + g * s.cg * s.inCount, channels: s.cg, col + g * k * os + k * lo, lo, hi)
        }
      }
      pool.parallelFor(groups * tiles * mBlocks) { task in
        let mb = task % mBlocks, t = (task / mBlocks) % tiles, g = task / (mBlocks * tiles)
        let lo = os * t / tiles, hi = os * (t + 1) / tiles
        let m0 = mg * mb / mBlocks, m1 = mg * (mb + 1) / mBlocks
        let width = hi - lo
        if width <= 0 || m1 <= m0 { return }
        let b: UnsafePointer<Float>, ldb: Int
        if pointwise {
          b = xn + g * s.cg * s.inCount + lo; ldb = os
        } else {
          b = UnsafePointer(col! + g * k * os + k * lo); ldb = width
        }
        let c = yn + (g * mg + m0) * os + lo
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m1 - m0), Int32(width), Int32(k),
                    1, w + (g * mg + m0) * k, Int32(k), b, Int32(ldb), 0, c, Int32(os))
        if bias == nil && ep.isIdentity { return }
        for m in m0..<m1 {
          let oc = g * mg + m
          ep.apply(c + (m - m0) * os, count: width, channel: oc, bias: bias?[oc] ?? 0,
                   residual: residual.map { $0 + n * s.m * os + oc * os + lo })
        }
      }
    }
  }

  /// The prepacked-weight path: `sct_gemm_f32` (CKernels, runtime ISA dispatch) straight on the NCHW
  /// input for pointwise convs, on im2col columns otherwise, with bias, folded scale, residual and a
  /// clamp activation fused into the tile's stores. Tasks split (group, column tile, row block), row
  /// blocks aligned to the microkernel's MR so every block starts on a packed panel.
  func runPackedGemm(_ s: ConvShape, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                     _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ context: RunContext) throws {
    let pool = context.pool, ep = epilogue
    let os = s.outCount, k = s.k, mg = s.mg, groups = s.group
    // Where a task's GEMM reads its columns from: the input itself (1×1), the implicit im2col matrix
    // gathered by CKernels straight into its panels (1-D/2-D: no buffer written and read back — the
    // explicit im2col held ResNet-50's stem and stride-2 3×3 layers to half of onnxruntime's speed), or an
    // im2col slice in the workspace (3-D).
    // A stem (few input channels) skips the GEMM's gather altogether: sct_conv_direct_f32 reads each tap
    // from the input rows split once into column phases (a 3-channel stem spent half its time gathering).
    enum Columns { case input, implicit(sct_conv_geometry), direct(sct_conv_geometry), im2col(UnsafeMutablePointer<Float>) }
    let columns: Columns
    var subsampled: (into: UnsafeMutablePointer<Float>, geometry: sct_conv_geometry)?
    if s.isPointwise {
      columns = .input
    } else if s.isSubsampledPointwise, let ws = context.workspace?.assumingMemoryBound(to: Float.self) {
      // A strided 1 × 1 conv: its input subsampled into the workspace once per batch item, then read in
      // place as a pointwise conv's. Gathered into panels, it was gathered again for every block of output
      // channels and went through the staged GEMM (ResNet-50's stride-2 downsample layers alone: −8 %).
      let g = s.geo
      columns = .input
      subsampled = (ws, sct_conv_geometry(c: s.c, ih: g.inSize[1], iw: g.inSize[2], oh: g.outSize[1], ow: g.outSize[2],
                                          kh: 1, kw: 1, sh: g.strides[1], sw: g.strides[2], dh: 1, dw: 1, ph: 0, pw: 0))
    } else if s.isPlanar {
      let g = s.geo
      var cg = sct_conv_geometry(c: s.cg, ih: g.inSize[1], iw: g.inSize[2], oh: g.outSize[1], ow: g.outSize[2],
                                 kh: g.kernel[1], kw: g.kernel[2], sh: g.strides[1], sw: g.strides[2],
                                 dh: g.dilations[1], dw: g.dilations[2], ph: g.padsBegin[1], pw: g.padsBegin[2])
      columns = sct_conv_direct_supported(&cg) != 0 ? .direct(cg) : .implicit(cg)
    } else {
      guard let col = context.workspace?.assumingMemoryBound(to: Float.self) else {
        throw SecateurError.runtime("\(label): missing workspace")
      }
      columns = .im2col(col)
    }
    var explicitIm2col = false
    if case .im2col = columns { explicitIm2col = true }
    let mr = sct_gemm_mr(), panels = (mg + mr - 1) / mr
    let threads = pool.threadCount
    let target = threads == 1 ? 1 : threads * 3
    // Column tiles start on multiples of 48 (the widest microkernel panel, a multiple of every ISA's):
    // splitting 196 columns into five tiles of 39 left each task's GEMM with a 48-wide panel 80 % used.
    // For 1 × 1 convs the last tile takes the columns past the last whole unit: as a tile of its own, 49
    // columns made a 48-wide and a 1-wide tile whose tasks had almost nothing to do, and at 2 threads a
    // 7 × 7 layer's three real tasks went two to one thread (ResNet-50's and MobileNetV2's 7 × 7 1 × 1
    // layers: 7–13 % slower). Gathered columns keep the short tile: there more row blocks per tile
    // means more gathering of the same columns (ResNet-18's 14 → 7 3 × 3 conv lost 25 %).
    let columnUnit = 48
    // Gathered columns merge a last tile narrower than half a unit too (49 = 48 + 1, 196 = 4 · 48 + 4):
    // as a tile of its own it streamed every weight again, from memory on ResNet-50's 14 → 7 layers,
    // for one or four columns.
    let dense = s.isPointwise || subsampled != nil
    let columnUnits = dense || os % columnUnit < columnUnit / 2
      ? max(1, os / columnUnit) : (os + columnUnit - 1) / columnUnit
    // Explicit im2col columns are produced and consumed tile by tile, each tile's K × width slice sized to
    // stay in L2 (≤ 512 KiB): the whole-image buffer (7 MB on ResNet-50's 56×56 layers) went to memory and back.
    let l2Tiles = explicitIm2col ? min(columnUnits, max(1, (k * os * 4) / (512 << 10))) : 1
    var tiles = max(l2Tiles, min(columnUnits, (target + groups - 1) / groups))
    var mBlocks = explicitIm2col ? 1 : max(1, min(panels, (target + groups * tiles - 1) / (groups * tiles)))
    if case .implicit = columns, tiles == 1, groups == 1 {
      // One tile of gathered columns (a 7 × 7 output): one block of output channels per thread, so the
      // columns are gathered once per thread, not once per task.
      mBlocks = min(panels, threads)
    }
    if dense && groups == 1 && mg > os && panels >= target && target > 1 {
      // More weights than columns (14 × 14 and 7 × 7 layers): blocks of output channels only, each over
      // every column. Each thread then reads only its share of the weights, the larger operand here, and
      // with `bands` the same share every run, and writes whole channel planes that the depthwise layer
      // after it reads on the same thread. MobileNetV1 at 2 threads −3.5 %, MobileNetV2 −2 %.
      tiles = 1
      mBlocks = target
    }
    if case .direct(let cg) = columns {
      // Tasks take bands of output rows, each over every channel: a band splits its input rows once.
      tiles = max(1, min(cg.oh, (target + groups - 1) / groups))
      mBlocks = 1
    }
    let (lo, hi) = ep.clampBounds ?? (-.infinity, .infinity)
    let unfusedActivation = ep.clampBounds == nil
    let geo = s.geo, stride = gemmGroupStride
    try (ep.scale ?? []).withUnsafeBufferPointer { scaleBuf in
      let scale = ep.scale == nil ? nil : scaleBuf.baseAddress
      guard ep.scale == nil || scaleBuf.count >= s.m else { throw SecateurError.runtime("\(label): folded scale has \(scaleBuf.count) values for \(s.m) channels") }
      for n in 0..<s.n {
        var xn = x + n * s.c * s.inCount
        let yn = y + n * s.m * os
        if let (buffer, geometry) = subsampled {
          let source = xn, parts = min(s.c, threads)
          pool.parallelFor(parts) { part in
            var g = geometry
            sct_conv_subsample_f32(source, &g, s.c * part / parts, s.c * (part + 1) / parts, buffer)
          }
          xn = UnsafePointer(buffer)
        }
        // Tasks that are all column tiles / row bands, or all channel blocks, of one group: each thread
        // keeps its part of the layer from layer to layer (see `parallelFor(_:bands:_:)`).
        pool.parallelFor(groups * tiles * mBlocks, bands: groups == 1 && (mBlocks == 1 || tiles == 1)) { task in
          let mb = task % mBlocks, t = (task / mBlocks) % tiles, g = task / (mBlocks * tiles)
          var c0 = min(os, columnUnits * t / tiles * columnUnit)
          var c1 = t == tiles - 1 ? os : min(os, columnUnits * (t + 1) / tiles * columnUnit)
          if case .direct(let cg) = columns {  // bands of whole output rows
            c0 = cg.oh * t / tiles * cg.ow; c1 = cg.oh * (t + 1) / tiles * cg.ow
          }
          let m0 = min(mg, panels * mb / mBlocks * mr), m1 = min(mg, panels * (mb + 1) / mBlocks * mr)
          let width = c1 - c0
          if width <= 0 || m1 <= m0 { return }
          let xg = xn + g * s.cg * s.inCount, wg = w + g * stride, yg = yn + g * mg * os
          let rg = residual.map { $0 + n * s.m * os + g * mg * os }
          var e = sct_gemm_epilogue(scale: scale.map { $0 + g * mg }, bias: bias.map { $0 + g * mg },
                                    residual: rg.map { $0 + c0 }, ldr: os, lo: lo, hi: hi)
          switch columns {
          case .input:
            sct_gemm_f32(m0, m1, width, k, wg, xg + c0, os, yg + c0, os, &e)
          case .direct(var cg):  // y and the residual at the group's base, as for .implicit
            e.residual = rg
            sct_conv_direct_f32(m0, m1, c0 / cg.ow, c1 / cg.ow, wg, xg, &cg, yg, os, &e)
          case .implicit(var cg):  // a per-task copy: the C call takes a pointer, tasks run concurrently
            // Columns are absolute output positions here, so y and the residual are passed at the group's base.
            e.residual = rg
            sct_conv_gemm_f32(m0, m1, c0, c1, wg, xg, &cg, yg, os, &e)
          case .im2col(let col):
            let slice = col + g * k * os + k * c0
            im2col(geo, xg, channels: s.cg, slice, c0, c1)
            sct_gemm_f32(m0, m1, width, k, wg, slice, width, yg + c0, os, &e)
          }
          if unfusedActivation {
            for m in m0..<m1 { ep.activation.apply(yg + m * os + c0, count: width) }
          }
        }
      }
    }
  }

  /// Writes im2col rows for output positions `lo..<hi` of one group: `channels · kernel volume` rows of
  /// `hi - lo` values each, row order (channel, kd, kh, kw) to match the weight layout.
  private func im2col(_ g: WindowGeometry, _ x: UnsafePointer<Float>, channels: Int,
                      _ dst: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int) {
    let width = hi - lo
    let (D, H, W) = (g.inSize[0], g.inSize[1], g.inSize[2])
    let (OH, OW) = (g.outSize[1], g.outSize[2])
    let (sd, sh, sw) = (g.strides[0], g.strides[1], g.strides[2])
    let (dd, dh, dw) = (g.dilations[0], g.dilations[1], g.dilations[2])
    let (pd, ph, pw) = (g.padsBegin[0], g.padsBegin[1], g.padsBegin[2])
    var row = dst
    for ci in 0..<channels {
      let xc = x + ci * D * H * W
      for kd in 0..<g.kernel[0] {
        for kh in 0..<g.kernel[1] {
          for kw in 0..<g.kernel[2] {
            var j = lo
            while j < hi {
              let ow0 = j % OW, oh = (j / OW) % OH, od = j / (OW * OH)
              let len = min(hi - j, OW - ow0)
              let out = row + (j - lo)
              let id = od * sd - pd + kd * dd, ih = oh * sh - ph + kh * dh
              if id < 0 || id >= D || ih < 0 || ih >= H {
                out.update(repeating: 0, count: len)
              } else {
                let xr = xc + (id * H + ih) * W
                let off = kw * dw - pw
                if sw == 1 {
                  // Valid ow: 0 ≤ ow + off < W.
                  let a = min(max(ow0, -off), ow0 + len), e = max(min(ow0 + len, W - off), a)
                  if a > ow0 { out.update(repeating: 0, count: a - ow0) }
                  if e > a { (out + (a - ow0)).update(from: xr + a + off, count: e - a) }
                  if ow0 + len > e { (out + (e - ow0)).update(repeating: 0, count: ow0 + len - e) }
                } else {
                  for i in 0..<len {
                    let iw = (ow0 + i) * sw + off
                    out[i] = iw >= 0 && iw < W ? xr[iw] : 0
                  }
                }
              }
              j += len
            }
            row += width
          }
        }
      }
    }
  }

  /// Depthwise (one input and one output channel per group): a direct loop per channel plane, no im2col.
  private func depthwise(_ s: ConvShape, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                         _ bias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?,
                         _ y: UnsafeMutablePointer<Float>, _ context: RunContext) {
    let g = s.geo, ep = epilogue, os = s.outCount, inCount = s.inCount, kc = g.kernelCount
    let (D, H, W) = (g.inSize[0], g.inSize[1], g.inSize[2])
    let (OD, OH, OW) = (g.outSize[0], g.outSize[1], g.outSize[2])
    let (sd, sh, sw) = (g.strides[0], g.strides[1], g.strides[2])
    let (dd, dh, dw) = (g.dilations[0], g.dilations[1], g.dilations[2])
    let (pd, ph, pw) = (g.padsBegin[0], g.padsBegin[1], g.padsBegin[2])
    let (KD, KH, KW) = (g.kernel[0], g.kernel[1], g.kernel[2])
    var dg = sct_dw_geometry(ih: H, iw: W, oh: OH, ow: OW, kh: KH, kw: KW, sh: sh, sw: sw, dh: dh, dw: dw, ph: ph, pw: pw)
    // A folded scale shorter than the channel count (never built by the optimizer) takes the generic loop.
    let simd = D == 1 && KD == 1 && OD == 1 && sct_dwconv2d_supported(&dg) != 0 && (ep.scale?.count ?? s.m) >= s.m
    let fusedActivation = ep.clampBounds != nil
    if simd {
      // The SIMD microkernel (CKernels, runtime ISA dispatch) over a range of planes per call, the
      // epilogue fused; a non-clamp activation runs after on the written planes.
      let (lo, hi) = ep.clampBounds ?? (-.infinity, .infinity)
      let planes = s.n * s.m
      (ep.scale ?? []).withUnsafeBufferPointer { scaleBuffer in
        let scale = ep.scale == nil ? nil : scaleBuffer.baseAddress
        // Plane ranges from both ends: each thread takes the same end of the channels as the pointwise
        // layer before it (when that one splits by channel blocks) and as in the previous run.
        context.pool.parallelRanges(planes, grain: 1, bands: true) { range in
          var dg = dg
          var e = sct_dw_planes_epilogue(scale: scale, bias: bias, residual: residual, lo: lo, hi: hi)
          sct_dwconv2d_planes_f32(x, w, y, &dg, &e, s.m, range.lowerBound, range.upperBound)
          if !fusedActivation { ep.activation.apply(y + range.lowerBound * os, count: range.count * os) }
        }
      }
      return
    }
    context.pool.parallelRanges(s.n * s.m, grain: 1) { planes in
      for plane in planes {
        let c = plane % s.m
        let xc = x + plane * inCount, wc = w + c * kc, yc = y + plane * os
        yc.update(repeating: 0, count: os)
        for od in 0..<OD {
          for oh in 0..<OH {
            let yr = yc + (od * OH + oh) * OW
            for kd in 0..<KD {
              let id = od * sd - pd + kd * dd
              if id < 0 || id >= D { continue }
              for kh in 0..<KH {
                let ih = oh * sh - ph + kh * dh
                if ih < 0 || ih >= H { continue }
                let xr = xc + (id * H + ih) * W
                for kw in 0..<KW {
                  let wv = wc[(kd * KH + kh) * KW + kw]
                  let off = kw * dw - pw
                  // ow range with 0 ≤ ow·sw + off < W.
                  let a = off >= 0 ? 0 : (-off + sw - 1) / sw
                  let e = W - off <= 0 ? 0 : min(OW, (W - off - 1) / sw + 1)
                  if e <= a { continue }
                  if sw == 1 {
                    let xs = xr + off
                    for ow in a..<e { yr[ow] += wv * xs[ow] }
                  } else {
                    for ow in a..<e { yr[ow] += wv * xr[ow * sw + off] }
                  }
                }
              }
            }
          }
        }
        if bias != nil || !ep.isIdentity {
          ep.apply(yc, count: os, channel: c, bias: bias?[c] ?? 0, residual: residual.map { $0 + plane * os })
        }
      }
    }
  }
}
