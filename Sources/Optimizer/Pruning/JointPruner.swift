import ModelFormat

/// Options of `JointPruner`.
public struct PruneOptions: Sendable {
  public enum Budget: Sendable, Equatable {
    /// Keep at most this fraction of the original MACs.
    case macs(Double)
    /// Run in at most this many milliseconds (measured on this machine, after optimization).
    case latencyMs(Double)
  }
  public var budget: Budget = .macs(0.5)
  public var dimensions: Set<PruneDimension> = Set(PruneDimension.allCases)
  public var seed: UInt64 = 0
  public var population = 8
  public var generations = 4
  /// Calibration inputs (one feed set per sample, batch 1). Generated (standard normal) when empty.
  public var calibration: [[String: Tensor]] = []
  public var calibrationSamples = 4
  public var importance: ImportanceCriterion = .l1
  /// Re-estimate BatchNormalization statistics of each candidate on the calibration data.
  public var recalibrateBN = true
  /// Round kept channel counts up to a multiple of this (1 = off).
  public var roundTo = 1
  /// Channel keep ratios the search may choose.
  public var ratioChoices: [Double] = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.25]
  /// Smallest resolution, as a fraction of the original side; sides are multiples of `resolutionMultiple`.
  public var minResolutionScale = 0.5
  public var resolutionMultiple = 8
  /// Concrete input shapes (overrides for symbolic dims); the first rank-4 input is the image.
  public var inputShapes: [String: [Int]] = [:]
  public var latencyRuns = 10
  public var progress: (@Sendable (String) -> Void)?
  public init() {}
}

/// One decision: channels kept per group, blocks removed, input resolution.
public struct PruneDecision: Sendable, Hashable {
  /// Group id → kept channel count (absent = all).
  public var widths: [Int: Int] = [:]
  public var droppedBlocks: Set<Int> = []
  public var resolution: [Int]
  /// Group id → explicit kept channel indices (from a spec's `keep`); overrides the importance ranking.
  public var keep: [Int: [Int]] = [:]
}

/// A built and measured candidate.
public struct PruneCandidate: Sendable {
  public var decision: PruneDecision
  public var model: Model
  public var macs: Int
  public var parameters: Int
  public var fidelity: Fidelity?
  public var latencyMs: Double?
  public var feasible = true
}

/// Prunes a network jointly along resolution, depth and channels (JointPruning, arXiv 2005.08931),
/// training-free: candidates are scored by output fidelity against the original on calibration data,
/// after BN recalibration.
///
/// Usage: `let p = try JointPruner(model: m, options: o, evaluator: e); let r = try p.search()`, or
/// `try p.apply(spec)` for a fixed decision.
public final class JointPruner: @unchecked Sendable {
  public let options: PruneOptions
  let evaluator: CandidateEvaluator
  /// The model pruning works on: concrete input shapes, constants folded, BN kept.
  public let base: Model
  public let shapes: [String: [Int]]
  public let groups: DependencyGroups
  public let blocks: [ResidualBlock]
  public let imageInput: String
  public let resolution: [Int]
  public let baseMACs: Int
  public let baseParameters: Int
  let nodeCosts: [CostModel.NodeCost]
  var scores: [Int: [Double]] = [:]
  var feeds: [[String: Tensor]] = []
  var reference: [[Tensor]] = []
  /// Original statistics at every BN input (node name → (mean, variance)).
  var bnReference: [String: ([Double], [Double])] = [:]
  /// Resolutions the search may choose, checked against the graph (built on first use by `spatialChoices`).
  var resolutionTable: ResolutionTable?

