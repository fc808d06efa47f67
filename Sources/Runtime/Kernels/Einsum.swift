import ModelFormat

/// ONNX `Einsum` (12), `MatMulInteger` (10) and `QLinearMatMul` (10; 21 adds float16 scales and
/// more types). Einsum is evaluated directly over the index space (every output index × every
/// summed index), accumulating floats in Double and integers in wrapping Int64.
enum EinsumKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("Einsum", since: 12) { try EinsumKernel($0) },
    OpRegistration("MatMulInteger", since: 10) { try IntegerMatMulKernel($0, quantized: false) },
    OpRegistration("QLinearMatMul", since: 10) { try IntegerMatMulKernel($0, quantized: true) },
    OpRegistration("QLinearMatMul", since: 21) { try IntegerMatMulKernel($0, quantized: true) },  // 21: float16 scales
  ]
}

final class EinsumKernel: OpKernel {
  let label: String
  /// Terms as label lists; "…" stands for an ellipsis.
  let inputTerms: [[String]]
  let outputTerm: [String]?
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    let eq = Array(try ctx.string("equation", "").filter { $0 != " " })
    guard !eq.isEmpty else { throw ctx.error("attribute equation is required") }
    // Tokenise: letters, ',', '->', '...'.
    var terms: [[String]] = [[]], output: [String]? = nil
    var i = 0
    while i < eq.count {
      let c = eq[i]
      if c == "." {
        guard i + 2 < eq.count, eq[i + 1] == ".", eq[i + 2] == "." else { throw ctx.error("equation has a stray '.'") }
        if output != nil { output!.append("…") } else { terms[terms.count - 1].append("…") }
        i += 3
        continue
      }
      if c == "-" {
        guard i + 1 < eq.count, eq[i + 1] == ">", output == nil else { throw ctx.error("equation has a stray '-'") }
        output = []
        i += 2
        continue
      }
      if c == "," {
        guard output == nil else { throw ctx.error("equation has ',' after '->'") }
        terms.append([])
      } else if c.isLetter {
        if output != nil { output!.append(String(c)) } else { terms[terms.count - 1].append(String(c)) }
      } else {
        throw ctx.error("equation has an invalid character '\(c)'")
      }
      i += 1
    }
    inputTerms = terms
    outputTerm = output
  }

  /// Labels per input (ellipsis expanded into "0", "1", … right-aligned), the output labels, and sizes.
  private func resolve(_ shapes: [[Int]]) throws -> (ins: [[String]], out: [String], size: [String: Int]) {
    guard shapes.count == inputTerms.count else {
      throw SecateurError.invalidModel("\(label): equation has \(inputTerms.count) terms for \(shapes.count) inputs")
    }
    var ellipsisRank = 0
    var ins: [[String]] = []
    func expand(_ term: [String], _ e: Int, _ total: Int) -> [String] {
      guard let at = term.firstIndex(of: "…") else { return term }
      return Array(term[..<at]) + (0..<e).map { "\(total - e + $0)" } + Array(term[(at + 1)...])
    }
    for (term, shape) in zip(inputTerms, shapes) {
      let letters = term.filter { $0 != "…" }.count
      let e = shape.count - letters
      guard e >= 0, term.contains("…") || e == 0 else {
        throw SecateurError.invalidModel("\(label): term '\(term.joined())' does not fit shape \(shape)")
      }
      ellipsisRank = max(ellipsisRank, e)
    }
    for (term, shape) in zip(inputTerms, shapes) {
      ins.append(expand(term, shape.count - term.filter { $0 != "…" }.count, ellipsisRank))
    }
    var size: [String: Int] = [:]
    for (labels, shape) in zip(ins, shapes) {
      for (l, d) in zip(labels, shape) {
        if let s = size[l], s != d {
          if s == 1 { size[l] = d } else if d != 1 { throw SecateurError.invalidModel("\(label): label '\(l)' has sizes \(s) and \(d)") }
        } else if size[l] == nil { size[l] = d }
      }
    }
    let dots = (0..<ellipsisRank).map { "\($0)" }
    var out: [String]
    if let o = outputTerm {
      out = expand(o, ellipsisRank, ellipsisRank)
    } else {
      var counts: [String: Int] = [:]
      for l in ins.joined() where l.first?.isLetter ?? false { counts[l, default: 0] += 1 }
      out = dots + counts.filter { $0.value == 1 }.keys.sorted()
    }
    for l in out where size[l] == nil { throw SecateurError.invalidModel("\(label): output label '\(l)' is not in any input") }
    return (ins, out, size)
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let specs = try inputs.indices.map { try required(inputs, $0, label) }
    guard let t = specs.first?.dataType, specs.allSatisfy({ $0.dataType == t }) else {
      throw SecateurError.invalidModel("\(label): inputs must share one element type")
    }
    try specs[0].require([.float, .double, .float16, .bfloat16, .int32, .int64, .uint32, .uint64], label)
    let r = try resolve(specs.map(\.shape))
    return [TensorSpec(t, r.out.map { r.size[$0] ?? 1 })]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    let views = inputs.compactMap { $0 }
    let r = try resolve(views.map(\.shape))
    let summed = Array(Set(r.ins.flatMap { $0 }).subtracting(r.out)).sorted()
    let all = r.out + summed
    let pos = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1, $0) })
    let dims = all.map { r.size[$0] ?? 1 }
    // Per input: stride of each loop label (0 where it is absent or broadcast).
    let strides: [[Int]] = zip(r.ins, views).map { labels, v in
      var s = [Int](repeating: 0, count: all.count)
      let own = stridesOf(v.shape)
      for (i, l) in labels.enumerated() where v.shape[i] != 1 { if let p = pos[l] { s[p] += own[i] } }
      return s
    }
    let data = try views.map { try readAsDouble($0.dataType, $0.data, count: $0.count, label) }
    let outCount = r.out.reduce(1) { $0 * (r.size[$1] ?? 1) }
    let inner = summed.reduce(1) { $0 * (r.size[$1] ?? 1) }
    var y = [Double](repeating: 0, count: outCount)
    var idx = [Int](repeating: 0, count: all.count)
    var offs = [Int](repeating: 0, count: views.count)
    // One odometer over all labels, output labels slowest: every `inner` steps complete one output.
    var acc = 0.0
    for lin in 0..<(outCount * inner) {
      var p = 1.0
      for k in 0..<views.count { p *= data[k][offs[k]] }
      acc += p
      if (lin + 1) % inner == 0 { y[lin / inner] = acc; acc = 0 }
      var d = all.count - 1
      while d >= 0 {
        idx[d] += 1
        for k in 0..<views.count { offs[k] += strides[k][d] }
        if idx[d] < dims[d] { break }
        for k in 0..<views.count { offs[k] -= strides[k][d] * dims[d] }
        idx[d] = 0
        d -= 1
      }
    }
    try writeFromDouble(y, outputs[0].dataType, outputs[0].data, saturate: true, rounding: .up, label)
  }
}

