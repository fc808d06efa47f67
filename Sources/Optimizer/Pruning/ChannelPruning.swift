import ModelFormat

/// Removes channels: slices every weight, bias, BN/affine parameter and shape constant that touches a
/// pruned group, and updates depthwise `group` attributes, Split sizes and Resize sizes.
///
/// Before:  Conv(W:[64,32,3,3]) → BN(64) → Relu → Conv(W:[128,64,1,1])      (group g: 64 channels)
/// After:   Conv(W:[37,32,3,3]) → BN(37) → Relu → Conv(W:[128,37,1,1])      keep = 37 indices of g
/// Applies when: the group is prunable (see `ChannelGroup.isPrunable`); frozen groups are left alone.
/// Renames nothing: node and value names stay, so block ids and later specs still apply.
extension DependencyGroups {
  /// Applies `keep` (group id → original channel indices to keep, any order) to `model`, which must be
  /// the model this analysis was built from.
  public func prune(_ model: inout Model, keep: [Int: [Int]]) throws {
    var sortedKeep: [Int: [Int]] = [:]
    for (g, idx) in keep {
      guard g >= 0, g < groups.count else { throw SecateurError.invalidArgument("channel group g\(g) does not exist") }
      let grp = groups[g]
      let k = Array(Set(idx)).sorted()
      guard !k.isEmpty, k.first! >= 0, k.last! < grp.channels else {
        throw SecateurError.invalidArgument("group \(grp.key): keep indices must be within 0..<\(grp.channels) and not empty")
      }
      if k.count == grp.channels { continue }
      guard grp.isPrunable else {
        throw SecateurError.invalidArgument("group \(grp.key) cannot be pruned: \(grp.frozenReasons.first ?? "it has no producer")")
      }
      sortedKeep[g] = k
    }
    if sortedKeep.isEmpty { return }
    var editor = ChannelEditor(analysis: self, keep: sortedKeep, graph: model.graph)
    try editor.run()
    model.graph = editor.graph
  }
}

struct ChannelEditor {
  let analysis: DependencyGroups
  let keep: [Int: [Int]]
  var graph: Graph
  var uses: [String: Int] = [:]
  var initIndex: [String: Int] = [:]
  var maps: [String: [Int]?] = [:]

  init(analysis: DependencyGroups, keep: [Int: [Int]], graph: Graph) {
    self.analysis = analysis
    self.keep = keep
    self.graph = graph
    for n in graph.nodes { for i in n.inputs where !i.isEmpty { uses[i, default: 0] += 1 } }
    for o in graph.outputs { uses[o.name, default: 0] += 1 }
    for (k, t) in graph.initializers.enumerated() { initIndex[t.name] = k }
  }

  /// Kept indices along the channel axis of `value`, or nil when it keeps every channel.
  mutating func map(_ value: String) -> [Int]? {
    if let m = maps[value] { return m }
    let m = analysis.layouts[value]?.keptIndices { s in analysis.groupIndex(ofSpace: s).flatMap { keep[$0] } }
    maps[value] = .some(m)
    return m
  }

  func constant(_ name: String) -> Tensor? { initIndex[name].map { graph.initializers[$0] } }

  /// Stores `t` as the new value of input `i` of node `k`: in place when nothing else reads the constant.
  mutating func replace(node k: Int, input i: Int, with t: Tensor) {
    let old = graph.nodes[k].inputs[i]
    if uses[old] == 1, let idx = initIndex[old] {
      var t = t
      t.name = old
      graph.initializers[idx] = t
      return
    }
    var t = t
    t.name = graph.freshName(old + "_pruned")
    uses[old, default: 1] -= 1
    uses[t.name] = 1
    initIndex[t.name] = graph.initializers.count
    graph.initializers.append(t)
    graph.nodes[k].inputs[i] = t.name
  }

  /// Slices constant input `i` of node `k` along the given axes.
  mutating func slice(node k: Int, input i: Int, _ cuts: [(axis: Int, keep: [Int]?)]) throws {
    guard let name = graph.nodes[k].input(i), var t = constant(name) else { return }
    var changed = false
    for (axis, idx) in cuts {
      guard let idx, axis >= 0, axis < t.shape.count else { continue }
      t = try t.gathering(idx, axis: axis)
      changed = true
    }
    if changed { replace(node: k, input: i, with: t) }
  }

