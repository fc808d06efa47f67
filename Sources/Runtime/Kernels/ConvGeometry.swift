import ModelFormat

/// ONNX `auto_pad`: how a sliding window op derives its padding.
enum AutoPad: Sendable {
  case notSet, sameUpper, sameLower, valid

  init(_ ctx: NodeContext) throws {
    switch try ctx.string("auto_pad", "NOTSET") {
    case "NOTSET", "": self = .notSet
    case "SAME_UPPER": self = .sameUpper
    case "SAME_LOWER": self = .sameLower
    case "VALID": self = .valid
    case let s: throw ctx.error("auto_pad '\(s)' must be NOTSET, SAME_UPPER, SAME_LOWER or VALID")
    }
  }
}

/// The window attributes shared by Conv, ConvTranspose and the pools, as written in the node
/// (nil = attribute absent; the defaults depend on the spatial rank, known only from the input).
struct WindowAttributes: Sendable {
  var kernel: [Int]?
  var strides: [Int]?
  var dilations: [Int]?
  var pads: [Int]?
  var autoPad = AutoPad.notSet
  var ceilMode = false

  init(_ ctx: NodeContext, ceilMode: Bool = false) throws {
    kernel = try ctx.ints("kernel_shape")
    strides = try ctx.ints("strides")
    dilations = try ctx.ints("dilations")
    pads = try ctx.ints("pads")
    autoPad = try AutoPad(ctx)
    self.ceilMode = ceilMode
  }
}

/// A resolved sliding window over `inSize.count` spatial dims: everything a kernel loop needs.
///
/// Implementation note: kernels normalise to three spatial dims (leading 1s) so one loop nest serves
/// 1-D, 2-D and 3-D; `padded3` does that.
struct WindowGeometry: Sendable, Equatable {
  var inSize: [Int]
  var kernel: [Int]
  var strides: [Int]
  var dilations: [Int]
  var padsBegin: [Int]
  var padsEnd: [Int]
  var outSize: [Int]

  var rank: Int { inSize.count }
  var kernelCount: Int { kernel.reduce(1, *) }
  var outCount: Int { outSize.reduce(1, *) }
  var inCount: Int { inSize.reduce(1, *) }

  /// Resolves pads and output size (Conv/pool rule), validating every attribute; errors name the node.
  static func resolve(_ a: WindowAttributes, inSize: [Int], kernel weightKernel: [Int]?, _ label: String) throws -> WindowGeometry {
    let r = inSize.count
    func fail(_ what: String) -> SecateurError { SecateurError.invalidModel("\(label): \(what)") }
    guard r >= 1 else { throw fail("input needs at least one spatial dimension") }
    let kernel: [Int]
    if let k = a.kernel {
      if let wk = weightKernel, wk != k { throw fail("kernel_shape \(k) does not match the weight's spatial dims \(wk)") }
      kernel = k
    } else if let wk = weightKernel {
      kernel = wk
    } else {
      throw fail("kernel_shape is required")
    }
    let strides = a.strides ?? Array(repeating: 1, count: r)
    let dilations = a.dilations ?? Array(repeating: 1, count: r)
    guard kernel.count == r else { throw fail("kernel_shape \(kernel) must have \(r) values for a \(r)-D input") }
    guard strides.count == r else { throw fail("strides \(strides) must have \(r) values") }
    guard dilations.count == r else { throw fail("dilations \(dilations) must have \(r) values") }
    guard kernel.allSatisfy({ $0 >= 1 }) else { throw fail("kernel_shape \(kernel): every value must be ≥ 1") }
    guard strides.allSatisfy({ $0 >= 1 }) else { throw fail("strides \(strides): every value must be ≥ 1") }
    guard dilations.allSatisfy({ $0 >= 1 }) else { throw fail("dilations \(dilations): every value must be ≥ 1") }
    guard inSize.allSatisfy({ $0 >= 0 }) else { throw fail("input spatial dims \(inSize) must be ≥ 0") }
    // Guard the arithmetic below against model-controlled overflow.
    let limit = 1 << 31
    guard (kernel + strides + dilations + inSize).allSatisfy({ $0 < limit }) else { throw fail("window attributes are too large") }
    var pb = [Int](repeating: 0, count: r), pe = pb, out = pb
    for i in 0..<r {
      let ek = (kernel[i] - 1) * dilations[i] + 1
      switch a.autoPad {
      case .notSet:
        if let p = a.pads {
          guard p.count == 2 * r else { throw fail("pads \(p) must have \(2 * r) values") }
          guard p.allSatisfy({ $0 >= 0 && $0 < limit }) else { throw fail("pads \(p): every value must be ≥ 0") }
          pb[i] = p[i]; pe[i] = p[i + r]
        }
        let span = inSize[i] + pb[i] + pe[i] - ek
        guard span >= 0 else {
          throw fail("window \(ek) (kernel \(kernel[i]), dilation \(dilations[i])) is larger than padded input \(inSize[i] + pb[i] + pe[i]) on spatial axis \(i)")
        }
        if a.ceilMode {
          var o = (span + strides[i] - 1) / strides[i] + 1
          // The last window must start inside the input or the left padding.
          if (o - 1) * strides[i] >= inSize[i] + pb[i] { o -= 1 }
          out[i] = o
        } else {
          out[i] = span / strides[i] + 1
        }
      case .valid:
        let span = inSize[i] - ek
        guard span >= 0 else { throw fail("window \(ek) is larger than the input \(inSize[i]) on spatial axis \(i) (auto_pad VALID)") }
        out[i] = span / strides[i] + 1
      case .sameUpper, .sameLower:
        out[i] = (inSize[i] + strides[i] - 1) / strides[i]
        let total = max(0, (out[i] - 1) * strides[i] + ek - inSize[i])
        pb[i] = a.autoPad == .sameUpper ? total / 2 : total - total / 2
        pe[i] = total - pb[i]
      }
      guard out[i] >= 1 else { throw fail("output spatial size \(out[i]) on axis \(i) must be ≥ 1") }
    }
    return WindowGeometry(inSize: inSize, kernel: kernel, strides: strides, dilations: dilations,
                          padsBegin: pb, padsEnd: pe, outSize: out)
  }

  /// The geometry with leading unit dims so it has exactly three spatial dims (rank ≤ 3 only).
  var padded3: WindowGeometry {
    let k = 3 - rank
    guard k > 0 else { return self }
    let ones = [Int](repeating: 1, count: k), zeros = [Int](repeating: 0, count: k)
    return WindowGeometry(inSize: ones + inSize, kernel: ones + kernel, strides: ones + strides,
                          dilations: ones + dilations, padsBegin: zeros + padsBegin, padsEnd: zeros + padsEnd,
                          outSize: ones + outSize)
  }
}