  public init(model: Model, options: PruneOptions, evaluator: CandidateEvaluator) throws {
    self.options = options
    self.evaluator = evaluator
    var concrete = model.concreteInputShapes(symbolicDim: 1)
    for (k, v) in options.inputShapes { concrete[k] = v }
    guard let image = model.graph.runtimeInputs.first(where: { concrete[$0.name]?.count == 4 }) else {
      throw SecateurError.unsupported("prune needs an NCHW image input (rank 4); inputs: \(concrete)")
    }
    var m = model
    for (k, v) in concrete {
      if let declared = model.graph.inputs.first(where: { $0.name == k })?.type?.tensorShape,
         options.inputShapes[k] == nil, declared.count >= 3, declared.dropFirst(2).contains(where: { $0.value == nil }) {
        throw SecateurError.invalidArgument(
          "input '\(k)' has symbolic spatial dims \(declared.map(\.description)): give its shape, e.g. --shape \(k)=1,3,224,224")
      }
      m = m.withInputShape(k, v)
    }
    // Declared output and intermediate shapes may contradict the concrete input shape (exporters write
    // -1 or stale dims): clear them, then declare what the concrete shapes give.
    m.graph.valueInfo = []
    for i in m.graph.outputs.indices { m.graph.outputs[i].type = .tensor(m.graph.outputs[i].type?.tensorElementType ?? .float, nil) }
    m = try evaluator.simplified(m)
    imageInput = image.name
    resolution = Array(concrete[image.name]![2...])
    let s = try evaluator.shapes(m)
    for (i, o) in m.graph.outputs.enumerated() {
      if let d = s[o.name] { m.graph.outputs[i].type = .tensor(o.type?.tensorElementType ?? .float, d.map { .value($0) }) }
    }
    base = m
    shapes = s
    groups = DependencyGroups(model: m, shapes: shapes)
    blocks = DepthPruning.findBlocks(in: m.graph, shapes: shapes)
    let cost = CostModel(graph: m.graph, shapes: shapes)
    nodeCosts = cost.perNode
    baseMACs = cost.totalMACs
    baseParameters = m.graph.parameterCount
  }

  func say(_ s: String) { options.progress?(s) }

  // MARK: Calibration

  /// Loads or generates calibration inputs, runs the original and records what candidates compare with.
  public func prepareCalibration() throws {
    if !feeds.isEmpty { return }
    if options.calibration.isEmpty {
      var rng = PruneRandom(seed: options.seed &+ 12345)
      let concrete = base.concreteInputShapes()
      for _ in 0..<max(1, options.calibrationSamples) {
        var f: [String: Tensor] = [:]
        for info in base.graph.runtimeInputs {
          let s = concrete[info.name] ?? []
          let n = shapeElementCount(s) ?? 0
          f[info.name] = try Tensor(name: info.name, (0..<n).map { _ in Float(rng.normal()) }, shape: s, dataType: .float)
        }
        feeds.append(f)
      }
    } else {
      feeds = options.calibration
    }
    reference = try evaluator.outputs(base, feeds: feeds)
    if options.recalibrateBN { bnReference = try bnStatistics(base) }
    switch options.importance {
    case .activation: scores = try activationImportance()
    case .l1, .l2: scores = groups.weightImportance(base, criterion: options.importance)
    }
  }

  func resized(_ hw: [Int]) throws -> [[String: Tensor]] {
    if hw == resolution { return feeds }
    return try feeds.map { f in
      var g = f
      if let t = f[imageInput] { g[imageInput] = try Calibration.resize(t, to: hw) }
      return g
    }
  }

  /// Per-channel statistics at each BatchNormalization input of `model` on the calibration data.
  func bnStatistics(_ model: Model, hw: [Int]? = nil) throws -> [String: ([Double], [Double])] {
    let bns = model.graph.nodes.filter { $0.opType == "BatchNormalization" && !$0.inputs.isEmpty }
    if bns.isEmpty { return [:] }
    var probe = model
    let existing = Set(model.graph.outputs.map(\.name))
    for n in bns where !existing.contains(n.inputs[0]) {
      probe.graph.outputs.append(ValueInfo(name: n.inputs[0], type: .tensor(.float, nil)))
    }
    let names = probe.graph.outputs.map(\.name)
    let outs = try evaluator.outputs(probe, feeds: try resized(hw ?? resolution))
    var result: [String: ([Double], [Double])] = [:]
    for n in bns {
      guard let k = names.firstIndex(of: n.inputs[0]) else { continue }
      var mom: Calibration.Moments?
      for sample in outs where k < sample.count {
        let t = sample[k]
        guard t.shape.count >= 2 else { continue }
        if mom == nil { mom = Calibration.Moments(channels: t.shape[1]) }
        mom!.add(t, axis: 1)
      }
      if let mom { result[DepthPruning.nodeName(n)] = (mom.mean, mom.variance) }
    }
    return result
  }

