import ModelFormat

/// One set of channels that must shrink together (DepGraph, arXiv 2301.12900): the output channels of
/// one or more producers (Conv, ConvTranspose, Gemm, MatMul) and everything that reads them — the BN or
/// affine that follows, activations, pools, residual sums, concatenations, squeeze-excitation gates and
/// the input channels of the next Conv or Gemm.
public struct ChannelGroup: Sendable {
  /// Stable id: groups are numbered in the order their first producer appears in the graph.
  public var id: Int
  /// Number of channels (before pruning).
  public var channels: Int
  /// Nodes whose output channels form this group.
  public var producers: [String]
  /// Nodes that read these channels as input channels (Conv, Gemm, MatMul) or per-channel parameters.
  public var members: [String]
  /// Why the group must stay intact; empty when it can be pruned.
  public var frozenReasons: [String]
  public var isPrunable: Bool { frozenReasons.isEmpty && !producers.isEmpty && channels > 1 }
  /// "g<id>", the name specs use.
  public var key: String { "g\(id)" }
}

/// The channel dependency analysis of one graph.
///
/// Walks the nodes in order, giving each value with a channel axis a `ChannelLayout`; ops that must see
/// the same channels (elementwise ops between feature maps, depthwise Convs, pools) join their spaces in
/// a union-find. Anything the analysis does not understand freezes the spaces it touches, with a reason.
public struct DependencyGroups: Sendable {
  public private(set) var groups: [ChannelGroup] = []
  var spaces = ChannelSpaces()
  var layouts: [String: ChannelLayout] = [:]
  /// Root space → group index.
  var groupOfRoot: [Int: Int] = [:]
  /// Split output layouts are cut from the input layout; remembered so pruning can rewrite split sizes.
  let shapes: [String: [Int]]

  /// Analyzes `model` given every value's concrete shape (from a `ShapeProvider`).
  public init(model: Model, shapes: [String: [Int]]) {
    self.shapes = shapes
    var a = Analysis(graph: model.graph, shapes: shapes)
    a.run()
    spaces = a.spaces
    layouts = a.layouts
    var byRoot: [Int: ChannelGroup] = [:]
    var order: [Int] = []
    for s in 0..<a.spaces.parent.count {
      let r = spaces.find(s)
      if byRoot[r] == nil {
        byRoot[r] = ChannelGroup(id: 0, channels: spaces.size[r], producers: [], members: [], frozenReasons: [])
        order.append(r)
      }
      if a.producerSpaces.contains(s) { byRoot[r]!.producers.append(spaces.origin[s]) }
    }
    for (node, ss) in a.memberSpaces {
      for s in ss {
        let r = spaces.find(s)
        if !(byRoot[r]!.members.contains(node)) { byRoot[r]!.members.append(node) }
      }
    }
    for r in order {
      var g = byRoot[r]!
      g.frozenReasons = spaces.frozen[r] ?? []
      if g.producers.isEmpty && g.frozenReasons.isEmpty { g.frozenReasons = ["no Conv/Gemm produces these channels"] }
      g.id = groups.count
      groupOfRoot[r] = groups.count
      groups.append(g)
    }
  }

  /// The group with key "g<id>" or whose producer is named `key`.
  public func group(named key: String) -> ChannelGroup? {
    if key.hasPrefix("g"), let i = Int(key.dropFirst()), i >= 0, i < groups.count { return groups[i] }
    return groups.first { $0.producers.contains(key) }
  }

  /// Group index of a space.
  func groupIndex(ofSpace s: Int) -> Int? { groupOfRoot[spaces.root(s)] }

  /// Groups whose channels a value carries (for activation importance).
  func groupValues() -> [Int: [String]] {
    var out: [Int: [String]] = [:]
    for (v, l) in layouts where l.segments.count == 1 && l.segments[0].block == 1 {
      let s = l.segments[0]
      guard s.lo == 0, s.hi == spaces.size[s.space], let g = groupIndex(ofSpace: s.space) else { continue }
      out[g, default: []].append(v)
    }
    for k in out.keys { out[k]!.sort() }
    return out
  }
}

