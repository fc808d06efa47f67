import CKernels
import Foundation
import ModelFormat

enum PoolKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("MaxPool", since: 1) { try PoolKernel($0, .max) },
    // 8: storage_order and the optional Indices output.
    OpRegistration("MaxPool", since: 8) { try PoolKernel($0, .max) },
    // 10: ceil_mode and dilations.
    OpRegistration("MaxPool", since: 10) { try PoolKernel($0, .max) },
    // 11: pads/auto_pad clarified.
    OpRegistration("MaxPool", since: 11) { try PoolKernel($0, .max) },
    // 12: int8 and uint8 inputs.
    OpRegistration("MaxPool", since: 12) { try PoolKernel($0, .max) },
    OpRegistration("AveragePool", since: 1) { try PoolKernel($0, .average) },
    // 7: count_include_pad.
    OpRegistration("AveragePool", since: 7) { try PoolKernel($0, .average) },
    // 10: ceil_mode.
    OpRegistration("AveragePool", since: 10) { try PoolKernel($0, .average) },
    OpRegistration("AveragePool", since: 11) { try PoolKernel($0, .average) },
    // 19: dilations.
    OpRegistration("AveragePool", since: 19) { try PoolKernel($0, .average) },
    OpRegistration("LpPool", since: 1) { try PoolKernel($0, .lp) },
    // 2: p became an int (was a float).
    OpRegistration("LpPool", since: 2) { try PoolKernel($0, .lp) },
    OpRegistration("LpPool", since: 11) { try PoolKernel($0, .lp) },
    // 18: ceil_mode and dilations.
    OpRegistration("LpPool", since: 18) { try PoolKernel($0, .lp) },
    OpRegistration("GlobalAveragePool", since: 1) { try GlobalPoolKernel($0, .average) },
    OpRegistration("GlobalMaxPool", since: 1) { try GlobalPoolKernel($0, .max) },
    OpRegistration("GlobalLpPool", since: 1) { try GlobalPoolKernel($0, .lp) },
    // 2: p became an int.
    OpRegistration("GlobalLpPool", since: 2) { try GlobalPoolKernel($0, .lp) },
    OpRegistration("MaxUnpool", since: 9) { try MaxUnpoolKernel($0) },
    // 11: pads handling clarified.
    OpRegistration("MaxUnpool", since: 11) { try MaxUnpoolKernel($0) },
  ]
}

enum PoolMode: Sendable { case max, average, lp }

/// ONNX `MaxPool`, `AveragePool` and `LpPool` over 1-D, 2-D and 3-D windows (N·C·spatial layout).
///
/// One loop nest over three normalised spatial dims, parallel over N·C planes. Per output position the
/// valid tap range on each axis is computed once, so the inner loops carry no bounds checks.
final class PoolKernel: OpKernel, @unchecked Sendable {
  let label: String
  let mode: PoolMode
  let window: WindowAttributes
  /// AveragePool `count_include_pad`, default 0.
  let countIncludePad: Bool
  /// MaxPool `storage_order`, default 0 (row major) — only affects Indices.
  let storageOrder: Int
  /// LpPool `p`, default 2.
  let p: Float
  /// Whether the node asks for MaxPool's Indices output.
  let hasIndices: Bool

  init(_ ctx: NodeContext, _ mode: PoolMode) throws {
    label = ctx.label
    self.mode = mode
    hasIndices = mode == .max && ctx.node.outputs.count > 1 && !ctx.node.outputs[1].isEmpty
    let ceil = try ctx.int("ceil_mode", 0)
    window = try WindowAttributes(ctx, ceilMode: ceil != 0)
    countIncludePad = try ctx.int("count_include_pad", 0) != 0
    storageOrder = try ctx.int("storage_order", 0)
    p = try ctx.float("p", 2)
    guard window.kernel != nil else { throw ctx.error("kernel_shape is required") }
    guard storageOrder == 0 || storageOrder == 1 else { throw ctx.error("storage_order \(storageOrder) must be 0 or 1") }
    guard p > 0 else { throw ctx.error("p \(p) must be > 0") }
  }