  /// Mean |activation| per channel of one value per prunable group.
  func activationImportance() throws -> [Int: [Double]] {
    let probes = groups.probeValues(base)
    var probe = base
    let keys = probes.keys.sorted()
    for g in keys { probe.graph.outputs.append(ValueInfo(name: probes[g]!, type: .tensor(.float, nil))) }
    let outs = try evaluator.outputs(probe, feeds: feeds)
    let first = base.graph.outputs.count
    var scores: [Int: [Double]] = [:]
    for (j, g) in keys.enumerated() {
      guard let axis = groups.channelAxis(of: probes[g]!) else { continue }
      var acc = [Double](repeating: 0, count: groups.groups[g].channels)
      for sample in outs where first + j < sample.count {
        let t = sample[first + j]
        guard axis < t.shape.count, t.shape[axis] == acc.count else { continue }
        let v = t.floats, c = acc.count, inner = t.shape[(axis + 1)...].reduce(1, *)
        for o in 0..<(v.count / (c * inner)) { for ch in 0..<c { for i in 0..<inner { acc[ch] += Double(abs(v[(o * c + ch) * inner + i])) } } }
      }
      scores[g] = acc
    }
    return scores
  }

  // MARK: Building candidates

  /// Resolves a spec against this model's groups and blocks.
  public func decision(for spec: PruneSpec) throws -> PruneDecision {
    var d = PruneDecision(resolution: spec.resolution ?? resolution)
    for g in groups.groups where g.isPrunable {
      if let r = spec.ratio { d.widths[g.id] = max(1, Int((Double(g.channels) * r).rounded())) }
    }
    for (k, r) in spec.ratios {
      guard let g = groups.group(named: k) else { throw SecateurError.invalidArgument("prune spec: no channel group '\(k)'") }
      d.widths[g.id] = max(1, Int((Double(g.channels) * r).rounded()))
    }
    for (k, w) in spec.widths {
      guard let g = groups.group(named: k) else { throw SecateurError.invalidArgument("prune spec: no channel group '\(k)'") }
      guard w <= g.channels else { throw SecateurError.invalidArgument("prune spec: group \(g.key) has \(g.channels) channels, asked for \(w)") }
      if w < g.channels && !g.isPrunable {
        throw SecateurError.invalidArgument("prune spec: group \(g.key) cannot be pruned: \(g.frozenReasons.first ?? "no producer")")
      }
      d.widths[g.id] = w
    }
    for (k, idx) in spec.keep {
      guard let g = groups.group(named: k) else { throw SecateurError.invalidArgument("prune spec: no channel group '\(k)'") }
      guard let last = idx.last, last < g.channels else {
        throw SecateurError.invalidArgument("prune spec: group \(g.key) has \(g.channels) channels; keep lists index \(idx.last ?? -1)")
      }
      if idx.count < g.channels && !g.isPrunable {
        throw SecateurError.invalidArgument("prune spec: group \(g.key) cannot be pruned: \(g.frozenReasons.first ?? "no producer")")
      }
      if spec.widths[k] != nil || spec.ratios[k] != nil {
        throw SecateurError.invalidArgument("prune spec: group '\(k)' is given both keep and a width/ratio")
      }
      if idx.count < g.channels { d.keep[g.id] = idx; d.widths[g.id] = idx.count } else { d.widths[g.id] = nil }
    }
    for k in spec.dropBlocks {
      guard let b = blocks.first(where: { $0.key == k || $0.add == k }) else {
        throw SecateurError.invalidArgument("prune spec: no removable block '\(k)' (see --list)")
      }
      d.droppedBlocks.insert(b.id)
    }
    d.widths = d.widths.filter { groups.groups[$0.key].isPrunable && $0.value < groups.groups[$0.key].channels }
    d.keep = d.keep.filter { d.widths[$0.key] != nil }
    return d
  }

