import ModelFormat

/// The float32 path of `ConvTranspose`: one sgemm per (batch item, group) producing every
/// (output channel, kernel tap) row for every input position — cols = Wᵀ · X — then col2im adds each
/// row into the output plane it scatters to, on top of the bias. Work is O(M·k·C·HW) like the
/// convolution it transposes; the gather-form reference loop it replaces recomputed the stride test per
/// output and tap, and was a fifth of PP-OCRv4's text detector.
extension ConvTransposeKernel {
  /// Floats of workspace: one group's cols matrix, (M/group · kernel volume) × input positions;
  /// nil when the product overflows (the dims come from the model).
  func floatWorkspaceFloats(_ s: Shape) -> Int? { shapeElementCount([s.mg] + s.geo.kernel + s.geo.inSize) }

  func runFloat(_ s: Shape, _ x: TensorView, _ w: TensorView, _ b: TensorView?, _ y: TensorView,
                _ context: RunContext) throws {
    guard let cols = context.workspace?.assumingMemoryBound(to: Float.self) else {
      throw SecateurError.runtime("\(label): missing workspace")
    }
    let xp = x.pointer(Float.self), wp = w.pointer(Float.self), bp = b?.pointer(Float.self), yp = y.pointer(Float.self)
    let g = s.geo, kc = g.kernelCount, hw = g.inCount, os = g.outCount
    let rows = s.mg * kc
    // BLAS takes 32-bit sizes.
    guard rows < Int32.max, hw < Int32.max, s.cg < Int32.max else {
      throw SecateurError.unsupported("\(label): X with \(hw) positions and W with \(rows) rows is too large for a 32-bit BLAS call")
    }
    for n in 0..<s.n {
      for grp in 0..<group {
        // cols (mg·kc × HW) = W_grpᵀ (W rows are input channels: cg × mg·kc) · X_grp (cg × HW).
        let call = BlasCall(transA: true, transB: false, m: rows, n: hw, k: s.cg, lda: rows, ldb: hw, ldc: hw,
                            alpha: 1, beta: 0)
        call.run(wp + grp * s.cg * rows, xp + (n * s.c + grp * s.cg) * hw, cols, context.pool, tasks: 1)
        context.pool.parallelRanges(s.mg, grain: 1) { channels in
          for ocg in channels {
            let oc = grp * s.mg + ocg
            let plane = yp + (n * s.m + oc) * os
            plane.update(repeating: bp.map { $0[oc] } ?? 0, count: os)
            for kd in 0..<g.kernel[0] {
              for kh in 0..<g.kernel[1] {
                for kw in 0..<g.kernel[2] {
                  let row = cols + ((ocg * g.kernel[0] + kd) * g.kernel[1] + kh) * g.kernel[2] * hw + kw * hw
                  self.scatter(row, g, kd, kh, kw, plane)
                }
              }
            }
          }
        }
      }
    }
  }

  /// Adds one tap's row (one value per input position) to the output positions it lands on:
  /// out = in · stride − pad + tap · dilation, per axis.
  @inline(__always)
  private func scatter(_ row: UnsafeMutablePointer<Float>, _ g: WindowGeometry, _ kd: Int, _ kh: Int, _ kw: Int,
                       _ plane: UnsafeMutablePointer<Float>) {
    let (D, H, W) = (g.inSize[0], g.inSize[1], g.inSize[2])
    let (OD, OH, OW) = (g.outSize[0], g.outSize[1], g.outSize[2])
    let sw = g.strides[2], offW = kw * g.dilations[2] - g.padsBegin[2]
    // Input columns whose output column lies in [0, OW).
    let iw0 = offW >= 0 ? 0 : (-offW + sw - 1) / sw
    let iw1 = OW - offW <= 0 ? 0 : min(W, (OW - 1 - offW) / sw + 1)
    if iw1 <= iw0 { return }
    for id in 0..<D {
      let od = id * g.strides[0] - g.padsBegin[0] + kd * g.dilations[0]
      if od < 0 || od >= OD { continue }
      for ih in 0..<H {
        let oh = ih * g.strides[1] - g.padsBegin[1] + kh * g.dilations[1]
        if oh < 0 || oh >= OH { continue }
        let src = row + (id * H + ih) * W
        let dst = plane + (od * OH + oh) * OW + offW
        if sw == 1 {
          for iw in iw0..<iw1 { dst[iw] += src[iw] }
        } else {
          for iw in iw0..<iw1 { dst[iw * sw] += src[iw] }
        }
      }
    }
  }
}
