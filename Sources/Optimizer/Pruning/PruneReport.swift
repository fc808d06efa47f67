import ModelFormat

/// The outcome of pruning: the chosen candidate against the original, with every evaluated candidate.
public struct PruneResult: @unchecked Sendable {
  let pruner: JointPruner
  public var original: PruneCandidate
  public var chosen: PruneCandidate
  public var history: [PruneCandidate]
  /// False when no candidate met the budget (the smallest one is returned instead).
  public var budgetMet: Bool
  /// False when even the smallest candidate the enabled dimensions allow is over budget.
  public var budgetReachable = true

  /// Why the budget was not met ("" when it was).
  public var budgetNote: String {
    if budgetMet { return "" }
    let reached = "\(fmt(macsFraction * 100, 1)) % MACs"
    if budgetReachable { return "budget not met: smallest candidate found is \(reached)" }
    return "budget not reachable with dims \(pruner.options.dimensions.map(\.rawValue).sorted().joined(separator: ",")): smallest candidate is \(reached)"
  }

  public var model: Model { chosen.model }

  /// What was decided, as a spec that reproduces it with `--spec`.
  public var spec: PruneSpec {
    let d = chosen.decision
    var s = PruneSpec(resolution: d.resolution)
    s.dropBlocks = pruner.blocks.filter { d.droppedBlocks.contains($0.id) }.map(\.key)
    for (g, w) in d.widths where d.keep[g] == nil { s.widths["g\(g)"] = w }
    for (g, idx) in d.keep { s.keep["g\(g)"] = idx }
    return s
  }

  var macsFraction: Double { Double(chosen.macs) / Double(max(1, original.macs)) }
  var speedup: Double? {
    guard let a = original.latencyMs, let b = chosen.latencyMs, b > 0 else { return nil }
    return a / b
  }

  // MARK: Text

  public var text: String {
    let d = chosen.decision
    var lines: [String] = []
    let budget: String
    switch pruner.options.budget {
    case .macs(let f): budget = "\(fmt(f * 100, 1))% MACs"
    case .latencyMs(let ms): budget = "\(fmt(ms, 2)) ms"
    }
    lines.append("budget \(budget), dims \(pruner.options.dimensions.map(\.rawValue).sorted().joined(separator: ",")), \(history.count) candidates evaluated\(budgetMet ? "" : " — \(budgetNote)")")
    if let rejected = pruner.resolutionTable?.rejected, let first = rejected.first {
      lines.append("resolutions rejected by the graph: \(rejected.map { "\($0.resolution[0])×\($0.resolution[1])" }.joined(separator: ", ")) (first: \(first.reason))")
    }
    func row(_ name: String, _ a: String, _ b: String) -> String {
      name.padded(14) + a.padded(22) + b
    }
    lines.append(row("", "original", "pruned"))
    lines.append(row("resolution", "\(pruner.resolution[0])×\(pruner.resolution[1])", "\(d.resolution[0])×\(d.resolution[1])"))
    lines.append(row("blocks", "\(pruner.blocks.count) removable", "\(d.droppedBlocks.count) removed \(spec.dropBlocks)"))
    lines.append(row("MACs", "\(original.macs)", "\(chosen.macs) (\(fmt(macsFraction * 100, 1))%)"))
    lines.append(row("parameters", "\(original.parameters)", "\(chosen.parameters) (\(fmt(Double(chosen.parameters) / Double(max(1, original.parameters)) * 100, 1))%)"))
    lines.append(row("latency", original.latencyMs.map { "\(fmt($0, 2)) ms" } ?? "-",
                     chosen.latencyMs.map { "\(fmt($0, 2)) ms" + (speedup.map { " (\(fmt($0, 2))× faster)" } ?? "") } ?? "-"))
    if let f = chosen.fidelity {
      lines.append(row("fidelity", "cosine 1", "cosine \(fmt(f.cosine)), rel. error \(fmt(f.relativeError)), top-1 \(f.top1.map { fmt($0 * 100, 1) + "%" } ?? "n/a")"))
    }
    let pruned = pruner.groups.groups.filter { d.widths[$0.id] != nil }
    lines.append("channel groups: \(pruner.groups.groups.filter(\.isPrunable).count) prunable of \(pruner.groups.groups.count), \(pruned.count) narrowed")
    for g in pruned.prefix(60) {
      lines.append("  \(g.key.padded(5)) \(g.producers.first ?? "?")".padded(48) + "\(g.channels) → \(d.widths[g.id]!)")
    }
    if pruned.count > 60 { lines.append("  … \(pruned.count - 60) more (see --report)") }
    return lines.joined(separator: "\n")
  }

