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

  /// Applies the epilogue to `count` consecutive outputs of channel `channel`.
  @inline(__always)
  func apply(_ y: UnsafeMutablePointer<Float>, count: Int, channel: Int, bias: Float,
             residual: UnsafePointer<Float>?) {
    let s: Float = scale.map { channel < $0.count ? $0[channel] : 1 } ?? 1
    if s != 1 || bias != 0 {
      for i in 0..<count { y[i] = y[i] * s + bias }
    }
    if let residual {
      for i in 0..<count { y[i] += residual[i] }
    }
    switch activation {
    case .none: break
    case .relu: for i in 0..<count { y[i] = max(y[i], 0) }
    case .clip(let lo, let hi): for i in 0..<count { y[i] = min(max(y[i], lo), hi) }
    default:
      let act = activation
      for i in 0..<count { y[i] = act.apply(y[i]) }
    }
  }
}
