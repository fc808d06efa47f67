#if canImport(Glibc)
import Glibc
#endif
import CKernels
import Testing

/// The C microkernels write exactly the outputs they are asked for. Callers split planes, rows and
/// columns of one tensor across threads and place tensors back to back in the arena, so a vector store
/// that runs past its range races with another thread or overwrites a live neighbour — a bug the
/// model-level tests only catch by chance (a 16-lane store from a 7 × 7 plane once reached 2 floats into
/// the next plane, seen as a flaky 2-thread mismatch on AVX-512 only). Here every output buffer is
/// surrounded by sentinels and the kernel is given an inner range, so any stray store fails
/// deterministically; the values written are checked against a scalar reference at 1e-4 relative.
///
/// Runs with the ISA the process dispatches to (AVX-512 on Zen 4, AVX2 on Zen 3; `SECATEUR_ISA` caps it).
@Suite struct KernelBoundsTests {
  static let sentinel: Float = 12345.5

  struct Window: CustomStringConvertible, Sendable {
    var h: Int, w: Int, k: Int, s: Int, pad: Int
    var description: String { "\(h)×\(w) k\(k) s\(s) p\(pad)" }
    var oh: Int { (h + 2 * pad - k) / s + 1 }
    var ow: Int { (w + 2 * pad - k) / s + 1 }
    var geometry: sct_dw_geometry {
      sct_dw_geometry(ih: h, iw: w, oh: oh, ow: ow, kh: k, kw: k, sh: s, sw: s, dh: 1, dw: 1, ph: pad, pw: pad)
    }
  }

  static let windows: [Window] = [
    Window(h: 7, w: 7, k: 3, s: 1, pad: 1), Window(h: 14, w: 14, k: 3, s: 2, pad: 1),
    Window(h: 14, w: 14, k: 3, s: 1, pad: 1), Window(h: 5, w: 9, k: 3, s: 1, pad: 1),
    Window(h: 3, w: 3, k: 3, s: 1, pad: 1), Window(h: 1, w: 1, k: 1, s: 1, pad: 0),
    Window(h: 17, w: 17, k: 5, s: 2, pad: 2), Window(h: 9, w: 33, k: 3, s: 2, pad: 0),
    Window(h: 4, w: 4, k: 3, s: 1, pad: 1),
    // Several vectors per row on the direct (unstaged) paths: masked edges around plain interior loads.
    Window(h: 4, w: 45, k: 3, s: 1, pad: 1), Window(h: 3, w: 70, k: 3, s: 2, pad: 1),
  ]

  static func values(_ n: Int, seed: Int) -> [Float] {
    (0..<n).map { Float(($0 * 7919 + seed * 104_729) % 2003) / 1001.0 - 1.0 }
  }