  mutating func run() throws {
    for k in graph.nodes.indices {
      let n = graph.nodes[k]
      guard let out = n.outputs.first, !out.isEmpty else { continue }
      let x = n.inputs.first ?? ""
      switch n.opType {
      case "Conv":
        guard let w = n.input(1).flatMap(constant) else { continue }
        let group = n.attribute("group")?.intValue ?? 1
        let mo = map(out), mi = map(x)
        if group == 1 {
          try slice(node: k, input: 1, [(0, mo), (1, mi)])
        } else {
          try slice(node: k, input: 1, [(0, mo)])
          if let mi, group == w.shape[1] * group / max(1, w.shape[1]), w.shape[1] == 1 {
            graph.nodes[k].setAttribute(Attribute(name: "group", value: .int(mi.count)))
          }
        }
        try slice(node: k, input: 2, [(0, mo)])
      case "ConvTranspose":
        try slice(node: k, input: 1, [(0, map(x)), (1, map(out))])
        try slice(node: k, input: 2, [(0, map(out))])
      case "Gemm":
        let transB = (n.attribute("transB")?.intValue ?? 0) != 0
        let mi = map(x), mo = map(out)
        try slice(node: k, input: 1, transB ? [(0, mo), (1, mi)] : [(0, mi), (1, mo)])
        if let c = n.input(2).flatMap(constant), c.elementCount > 1 { try slice(node: k, input: 2, [(c.shape.count - 1, mo)]) }
      case "MatMul":
        try slice(node: k, input: 1, [(0, map(x)), (1, map(out))])
      case "BatchNormalization":
        let mo = map(out)
        for i in 1...4 { try slice(node: k, input: i, [(0, mo)]) }
      case "InstanceNormalization":
        let mo = map(out)
        for i in 1...2 { try slice(node: k, input: i, [(0, mo)]) }
      case "PRelu":
        try perChannelConstants(k, out: out)
      case _ where Analysis.binary.contains(n.opType):
        try perChannelConstants(k, out: out)
      case "Reshape":
        guard let mo = map(out), let l = analysis.layouts[out], let target = n.input(1), let t = constant(target),
              var dims = t.intValues(), l.axis < dims.count else { continue }
        if dims[l.axis] > 0 { dims[l.axis] = mo.count }
        replace(node: k, input: 1, with: try Tensor(dims.map { Int64($0) }, shape: t.shape, dataType: .int64))
      case "Split":
        guard map(x) != nil else { continue }
        var sizes: [Int] = []
        for o in n.outputs {
          let w = analysis.layouts[o]?.width ?? 0
          sizes.append(map(o)?.count ?? w)
        }
        if n.input(1) != nil {
          replace(node: k, input: 1, with: try Tensor(sizes.map { Int64($0) }, shape: [sizes.count], dataType: .int64))
        } else if n.attribute("split") != nil || n.attribute("num_outputs") != nil {
          graph.nodes[k].attributes.removeAll { $0.name == "num_outputs" }
          graph.nodes[k].setAttribute(Attribute(name: "split", value: .ints(sizes)))
        } else {
          graph.nodes[k].setAttribute(Attribute(name: "split", value: .ints(sizes)))
        }
      case "Resize":
        guard let mo = map(out), let l = analysis.layouts[out], let s = n.input(3), let t = constant(s),
              var dims = t.intValues(), l.axis < dims.count else { continue }
        dims[l.axis] = mo.count
        replace(node: k, input: 3, with: try Tensor(dims.map { Int64($0) }, shape: t.shape, dataType: .int64))
      default:
        continue
      }
    }
    // Declared intermediate shapes are stale now; shape inference re-derives them.
    var infos = graph.valueInfo
    infos.removeAll { map($0.name) != nil }
    graph.valueInfo = infos
    let read = Set(graph.nodes.flatMap(\.inputs) + graph.outputs.map(\.name) + graph.inputs.map(\.name))
    graph.initializers.removeAll { !read.contains($0.name) }
  }

  /// Slices constant operands of an elementwise op that carry one value per channel of the output.
  mutating func perChannelConstants(_ k: Int, out: String) throws {
    guard let mo = map(out), let l = analysis.layouts[out], let so = analysis.shapes[out] else { return }
    for (i, v) in graph.nodes[k].inputs.enumerated() where !v.isEmpty {
      guard let t = constant(v), analysis.layouts[v] == nil else { continue }
      let axis = l.axis - (so.count - t.shape.count)
      guard axis >= 0, axis < t.shape.count, t.shape[axis] > 1 else { continue }
      try slice(node: k, input: i, [(axis, mo)])
    }
  }
}