/// `MatMulInteger` (int32 = (A − a_zp)·(B − b_zp)) and `QLinearMatMul` (the same, requantized by
/// a_scale·b_scale / y_scale and y_zero_point, rounded half to even and saturated).
final class IntegerMatMulKernel: OpKernel {
  let label: String
  let quantized: Bool
  init(_ ctx: NodeContext, quantized: Bool) throws {
    label = ctx.label
    self.quantized = quantized
  }
  private var bIndex: Int { quantized ? 3 : 1 }

  private func shapes(_ a: [Int], _ b: [Int]) throws -> (batch: [Int], m: Int, k: Int, n: Int, out: [Int]) {
    guard !a.isEmpty, !b.isEmpty else { throw SecateurError.invalidModel("\(label): operands must have rank ≥ 1") }
    let a2 = a.count == 1 ? [1] + a : a, b2 = b.count == 1 ? b + [1] : b
    let (m, k) = (a2[a2.count - 2], a2[a2.count - 1]), (k2, n) = (b2[b2.count - 2], b2[b2.count - 1])
    guard k == k2 else { throw SecateurError.invalidModel("\(label): shapes \(a) and \(b) cannot be multiplied") }
    let batch = try broadcastShapes([Array(a2.dropLast(2)), Array(b2.dropLast(2))], label)
    var out = batch
    if a.count > 1 { out.append(m) }
    if b.count > 1 { out.append(n) }
    return (batch, m, k, n, out)
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let a = try required(inputs, 0, label), b = try required(inputs, bIndex, label)
    try a.require([.uint8, .int8], label)
    try b.require([.uint8, .int8], label)
    let s = try shapes(a.shape, b.shape)
    if quantized {
      let yzp = inputs.count > 7 ? inputs[7] : nil
      return [TensorSpec(yzp?.dataType ?? a.dataType, s.out)]
    }
    return [TensorSpec(.int32, s.out)]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let av = inputs[0], let bv = inputs[bIndex] else { return }
    func read(_ i: Int) throws -> [Double]? {
      guard i < inputs.count, let v = inputs[i] else { return nil }
      return try readAsDouble(v.dataType, v.data, count: v.count, label)
    }
    let s = try shapes(av.shape, bv.shape)
    let a = try read(0) ?? [], b = try read(bIndex) ?? []
    let azp = try read(quantized ? 2 : 2) ?? [0], bzp = try read(quantized ? 5 : 3) ?? [0]
    let a2 = av.shape.count == 1 ? [1] + av.shape : av.shape, b2 = bv.shape.count == 1 ? bv.shape + [1] : bv.shape
    let aStr = broadcastStrides(Array(a2.dropLast(2)), to: s.batch), bStr = broadcastStrides(Array(b2.dropLast(2)), to: s.batch)
    let batchCount = s.batch.reduce(1, *), bst = stridesOf(s.batch)
    var c = [Double](repeating: 0, count: batchCount * s.m * s.n)
    for bi in 0..<batchCount {
      var ao = 0, bo = 0, rem = bi
      for d in 0..<s.batch.count { let q = rem / bst[d]; rem %= bst[d]; ao += q * aStr[d]; bo += q * bStr[d] }
      ao *= s.m * s.k; bo *= s.k * s.n
      for i in 0..<s.m {
        // Zero points are per-tensor or per-row (A) / per-column (B).
        let za = azp.count == 1 ? azp[0] : azp[min(i, azp.count - 1)]
        for j in 0..<s.n {
          let zb = bzp.count == 1 ? bzp[0] : bzp[min(j, bzp.count - 1)]
          var acc = 0.0
          for p in 0..<s.k { acc += (a[ao + i * s.k + p] - za) * (b[bo + p * s.n + j] - zb) }
          c[(bi * s.m + i) * s.n + j] = acc
        }
      }
    }
    if !quantized {
      try writeFromDouble(c, .int32, outputs[0].data, saturate: true, rounding: .up, label)
      return
    }
    let sa = try read(1) ?? [1], sb = try read(4) ?? [1], sy = try read(6) ?? [1], yzp = try read(7) ?? [0]
    let scaleType = inputs[1]?.dataType ?? .float
    let round = roundingFunction(scaleType)
    let y = outputs[0]
    guard let (lo, hi) = quantRange(y.dataType) else { throw SecateurError.unsupported("\(label): output type \(y.dataType)") }
    let multiplier = round(round(sa[0] * sb[0]) / sy[0])
    let out = c.map { min(max((($0 * multiplier) + yzp[0]).rounded(.toNearestOrEven), lo), hi) }
    try writeFromDouble(out, y.dataType, y.data, saturate: true, rounding: .up, label)
  }
}