  /// The kept channel indices per group for a decision (most important first, by `options.importance`).
  func keepSets(_ d: PruneDecision) -> [Int: [Int]] {
    var keep: [Int: [Int]] = [:]
    for (g, w0) in d.widths {
      let c = groups.groups[g].channels
      if let explicit = d.keep[g] {
        keep[g] = explicit
        continue
      }
      var w = w0
      if options.roundTo > 1 { w = min(c, ((w + options.roundTo - 1) / options.roundTo) * options.roundTo) }
      if w >= c { continue }
      let s = scores[g] ?? groups.weightImportance(base, criterion: .l1)[g] ?? Array(repeating: 0, count: c)
      keep[g] = DependencyGroups.topChannels(s, count: w)
    }
    return keep
  }

  /// Builds the pruned model for a decision (no measurement).
  public func build(_ d: PruneDecision) throws -> (Model, keep: [Int: [Int]]) {
    if scores.isEmpty { scores = groups.weightImportance(base, criterion: options.importance == .activation ? .l1 : options.importance) }
    var m = base
    let keep = keepSets(d)
    try groups.prune(&m, keep: keep)
    DepthPruning.remove(blocks.filter { d.droppedBlocks.contains($0.id) }, from: &m)
    if d.resolution != resolution {
      try SpatialPruning.resize(&m, input: imageInput, to: d.resolution, oldShapes: shapes, evaluator: evaluator)
    }
    return (m, keep)
  }

  /// Builds, recalibrates and measures a candidate.
  public func evaluate(_ d: PruneDecision, fidelity wantFidelity: Bool = true, latency: Bool = false) throws -> PruneCandidate {
    var (m, keep) = try build(d)
    let s = try evaluator.shapes(m)
    let cost = CostModel(graph: m.graph, shapes: s)
    var c = PruneCandidate(decision: d, model: m, macs: cost.totalMACs, parameters: m.graph.parameterCount)
    if wantFidelity {
      try prepareCalibration()
      var outputs: [[Tensor]]?
      if options.recalibrateBN && !bnReference.isEmpty {
        outputs = try recalibrate(&m, keep: keep, hw: d.resolution)
        c.model = m
      }
      if outputs?.count != reference.count { outputs = try evaluator.outputs(m, feeds: try resized(d.resolution)) }
      c.fidelity = try Calibration.fidelity(outputs!, reference)
    }
    if latency, let f = try resized(d.resolution).first { c.latencyMs = try evaluator.latencyMs(m, feeds: f) }
    return c
  }

