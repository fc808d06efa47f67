import ModelFormat

/// Spatial pruning: runs the network at a smaller input resolution.
///
/// Before:  x: [N, C, 224, 224] … Flatten-by-Reshape(shape = [1, 1280]) → Gemm
/// After:   x: [N, C, 160, 160] … the same graph; shape constants that encoded H·W are rewritten to -1
/// Applies when: every shape constant that depends on the resolution can be rewritten; otherwise
/// throws `unsupported` naming the node (e.g. a Resize to fixed `sizes`, or a Gemm reading H·W features).
public enum SpatialPruning {
  /// Sets input `input` to spatial size `hw` (its last two dims) and rewrites dependent constants.
  public static func resize(_ model: inout Model, input: String, to hw: [Int], oldShapes: [String: [Int]],
                            evaluator: CandidateEvaluator) throws {
    guard let old = oldShapes[input], old.count == 4, hw.count == 2 else {
      throw SecateurError.unsupported("spatial pruning needs an NCHW input; '\(input)' has shape \(oldShapes[input] ?? [])")
    }
    if Array(old[2...]) == hw { return }
    var g = model.graph
    let constants = g.initializerMap
    for (k, n) in g.nodes.enumerated() {
      switch n.opType {
      case "Reshape":
        guard let target = n.input(1), let t = constants[target], let dims = t.intValues(),
              let sx = oldShapes[n.inputs[0]] else { continue }
        let dependsOnSize = sx.count >= 3 && sx.dropFirst(2).reduce(1, *) > 1
        guard dependsOnSize, !dims.contains(-1) else { continue }
        // [N, rest…] → [N, -1]: the merge every Flatten-as-Reshape is.
        if dims.count == 2, dims[0] == sx[0] || dims[0] == 0 {
          let name = g.freshName(target + "_spatial")
          try g.initializers.append(Tensor(name: name, [Int64(dims[0]), -1], shape: [2], dataType: .int64))
          g.nodes[k].inputs[1] = name
        } else {
          throw SecateurError.unsupported(
            "\(n.label): Reshape to the fixed shape \(dims) depends on the input resolution: spatial pruning cannot rewrite it")
        }
      case "Resize", "Upsample":
        if let s = n.input(3), constants[s] != nil {
          throw SecateurError.unsupported("\(n.label): resizes to fixed sizes: spatial pruning cannot rewrite it")
        }
      case "Expand", "Tile", "ConstantOfShape":
        continue
      default:
        continue
      }
    }
    g.valueInfo = []
    var m = model
    m.graph = g
    var newShape = old
    newShape[2] = hw[0]
    newShape[3] = hw[1]
    m = m.withInputShape(input, newShape)
    let shapes: [String: [Int]]
    do {
      shapes = try evaluator.shapes(m)
    } catch let e as SecateurError {
      throw SecateurError.unsupported("input resolution \(hw[0])×\(hw[1]) is not valid for this graph: \(e.message)")
    }
    // Graph outputs now have the new spatial extent.
    for (i, o) in m.graph.outputs.enumerated() {
      if let s = shapes[o.name] { m.graph.outputs[i].type = .tensor(o.type?.tensorElementType ?? .float, s.map { .value($0) }) }
    }
    model = m
  }
}
