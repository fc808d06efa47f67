import ModelFormat

/// How channels are ranked inside a group; the least important are pruned first.
public enum ImportanceCriterion: String, Sendable, CaseIterable {
  /// Sum over the group's weights (producer out-slices, consumer in-slices, BN/affine scales) of the
  /// L1 norm of each channel's slice, each member normalized by its mean (DepGraph's group aggregation).
  case l1
  /// The same with L2 norms.
  case l2
  /// Mean |activation| of the channel on the calibration data (needs an evaluator).
  case activation
}

extension DependencyGroups {
  /// Per-group channel importance from weights alone: group id → one score per original channel.
  public func weightImportance(_ model: Model, criterion: ImportanceCriterion) -> [Int: [Double]] {
    var scores: [Int: [Double]] = [:]
    for g in groups where g.isPrunable { scores[g.id] = [Double](repeating: 0, count: g.channels) }
    let g = model.graph
    let inputs = Set(g.inputs.map(\.name))
    var consts: [String: Tensor] = [:]
    for t in g.initializers where !inputs.contains(t.name) { consts[t.name] = t }
    let squared = criterion == .l2

    /// Adds the norms of `t`'s slices along `axis`, mapped to channels through `value`'s layout.
    func add(_ t: Tensor?, axis: Int, value: String) {
      guard let t, t.dataType == .float, axis < t.shape.count, let l = layouts[value], l.width == t.shape[axis] else { return }
      let v = t.floats
      let outer = t.shape[..<axis].reduce(1, *), n = t.shape[axis], inner = t.shape[(axis + 1)...].reduce(1, *)
      var norms = [Double](repeating: 0, count: n)
      for a in 0..<outer {
        for i in 0..<n {
          let base = (a * n + i) * inner
          var s = 0.0
          for j in 0..<inner { let x = Double(v[base + j]); s += squared ? x * x : abs(x) }
          norms[i] += s
        }
      }
      if squared { norms = norms.map { $0.squareRoot() } }
      addNorms(norms, layout: l)
    }

    func addNorms(_ norms: [Double], layout l: ChannelLayout) {
      let mean = norms.reduce(0, +) / Double(max(1, norms.count))
      guard mean > 0 else { return }
      var offset = 0
      for s in l.segments {
        if let gi = groupIndex(ofSpace: s.space), scores[gi] != nil {
          for c in s.lo..<s.hi {
            for j in 0..<s.block { scores[gi]![c] += norms[offset + (c - s.lo) * s.block + j] / mean }
          }
        }
        offset += s.width
      }
    }

    for n in g.nodes {
      guard let out = n.outputs.first else { continue }
      let x = n.inputs.first ?? ""
      switch n.opType {
      case "Conv":
        let w = n.input(1).flatMap { consts[$0] }
        add(w, axis: 0, value: out)
        if (n.attribute("group")?.intValue ?? 1) == 1 { add(w, axis: 1, value: x) }
      case "ConvTranspose":
        let w = n.input(1).flatMap { consts[$0] }
        add(w, axis: 1, value: out)
        add(w, axis: 0, value: x)
      case "Gemm":
        let b = n.input(1).flatMap { consts[$0] }
        let transB = (n.attribute("transB")?.intValue ?? 0) != 0
        add(b, axis: transB ? 0 : 1, value: out)
        add(b, axis: transB ? 1 : 0, value: x)
      case "MatMul":
        let b = n.input(1).flatMap { consts[$0] }
        add(b, axis: 1, value: out)
        add(b, axis: 0, value: x)
      case "BatchNormalization":
        if let a = ChannelAffine.batchNorm(n, in: g), let l = layouts[out], l.width == a.scale.count {
          addNorms(a.scale.map { Double(abs($0)) }, layout: l)
        }
      default:
        continue
      }
    }
    return scores
  }

  /// The `count` most important channels of group `id` (ties broken by lower index), sorted.
  public static func topChannels(_ scores: [Double], count: Int) -> [Int] {
    let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
    return Array(order.prefix(max(1, min(count, scores.count)))).sorted()
  }

  /// For activation importance: one value per prunable group whose channels are exactly the group's
  /// (preferring BN outputs), to add as an extra graph output.
  public func probeValues(_ model: Model) -> [Int: String] {
    let bnOutputs = Set(model.graph.nodes.filter { $0.opType == "BatchNormalization" }.compactMap(\.outputs.first))
    var out: [Int: String] = [:]
    for (g, values) in groupValues() where groups[g].isPrunable {
      out[g] = values.first { bnOutputs.contains($0) } ?? values.first
    }
    return out
  }

  /// Kept original indices along the channel axis of `value` under `keep`, nil when all are kept.
  public func keptIndices(of value: String, keep: [Int: [Int]]) -> [Int]? {
    layouts[value]?.keptIndices { s in groupIndex(ofSpace: s).flatMap { keep[$0] } }
  }

  /// Channel axis of a tracked value.
  public func channelAxis(of value: String) -> Int? { layouts[value]?.axis }
}
