import ModelFormat

/// Spatial pruning: runs the network at a smaller input resolution.
///
/// Before:  x: [N, C, 224, 224] … Flatten-by-Reshape(shape = [1, 1280]) → Gemm
/// After:   x: [N, C, 160, 160] … the same graph; shape constants that encoded the size are rewritten
/// Applies when: every shape constant that depends on the resolution can be rewritten; otherwise
/// throws `unsupported` naming the node (e.g. a Resize to fixed `sizes`, or a Gemm reading H·W features).
///
/// Reshape targets are rewritten from the old and new shapes of the Reshape's input (shape inference
/// of the graph up to it): with P the product of the input's leading axes that keep their size, the
/// target's longest prefix whose product divides P still indexes whole blocks of those axes, so
/// - a single dim after it (`[N, C·H·W]`, `[N, C, H·W]`) becomes -1;
/// - a tail equal to the input's resized axes (`[N, g, C/g, H, W]`, a channel shuffle) gets their new sizes.
public enum SpatialPruning {
  /// Sets input `input` to spatial size `hw` (its last two dims) and rewrites dependent constants.
  /// Returns the shapes of every value at the new size.
  @discardableResult
  public static func resize(_ model: inout Model, input: String, to hw: [Int], oldShapes: [String: [Int]],
                            evaluator: CandidateEvaluator) throws -> [String: [Int]] {
    guard let old = oldShapes[input], old.count == 4, hw.count == 2 else {
      throw SecateurError.unsupported("spatial pruning needs an NCHW input; '\(input)' has shape \(oldShapes[input] ?? [])")
    }
    if Array(old[2...]) == hw { return oldShapes }
    var newShape = old
    newShape[2] = hw[0]
    newShape[3] = hw[1]
    func invalid(_ e: SecateurError) -> SecateurError {
      SecateurError.unsupported("input resolution \(hw[0])×\(hw[1]) is not valid for this graph: \(e.message)")
    }
    var g = model.graph
    let constants = g.initializerMap
    /// Shape of `value` at the new size, inferring the graph as rewritten so far up to node `k`.
    func shapeAtNewSize(of value: String, before k: Int) throws -> [Int]? {
      var t = model
      t.graph = g
      t.graph.nodes = Array(g.nodes.prefix(k))
      t.graph.outputs = [ValueInfo(name: value, type: .tensor(.float, nil))]
      t.graph.valueInfo = []
      t = t.withInputShape(input, newShape)
      do { return try evaluator.shapes(t)[value] } catch let e as SecateurError { throw invalid(e) }
    }
    for (k, n) in g.nodes.enumerated() {
      switch n.opType {
      case "Reshape":
        guard let target = n.input(1), let t = constants[target], let dims = t.intValues(),
              let sx = oldShapes[n.inputs[0]], sx.count >= 3, sx.dropFirst(2).reduce(1, *) > 1,
              !dims.contains(-1) else { continue }
        guard let nx = try shapeAtNewSize(of: n.inputs[0], before: k), nx.count == sx.count, nx != sx else { continue }
        let allowZero = (n.attribute("allowzero")?.intValue ?? 0) != 0
        func resolved(_ s: [Int]) -> [Int] {
          dims.enumerated().map { i, d in d == 0 && !allowZero && i < s.count ? s[i] : Int(d) }
        }
        let before = resolved(sx)
        let fail = SecateurError.unsupported(
          "\(n.label): Reshape to the fixed shape \(dims) depends on the input resolution (its input goes from \(sx) to \(nx)): spatial pruning cannot rewrite it")
        guard before.allSatisfy({ $0 > 0 }) else { throw fail }
        let firstChanged = sx.indices.first { sx[$0] != nx[$0] }!
        let lead = sx[..<firstChanged].reduce(1, *)
        var cut = 0, prefix = 1
        while cut < before.count, lead % (prefix * before[cut]) == 0 {
          prefix *= before[cut]
          cut += 1
        }
        var rewritten: [Int]
        if cut == before.count - 1 {
          rewritten = Array(before[..<cut]) + [-1]
        } else if prefix == lead, Array(before[cut...]) == Array(sx[firstChanged...]) {
          rewritten = Array(before[..<cut]) + Array(nx[firstChanged...])
        } else {
          throw fail
        }
        // Zeros that copied an unchanged leading axis stay zeros.
        for i in 0..<min(cut, firstChanged) where dims[i] == 0 && !allowZero { rewritten[i] = 0 }
        let name = g.freshName(target + "_spatial")
        try g.initializers.append(Tensor(name: name, rewritten.map(Int64.init), shape: [rewritten.count], dataType: .int64))
        g.nodes[k].inputs[1] = name
      case "Resize", "Upsample":
        if let s = n.input(3), constants[s] != nil {
          throw SecateurError.unsupported("\(n.label): resizes to fixed sizes: spatial pruning cannot rewrite it")
        }
      default:
        continue
      }
    }
    g.valueInfo = []
    var m = model
    m.graph = g
    m = m.withInputShape(input, newShape)
    let shapes: [String: [Int]]
    do {
      shapes = try evaluator.shapes(m)
    } catch let e as SecateurError {
      throw invalid(e)
    }
    // Graph outputs now have the new spatial extent.
    for (i, o) in m.graph.outputs.enumerated() {
      if let s = shapes[o.name] { m.graph.outputs[i].type = .tensor(o.type?.tensorElementType ?? .float, s.map { .value($0) }) }
    }
    model = m
    return shapes
  }
}