/// The walk itself, kept apart from the public result.
struct Analysis {
  let graph: Graph
  let shapes: [String: [Int]]
  var constants: [String: Tensor] = [:]
  var spaces = ChannelSpaces()
  var layouts: [String: ChannelLayout] = [:]
  var producerSpaces = Set<Int>()
  var memberSpaces: [String: [Int]] = [:]

  init(graph: Graph, shapes: [String: [Int]]) {
    self.graph = graph
    self.shapes = shapes
    let inputs = Set(graph.inputs.map(\.name))
    for t in graph.initializers where !inputs.contains(t.name) { constants[t.name] = t }
  }

  static let unary: Set<String> = [
    "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Clip", "Elu", "Selu", "Celu",
    "Softplus", "Softsign", "Gelu", "Mish", "ThresholdedRelu", "Identity", "Dropout", "Neg", "Abs", "Exp", "Log",
    "Sqrt", "Reciprocal", "Erf", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Not", "Cast", "Shrink",
    "BatchNormalization", "InstanceNormalization", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
    "GlobalMaxPool", "GlobalLpPool", "Softmax", "LogSoftmax", "Upsample", "Resize", "Pad",
  ]
  static let binary: Set<String> = ["Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean", "Pow", "Where"]

  func name(_ n: Node) -> String { n.name.isEmpty ? (n.outputs.first ?? n.opType) : n.name }

  mutating func newSpace(_ n: Node, size: Int, axis: Int, output: String, frozen: String? = nil) {
    let s = spaces.make(size: size, origin: name(n), frozenBecause: frozen)
    if frozen == nil { producerSpaces.insert(s) }
    layouts[output] = ChannelLayout(axis: axis, segments: [.init(space: s, lo: 0, hi: size, block: 1)])
  }

  mutating func freeze(_ value: String, _ reason: String) {
    guard let l = layouts[value] else { return }
    for s in l.segments { spaces.freeze(s.space, reason) }
  }

  mutating func member(_ n: Node, _ value: String) {
    guard let l = layouts[value] else { return }
    memberSpaces[name(n), default: []] += l.segments.map(\.space)
  }

  /// Makes two layouts the same channels; freezes both when their structure differs.
  mutating func unify(_ a: ChannelLayout, _ b: ChannelLayout, _ reason: String) -> Bool {
    if a.segments.count == b.segments.count,
       zip(a.segments, b.segments).allSatisfy({ $0.block == $1.block && $0.hi - $0.lo == $1.hi - $1.lo }) {
      // Whole spaces join; partial segments (after Split) must already be the very same channels.
      var ok = true
      for (x, y) in zip(a.segments, b.segments) {
        let whole = x.lo == 0 && y.lo == 0 && x.hi == spaces.size[x.space] && y.hi == spaces.size[y.space]
        if whole { ok = spaces.union(x.space, y.space) && ok } else if !(spaces.find(x.space) == spaces.find(y.space) && x.lo == y.lo) { ok = false }
      }
      if ok { return true }
    }
    for s in a.segments + b.segments { spaces.freeze(s.space, reason) }
    return false
  }

  mutating func run() {
    for n in graph.nodes { visit(n) }
    for o in graph.outputs { freeze(o.name, "graph output '\(o.name)'") }
    for n in graph.nodes where n.hasSubgraph {
      for v in n.subgraphOuterReferences() { freeze(v, "read inside a subgraph of \(n.label)") }
    }
  }

  mutating func visit(_ n: Node) {
    let domainOK = n.domain.isEmpty || n.domain == "ai.onnx"
    let out = n.outputs.first ?? ""
    let tracked = n.inputs.filter { !$0.isEmpty && layouts[$0] != nil }
    func unknown(_ why: String) {
      for v in tracked { freeze(v, "\(n.label): \(why)") }
    }
    guard domainOK, !out.isEmpty else { unknown("op the analysis does not understand"); return }
    switch n.opType {
    case "Conv": conv(n)
    case "ConvTranspose": convTranspose(n)
    case "Gemm": gemm(n)
    case "MatMul": matMul(n)
    case "Concat": concat(n)
    case "Split": split(n)
    case "Flatten": flatten(n)
    case "Reshape": reshape(n)
    case "Squeeze", "Unsqueeze": squeeze(n)
    case _ where Analysis.binary.contains(n.opType): elementwise(n)
    case _ where Analysis.unary.contains(n.opType): passThrough(n)
    default:
      unknown("\(n.opType) is not understood by the channel analysis")
    }
  }

