import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// A pointwise activation a producer kernel (Conv, Gemm, MatMul) can fuse into its epilogue.
///
/// The formulas match the ONNX ops of the same name with their spec defaults:
/// `leakyRelu(alpha: 0.01)`, `hardSigmoid(alpha: 0.2, beta: 0.5)`, `clip(min: -inf, max: +inf)`;
/// `silu` is `x * sigmoid(x)`; `gelu` is the exact (erf) form.
public enum Activation: Sendable, Hashable {
  case none
  case relu
  case leakyRelu(alpha: Float)
  case clip(min: Float, max: Float)
  case sigmoid
  case hardSigmoid(alpha: Float, beta: Float)
  case hardSwish
  case tanh
  case silu
  case gelu

  /// The activation of one value.
  @inlinable
  public func apply(_ x: Float) -> Float {
    switch self {
    case .none: return x
    case .relu: return x > 0 ? x : 0
    case .leakyRelu(let alpha): return x < 0 ? alpha * x : x
    case .clip(let lo, let hi): return Swift.min(Swift.max(x, lo), hi)
    case .sigmoid: return Activation.sigmoid(x)
    case .hardSigmoid(let alpha, let beta): return Swift.max(0, Swift.min(1, alpha * x + beta))
    case .hardSwish: return x * Swift.max(0, Swift.min(1, x * (1 / 6) + 0.5))
    case .tanh: return tanhf(x)
    case .silu: return x * Activation.sigmoid(x)
    case .gelu: return 0.5 * x * (1 + erff(x * 0.70710678118654752))
    }
  }

  /// Applies the activation in place to `count` values at `p`.
  ///
  /// Implementation note: the switch is hoisted out of the loop so each case's loop is a tight,
  /// vectorisable body (the common relu/clip cases compile to min/max vector instructions). The
  /// MobileNetV3 activations, which the conv epilogues do not fuse, run in CKernels' SIMD loop: in Swift
  /// (SSE2, min/max with Swift's NaN rules) they were 10 % of PP-OCR's direction classifier.
  public func apply(_ p: UnsafeMutablePointer<Float>, count: Int) {
    switch self {
    case .none: return
    case .relu: for i in 0..<count { p[i] = p[i] > 0 ? p[i] : 0 }
    case .leakyRelu(let alpha): for i in 0..<count { p[i] = p[i] < 0 ? alpha * p[i] : p[i] }
    case .clip(let lo, let hi): for i in 0..<count { p[i] = Swift.min(Swift.max(p[i], lo), hi) }
    case .hardSwish: sct_hard_gate_f32(p, count, 1 / 6, 0.5, 1)
    case .hardSigmoid(let alpha, let beta): sct_hard_gate_f32(p, count, alpha, beta, 0)
    default: for i in 0..<count { p[i] = apply(p[i]) }
    }
  }

  /// Numerically stable logistic function (no overflow of `exp` for large |x|).
  @inlinable
  static func sigmoid(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + expf(-x)) }
    let e = expf(x)
    return e / (1 + e)
  }
}
