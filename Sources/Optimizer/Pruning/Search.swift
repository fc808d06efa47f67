import ModelFormat

/// Evolutionary search over (resolution, block keep mask, per-group channel ratios) under a budget, as
/// in Single Path One-Shot (arXiv 1904.00420): a population of candidates, mutation and crossover of the
/// fittest, and constraint-aware sampling — a candidate over budget (by a fast MACs estimate) is repaired
/// by shrinking random genes until it fits, so evaluation time is spent only on feasible ones.
struct Genome: Hashable {
  var res: Int
  var keepBlocks: [Bool]
  var ratios: [Int]
}

/// The input resolutions the search may choose: the original first, then smaller ones (largest first)
/// that the graph accepts, each with the exact MACs of every node at it; and the rejected ones with why.
struct ResolutionTable {
  var choices: [[Int]]
  /// Per choice, the MACs of each node of `base` (same order as `base.graph.nodes`).
  var nodeMACs: [[Int]]
  var rejected: [(resolution: [Int], reason: String)]
}

extension JointPruner {
  /// Candidate resolutions before checking them against the graph: the shorter side goes down in steps
  /// of `resolutionMultiple` to `minResolutionScale` of the original, the longer side keeps the aspect
  /// ratio (rounded to a multiple of `resolutionMultiple`), so a 48×192 text line gives 40×160, 32×128, …
  var resolutionGrid: [[Int]] {
    let s0 = min(resolution[0], resolution[1])
    let m = max(1, options.resolutionMultiple)
    var out: [[Int]] = []
    var side = (s0 / m) * m
    if side == s0 { side -= m }
    while side >= max(m, Int(Double(s0) * options.minResolutionScale)) {
      out.append(aspectKept(side, roundTo: m))
      side -= m
    }
    return out
  }

  /// [H, W] with shorter side `side` and the longer one scaled by the original aspect ratio.
  func aspectKept(_ side: Int, roundTo m: Int) -> [Int] {
    let (h, w) = (resolution[0], resolution[1])
    let hShort = h <= w
    let (s0, l0) = hShort ? (h, w) : (w, h)
    let long = max(m, Int((Double(l0) * Double(side) / Double(s0) / Double(m)).rounded()) * m)
    return hShort ? [side, long] : [long, side]
  }

  /// The checked resolution choices (computed once). Every grid resolution is tried on the graph (shape
  /// inference only, with shape constants rewritten as `SpatialPruning` does); the ones the graph rejects
  /// — e.g. a pooling window larger than what the strides leave of a side — are dropped with their
  /// reason. When the grid stops at a rejected side, the smallest side between it and the last accepted
  /// one that the graph still accepts is added, so the search can go as small as the strides allow.
  func spatialChoices() -> ResolutionTable {
    if let t = resolutionTable { return t }
    var t = ResolutionTable(choices: [resolution], nodeMACs: [nodeCosts.map(\.macs)], rejected: [])
    func check(_ hw: [Int]) -> Result<[Int], SecateurError> {
      var m = base
      do {
        let s = try SpatialPruning.resize(&m, input: imageInput, to: hw, oldShapes: shapes, evaluator: evaluator)
        return .success(CostModel(graph: m.graph, shapes: s).perNode.map(\.macs))
      } catch let e as SecateurError {
        return .failure(e)
      } catch {
        return .failure(.unsupported("\(error)"))
      }
    }
    let hShort = resolution[0] <= resolution[1]
    func short(_ hw: [Int]) -> Int { hShort ? hw[0] : hw[1] }
    var firstRejected: [Int]?
    for hw in resolutionGrid {
      switch check(hw) {
      case .success(let macs):
        t.choices.append(hw)
        t.nodeMACs.append(macs)
      case .failure(let e):
        t.rejected.append((hw, e.message))
        if firstRejected == nil { firstRejected = hw }
      }
    }
    // Refine between the smallest accepted side and the first rejected one below it.
    if let r = firstRejected, let lastOK = t.choices.last, short(r) < short(lastOK) {
      let minSide = max(1, Int(Double(short(resolution)) * options.minResolutionScale))
      var best: ([Int], [Int])?
      var side = short(lastOK) - 1
      while side > short(r) && side >= minSide {
        let hw = aspectKept(side, roundTo: 1)
        let r = check(hw)
        guard case .success(let macs) = r else {
          if case .failure(let e) = r { t.rejected.append((hw, e.message)) }
          break
        }
        best = (hw, macs)
        side -= 1
      }
      if let (hw, macs) = best, !t.choices.contains(hw) {
        t.choices.append(hw)
        t.nodeMACs.append(macs)
      }
    }
    resolutionTable = t
    return t
  }

