import ModelFormat

/// Secateur's own fused node types (domain `com.secateur`, produced by the optimizer's fusion passes and
/// never written to files): `Activation`, `FusedConv`, `FusedGemm` and `LayerNormalization`. The attribute encoding is defined
/// once, in Optimizer/Fusion/FusedOps.swift.
enum FusedKernels {
  static let domain = "com.secateur"
  static let registrations: [OpRegistration] = [
    OpRegistration("Activation", domain: domain) { ctx in
      try ActivationKernel(activation: parseActivation(ctx) ?? .none)
    },
    OpRegistration("FusedConv", domain: domain) { ctx in
      try ConvKernel(ctx, epilogue: ConvEpilogue(activation: parseActivation(ctx) ?? .none,
                                                 residualInput: ctx.node.input(3) != nil ? 3 : nil))
    },
    // LayerNormalization fused from its decomposed form in models older than opset 17.
    OpRegistration("LayerNormalization", domain: domain) { try LayerNormKernel($0, rms: false) },
    OpRegistration("FusedGemm", domain: domain) { ctx in
      try GemmKernel(ctx, activation: parseActivation(ctx) ?? .none)
    },
  ]

  /// The `activation` / `activation_params` attributes as a runtime `Activation`, or nil when absent.
  static func parseActivation(_ ctx: NodeContext) throws -> Activation? {
    guard ctx.node.attribute("activation") != nil else { return nil }
    let kind = try ctx.string("activation", "")
    let p = try ctx.floats("activation_params") ?? []
    func param(_ i: Int, _ def: Float) -> Float { i < p.count ? p[i] : def }
    switch kind {
    case "Relu": return .relu
    case "LeakyRelu": return .leakyRelu(alpha: param(0, 0.01))
    case "Clip": return .clip(min: param(0, -.infinity), max: param(1, .infinity))
    case "Sigmoid": return .sigmoid
    case "HardSigmoid": return .hardSigmoid(alpha: param(0, 0.2), beta: param(1, 0.5))
    case "HardSwish": return .hardSwish
    case "Tanh": return .tanh
    case "SiLU": return .silu
    case "Gelu": return .gelu
    default: throw ctx.unsupported("activation '\(kind)' is not supported")
    }
  }
}

/// One pointwise activation over a float32 tensor, parallel over ranges.
final class ActivationKernel: OpKernel {
  let activation: Activation
  init(activation: Activation) { self.activation = activation }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, "Activation")
    try x.require([.float], "Activation")
    return [x]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let src = x.pointer(Float.self), dst = outputs[0].pointer(Float.self)
    let act = activation
    context.pool.parallelRanges(x.count, grain: 16384) { r in
      (dst + r.lowerBound).update(from: src + r.lowerBound, count: r.count)
      act.apply(dst + r.lowerBound, count: r.count)
    }
  }
}
