import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// ONNX recurrent layers `RNN`, `GRU` and `LSTM` (7; 14 adds `layout`), forward / reverse /
/// bidirectional, with `sequence_lens`, initial states, `clip`, custom activations, GRU's
/// `linear_before_reset` and LSTM's peepholes and `input_forget`.
///
/// Gate order in W, R and B follows the spec: LSTM i, o, f, c; GRU z, r, h; RNN one gate.
/// Steps past a batch entry's sequence length leave Y at zero and carry the state unchanged.
enum RecurrentKernels {
  static let registrations: [OpRegistration] = [RecurrentKernel.Cell.rnn, .gru, .lstm].flatMap { cell in
    [
      OpRegistration(cell.rawValue, since: 7) { try RecurrentKernel($0, cell) },
      OpRegistration(cell.rawValue, since: 14) { try RecurrentKernel($0, cell) },  // 14: 'layout' (batch-major)
    ]
  }
}

/// One activation function of the recurrent ops' `activations` list.
struct RecurrentActivation {
  let name: String
  let alpha: Double, beta: Double
  func callAsFunction(_ x: Double) -> Double {
    switch name {
    case "Relu": return max(x, 0)
    case "Tanh": return tanh(x)
    case "Sigmoid": return 1 / (1 + exp(-x))
    case "Affine": return alpha * x + beta
    case "LeakyRelu": return x < 0 ? alpha * x : x
    case "ThresholdedRelu": return x > alpha ? x : 0
    case "ScaledTanh": return alpha * tanh(beta * x)
    case "HardSigmoid": return max(0, min(1, alpha * x + beta))
    case "Elu": return x < 0 ? alpha * (exp(x) - 1) : x
    case "Softsign": return x / (1 + abs(x))
    case "Softplus": return log(1 + exp(x))
    default: return x
    }
  }
  /// Default (alpha, beta) and whether the function takes them, per the ONNX operator docs.
  static func defaults(_ name: String) -> (Double, Double, Int)? {
    switch name {
    case "Relu", "Tanh", "Sigmoid", "Softsign", "Softplus": return (0, 0, 0)
    case "Affine": return (1, 0, 2)
    case "LeakyRelu": return (0.01, 0, 1)
    case "ThresholdedRelu": return (1, 0, 1)
    case "ScaledTanh": return (1, 1, 2)
    case "HardSigmoid": return (0.2, 0.5, 2)
    case "Elu": return (1, 0, 1)
    default: return nil
    }
  }
}

final class RecurrentKernel: OpKernel {
  enum Cell: String { case rnn = "RNN", gru = "GRU", lstm = "LSTM" }
  let label: String
  let cell: Cell
  let directions: Int
  let reverseOnly: Bool
  let hiddenSize: Int?
  let clip: Double?
  let layout: Int
  let linearBeforeReset: Bool
  let inputForget: Bool
  /// Activations per direction (f, g, h for LSTM; f, g for GRU; f for RNN).
  let activations: [[RecurrentActivation]]
  let wanted: [Bool]

  var gates: Int { cell == .lstm ? 4 : cell == .gru ? 3 : 1 }

  init(_ ctx: NodeContext, _ cell: Cell) throws {
    label = ctx.label
    self.cell = cell
    let dir = try ctx.string("direction", "forward")
    guard ["forward", "reverse", "bidirectional"].contains(dir) else { throw ctx.error("direction '\(dir)' is not valid") }
    directions = dir == "bidirectional" ? 2 : 1
    reverseOnly = dir == "reverse"
    hiddenSize = try ctx.intOrNil("hidden_size")
    clip = try ctx.node.attribute("clip") != nil ? Double(ctx.float("clip", 0)) : nil
    layout = try ctx.int("layout", 0)
    linearBeforeReset = try ctx.int("linear_before_reset", 0) != 0
    inputForget = try ctx.int("input_forget", 0) != 0
    let perDir = cell == .lstm ? 3 : cell == .gru ? 2 : 1
    let defaults = cell == .lstm ? ["Sigmoid", "Tanh", "Tanh"] : cell == .gru ? ["Sigmoid", "Tanh"] : ["Tanh"]
    var names: [String] = defaults + (directions == 2 ? defaults : [])
    if let a = ctx.node.attribute("activations") {
      guard case .strings(let raw) = a.value, case let s = raw.map({ String(decoding: $0, as: UTF8.self) }),
            s.count == perDir * directions else {
        throw ctx.error("attribute activations must list \(perDir * directions) functions")
      }
      names = s
    }
    var alphas = try ctx.floats("activation_alpha") ?? [], betas = try ctx.floats("activation_beta") ?? []
    var acts: [RecurrentActivation] = []
    for n in names {
      let canonical = RecurrentKernel.canonicalNames[n.lowercased()] ?? n
      guard let (da, db, takes) = RecurrentActivation.defaults(canonical) else {
        throw ctx.unsupported("activation '\(n)' is not supported")
      }
      var a = da, b = db
      if takes >= 1, !alphas.isEmpty { a = Double(alphas.removeFirst()) }
      if takes >= 2, !betas.isEmpty { b = Double(betas.removeFirst()) }
      acts.append(RecurrentActivation(name: canonical, alpha: a, beta: b))
    }
    activations = (0..<directions).map { Array(acts[($0 * perDir)..<(($0 + 1) * perDir)]) }
    let outCount = cell == .lstm ? 3 : 2
    wanted = (0..<outCount).map { $0 < ctx.node.outputs.count && !ctx.node.outputs[$0].isEmpty }
  }

