import ModelFormat

/// `ai.onnx.preview.training` optimizer steps (version 1): `Adagrad`, `Adam` and `Momentum`
/// (standard or Nesterov). Inputs are R (learning rate), T (step count), then n tensors each of X, G
/// and the optimizer's state (Adagrad H; Adam V, H; Momentum V); outputs are the new X, then states.
enum TrainingKernels {
  static let registrations: [OpRegistration] = [TrainingStepKernel.Kind.adagrad, .adam, .momentum].map { k in
    OpRegistration(k.rawValue, domain: "ai.onnx.preview.training", since: 1) { try TrainingStepKernel($0, k) }
  }
}

final class TrainingStepKernel: OpKernel {
  enum Kind: String { case adagrad = "Adagrad", adam = "Adam", momentum = "Momentum" }
  let label: String
  let kind: Kind
  let alpha: Double, beta: Double, epsilon: Double, decay: Double, norm: Double, normPost: Double
  let nesterov: Bool
  /// Tensors per parameter: X, G and the state tensors.
  var groupSize: Int { kind == .adam ? 4 : 3 }

  init(_ ctx: NodeContext, _ kind: Kind) throws {
    label = ctx.label
    self.kind = kind
    alpha = Double(try ctx.float("alpha", kind == .adam ? 0.9 : 0))
    beta = Double(try ctx.float("beta", kind == .adam ? 0.999 : 0))
    epsilon = Double(try ctx.float("epsilon", 0))
    decay = Double(try ctx.float("decay_factor", 0))
    norm = Double(try ctx.float("norm_coefficient", 0))
    normPost = Double(try ctx.float("norm_coefficient_post", 0))
    let mode = try ctx.string("mode", "standard")
    guard mode == "standard" || mode == "nesterov" else { throw ctx.error("mode '\(mode)' must be standard or nesterov") }
    nesterov = mode == "nesterov"
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let tensors = try (2..<inputs.count).map { try required(inputs, $0, label) }
    guard inputs.count >= 2, tensors.count % groupSize == 0, !tensors.isEmpty else {
      throw SecateurError.invalidModel("\(label): expects R, T and \(groupSize) tensors per parameter")
    }
    let n = tensors.count / groupSize
    for i in 0..<n {
      for g in 1..<groupSize where tensors[g * n + i].shape != tensors[i].shape {
        throw SecateurError.invalidModel("\(label): parameter \(i)'s tensors differ in shape")
      }
    }
    try tensors.forEach { try $0.require([.float, .double], label) }
    // Outputs: new X for each parameter, then each state in input order.
    return Array(tensors[..<n]) + Array(tensors[(2 * n)...])
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    func read(_ i: Int) throws -> [Double] {
      guard i < inputs.count, let v = inputs[i] else { return [] }
      return try readAsDouble(v.dataType, v.data, count: v.count, label)
    }
    let r = try read(0).first ?? 0, t = try read(1).first ?? 0
    let n = (inputs.count - 2) / groupSize
    for i in 0..<n {
      var x = try read(2 + i)
      let g = try read(2 + n + i)
      var s1 = try read(2 + 2 * n + i)
      var s2 = kind == .adam ? try read(2 + 3 * n + i) : []
      for j in 0..<x.count {
        let gr = norm * x[j] + g[j]
        switch kind {
        case .adagrad:
          let rr = r / (1 + t * decay)
          s1[j] += gr * gr
          x[j] -= rr * gr / (s1[j].squareRoot() + epsilon)
        case .adam:
          s1[j] = alpha * s1[j] + (1 - alpha) * gr
          s2[j] = beta * s2[j] + (1 - beta) * gr * gr
          let ra = t > 0 ? r * (1 - pow(beta, t)).squareRoot() / (1 - pow(alpha, t)) : r
          x[j] = (1 - normPost) * (x[j] - ra * s1[j] / (s2[j].squareRoot() + epsilon))
        case .momentum:
          let b = t > 0 ? beta : 1
          s1[j] = alpha * s1[j] + b * gr
          x[j] -= nesterov ? r * (gr + alpha * s1[j]) : r * s1[j]
        }
      }
      let results = kind == .adam ? [x, s1, s2] : [x, s1]
      for (k, values) in results.enumerated() {
        let o = outputs[k * n + i]
        try writeFromDouble(values, o.dataType, o.data, saturate: true, rounding: .up, label)
      }
    }
  }
}

#if canImport(Glibc)
import Glibc
#endif
