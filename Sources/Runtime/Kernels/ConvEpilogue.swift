import CKernels

/// Work a convolution applies to each output element in the same pass that produced it, while the
/// freshly written tile is still in cache:
///
///     y = activation(acc · scale[c] + bias[c] + residual)
///
/// The ONNX `Conv` kernel uses bias only; the optimizer's fusions (folded BatchNormalization → `scale`,
/// Relu/Clip/… → `activation`, a following Add → `residualInput`) set the rest.
struct ConvEpilogue: Sendable {
  /// Per-output-channel multiplier (folded BatchNormalization), or nil for 1.
  var scale: [Float]?
  /// Activation applied last.
  var activation: Activation = .none
  /// Index of an extra kernel input with the output's shape added before the activation, or nil.
  var residualInput: Int?

  init(scale: [Float]? = nil, activation: Activation = .none, residualInput: Int? = nil) {
    self.scale = scale
    self.activation = activation
    self.residualInput = residualInput
  }

  /// True when applying it with a zero bias changes nothing.
  var isIdentity: Bool {
    if case .none = activation { return scale == nil && residualInput == nil }
    return false
  }

  /// The clamp bounds when the activation is none, Relu or Clip (what the C microkernels fuse), else nil.
  var clampBounds: (lo: Float, hi: Float)? {
    switch activation {
    case .none: return (-.infinity, .infinity)
    case .relu: return (0, .infinity)
    case .clip(let lo, let hi): return lo <= hi ? (lo, hi) : nil
    default: return nil
    }
  }

  /// The parameters the C microkernels take for channel `channel`; the activation is left out (±∞
  /// bounds) when it is not a clamp, and the caller applies it after.
  func cParameters(channel: Int, bias: Float, residual: UnsafePointer<Float>?) -> sct_epilogue_f32 {
    let s: Float = scale.map { channel < $0.count ? $0[channel] : 1 } ?? 1
    let (lo, hi) = clampBounds ?? (-.infinity, .infinity)
    return sct_epilogue_f32(scale: s, bias: bias, lo: lo, hi: hi, residual: residual)
  }

  /// Applies the epilogue to `count` consecutive outputs of channel `channel`.
  @inline(__always)
  func apply(_ y: UnsafeMutablePointer<Float>, count: Int, channel: Int, bias: Float,
             residual: UnsafePointer<Float>?) {
    if clampBounds != nil {
      // One SIMD pass (runtime-dispatched C) instead of up to three scalar ones.
      var p = cParameters(channel: channel, bias: bias, residual: residual)
      sct_epilogue_apply_f32(y, count, &p)
      return
    }
    let s: Float = scale.map { channel < $0.count ? $0[channel] : 1 } ?? 1
    if s != 1 || bias != 0 {
      for i in 0..<count { y[i] = y[i] * s + bias }
    }
    if let residual {
      for i in 0..<count { y[i] += residual[i] }
    }
    // Here the activation is none of the clamps above (HardSwish, HardSigmoid, …, or a Clip with
    // lo > hi): the shared pass applies it, with CKernels' SIMD loop for the MobileNetV3 gates.
    activation.apply(y, count: count)
  }
}