  /// Planes [1, 3) of 4, so a neighbour plane lies on each side, plus a guard past the tensor.
  @Test(arguments: windows, [true, false])
  func depthwiseAndPoolWriteOnlyTheirPlanes(window: Window, conv: Bool) {
    let planes = 4, channels = 2, guardCount = 64
    let inPlane = window.h * window.w, outPlane = window.oh * window.ow
    let x = Self.values(planes * inPlane, seed: 1)
    let weights = Self.values(channels * window.k * window.k, seed: 2)
    let residual = Self.values(planes * outPlane, seed: 3)
    let bias = Self.values(channels, seed: 4)
    var y = [Float](repeating: Self.sentinel, count: planes * outPlane + guardCount)
    var g = window.geometry
    #expect(sct_dwconv2d_supported(&g) == 1)
    weights.withUnsafeBufferPointer { w in
      bias.withUnsafeBufferPointer { b in
        residual.withUnsafeBufferPointer { r in
          var e = sct_dw_planes_epilogue(scale: nil, bias: b.baseAddress, residual: r.baseAddress, lo: -1, hi: 1.5)
          if conv {
            sct_dwconv2d_planes_f32(x, w.baseAddress, &y, &g, &e, channels, 1, 3)
          } else {
            sct_maxpool2d_planes_f32(x, &y, &g, 1, 3)
          }
        }
      }
    }
    for i in y.indices where i < outPlane || i >= 3 * outPlane {
      #expect(y[i] == Self.sentinel, "\(window): element \(i) outside planes 1..<3 was written")
      if y[i] != Self.sentinel { break }
    }
    for p in 1..<3 {
      for oy in 0..<window.oh {
        for ox in 0..<window.ow {
          let c = p % channels
          var acc: Float = conv ? 0 : -.infinity
          for ky in 0..<window.k {
            for kx in 0..<window.k {
              let iy = oy * window.s - window.pad + ky, ix = ox * window.s - window.pad + kx
              guard iy >= 0, iy < window.h, ix >= 0, ix < window.w else { continue }
              let v = x[p * inPlane + iy * window.w + ix]
              acc = conv ? acc + weights[c * window.k * window.k + ky * window.k + kx] * v : max(acc, v)
            }
          }
          let index = p * outPlane + oy * window.ow + ox
          if conv { acc = min(max(acc + bias[c] + residual[index], -1), 1.5) }
          #expect(abs(y[index] - acc) <= 1e-4 * max(1, abs(acc)), "\(window) plane \(p) (\(oy), \(ox))")
        }
      }
    }
  }

  /// Rows [mr, m) and columns [3, n − 2) of a GEMM whose output rows are padded (ldy > n): nothing else
  /// of y may change, including the padding between rows.
  /// (n − 5 = 49, 52, 98, 4: narrow last panels of 1, 4, 2 columns. A k-block holds as many k rows as
  /// the staging buffer gives the panels sharing it — 168 to 336 rows with AVX-512, up to 1024 with
  /// AVX2, 5461 in the baseline — so k = 170, 1100 and 6000 run through several on each.)
  /// (m = 13, 37: a last block of 5 rows with AVX-512, the three-quarter tiles; m = 16, 22: 4 rows with
  /// AVX2's MR of 6.)
  @Test(arguments: [(13, 29, 5), (37, 7, 40), (9, 64, 3), (13, 54, 300), (11, 57, 7), (9, 103, 170),
                    (11, 57, 1100), (13, 9, 6000), (16, 29, 5), (22, 54, 300)])
  func gemmWritesOnlyItsRowsAndColumns(shape: (Int, Int, Int)) {
    let (m, n, k) = shape
    let mr = sct_gemm_mr(), ldy = n + 5
    let w = Self.values(m * k, seed: 5), x = Self.values(k * n, seed: 6)
    var packed = [Float](repeating: 0, count: sct_gemm_packed_count(m, k))
    sct_gemm_pack_f32(m, k, w, &packed)
    var y = [Float](repeating: Self.sentinel, count: (m + 1) * ldy)
    var e = sct_gemm_epilogue(scale: nil, bias: nil, residual: nil, ldr: 0, lo: -.infinity, hi: .infinity)
    let jBegin = 3, jEnd = n - 2
    // sct_gemm_f32 covers columns [0, n): shift x and y so its columns are [jBegin, jEnd).
    x.withUnsafeBufferPointer { xb in
      y.withUnsafeMutableBufferPointer { yb in
        sct_gemm_f32(mr, m, jEnd - jBegin, k, packed, xb.baseAddress! + jBegin, n, yb.baseAddress! + jBegin, ldy, &e)
      }
    }
    for i in 0..<y.count {
      let row = i / ldy, col = i % ldy
      let inside = row >= mr && row < m && col >= jBegin && col < jEnd
      if !inside {
        #expect(y[i] == Self.sentinel, "\(shape): y[\(row)][\(col)] outside the range was written")
        if y[i] != Self.sentinel { break }
        continue
      }
      var want: Float = 0
      for t in 0..<k { want += w[row * k + t] * x[t * n + col] }
      #expect(abs(y[i] - want) <= 1e-4 * max(1, abs(want)), "\(shape): y[\(row)][\(col)]")
    }
  }
  /// The implicit-im2col conv GEMM on output channels [mr, m) and output positions [5, oh·ow − 4):
  /// nothing else of y may change, and the values match a direct convolution.
  /// The GEMM reads x only inside its n columns. With AVX-512 and k ≥ 48 its tiles read x in place, and a
  /// last panel ending inside a vector loads masked: here x's last row ends where an unreadable page
  /// begins, so a whole-vector load past it faults (the test process dies) instead of reading a
  /// neighbour's bytes unnoticed.
  @Test(arguments: [(9, 65, 50), (16, 49, 64), (8, 210, 96), (5, 3, 48), (13, 47, 300)])
  func gemmReadsOnlyItsColumns(shape: (Int, Int, Int)) throws {
    let (m, n, k) = shape
    let page = Int(sysconf(Int32(_SC_PAGESIZE))), bytes = k * n * 4
    let total = (bytes + page - 1) / page * page + page
    let raw = try #require(mmap(nil, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
    #expect(raw != MAP_FAILED)
    defer { munmap(raw, total) }
    #expect(mprotect(raw + (total - page), page, PROT_NONE) == 0)
    let x = (raw + (total - page - bytes)).assumingMemoryBound(to: Float.self)
    let xs = Self.values(k * n, seed: 8)
    x.update(from: xs, count: k * n)
    let w = Self.values(m * k, seed: 7)
    var packed = [Float](repeating: 0, count: sct_gemm_packed_count(m, k))
    sct_gemm_pack_f32(m, k, w, &packed)
    var y = [Float](repeating: 0, count: m * n)
    var e = sct_gemm_epilogue(scale: nil, bias: nil, residual: nil, ldr: 0, lo: -.infinity, hi: .infinity)
    sct_gemm_f32(0, m, n, k, packed, x, n, &y, n, &e)
    for row in 0..<m {
      for col in 0..<n {
        var want: Float = 0
        for t in 0..<k { want += w[row * k + t] * xs[t * n + col] }
        #expect(abs(y[row * n + col] - want) <= 1e-4 * max(1, abs(want)), "\(shape): y[\(row)][\(col)]")
      }
    }
  }