  // MARK: Producers and consumers

  mutating func conv(_ n: Node) {
    let x = n.inputs[0], out = n.outputs[0]
    guard let w = n.input(1).flatMap({ constants[$0] }), w.shape.count >= 3 else {
      freeze(x, "\(n.label): weights are not constant")
      return
    }
    let group = n.attribute("group")?.intValue ?? 1
    let cout = w.shape[0], cin = w.shape[1] * group
    if let b = n.input(2), constants[b] == nil { freeze(x, "\(n.label): bias is not constant") }
    if group == 1 {
      if let l = layouts[x] {
        if l.axis == 1 && l.width == cin { member(n, x) } else { freeze(x, "\(n.label): input channels do not match") }
      }
      newSpace(n, size: cout, axis: 1, output: out)
    } else if group == cin, cout % cin == 0, let l = layouts[x], l.axis == 1, l.width == cin {
      // Depthwise: channel c of the input becomes channels c·m..<(c+1)·m of the output.
      member(n, x)
      layouts[out] = l.expanded(by: cout / cin)
    } else {
      freeze(x, "\(n.label): grouped convolution (group=\(group)) is kept intact")
      newSpace(n, size: cout, axis: 1, output: out, frozen: "\(n.label): grouped convolution (group=\(group)) is kept intact")
    }
  }

  mutating func convTranspose(_ n: Node) {
    let x = n.inputs[0], out = n.outputs[0]
    let group = n.attribute("group")?.intValue ?? 1
    guard let w = n.input(1).flatMap({ constants[$0] }), w.shape.count >= 3, group == 1,
          n.attribute("output_shape") == nil else {
      freeze(x, "\(n.label): only ungrouped ConvTranspose with constant weights is pruned")
      if let w = n.input(1).flatMap({ constants[$0] }), w.shape.count >= 3 {
        newSpace(n, size: w.shape[1] * group, axis: 1, output: out, frozen: "\(n.label): grouped or shaped ConvTranspose")
      }
      return
    }
    if let l = layouts[x] {
      if l.axis == 1 && l.width == w.shape[0] { member(n, x) } else { freeze(x, "\(n.label): input channels do not match") }
    }
    newSpace(n, size: w.shape[1], axis: 1, output: out)
  }

  mutating func gemm(_ n: Node) {
    let a = n.inputs[0], out = n.outputs[0]
    let transA = (n.attribute("transA")?.intValue ?? 0) != 0, transB = (n.attribute("transB")?.intValue ?? 0) != 0
    guard let b = n.input(1).flatMap({ constants[$0] }), b.shape.count == 2, !transA else {
      freeze(a, "\(n.label): Gemm with transA or non-constant B is kept intact")
      return
    }
    if let c = n.input(2), constants[c] == nil { freeze(a, "\(n.label): Gemm bias is not constant") }
    let k = transB ? b.shape[1] : b.shape[0], cols = transB ? b.shape[0] : b.shape[1]
    if let l = layouts[a] {
      if l.axis == 1 && l.width == k { member(n, a) } else { freeze(a, "\(n.label): input features do not match") }
    }
    if let c = n.input(2).flatMap({ constants[$0] }), c.elementCount != 1, c.elementCount != cols || c.shape.last != cols {
      newSpace(n, size: cols, axis: 1, output: out, frozen: "\(n.label): Gemm bias is not per column")
    } else {
      newSpace(n, size: cols, axis: 1, output: out)
    }
  }