  // MARK: JSON

  func candidateJSON(_ c: PruneCandidate, front: Bool = false, chosen: Bool = false) -> JSON {
    var kv: [(String, JSON)] = [
      ("resolution", .array(c.decision.resolution.map { .number(Double($0)) })),
      ("macs", .number(Double(c.macs))),
      ("macs_fraction", .number(Double(c.macs) / Double(max(1, original.macs)))),
      ("params", .number(Double(c.parameters))),
      ("latency_ms", c.latencyMs.map { .number($0) } ?? .null),
      ("removed_blocks", .number(Double(c.decision.droppedBlocks.count))),
    ]
    if let f = c.fidelity {
      kv.append(("fidelity", .object([("cosine", .number(f.cosine)), ("relative_error", .number(f.relativeError)),
                                      ("top1", f.top1.map { .number($0) } ?? .null)])))
    }
    kv.append(("feasible", .bool(c.feasible)))
    if front { kv.append(("pareto", .bool(true))) }
    if chosen { kv.append(("chosen", .bool(true))) }
    return .object(kv)
  }

  /// Indices of history entries on the Pareto front (higher fidelity at lower cost).
  var paretoFront: [Int] {
    let pts = history.enumerated().compactMap { i, c in c.fidelity.map { (i, cost(c), $0.cosine) } }
    return pts.filter { p in !pts.contains { q in (q.1 <= p.1 && q.2 > p.2) || (q.1 < p.1 && q.2 >= p.2) } }
      .sorted { $0.1 < $1.1 }.map(\.0)
  }

  var usesLatency: Bool { if case .latencyMs = pruner.options.budget { return true } else { return false } }
  func cost(_ c: PruneCandidate) -> Double {
    usesLatency ? (c.latencyMs ?? .infinity) : Double(c.macs) / Double(max(1, original.macs))
  }

  public var json: JSON {
    let d = chosen.decision
    let budget: JSON
    switch pruner.options.budget {
    case .macs(let f): budget = .object([("macs_fraction", .number(f))])
    case .latencyMs(let ms): budget = .object([("latency_ms", .number(ms))])
    }
    let front = Set(paretoFront)
    let groups: [JSON] = pruner.groups.groups.map { g in
      .object([("id", .string(g.key)), ("producer", .string(g.producers.first ?? "")), ("channels", .number(Double(g.channels))),
               ("kept", .number(Double(d.widths[g.id] ?? g.channels))), ("prunable", .bool(g.isPrunable)),
               ("frozen", .array(g.frozenReasons.map { .string($0) }))])
    }
    return .object([
      ("budget", budget),
      ("budget_met", .bool(budgetMet)),
      ("budget_reachable", .bool(budgetReachable)),
      ("budget_note", budgetMet ? .null : .string(budgetNote)),
      ("rejected_resolutions", .array((pruner.resolutionTable?.rejected ?? []).map {
        .object([("resolution", .array($0.resolution.map { .number(Double($0)) })), ("reason", .string($0.reason))])
      })),
      ("dims", .array(pruner.options.dimensions.map(\.rawValue).sorted().map { .string($0) })),
      ("seed", .number(Double(pruner.options.seed))),
      ("original", candidateJSON(original)),
      ("pruned", candidateJSON(chosen)),
      ("speedup", speedup.map { .number($0) } ?? .null),
      ("removed_blocks", .array(spec.dropBlocks.map { .string($0) })),
      ("spec", spec.json),
      ("groups", .array(groups)),
      ("search", .array(history.enumerated().map { candidateJSON($1, front: front.contains($0), chosen: $1.decision == d) })),
    ])
  }

  // MARK: SVG