  @Test(arguments: [(3, 13, 9, 3, 1, 1), (7, 11, 12, 3, 2, 1), (5, 17, 10, 5, 2, 2), (4, 9, 11, 3, 3, 1), (3, 8, 40, 7, 2, 3)])
  func convGemmWritesOnlyItsRowsAndPositions(shape: (Int, Int, Int, Int, Int, Int)) {
    let (c, m, size, k, s, pad) = shape
    let outSize = (size + 2 * pad - k) / s + 1, positions = outSize * outSize
    var g = sct_conv_geometry(c: c, ih: size, iw: size, oh: outSize, ow: outSize, kh: k, kw: k, sh: s, sw: s,
                              dh: 1, dw: 1, ph: pad, pw: pad)
    let mr = sct_gemm_mr(), ldy = positions + 3, depth = c * k * k
    let w = Self.values(m * depth, seed: 7), x = Self.values(c * size * size, seed: 8)
    var packed = [Float](repeating: 0, count: sct_gemm_packed_count(m, depth))
    sct_gemm_pack_f32(m, depth, w, &packed)
    var y = [Float](repeating: Self.sentinel, count: (m + 1) * ldy)
    var e = sct_gemm_epilogue(scale: nil, bias: nil, residual: nil, ldr: 0, lo: -.infinity, hi: .infinity)
    let jBegin = 5, jEnd = positions - 4
    sct_conv_gemm_f32(mr, m, jBegin, jEnd, packed, x, &g, &y, ldy, &e)
    for i in 0..<y.count {
      let row = i / ldy, col = i % ldy
      guard row >= mr, row < m, col >= jBegin, col < jEnd else {
        #expect(y[i] == Self.sentinel, "\(shape): y[\(row)][\(col)] outside the range was written")
        if y[i] != Self.sentinel { break }
        continue
      }
      let want = Self.convReference(w, x, shape, channel: row, oy: col / outSize, ox: col % outSize)
      #expect(abs(y[i] - want) <= 1e-4 * max(1, abs(want)), "\(shape): y[\(row)][\(col)]")
    }
  }