  var resolutionChoices: [[Int]] { spatialChoices().choices }

  var prunableGroups: [Int] { groups.groups.filter(\.isPrunable).map(\.id) }

  func decision(_ g: Genome) -> PruneDecision {
    var d = PruneDecision(resolution: resolutionChoices[g.res])
    for (k, gid) in prunableGroups.enumerated() where g.ratios[k] > 0 {
      let c = groups.groups[gid].channels
      d.widths[gid] = max(1, Int((Double(c) * options.ratioChoices[g.ratios[k]]).rounded()))
    }
    for (k, keep) in g.keepBlocks.enumerated() where !keep { d.droppedBlocks.insert(blocks[k].id) }
    return d
  }

  /// MACs of a decision estimated from per-node MACs: each Conv/Gemm scales with the kept fraction of
  /// its input and output channels; per-node MACs at the chosen resolution are exact (from shape
  /// inference at that resolution, `spatialChoices`), or scaled by the area for other resolutions;
  /// nodes in dropped blocks count zero.
  func estimateMACs(_ d: PruneDecision) -> Double {
    var atResolution: [Int]?
    if d.resolution != resolution {
      let table = spatialChoices()
      atResolution = table.choices.firstIndex(of: d.resolution).map { table.nodeMACs[$0] }
    }
    let area = Double(d.resolution[0] * d.resolution[1]) / Double(resolution[0] * resolution[1])
    var dropped = Set<String>()
    for b in blocks where d.droppedBlocks.contains(b.id) { dropped.formUnion(b.branch) }
    func fraction(_ v: String) -> Double {
      guard let l = groups.layouts[v], l.width > 0 else { return 1 }
      var kept = 0.0
      for s in l.segments {
        let gi = groups.groupIndex(ofSpace: s.space)
        let f = gi.flatMap { g in d.widths[g].map { Double($0) / Double(groups.groups[g].channels) } } ?? 1
        kept += Double(s.width) * f
      }
      return kept / Double(l.width)
    }
    var total = 0.0
    for (i, (n, c)) in zip(base.graph.nodes, nodeCosts).enumerated() where c.macs > 0 {
      if dropped.contains(DepthPruning.nodeName(n)) { continue }
      let fo = fraction(n.outputs[0])
      let depthwise = n.opType == "Conv" && (n.attribute("group")?.intValue ?? 1) > 1
      let fi = depthwise ? 1 : fraction(n.inputs[0])
      let macs: Double
      if let at = atResolution, i < at.count {
        macs = Double(at[i])
      } else {
        macs = Double(c.macs) * (n.opType == "Conv" || n.opType == "ConvTranspose" ? area : 1)
      }
      total += macs * fi * fo
    }
    return total
  }