  mutating func matMul(_ n: Node) {
    let a = n.inputs[0], out = n.outputs[0]
    guard let b = n.input(1).flatMap({ constants[$0] }), b.shape.count == 2, let sa = shapes[a], sa.count >= 2 else {
      unknownInputs(n, "MatMul with a non-constant or batched right operand")
      return
    }
    if let l = layouts[a] {
      if l.axis == sa.count - 1 && l.width == b.shape[0] { member(n, a) } else { freeze(a, "\(n.label): MatMul reads channels on another axis") }
    }
    newSpace(n, size: b.shape[1], axis: sa.count - 1, output: out)
  }

  mutating func unknownInputs(_ n: Node, _ why: String) {
    for v in n.inputs where !v.isEmpty { freeze(v, "\(n.label): \(why)") }
  }

  // MARK: Channel-preserving ops

  mutating func passThrough(_ n: Node) {
    let x = n.inputs[0], out = n.outputs[0]
    guard let l = layouts[x] else { return }
    let rank = shapes[x]?.count ?? 0
    switch n.opType {
    case "Softmax", "LogSoftmax":
      break
    case "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool",
         "BatchNormalization", "InstanceNormalization":
      guard l.axis == 1, rank >= 3 || n.opType == "BatchNormalization" else {
        freeze(x, "\(n.label): channel axis \(l.axis) is not axis 1"); return
      }
      if n.opType == "BatchNormalization" || n.opType == "InstanceNormalization" { member(n, x) }
      if n.opType == "MaxPool", n.outputs.count > 1, n.outputs[1] != "" { freeze(x, "\(n.label): MaxPool indices output"); return }
    case "PRelu":
      guard let slope = n.input(1), constants[slope] != nil else { freeze(x, "\(n.label): slope is not constant"); return }
      member(n, x)
    case "Clip":
      for v in n.inputs.dropFirst() where !v.isEmpty && (constants[v]?.elementCount ?? 0) != 1 {
        freeze(x, "\(n.label): Clip bounds are not scalar constants"); return
      }
    case "Resize", "Upsample":
      // scales/sizes at the channel axis must keep the channel count.
      let sIn = shapes[x], sOut = shapes[out]
      guard let sIn, let sOut, sIn.count == sOut.count, sIn[l.axis] == sOut[l.axis] else {
        freeze(x, "\(n.label): resizes the channel axis"); return
      }
      if n.input(3) != nil { member(n, x) }
    case "Pad":
      guard let sIn = shapes[x], let sOut = shapes[out], sIn.count == sOut.count, sIn[l.axis] == sOut[l.axis] else {
        freeze(x, "\(n.label): pads the channel axis"); return
      }
    case "Dropout":
      if n.outputs.count > 1, n.outputs[1] != "" { layouts[n.outputs[1]] = l }
    default:
      break
    }
    layouts[out] = l
  }

  mutating func elementwise(_ n: Node) {
    let out = n.outputs[0]
    guard let so = shapes[out] else { unknownInputs(n, "output shape unknown"); return }
    let r = so.count
    var result: ChannelLayout?
    var needs: [String] = []
    for v in n.inputs where !v.isEmpty {
      guard let sv = shapes[v] else { unknownInputs(n, "input shape unknown"); return }
      let shift = r - sv.count
      if let l = layouts[v] {
        let aligned = ChannelLayout(axis: l.axis + shift, segments: l.segments)
        if sv[l.axis] == 1 && so[l.axis + shift] != 1 {
          freeze(v, "\(n.label): broadcast over the other operand's channels"); continue
        }
        guard sv[l.axis] == so[l.axis + shift] else { unknownInputs(n, "broadcasts the channel axis"); return }
        if let cur = result {
          _ = unify(cur, aligned, "\(n.label): operands' channels cannot be matched")
        } else {
          result = aligned
        }
      } else {
        needs.append(v)
      }
    }
    guard let l = result else { return }
    for v in needs {
      // An untracked operand must broadcast over the channel axis, or be a per-channel constant.
      let sv = shapes[v] ?? []
      let axis = l.axis - (r - sv.count)
      if axis < 0 || sv[axis] == 1 { continue }
      if constants[v] != nil, sv[axis] == l.width { memberSpaces[name(n), default: []] += l.segments.map(\.space); continue }
      for u in n.inputs where layouts[u] != nil { freeze(u, "\(n.label): operand '\(v)' has the full channel axis but is not tracked") }
      return
    }
    layouts[out] = l
  }