  /// The direct (stem) conv on output channels [mr, m) and output rows [1, oh − 1): nothing else of y may
  /// change, and the values match a direct convolution. m = 17 and 25 end on a row block of at most MR / 2
  /// (the half-height tiles), m = 22 on one of at most 3 · MR / 4 (6 rows with AVX-512, 4 with AVX2); 300
  /// columns at stride 2 make two passes per output row.
  @Test(arguments: [(3, 17, 40, 3, 2, 1), (1, 9, 35, 3, 1, 1), (4, 11, 21, 5, 2, 2), (3, 8, 40, 7, 2, 3),
                    (2, 25, 300, 3, 2, 1), (3, 10, 17, 3, 1, 0), (3, 22, 23, 3, 2, 1)])
  func convDirectWritesOnlyItsRowsAndChannels(shape: (Int, Int, Int, Int, Int, Int)) {
    let (c, m, size, k, s, pad) = shape
    let outSize = (size + 2 * pad - k) / s + 1, positions = outSize * outSize
    var g = sct_conv_geometry(c: c, ih: size, iw: size, oh: outSize, ow: outSize, kh: k, kw: k, sh: s, sw: s,
                              dh: 1, dw: 1, ph: pad, pw: pad)
    #expect(sct_conv_direct_supported(&g) != 0, "\(shape): the direct kernel declines this geometry")
    let mr = sct_gemm_mr(), ldy = positions + 3, depth = c * k * k
    let w = Self.values(m * depth, seed: 9), x = Self.values(c * size * size, seed: 10)
    var packed = [Float](repeating: 0, count: sct_gemm_packed_count(m, depth))
    sct_gemm_pack_f32(m, depth, w, &packed)
    var y = [Float](repeating: Self.sentinel, count: (m + 1) * ldy)
    var e = sct_gemm_epilogue(scale: nil, bias: nil, residual: nil, ldr: 0, lo: -.infinity, hi: .infinity)
    sct_conv_direct_f32(mr, m, 1, outSize - 1, packed, x, &g, &y, ldy, &e)
    for i in 0..<y.count {
      let row = i / ldy, col = i % ldy
      guard row >= mr, row < m, col >= outSize, col < positions - outSize else {
        #expect(y[i] == Self.sentinel, "\(shape): y[\(row)][\(col)] outside the range was written")
        if y[i] != Self.sentinel { break }
        continue
      }
      let want = Self.convReference(w, x, shape, channel: row, oy: col / outSize, ox: col % outSize)
      #expect(abs(y[i] - want) <= 1e-4 * max(1, abs(want)), "\(shape): y[\(row)][\(col)]")
    }
  }

  /// Output (channel, oy, ox) of a square convolution `shape` = (c, m, size, kernel, stride, pad),
  /// weights m × c × k × k, input c × size × size.
  static func convReference(_ w: [Float], _ x: [Float], _ shape: (Int, Int, Int, Int, Int, Int),
                            channel: Int, oy: Int, ox: Int) -> Float {
    let (c, _, size, k, s, pad) = shape
    var sum: Float = 0
    for ci in 0..<c {
      for ky in 0..<k {
        for kx in 0..<k {
          let iy = oy * s - pad + ky, ix = ox * s - pad + kx
          guard iy >= 0, iy < size, ix >= 0, ix < size else { continue }
          sum += w[((channel * c + ci) * k + ky) * k + kx] * x[(ci * size + iy) * size + ix]
        }
      }
    }
    return sum
  }
}