  /// Runs the search and returns the fittest feasible candidate with the whole search history.
  public func search() throws -> PruneResult {
    let clock = ContinuousClock(), started = clock.now
    func elapsed() -> String {
      let d = clock.now - started
      return "\(fmt(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18, 1)) s"
    }
    try prepareCalibration()
    var rng = PruneRandom(seed: options.seed)
    let dims = options.dimensions
    let nRes = dims.contains(.spatial) ? resolutionChoices.count : 1
    let nBlocks = blocks.count, nGroups = prunableGroups.count
    let nRatios = dims.contains(.channel) ? options.ratioChoices.count : 1
    var original = try originalCandidate(latency: true)
    let limitMACs: Double
    switch options.budget {
    case .macs(let f): limitMACs = f * Double(baseMACs)
    case .latencyMs(let ms): limitMACs = Double(baseMACs) * ms / max(1e-6, original.latencyMs ?? 1) * 1.15
    }
    say("original: \(baseMACs) MACs, \(baseParameters) parameters, \(original.latencyMs.map { "\(Int($0 * 100) / 100) ms" } ?? "")")
    if dims.contains(.spatial) {
      for (hw, why) in spatialChoices().rejected { say("resolution \(hw[0])×\(hw[1]) rejected: \(why)") }
    }
    say("search space: \(nRes) resolutions, \(dims.contains(.depth) ? nBlocks : 0) removable blocks, \(dims.contains(.channel) ? nGroups : 0) channel groups")

    func fits(_ g: Genome) -> Bool { estimateMACs(decision(g)) <= limitMACs }
    func repair(_ g0: Genome) -> Genome? {
      var g = g0
      var tries = 0
      while !fits(g) {
        tries += 1
        if tries > 400 { return nil }
        var moves: [Int] = []
        if g.res + 1 < nRes { moves.append(0) }
        if dims.contains(.depth), g.keepBlocks.contains(true) { moves.append(1) }
        if dims.contains(.channel), g.ratios.contains(where: { $0 + 1 < nRatios }) { moves.append(2) }
        guard !moves.isEmpty else { return nil }
        switch moves[rng.below(moves.count)] {
        case 0: g.res += 1
        case 1:
          let kept = g.keepBlocks.indices.filter { g.keepBlocks[$0] }
          g.keepBlocks[kept[rng.below(kept.count)]] = false
        default:
          let can = g.ratios.indices.filter { g.ratios[$0] + 1 < nRatios }
          // Shrink several genes at once so deep nets reach the budget in few steps.
          for _ in 0..<max(1, can.count / 8) { let k = can[rng.below(can.count)]; g.ratios[k] = min(nRatios - 1, g.ratios[k] + 1) }
        }
      }
      return g
    }
    func random() -> Genome {
      Genome(res: rng.below(nRes),
             keepBlocks: (0..<nBlocks).map { _ in !dims.contains(.depth) || rng.uniform() < 0.75 },
             ratios: (0..<nGroups).map { _ in rng.below(nRatios) })
    }
    let full = Genome(res: 0, keepBlocks: Array(repeating: true, count: nBlocks), ratios: Array(repeating: 0, count: nGroups))
    // Uniform seeds: the largest uniform shrink along each enabled dimension that fits.
    var seeds: [Genome] = []
    if dims.contains(.channel), let g = (0..<nRatios).map({ Genome(res: 0, keepBlocks: full.keepBlocks, ratios: Array(repeating: $0, count: nGroups)) }).first(where: fits) { seeds.append(g) }
    if dims.contains(.spatial), let g = (0..<nRes).map({ Genome(res: $0, keepBlocks: full.keepBlocks, ratios: full.ratios) }).first(where: fits) { seeds.append(g) }
    // The smallest candidate the enabled dimensions allow: when even it is over budget, the budget is
    // not reachable and the search returns the candidate closest to it instead of failing.
    let smallest = Genome(res: nRes - 1, keepBlocks: full.keepBlocks.map { _ in !dims.contains(.depth) },
                          ratios: full.ratios.map { _ in nRatios - 1 })
    let reachable = fits(smallest)
    if !reachable {
      say("budget not reachable with dims \(dims.map(\.rawValue).sorted().joined(separator: ",")): the smallest candidate is about \(fmt(estimateMACs(decision(smallest)) / Double(baseMACs) * 100, 1)) % MACs; returning the closest one")
      seeds.append(smallest)
    }
    if dims.contains(.depth) {
      var g = full
      let order = blocks.indices.sorted { blockMACs($0) > blockMACs($1) }
      for k in order where !fits(g) { g.keepBlocks[k] = false }
      if fits(g) { seeds.append(g) }
    }

    var history: [PruneCandidate] = []
    var fitness: [Genome: Double] = [:]
    var firstRejection: String?
    func eval(_ g: Genome) throws {
      if fitness[g] != nil { return }
      let d = decision(g)
      var c: PruneCandidate
      do {
        c = try evaluate(d, latency: { if case .latencyMs = options.budget { return true } else { return false } }())
      } catch let e as SecateurError {
        say("  candidate rejected: \(e.message)")
        if firstRejection == nil { firstRejection = e.message }
        fitness[g] = -.infinity
        return
      }
      switch options.budget {
      case .macs: c.feasible = Double(c.macs) <= limitMACs * 1.005
      case .latencyMs(let ms): c.feasible = (c.latencyMs ?? .infinity) <= ms
      }
      fitness[g] = c.feasible ? (c.fidelity?.cosine ?? 0) : -1 - Double(c.macs) / Double(baseMACs)
      history.append(c)
    }

    var population: [Genome] = []
    for s in seeds where !population.contains(s) { population.append(s) }
    var attempts = 0
    while population.count < options.population && attempts < options.population * 20 {
      attempts += 1
      if let g = repair(random()), !population.contains(g) { population.append(g) }
    }
    say("evaluating the initial population of \(population.count) (BN recalibration \(options.recalibrateBN && !bnReference.isEmpty ? "on" : "off: no BatchNormalization"))")
    for g in population { try eval(g) }
    func bestText() -> String {
      guard let b = best()?.1 else { return "none" }
      return b >= 0 ? fmt(b) : "none (no candidate within budget)"
    }
    func best() -> (Genome, Double)? { fitness.filter { $0.value > -.infinity }.max { $0.value < $1.value || ($0.value == $1.value && $0.key.hashValue < $1.key.hashValue) } }
    say("initial population: \(population.count) candidates, best fidelity \(bestText()) [\(elapsed())]")
    for gen in 1...max(1, options.generations) {
      population.sort { (fitness[$0] ?? -.infinity) > (fitness[$1] ?? -.infinity) }
      let parents = Array(population.prefix(max(2, options.population / 2)))
      var children: [Genome] = []
      var tries = 0
      while children.count < options.population && tries < options.population * 20 && !parents.isEmpty {
        tries += 1
        var child: Genome
        if rng.uniform() < 0.5 || parents.count < 2 {
          child = parents[rng.below(parents.count)]
          if dims.contains(.spatial), rng.uniform() < 0.2 { child.res = max(0, min(nRes - 1, child.res + (rng.below(2) == 0 ? -1 : 1))) }
          for k in child.keepBlocks.indices where dims.contains(.depth) && rng.uniform() < 0.1 { child.keepBlocks[k].toggle() }
          for k in child.ratios.indices where dims.contains(.channel) && rng.uniform() < 0.1 { child.ratios[k] = rng.below(nRatios) }
        } else {
          let a = parents[rng.below(parents.count)], b = parents[rng.below(parents.count)]
          child = Genome(res: rng.below(2) == 0 ? a.res : b.res,
                         keepBlocks: zip(a.keepBlocks, b.keepBlocks).map { rng.below(2) == 0 ? $0 : $1 },
                         ratios: zip(a.ratios, b.ratios).map { rng.below(2) == 0 ? $0 : $1 })
        }
        guard let fixed = repair(child), fitness[fixed] == nil, !children.contains(fixed) else { continue }
        children.append(fixed)
      }
      for c in children { try eval(c) }
      population = Array(Set(population + children)).sorted {
        let (fa, fb) = (fitness[$0] ?? -.infinity, fitness[$1] ?? -.infinity)
        return fa != fb ? fa > fb : "\($0)" < "\($1)"
      }
      population = Array(population.prefix(options.population))
      say("generation \(gen)/\(options.generations): \(history.count) evaluated, best fidelity \(bestText()) [\(elapsed())]")
    }
    var chosen = history.filter(\.feasible).max { ($0.fidelity?.cosine ?? 0) < ($1.fidelity?.cosine ?? 0) }
    let met = chosen != nil
    // Over budget everywhere: the candidate closest to the budget (smallest MACs, best fidelity among equals).
    if chosen == nil {
      chosen = history.min { a, b in
        a.macs != b.macs ? a.macs < b.macs : (a.fidelity?.cosine ?? -.infinity) > (b.fidelity?.cosine ?? -.infinity)
      }
    }
    guard var pick = chosen else {
      throw SecateurError.runtime("prune: no candidate could be built" + (firstRejection.map { "; first rejection: \($0)" } ?? ""))
    }
    if pick.latencyMs == nil, let f = try resized(pick.decision.resolution).first { pick.latencyMs = try evaluator.latencyMs(pick.model, feeds: f) }
    if original.latencyMs == nil, let f = feeds.first { original.latencyMs = try evaluator.latencyMs(base, feeds: f) }
    var result = PruneResult(pruner: self, original: original, chosen: pick, history: history, budgetMet: met)
    result.budgetReachable = met || reachable
    if !met {
      say(result.budgetNote)
    }
    return result
  }

  func blockMACs(_ k: Int) -> Int {
    let names = Set(blocks[k].branch)
    return zip(base.graph.nodes, nodeCosts).filter { names.contains(DepthPruning.nodeName($0.0)) }.reduce(0) { $0 + $1.1.macs }
  }
}

func fmt(_ x: Double, _ digits: Int = 4) -> String {
  guard x.isFinite else { return "\(x)" }
  var p = 1.0
  for _ in 0..<digits { p *= 10 }
  let v = (x * p).rounded() / p
  return "\(v)"
}