  /// Sets each BN's mean/variance so that its output keeps the original per-channel distribution
  /// (SPOS-style recalibration): with the original input statistics (μ₀, σ₀), BN (m, s = √(v+ε)) and
  /// the candidate's (μ, σ): s′ = s·σ/σ₀, m′ = μ − s′·(μ₀ − m)/s. For a trained net (m ≈ μ₀, s ≈ σ₀)
  /// this is plain re-estimation (m′ = μ, s′ = σ).
  ///
  /// (μ, σ) must be measured with every upstream BN already recalibrated, otherwise corrections compound
  /// layer after layer (a one-pass estimate blows deep random-weight nets up by orders of magnitude).
  /// `sequentialStatistics` measures them in one run of a probe graph in which every BN normalizes by
  /// its batch statistics and then applies the recalibrated affine — the forward pass of training mode.
  /// Returns the recalibrated model's outputs on the calibration samples when the probe produced them.
  @discardableResult
  func recalibrate(_ m: inout Model, keep: [Int: [Int]], hw: [Int]) throws -> [[Tensor]]? {
    let (now, outputs) = try sequentialStatistics(m, keep: keep, hw: hw)
    var g = m.graph
    var index: [String: Int] = [:]
    for (k, t) in g.initializers.enumerated() { index[t.name] = k }
    for n in g.nodes where n.opType == "BatchNormalization" && n.inputs.count == 5 {
      let name = DepthPruning.nodeName(n)
      guard let (mu, va) = now[name], let (mu0, va0) = bnReference[name],
            let mi = index[n.inputs[3]], let vi = index[n.inputs[4]] else { continue }
      let mean = g.initializers[mi].floats, variance = g.initializers[vi].floats
      let eps = Double(n.attribute("epsilon")?.floatValue ?? 1e-5)
      let orig = groups.keptIndices(of: n.outputs[0], keep: keep) ?? Array(0..<mean.count)
      guard orig.count == mean.count, mu.count == mean.count else { continue }
      var newMean = mean, newVar = variance
      for j in 0..<mean.count {
        let o = orig[j]
        guard o < mu0.count else { continue }
        let s = (Double(variance[j]) + eps).squareRoot()
        let sigma = va[j].squareRoot(), sigma0 = va0[o].squareRoot()
        guard sigma0 > 1e-12, sigma > 1e-12 else { continue }
        let s2 = s * sigma / sigma0
        newMean[j] = Float(mu[j] - s2 * (mu0[o] - Double(mean[j])) / s)
        newVar[j] = Float(max(0, s2 * s2 - eps))
      }
      // BN parameters may be shared; write fresh tensors.
      let mName = g.freshName(n.inputs[3] + "_recal"), vName = g.freshName(n.inputs[4] + "_recal")
      g.initializers.append(try Tensor(name: mName, newMean, shape: g.initializers[mi].shape, dataType: .float))
      g.initializers.append(try Tensor(name: vName, newVar, shape: g.initializers[vi].shape, dataType: .float))
      if let k = g.nodes.firstIndex(where: { DepthPruning.nodeName($0) == name }) {
        g.nodes[k].inputs[3] = mName
        g.nodes[k].inputs[4] = vName
      }
    }
    let read = Set(g.nodes.flatMap(\.inputs) + g.outputs.map(\.name) + g.inputs.map(\.name))
    g.initializers.removeAll { !read.contains($0.name) }
    m.graph = g
    return outputs
  }

  /// Per-channel (mean, variance) at every BN input of the candidate as it will be after recalibration.
  /// Each BN of a probe copy becomes y = P·(x − μ_b)/σ_b + Q·x + R with batch statistics (μ_b, σ_b): P, R
  /// give the recalibrated output distribution (P = γσ₀/s, R = γ(μ₀ − m)/s + β), Q keeps plain inference
  /// for channels without usable reference statistics. The calibration samples run as one batch; when
  /// the graph hard-codes batch 1, each sample runs alone and the statistics are pooled.
  /// With batched samples the probe's graph outputs are also the recalibrated model's outputs on them
  /// (its BNs then hold exactly these batch statistics), returned per sample; nil otherwise.
  func sequentialStatistics(_ m: Model, keep: [Int: [Int]], hw: [Int]) throws
    -> ([String: ([Double], [Double])], outputs: [[Tensor]]?) {
    let samples = try resized(hw)
    if samples.count > 1, let (stats, outs) = try? sequentialStatistics(m, keep: keep, feeds: [Self.batch(samples)]) {
      return (stats, try? Self.unbatch(outs, count: samples.count))
    }
    var pooled: [String: (Calibration.Moments)] = [:]
    for f in samples {
      for (k, (mu, va)) in try sequentialStatistics(m, keep: keep, feeds: [f]).0 {
        if pooled[k] == nil { pooled[k] = Calibration.Moments(channels: mu.count) }
        pooled[k]!.addMoments(mean: mu, variance: va)
      }
    }
    return (pooled.mapValues { ($0.mean, $0.variance) }, nil)
  }

  /// Splits batched outputs (first axis) into `count` samples of batch 1.
  static func unbatch(_ outs: [Tensor], count: Int) throws -> [[Tensor]] {
    var per: [[Tensor]] = Array(repeating: [], count: count)
    for t in outs {
      guard t.dataType == .float, let n = t.shape.first, n == count else { throw SecateurError.unsupported("unbatchable output") }
      let v = t.floats, each = v.count / count
      for i in 0..<count {
        per[i].append(try Tensor(name: t.name, Array(v[(i * each)..<((i + 1) * each)]), shape: [1] + t.shape.dropFirst(), dataType: .float))
      }
    }
    return per
  }