  static let canonicalNames: [String: String] = Dictionary(uniqueKeysWithValues:
    ["Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh", "HardSigmoid", "Elu",
     "Softsign", "Softplus"].map { ($0.lowercased(), $0) })

  struct Dims { var seq = 0, batch = 0, input = 0, hidden = 0 }

  private func dims(_ inputs: [TensorSpec?]) throws -> Dims {
    let x = try required(inputs, 0, label), w = try required(inputs, 1, label), r = try required(inputs, 2, label)
    try x.require([.float, .double, .float16, .bfloat16], label)
    guard x.rank == 3, w.rank == 3, r.rank == 3 else { throw SecateurError.invalidModel("\(label): X, W and R must be rank 3") }
    var d = Dims()
    d.seq = layout == 0 ? x.shape[0] : x.shape[1]
    d.batch = layout == 0 ? x.shape[1] : x.shape[0]
    d.input = x.shape[2]
    d.hidden = r.shape[2]
    if let h = hiddenSize, h != d.hidden { throw SecateurError.invalidModel("\(label): hidden_size \(h) but R is \(r.shape)") }
    let gh = gates * d.hidden
    guard w.shape == [directions, gh, d.input], r.shape == [directions, gh, d.hidden] else {
      throw SecateurError.invalidModel("\(label): W \(w.shape) / R \(r.shape) must be [\(directions), \(gh), I/H]")
    }
    func check(_ i: Int, _ shape: [Int], _ name: String) throws {
      if inputs.count > i, let s = inputs[i], s.shape != shape {
        throw SecateurError.invalidModel("\(label): \(name) shape \(s.shape) must be \(shape)")
      }
    }
    try check(3, [directions, 2 * gh], "B")
    try check(4, [d.batch], "sequence_lens")
    let stateShape = layout == 0 ? [directions, d.batch, d.hidden] : [d.batch, directions, d.hidden]
    try check(5, stateShape, "initial_h")
    if cell == .lstm {
      try check(6, stateShape, "initial_c")
      try check(7, [directions, 3 * d.hidden], "P")
    }
    return d
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let d = try dims(inputs)
    let t = inputs[0]!.dataType
    let y = layout == 0 ? [d.seq, directions, d.batch, d.hidden] : [d.batch, d.seq, directions, d.hidden]
    let state = layout == 0 ? [directions, d.batch, d.hidden] : [d.batch, directions, d.hidden]
    let all = [TensorSpec(t, y), TensorSpec(t, state), TensorSpec(t, state)]
    return Array(all.prefix(cell == .lstm ? 3 : 2))
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    let d = try dims(inputs.map { $0?.spec })
    func read(_ i: Int) throws -> [Double]? {
      guard i < inputs.count, let v = inputs[i] else { return nil }
      return try readAsDouble(v.dataType, v.data, count: v.count, label)
    }
    guard let x = try read(0), let w = try read(1), let r = try read(2) else { return }
    let b = try read(3), lens = try read(4), h0 = try read(5)
    let c0 = cell == .lstm ? try read(6) : nil, p = cell == .lstm ? try read(7) : nil
    let (S, N, I, H, G) = (d.seq, d.batch, d.input, d.hidden, gates)
    // Index helpers for the two layouts.
    func xAt(_ t: Int, _ n: Int) -> Int { layout == 0 ? (t * N + n) * I : (n * S + t) * I }
    func stateAt(_ dir: Int, _ n: Int) -> Int { layout == 0 ? (dir * N + n) * H : (n * directions + dir) * H }
    func yAt(_ t: Int, _ dir: Int, _ n: Int) -> Int {
      layout == 0 ? ((t * directions + dir) * N + n) * H : ((n * S + t) * directions + dir) * H
    }
    var y = [Double](repeating: 0, count: S * directions * N * H)
    var yh = [Double](repeating: 0, count: directions * N * H), yc = yh
    var gate = [Double](repeating: 0, count: G * H), rh = [Double](repeating: 0, count: H)
    for dir in 0..<directions {
      let reverse = reverseOnly || dir == 1
      let act = activations[dir]
      let wOff = dir * G * H * I, rOff = dir * G * H * H, bOff = dir * 2 * G * H
      for n in 0..<N {
        let len = lens.map { max(0, min(S, Int($0[n]))) } ?? S
        var hState = (0..<H).map { h0?[stateAt(dir, n) + $0] ?? 0 }
        var cState = (0..<H).map { c0?[stateAt(dir, n) + $0] ?? 0 }
        for step in 0..<len {
          let t = reverse ? len - 1 - step : step
          let xo = xAt(t, n)
          // gate[g·H + j] = x·W[g] + b_W (+ h·R[g] + b_R, except GRU's h gate which needs r first).
          for g in 0..<G {
            for j in 0..<H {
              let row = g * H + j
              var acc = b?[bOff + row] ?? 0
              for k in 0..<I { acc += x[xo + k] * w[wOff + row * I + k] }
              if !(cell == .gru && g == 2) {
                acc += b?[bOff + G * H + row] ?? 0
                for k in 0..<H { acc += hState[k] * r[rOff + row * H + k] }
              }
              gate[row] = acc
            }
          }
          func clipped(_ v: Double) -> Double { clip.map { min(max(v, -$0), $0) } ?? v }
          switch cell {
          case .rnn:
            for j in 0..<H { hState[j] = act[0](clipped(gate[j])) }
          case .gru:
            var z = [Double](repeating: 0, count: H), rg = z
            for j in 0..<H { z[j] = act[0](clipped(gate[j])); rg[j] = act[0](clipped(gate[H + j])) }
            for j in 0..<H {
              let row = 2 * H + j
              var rec = 0.0
              if linearBeforeReset {
                for k in 0..<H { rec += hState[k] * r[rOff + row * H + k] }
                rec = rg[j] * (rec + (b?[bOff + G * H + row] ?? 0))
              } else {
                for k in 0..<H { rec += rg[k] * hState[k] * r[rOff + row * H + k] }
                rec += b?[bOff + G * H + row] ?? 0
              }
              rh[j] = act[1](clipped(gate[row] + rec))
            }
            for j in 0..<H { hState[j] = (1 - z[j]) * rh[j] + z[j] * hState[j] }
          case .lstm:
            let pOff = dir * 3 * H
            for j in 0..<H {
              let pi = p?[pOff + j] ?? 0, po = p?[pOff + H + j] ?? 0, pf = p?[pOff + 2 * H + j] ?? 0
              let i = act[0](clipped(gate[j] + pi * cState[j]))
              let f = inputForget ? 1 - i : act[0](clipped(gate[2 * H + j] + pf * cState[j]))
              let c = act[1](clipped(gate[3 * H + j]))
              let cNew = f * cState[j] + i * c
              let o = act[0](clipped(gate[H + j] + po * cNew))
              cState[j] = cNew
              hState[j] = o * act[2](cNew)
            }
          }
          for j in 0..<H { y[yAt(t, dir, n) + j] = hState[j] }
        }
        for j in 0..<H { yh[stateAt(dir, n) + j] = hState[j]; yc[stateAt(dir, n) + j] = cState[j] }
      }
    }
    let t = inputs[0]!.dataType
    let results = [y, yh, yc]
    for k in 0..<min(outputs.count, results.count) where wanted[k] {
      try writeFromDouble(results[k], t, outputs[k].data, saturate: true, rounding: .up, label)
    }
  }
}