  func geometry(_ x: [Int]) throws -> WindowGeometry {
    guard x.count >= 3 else { throw SecateurError.invalidModel("\(label): input \(x) must have rank ≥ 3 (N, C, spatial…)") }
    guard x.count <= 5 else { throw SecateurError.unsupported("\(label): \(x.count - 2)-D pooling is not supported (at most 3-D)") }
    return try WindowGeometry.resolve(window, inSize: Array(x[2...]), kernel: nil, label)
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    if mode == .max {
      try x.require([.float, .double, .float16, .int8, .uint8], label, "X")
    } else {
      try x.require([.float, .double, .float16], label, "X")
    }
    let g = try geometry(x.shape)
    let shape = Array(x.shape[0..<2]) + g.outSize
    return hasIndices ? [TensorSpec(x.dataType, shape), TensorSpec(.int64, shape)] : [TensorSpec(x.dataType, shape)]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs.first ?? nil, let y = outputs.first else { return }
    let g = try geometry(x.shape).padded3
    let planes = x.shape[0] * x.shape[1]
    let indices = hasIndices && outputs.count > 1 ? outputs[1].pointer(Int64.self) : nil
    switch (mode, x.dataType) {
    case (.max, .float): maxPool(g, planes, x, y, indices, -Float.infinity, context)
    case (.max, .double): maxPool(g, planes, x, y, indices, -Double.infinity, context)
    case (.max, .float16): maxPool(g, planes, x, y, indices, -Float16.infinity, context)
    case (.max, .int8): maxPool(g, planes, x, y, indices, Int8.min, context)
    case (.max, .uint8): maxPool(g, planes, x, y, indices, UInt8.min, context)
    case (_, .float): sumPool(g, planes, x, y, Float.self, context)
    case (_, .double): sumPool(g, planes, x, y, Double.self, context)
    case (_, .float16): sumPool(g, planes, x, y, Float16.self, context)
    default: throw SecateurError.unsupported("\(label): element type \(x.dataType) is not supported")
    }
  }

  /// Valid taps `lo..<hi` of a window starting at `start` on an axis of `size` with dilation `d`.
  @inline(__always)
  static func taps(_ start: Int, _ k: Int, _ d: Int, _ size: Int) -> Range<Int> {
    let lo = start >= 0 ? 0 : (-start + d - 1) / d
    let last = size - 1 - start
    let hi = last < 0 ? 0 : min(k, last / d + 1)
    return lo..<max(lo, hi)
  }

  private func maxPool<T: Comparable>(_ g: WindowGeometry, _ planes: Int, _ x: TensorView, _ y: TensorView,
                                      _ indices: UnsafeMutablePointer<Int64>?, _ lowest: T, _ context: RunContext) {
    let xp = x.pointer(T.self), yp = y.pointer(T.self)
    let (D, H, W) = (g.inSize[0], g.inSize[1], g.inSize[2])
    let (OD, OH, OW) = (g.outSize[0], g.outSize[1], g.outSize[2])
    let ic = g.inCount, oc = g.outCount
    if T.self == Float.self, indices == nil, D == 1, OD == 1, g.kernel[0] == 1 {
      // 2-D float max without indices: the SIMD kernel (CKernels, runtime ISA dispatch); the generic
      // loop below was 5 % of ResNet-50.
      var dg = sct_dw_geometry(ih: H, iw: W, oh: OH, ow: OW, kh: g.kernel[1], kw: g.kernel[2], sh: g.strides[1],
                               sw: g.strides[2], dh: g.dilations[1], dw: g.dilations[2], ph: g.padsBegin[1], pw: g.padsBegin[2])
      if sct_dwconv2d_supported(&dg) != 0 {
        let xf = x.pointer(Float.self), yf = y.pointer(Float.self)
        context.pool.parallelRanges(planes, grain: 1) { range in
          var dg = dg
          sct_maxpool2d_planes_f32(xf, yf, &dg, range.lowerBound, range.upperBound)
        }
        return
      }
    }
    let reduction = MaxReduction(y: yp, indices: indices, lowest: lowest, ic: ic, oc: oc, D: D, H: H, W: W,
                                 colMajor: storageOrder == 1)
    walkWindows(g, planes, UnsafePointer(xp), reduction, context)
  }

  /// AveragePool and LpPool: a sum (of values or |v|^p) over the valid taps, then the divisor or root.
  private func sumPool<T: KernelFloat>(_ g: WindowGeometry, _ planes: Int, _ x: TensorView, _ y: TensorView,
                                       _: T.Type, _ context: RunContext) {
    let reduction = SumReduction(y: y.pointer(T.self), g: g, oc: g.outCount, lp: mode == .lp, p: Double(self.p),
                                 includePad: countIncludePad)
    walkWindows(g, planes, UnsafePointer(x.pointer(T.self)), reduction, context)
  }

