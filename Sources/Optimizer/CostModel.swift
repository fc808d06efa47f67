import ModelFormat

/// Multiply-accumulate and parameter counts, exact for Conv, ConvTranspose, Gemm and MatMul (the ops
/// that dominate CNN cost); other ops count as zero MACs.
///
/// Shapes come from outside (the Runtime's planner implements `ShapeProvider`), keeping the Optimizer
/// free of any dependency on the Runtime.
public protocol ShapeProvider {
  /// Concrete shapes of every value of `model` for its declared (or given) input shapes.
  func valueShapes(of model: Model) throws -> [String: [Int]]
}

public struct CostModel {
  public struct NodeCost: Sendable {
    public var node: String
    public var opType: String
    public var macs: Int
    public var parameters: Int
  }

  public let perNode: [NodeCost]
  public var totalMACs: Int { perNode.reduce(0) { $0 + $1.macs } }
  public var totalParameters: Int { perNode.reduce(0) { $0 + $1.parameters } }

  public init(graph: Graph, shapes: [String: [Int]]) {
    let inits = graph.initializerMap
    perNode = graph.nodes.map { n in
      let params = n.inputs.compactMap { inits[$0]?.elementCount }.reduce(0, +)
      return NodeCost(node: n.name, opType: n.opType, macs: CostModel.macs(n, shapes), parameters: params)
    }
  }

  static func macs(_ n: Node, _ shapes: [String: [Int]]) -> Int {
    func shape(_ i: Int) -> [Int]? { n.input(i).flatMap { shapes[$0] } }
    let out = n.outputs.first.flatMap { shapes[$0] }
    switch n.opType {
    case "Conv":
      guard let w = shape(1), let out, w.count >= 2 else { return 0 }
      return (shapeElementCount(out) ?? 0) * w.dropFirst().reduce(1, *)
    case "ConvTranspose":
      guard let x = shape(0), let w = shape(1), w.count >= 2 else { return 0 }
      let group = n.attribute("group")?.intValue ?? 1
      return (shapeElementCount(x) ?? 0) * (w[1] * w.dropFirst(2).reduce(1, *)) / max(1, group) * max(1, group)
    case "Gemm":
      guard let a = shape(0), let out, a.count == 2, out.count == 2 else { return 0 }
      let k = (n.attribute("transA")?.intValue ?? 0) != 0 ? a[0] : a[1]
      return out[0] * out[1] * k
    case "MatMul":
      guard let a = shape(0), let out, !a.isEmpty else { return 0 }
      return (shapeElementCount(out) ?? 0) * a[a.count - 1]
    default:
      return 0
    }
  }
}