  /// A scatter plot of the search: fidelity against MACs fraction (or latency), the Pareto front as a
  /// line, the budget as a dashed line, the chosen candidate in red.
  public var svg: String {
    let W = 640.0, H = 420.0, left = 70.0, right = 20.0, top = 40.0, bottom = 50.0
    let pts = history.compactMap { c in c.fidelity.map { (cost(c), $0.cosine, c) } }.filter { $0.0.isFinite }
    var xs = pts.map(\.0) + [cost(original)]
    if case .macs(let f) = pruner.options.budget { xs.append(f) }
    if case .latencyMs(let ms) = pruner.options.budget { xs.append(ms) }
    let xmin = 0.0, xmax = (xs.max() ?? 1) * 1.05
    let ymin = min(pts.map(\.1).min() ?? 0, 0.9), ymax = 1.0
    func px(_ x: Double) -> Double { left + (x - xmin) / max(1e-12, xmax - xmin) * (W - left - right) }
    func py(_ y: Double) -> Double { top + (ymax - y) / max(1e-12, ymax - ymin) * (H - top - bottom) }
    var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(W))\" height=\"\(Int(H))\" font-family=\"sans-serif\" font-size=\"12\">\n"
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    s += "<text x=\"\(left)\" y=\"22\" font-size=\"14\">JointPruning search: \(pts.count) candidates (\(pruner.options.dimensions.map(\.rawValue).sorted().joined(separator: "+")))</text>\n"
    s += "<line x1=\"\(left)\" y1=\"\(H - bottom)\" x2=\"\(W - right)\" y2=\"\(H - bottom)\" stroke=\"black\"/>\n"
    s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(H - bottom)\" stroke=\"black\"/>\n"
    for i in 0...5 {
      let x = xmin + (xmax - xmin) * Double(i) / 5, y = ymin + (ymax - ymin) * Double(i) / 5
      s += "<text x=\"\(fmt(px(x), 1))\" y=\"\(H - bottom + 16)\" text-anchor=\"middle\">\(fmt(x, 2))</text>\n"
      s += "<text x=\"\(left - 6)\" y=\"\(fmt(py(y) + 4, 1))\" text-anchor=\"end\">\(fmt(y, 3))</text>\n"
    }
    s += "<text x=\"\((left + W - right) / 2)\" y=\"\(H - 12)\" text-anchor=\"middle\">\(usesLatency ? "latency (ms)" : "MACs (fraction of original)")</text>\n"
    s += "<text x=\"16\" y=\"\((top + H - bottom) / 2)\" transform=\"rotate(-90 16 \((top + H - bottom) / 2))\" text-anchor=\"middle\">fidelity (cosine)</text>\n"
    let b: Double
    switch pruner.options.budget { case .macs(let f): b = f; case .latencyMs(let ms): b = ms }
    s += "<line x1=\"\(fmt(px(b), 1))\" y1=\"\(top)\" x2=\"\(fmt(px(b), 1))\" y2=\"\(H - bottom)\" stroke=\"gray\" stroke-dasharray=\"4 3\"/>\n"
    s += "<text x=\"\(fmt(px(b) + 4, 1))\" y=\"\(top + 12)\" fill=\"gray\">budget</text>\n"
    for (x, y, c) in pts {
      s += "<circle cx=\"\(fmt(px(x), 1))\" cy=\"\(fmt(py(y), 1))\" r=\"3\" fill=\"\(c.feasible ? "#4a7ab5" : "#bbbbbb")\" fill-opacity=\"0.7\"/>\n"
    }
    let front = paretoFront.map { history[$0] }
    if front.count > 1 {
      let path = front.compactMap { c in c.fidelity.map { "\(fmt(px(cost(c)), 1)),\(fmt(py($0.cosine), 1))" } }.joined(separator: " ")
      s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"#2a9d4b\" stroke-width=\"1.5\"/>\n"
    }
    s += "<circle cx=\"\(fmt(px(cost(original)), 1))\" cy=\"\(fmt(py(1), 1))\" r=\"5\" fill=\"none\" stroke=\"black\"/>\n"
    s += "<text x=\"\(fmt(px(cost(original)) - 8, 1))\" y=\"\(fmt(py(1) + 16, 1))\" text-anchor=\"end\">original</text>\n"
    if let f = chosen.fidelity {
      s += "<circle cx=\"\(fmt(px(cost(chosen)), 1))\" cy=\"\(fmt(py(f.cosine), 1))\" r=\"6\" fill=\"#d62728\"/>\n"
      s += "<text x=\"\(fmt(px(cost(chosen)) + 9, 1))\" y=\"\(fmt(py(f.cosine) - 8, 1))\" fill=\"#d62728\">chosen</text>\n"
    }
    s += "<text x=\"\(W - right)\" y=\"\(top - 8)\" text-anchor=\"end\" fill=\"#2a9d4b\">— Pareto front</text>\n"
    return s + "</svg>\n"
  }
}

extension String {
  func padded(_ n: Int) -> String { count >= n ? self + " " : self + String(repeating: " ", count: n - count) }
}
