import ModelFormat

/// Read-mostly views of a graph that passes use for matching: who consumes a value, which values are
/// constant. Rebuilt by a pass after each rewrite it makes (graphs are small next to their weights).
struct GraphIndex {
  private(set) var consumers: [String: [Int]] = [:]
  private(set) var producer: [String: Int] = [:]
  let graphOutputs: Set<String>
  let subgraphNames: Set<String>

  init(_ g: Graph) {
    graphOutputs = Set(g.outputs.map(\.name))
    var sub = Set<String>()
    for (i, n) in g.nodes.enumerated() {
      for input in n.inputs where !input.isEmpty { consumers[input, default: []].append(i) }
      for o in n.outputs where !o.isEmpty { producer[o] = i }
      for name in n.subgraphOuterReferences() { sub.insert(name) }
    }
    subgraphNames = sub
  }

  /// True when `value` is read by exactly one node and by nothing else (no graph output, no subgraph).
  func hasSingleUse(_ value: String) -> Bool {
    (consumers[value]?.count ?? 0) == 1 && !graphOutputs.contains(value) && !subgraphNames.contains(value)
  }

  func singleConsumer(_ value: String) -> Int? { hasSingleUse(value) ? consumers[value]?.first : nil }
}

extension Graph {
  /// The constant tensor named `name`: an initializer that is not a graph input (which a caller could override).
  func constant(_ name: String) -> Tensor? {
    guard !name.isEmpty, !inputs.contains(where: { $0.name == name }) else { return nil }
    return initializers.first { $0.name == name }
  }

  /// Float32 contents of a constant.
  func floatConstant(_ name: String) -> [Float]? {
    guard let t = constant(name), t.dataType == .float else { return nil }
    return t.withElements(as: Float.self) { Array($0) }
  }

  /// Adds (or replaces) an initializer.
  mutating func setInitializer(_ t: Tensor) {
    if let i = initializers.firstIndex(where: { $0.name == t.name }) { initializers[i] = t } else { initializers.append(t) }
  }

  /// A name not used by any value or initializer yet.
  func freshName(_ base: String) -> String {
    var used = Set(initializers.map(\.name))
    for n in nodes { used.formUnion(n.outputs); used.formUnion(n.inputs) }
    for i in inputs { used.insert(i.name) }
    if !used.contains(base) { return base }
    var k = 1
    while used.contains("\(base)_\(k)") { k += 1 }
    return "\(base)_\(k)"
  }

  /// Replaces every read of `old` by `new` (nodes and graph outputs are not renamed; callers pick which).
  mutating func replaceUses(of old: String, with new: String) {
    for i in nodes.indices {
      for j in nodes[i].inputs.indices where nodes[i].inputs[j] == old { nodes[i].inputs[j] = new }
    }
  }
}

/// The per-channel affine `y = x·scale[c] + shift[c]` over axis 1 that BatchNormalization (and constant
/// Mul/Add/Sub/Div chains) compute in inference.
struct ChannelAffine {
  var scale: [Float]
  var shift: [Float]

  /// Inference BatchNormalization: scale = γ/√(v+ε), shift = β − m·scale. The MABN form (no mean) is
  /// the same with m = 0.
  static func batchNorm(_ n: Node, in g: Graph) -> ChannelAffine? {
    guard n.inputs.count == 5, n.outputs.count == 1 || n.outputs.dropFirst().allSatisfy(\.isEmpty),
          (n.attribute("training_mode")?.intValue ?? 0) == 0,
          let gamma = g.floatConstant(n.inputs[1]), let beta = g.floatConstant(n.inputs[2]),
          let mean = g.floatConstant(n.inputs[3]), let variance = g.floatConstant(n.inputs[4]) else { return nil }
    let c = gamma.count
    guard beta.count == c, mean.count == c, variance.count == c else { return nil }
    let eps = n.attribute("epsilon")?.floatValue ?? 1e-5
    var a = ChannelAffine(scale: [Float](repeating: 0, count: c), shift: [Float](repeating: 0, count: c))
    for i in 0..<c {
      // Double keeps the folded weights as close as possible to the unfused computation.
      let s = Double(gamma[i]) / (Double(variance[i]) + Double(eps)).squareRoot()
      a.scale[i] = Float(s)
      a.shift[i] = Float(Double(beta[i]) - Double(mean[i]) * s)
    }
    return a
  }

  /// A constant operand of Mul/Add/Sub/Div that broadcasts per channel along axis 1 of a rank-`rank`
  /// tensor with `channels` channels (shapes [C,1,1], [1,C,1,1], [1] or scalar), expanded to C values.
  static func perChannel(_ t: Tensor, rank: Int, channels: Int) -> [Float]? {
    guard t.dataType == .float else { return nil }
    let v = t.withElements(as: Float.self) { Array($0) }
    if v.count == 1 && t.shape.count <= rank { return [Float](repeating: v[0], count: channels) }
    guard v.count == channels, t.shape.count <= rank, rank >= 2 else { return nil }
    // The channel axis of the operand, aligned from the right, must be axis 1 of the data.
    let axis = rank - t.shape.count  // where the operand's first dim lands
    for (k, d) in t.shape.enumerated() {
      let dataAxis = axis + k
      if dataAxis == 1 { if d != channels { return nil } } else if d != 1 { return nil }
    }
    guard axis <= 1 else { return nil }
    return v
  }
}