  /// The generic window walk shared by max and sum pooling: parallel over N·C planes, and per output position the
  /// valid taps (in-plane input offsets) folded through `reduction`, which then writes the output.
  @inline(__always)
  private func walkWindows<R: PoolReduction>(_ g: WindowGeometry, _ planes: Int, _ xp: UnsafePointer<R.Element>,
                                             _ reduction: R, _ context: RunContext) {
    let (D, H, W) = (g.inSize[0], g.inSize[1], g.inSize[2])
    let (OD, OH, OW) = (g.outSize[0], g.outSize[1], g.outSize[2])
    let ic = g.inCount
    context.pool.parallelRanges(planes, grain: 1) { range in
      for plane in range {
        let xc = xp + plane * ic
        for od in 0..<OD {
          let sd = od * g.strides[0] - g.padsBegin[0]
          let td = PoolKernel.taps(sd, g.kernel[0], g.dilations[0], D)
          for oh in 0..<OH {
            let sh = oh * g.strides[1] - g.padsBegin[1]
            let th = PoolKernel.taps(sh, g.kernel[1], g.dilations[1], H)
            for ow in 0..<OW {
              let sw = ow * g.strides[2] - g.padsBegin[2]
              let tw = PoolKernel.taps(sw, g.kernel[2], g.dilations[2], W)
              var acc = reduction.initial
              for kd in td {
                let id = sd + kd * g.dilations[0]
                for kh in th {
                  let row = (id * H + sh + kh * g.dilations[1]) * W + sw
                  for kw in tw { reduction.fold(&acc, xc, row + kw * g.dilations[2]) }
                }
              }
              let window = PoolWindow(start: (sd, sh, sw), taps: (td.count, th.count, tw.count))
              reduction.finish(acc, plane: plane, (od * OH + oh) * OW + ow, window)
            }
          }
        }
      }
    }
  }
}

/// One output position's window: its start on each axis (may be negative in the padding) and the number
/// of valid taps on each axis.
struct PoolWindow {
  let start: (Int, Int, Int)
  let taps: (Int, Int, Int)
}

/// A per-window reduction for `PoolKernel.walkWindows`: `fold` each valid tap into the accumulator,
/// then `finish` writes output element `o` of `plane`.
protocol PoolReduction {
  associatedtype Element
  associatedtype Accumulator
  var initial: Accumulator { get }
  func fold(_ acc: inout Accumulator, _ xc: UnsafePointer<Element>, _ at: Int)
  func finish(_ acc: Accumulator, plane: Int, _ o: Int, _ window: PoolWindow)
}

/// MaxPool: the largest tap (the first one on ties) and, when asked for, its flat index in the input.
private struct MaxReduction<T: Comparable>: PoolReduction {
  let y: UnsafeMutablePointer<T>
  let indices: UnsafeMutablePointer<Int64>?
  let lowest: T
  let ic: Int, oc: Int, D: Int, H: Int, W: Int
  let colMajor: Bool

  var initial: (best: T, at: Int) { (lowest, -1) }

  @inline(__always)
  func fold(_ acc: inout (best: T, at: Int), _ xc: UnsafePointer<T>, _ at: Int) {
    let v = xc[at]
    if v > acc.best || acc.at < 0 { acc = (v, at) }
  }

  @inline(__always)
  func finish(_ acc: (best: T, at: Int), plane: Int, _ o: Int, _ window: PoolWindow) {
    y[plane * oc + o] = acc.best
    if let indices {
      var idx = max(acc.at, 0)
      if colMajor {
        let w = idx % W, h = (idx / W) % H, d = idx / (W * H)
        idx = (w * H + h) * D + d
      }
      indices[plane * oc + o] = Int64(plane * ic + idx)
    }
  }
}

/// AveragePool and LpPool: a sum (of values or |v|^p) in Double, then the divisor or the root.
private struct SumReduction<T: KernelFloat>: PoolReduction {
  let y: UnsafeMutablePointer<T>
  let g: WindowGeometry
  let oc: Int
  let lp: Bool, p: Double, includePad: Bool

  var initial: Double { 0 }

  @inline(__always)
  func fold(_ acc: inout Double, _ xc: UnsafePointer<T>, _ at: Int) {
    let v = Double(xc[at])
    acc += lp ? (p == 2 ? v * v : pow(Swift.abs(v), p)) : v
  }

  /// Taps inside input + pads (count_include_pad counts padding but not the ceil_mode overhang).
  @inline(__always)
  func padded(_ start: Int, _ a: Int) -> Int {
    PoolKernel.taps(start + g.padsBegin[a], g.kernel[a], g.dilations[a], g.inSize[a] + g.padsBegin[a] + g.padsEnd[a]).count
  }

  @inline(__always)
  func finish(_ acc: Double, plane: Int, _ o: Int, _ window: PoolWindow) {
    let r: Double
    if lp {
      r = p == 2 ? acc.squareRoot() : pow(acc, 1 / p)
    } else {
      let (sd, sh, sw) = window.start, (nd, nh, nw) = window.taps
      let n = includePad ? padded(sd, 0) * padded(sh, 1) * padded(sw, 2) : nd * nh * nw
      r = n > 0 ? acc / Double(n) : 0
    }
    y[plane * oc + o] = T(r)
  }
}