  static func batch(_ samples: [[String: Tensor]]) throws -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (name, t0) in samples[0] {
      guard t0.dataType == .float, !t0.shape.isEmpty else { throw SecateurError.unsupported("non-float input") }
      var values: [Float] = []
      for s in samples {
        guard let t = s[name], t.shape.dropFirst() == t0.shape.dropFirst() else { throw SecateurError.unsupported("ragged") }
        values += t.floats
      }
      out[name] = try Tensor(name: name, values, shape: [t0.shape[0] * samples.count] + t0.shape.dropFirst(), dataType: .float)
    }
    return out
  }

  func sequentialStatistics(_ m: Model, keep: [Int: [Int]], feeds: [[String: Tensor]]) throws
    -> ([String: ([Double], [Double])], outputs: [Tensor]) {
    let shapes = try evaluator.shapes(m)
    var probe = m
    var g = probe.graph
    var index: [String: Int] = [:]
    for (k, t) in g.initializers.enumerated() { index[t.name] = k }
    let newAxes = (probe.opsetVersion(for: "") ?? 17) >= 18
    var nodes: [Node] = []
    var statOutputs: [(String, String, String)] = []
    for n in g.nodes {
      guard n.opType == "BatchNormalization", n.inputs.count == 5, n.outputs.count >= 1,
            let rank = shapes[n.inputs[0]]?.count, rank >= 2,
            let gi = index[n.inputs[1]], let bi = index[n.inputs[2]], let mi = index[n.inputs[3]], let vi = index[n.inputs[4]] else {
        nodes.append(n)
        continue
      }
      let name = DepthPruning.nodeName(n)
      let gamma = g.initializers[gi].floats, beta = g.initializers[bi].floats
      let mean = g.initializers[mi].floats, variance = g.initializers[vi].floats
      let c = mean.count
      let eps = Double(n.attribute("epsilon")?.floatValue ?? 1e-5)
      let orig = groups.keptIndices(of: n.outputs[0], keep: keep) ?? Array(0..<c)
      let ref = bnReference[name]
      var P = [Float](repeating: 0, count: c), Q = P, R = P
      for j in 0..<c {
        let s = (Double(variance[j]) + eps).squareRoot()
        let o = j < orig.count ? orig[j] : -1
        if let (mu0, va0) = ref, orig.count == c, o >= 0, o < mu0.count, va0[o] > 1e-24 {
          P[j] = Float(Double(gamma[j]) * va0[o].squareRoot() / s)
          R[j] = Float(Double(gamma[j]) * (mu0[o] - Double(mean[j])) / s + Double(beta[j]))
        } else {
          Q[j] = Float(Double(gamma[j]) / s)
          R[j] = Float(Double(beta[j]) - Double(gamma[j]) * Double(mean[j]) / s)
        }
      }
      let cshape = [c] + Array(repeating: 1, count: rank - 2)
      let axes = [0] + Array(2..<rank)
      func v(_ s: String) -> String { g.freshName("\(name)_probe_\(s)") }
      let (pN, qN, rN, epsN) = (v("P"), v("Q"), v("R"), v("eps"))
      g.initializers.append(try Tensor(name: pN, P, shape: cshape, dataType: .float))
      g.initializers.append(try Tensor(name: qN, Q, shape: cshape, dataType: .float))
      g.initializers.append(try Tensor(name: rN, R, shape: cshape, dataType: .float))
      g.initializers.append(try Tensor(name: epsN, [Float(1e-12)], shape: [], dataType: .float))
      var axesInput: [String] = []
      var axesAttr: [Attribute] = []
      if newAxes {
        let aN = v("axes")
        g.initializers.append(try Tensor(name: aN, axes.map { Int64($0) }, shape: [axes.count], dataType: .int64))
        axesInput = [aN]
      } else {
        axesAttr = [Attribute(name: "axes", value: .ints(axes))]
      }
      let keepdims = Attribute(name: "keepdims", value: .int(1))
      // Full-size passes: mu, d, d², var, d·S, + T; everything else is per channel.
      let (mu, d, d2, va, ve, sd, ps, sc, qm, sh, y0) = (v("mu"), v("d"), v("d2"), v("var"), v("ve"), v("sd"), v("ps"), v("scale"), v("qmu"), v("shift"), v("y0"))
      let x = n.inputs[0]
      nodes += [
        Node(name: mu, opType: "ReduceMean", inputs: [x] + axesInput, outputs: [mu], attributes: axesAttr + [keepdims]),
        Node(name: d, opType: "Sub", inputs: [x, mu], outputs: [d]),
        Node(name: d2, opType: "Mul", inputs: [d, d], outputs: [d2]),
        Node(name: va, opType: "ReduceMean", inputs: [d2] + axesInput, outputs: [va], attributes: axesAttr + [keepdims]),
        Node(name: ve, opType: "Add", inputs: [va, epsN], outputs: [ve]),
        Node(name: sd, opType: "Sqrt", inputs: [ve], outputs: [sd]),
        Node(name: ps, opType: "Div", inputs: [pN, sd], outputs: [ps]),
        Node(name: sc, opType: "Add", inputs: [ps, qN], outputs: [sc]),          // S = P/σ_b + Q
        Node(name: qm, opType: "Mul", inputs: [mu, qN], outputs: [qm]),
        Node(name: sh, opType: "Add", inputs: [qm, rN], outputs: [sh]),          // T = Q·μ_b + R
        Node(name: y0, opType: "Mul", inputs: [d, sc], outputs: [y0]),
        Node(name: n.name, opType: "Add", inputs: [y0, sh], outputs: [n.outputs[0]]),
      ]
      statOutputs.append((name, mu, va))
    }
    if statOutputs.isEmpty { return ([:], []) }
    g.nodes = nodes
    let graphOutputs = g.outputs.map { ValueInfo(name: $0.name, type: .tensor($0.type?.tensorElementType ?? .float, nil)) }
    g.outputs = graphOutputs + statOutputs.flatMap { [ValueInfo(name: $0.1, type: .tensor(.float, nil)), ValueInfo(name: $0.2, type: .tensor(.float, nil))] }
    g.valueInfo = []
    if let f = feeds.first {
      for (i, info) in g.inputs.enumerated() where f[info.name] != nil {
        g.inputs[i].type = .tensor(info.type?.tensorElementType ?? .float, f[info.name]!.shape.map { .value($0) })
      }
    }
    probe.graph = g
    let outs = try evaluator.outputs(probe, feeds: feeds)
    var result: [String: ([Double], [Double])] = [:]
    guard let o = outs.first else { return (result, []) }
    let first = graphOutputs.count
    for (k, (name, _, _)) in statOutputs.enumerated() where first + 2 * k + 1 < o.count {
      result[name] = (o[first + 2 * k].floats.map(Double.init), o[first + 2 * k + 1].floats.map(Double.init))
    }
    return (result, Array(o.prefix(first)))
  }

  /// Applies a fixed spec and measures the result against the original.
  /// When the evaluator cannot run the model, the pruned model is still built and reported without
  /// fidelity or latency.
  public func apply(_ spec: PruneSpec, measureLatency: Bool = false) throws -> PruneResult {
    let d = try decision(for: spec)
    var runnable = true
    do { try prepareCalibration() } catch let e as SecateurError {
      say("warning: cannot run the model, so fidelity and latency are not measured: \(e.message)")
      runnable = false
    }
    let c = try evaluate(d, fidelity: runnable, latency: measureLatency && runnable)
    let original = try originalCandidate(latency: measureLatency && runnable)
    return PruneResult(pruner: self, original: original, chosen: c, history: [c], budgetMet: true)
  }

  func originalCandidate(latency: Bool) throws -> PruneCandidate {
    var o = PruneCandidate(decision: PruneDecision(resolution: resolution), model: base, macs: baseMACs,
                           parameters: baseParameters, fidelity: .perfect)
    if latency, let f = feeds.first { o.latencyMs = try evaluator.latencyMs(base, feeds: f) }
    return o
  }
}