  mutating func concat(_ n: Node) {
    let out = n.outputs[0]
    guard let so = shapes[out] else { unknownInputs(n, "shape unknown"); return }
    var axis = n.attribute("axis")?.intValue ?? 1
    if axis < 0 { axis += so.count }
    let ins = n.inputs.filter { !$0.isEmpty }
    let ls = ins.map { layouts[$0] }
    guard ls.contains(where: { $0 != nil }) else { return }
    if ls.allSatisfy({ $0 != nil && $0!.axis == axis }) {
      layouts[out] = ChannelLayout(axis: axis, segments: ls.flatMap { $0!.segments })
      for v in ins { member(n, v) }
      return
    }
    if ls.allSatisfy({ $0 != nil && $0!.axis != axis }) {
      let first = ls[0]!
      for l in ls.dropFirst() where !unify(first, l!, "\(n.label): concatenated operands' channels cannot be matched") {
        return
      }
      layouts[out] = first
      return
    }
    unknownInputs(n, "concatenates tracked channels with untracked values")
  }

  mutating func split(_ n: Node) {
    let x = n.inputs[0]
    guard let l = layouts[x], let sx = shapes[x] else { return }
    var axis = n.attribute("axis")?.intValue ?? 0
    if axis < 0 { axis += sx.count }
    let outs = n.outputs
    if axis != l.axis {
      for o in outs where !o.isEmpty { layouts[o] = l }
      return
    }
    let sizes = outs.map { shapes[$0]?[axis] ?? -1 }
    guard !sizes.contains(-1), let parts = l.split(sizes) else {
      freeze(x, "\(n.label): split points fall inside a channel's block"); return
    }
    member(n, x)
    for (o, p) in zip(outs, parts) where !o.isEmpty { layouts[o] = p }
  }

  mutating func flatten(_ n: Node) {
    let x = n.inputs[0], out = n.outputs[0]
    guard let l = layouts[x], let sx = shapes[x] else { return }
    var axis = n.attribute("axis")?.intValue ?? 1
    if axis < 0 { axis += sx.count }
    guard l.axis == 1, axis == 1 else { freeze(x, "\(n.label): Flatten merges the channel axis into the batch"); return }
    layouts[out] = l.expanded(by: sx.dropFirst(2).reduce(1, *))
  }

  mutating func reshape(_ n: Node) {
    let x = n.inputs[0], out = n.outputs[0]
    guard let l = layouts[x] else { return }
    guard let sx = shapes[x], let so = shapes[out], let target = n.input(1), constants[target] != nil else {
      freeze(x, "\(n.label): Reshape to a computed shape"); return
    }
    // [N, C, rest…] → [N, C·∏rest] (merge), or any reshape that leaves dims 0 and 1 alone.
    if l.axis == 1, so.count == 2, sx.count >= 2, so[0] == sx[0] {
      layouts[out] = l.expanded(by: sx.dropFirst(2).reduce(1, *))
      member(n, x)
    } else if l.axis == 1, so.count >= 2, sx.count >= 2, so[0] == sx[0], so[1] == sx[1] {
      layouts[out] = l
      member(n, x)
    } else {
      freeze(x, "\(n.label): Reshape \(sx) → \(so) moves the channel axis")
    }
  }

  mutating func squeeze(_ n: Node) {
    let x = n.inputs[0], out = n.outputs[0]
    guard let l = layouts[x], let sx = shapes[x], let so = shapes[out] else { return }
    // Axes removed or added after the channel axis leave it where it is.
    let keepsAxis = Array(sx.prefix(l.axis + 1)) == Array(so.prefix(l.axis + 1))
    guard keepsAxis else { freeze(x, "\(n.label): moves the channel axis"); return }
    layouts[out] = l
  }
}
