import Foundation
import ModelFormat

/// ONNX `GlobalAveragePool`, `GlobalMaxPool`, `GlobalLpPool`: one value per N·C plane, any spatial rank.
final class GlobalPoolKernel: OpKernel, @unchecked Sendable {
  let label: String
  let mode: PoolMode
  /// GlobalLpPool `p`, default 2.
  let p: Float

  init(_ ctx: NodeContext, _ mode: PoolMode) throws {
    label = ctx.label
    self.mode = mode
    p = try ctx.float("p", 2)
    guard p > 0 else { throw ctx.error("p \(p) must be > 0") }
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require([.float, .double, .float16], label, "X")
    guard x.shape.count >= 3 else { throw SecateurError.invalidModel("\(label): input \(x.shape) must have rank ≥ 3 (N, C, spatial…)") }
    return [TensorSpec(x.dataType, Array(x.shape[0..<2]) + Array(repeating: 1, count: x.shape.count - 2))]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs.first ?? nil, let y = outputs.first else { return }
    switch x.dataType {
    case .float where mode == .average: averageFloat(x, y, context)
    case .float: reduce(x, y, Float.self, context)
    case .double: reduce(x, y, Double.self, context)
    case .float16: reduce(x, y, Float16.self, context)
    default: throw SecateurError.unsupported("\(label): element type \(x.dataType) is not supported")
    }
  }

  /// Float32 average pooling (every CNN's head before its classifier): sums in eight-lane vectors, four of
  /// them in flight. The generic loop adds one Double at a time, each waiting on the last: MobileNetV1's
  /// 1024 × 7 × 7 pool took 28 µs, as much as one of its 14 × 14 depthwise layers.
  private func averageFloat(_ x: TensorView, _ y: TensorView, _ context: RunContext) {
    let planes = x.shape[0] * x.shape[1], size = x.shape[2...].reduce(1, *)
    let xp = x.pointer(Float.self), yp = y.pointer(Float.self)
    context.pool.parallelRanges(planes, grain: max(1, 4096 / max(size, 1))) { range in
      for plane in range {
        let raw = UnsafeRawPointer(xp + plane * size)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= size {
          a0 += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
          a1 += raw.loadUnaligned(fromByteOffset: 4 * (i + 8), as: SIMD8<Float>.self)
          a2 += raw.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD8<Float>.self)
          a3 += raw.loadUnaligned(fromByteOffset: 4 * (i + 24), as: SIMD8<Float>.self)
          i += 32
        }
        while i + 8 <= size {
          a0 += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
          i += 8
        }
        var sum = Double(((a0 + a1) + (a2 + a3)).sum())
        while i < size {
          sum += Double(raw.load(fromByteOffset: 4 * i, as: Float.self))
          i += 1
        }
        yp[plane] = Float(size > 0 ? sum / Double(size) : 0)
      }
    }
  }

  private func reduce<T: KernelFloat>(_ x: TensorView, _ y: TensorView, _: T.Type, _ context: RunContext) {
    let planes = x.shape[0] * x.shape[1], size = x.shape[2...].reduce(1, *)
    let xp = x.pointer(T.self), yp = y.pointer(T.self), mode = self.mode, p = Double(self.p)
    context.pool.parallelRanges(planes, grain: max(1, 4096 / max(size, 1))) { range in
      for plane in range {
        let xc = xp + plane * size
        switch mode {
        case .max:
          var best = -T.infinity
          for i in 0..<size where xc[i] > best { best = xc[i] }
          yp[plane] = best
        case .average:
          var acc = 0.0
          for i in 0..<size { acc += Double(xc[i]) }
          yp[plane] = T(size > 0 ? acc / Double(size) : 0)
        case .lp:
          var acc = 0.0
          for i in 0..<size { acc += pow(Swift.abs(Double(xc[i])), p) }
          yp[plane] = T(pow(acc, 1 / p))
        }
      }
    }
  }
}

/// ONNX `MaxUnpool` (9, 11): scatters X into zeros at the flat positions given by I (MaxPool's Indices).
final class MaxUnpoolKernel: OpKernel, @unchecked Sendable {
  let label: String
  let window: WindowAttributes

  init(_ ctx: NodeContext) throws {
    label = ctx.label
    window = try WindowAttributes(ctx)
    guard window.kernel != nil else { throw ctx.error("kernel_shape is required") }
  }

  /// The unpooled shape implied by X and the attributes: (in − 1)·stride + kernel − pads.
  func inferredShape(_ x: [Int]) throws -> [Int] {
    guard x.count >= 3, let k = window.kernel, k.count == x.count - 2 else {
      throw SecateurError.invalidModel("\(label): X \(x) needs rank ≥ 3 and kernel_shape one value per spatial dim")
    }
    let r = k.count
    let strides = window.strides ?? Array(repeating: 1, count: r), pads = window.pads ?? Array(repeating: 0, count: 2 * r)
    guard strides.count == r, pads.count == 2 * r else { throw SecateurError.invalidModel("\(label): strides/pads have the wrong length") }
    var out = Array(x[0..<2])
    for d in 0..<r {
      let o = (x[d + 2] - 1) * strides[d] + k[d] - pads[d] - pads[d + r]
      guard o >= 1 else { throw SecateurError.invalidModel("\(label): output spatial size \(o) must be ≥ 1") }
      out.append(o)
    }
    return out
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label), i = try required(inputs, 1, label)
    guard i.shape == x.shape, i.dataType == .int64 else {
      throw SecateurError.invalidModel("\(label): indices I must be int64 with X's shape \(x.shape), got \(i)")
    }
    let inferred = try inferredShape(x.shape)
    if inputs.count > 2, inputs[2] != nil {
      let s = try values.ints(2, label)
      guard s.count == x.shape.count, s[0] == x.shape[0], s[1] == x.shape[1], s.allSatisfy({ $0 >= 0 }) else {
        throw SecateurError.invalidModel("\(label): output_shape \(s) must have rank \(x.shape.count) and X's N, C")
      }
      return [TensorSpec(x.dataType, s)]
    }
    return [TensorSpec(x.dataType, inferred)]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard inputs.count >= 2, let x = inputs[0], let i = inputs[1], let y = outputs.first else { return }
    let size = x.dataType.byteSize, n = y.count
    guard size > 0 else { throw SecateurError.unsupported("\(label): element type \(x.dataType) is not supported") }
    memset(y.data, 0, n * size)
    let ip = i.pointer(Int64.self)
    // Indices address the inferred shape; an explicit output_shape keeps each element's coordinates.
    let inferred = try inferredShape(x.shape)
    let from = Array(inferred[2...]), to = Array(y.shape[2...])
    let fromPlane = from.reduce(1, *), toPlane = to.reduce(1, *)
    for k in 0..<x.count {
      var at = Int(ip[k])
      guard at >= 0, at < inferred.reduce(1, *) else {
        throw SecateurError.runtime("\(label): index \(at) is outside the unpooled tensor \(inferred)")
      }
      if from != to {
        let plane = at / fromPlane
        var rest = at % fromPlane, pos = 0, scale = 1
        for d in stride(from: from.count - 1, through: 0, by: -1) {
          let c = rest % from[d]
          rest /= from[d]
          guard c < to[d] else { throw SecateurError.runtime("\(label): index \(ip[k]) falls outside output_shape \(y.shape)") }
          pos += c * scale
          scale *= to[d]
        }
        at = plane * toPlane + pos
      }
      guard at < n else { throw SecateurError.runtime("\(label): index \(ip[k]) is outside the output") }
      memcpy(y.data + at * size, x.data + k * size, size)
    }
  }
}
