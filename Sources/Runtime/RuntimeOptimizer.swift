import ModelFormat
import Optimizer

/// Evaluates nodes with the Runtime's own kernels, for the Optimizer's constant folding.
public struct RuntimeConstantEvaluator: ConstantEvaluator {
  /// Largest output one folded node may produce. A session passes its own memory limit (fuzz finding: a
  /// Range folded here allocated 512 MiB in a session capped at 16 MiB).
  public var memoryLimit: Int
  public init(memoryLimit: Int = 1 << 30) { self.memoryLimit = memoryLimit }
  public func evaluate(_ node: Node, opset: Int, inputs: [Tensor?]) throws -> [Tensor] {
    let kernel = try OpRegistry.makeKernel(NodeContext(node: node, opset: opset, constants: inputs, prepack: false))
    return try Executor.evaluate(kernel, inputs, label: node.label, pool: nil, memoryLimit: memoryLimit)
  }
}

extension PassManager {
  /// The standard pipeline with the Runtime's constant evaluator and planned shapes: what sessions and
  /// `secateur optimize` run.
  public static var runtime: PassManager { runtime(memoryLimit: 1 << 30) }

  /// The same pipeline with constant folding capped at `memoryLimit` bytes per node.
  public static func runtime(memoryLimit: Int) -> PassManager {
    PassManager.standard(evaluator: RuntimeConstantEvaluator(memoryLimit: memoryLimit), shapes: { model in
      try? PlannedShapes(memoryLimit: memoryLimit).valueShapesIfStatic(of: model)
    }, fuse: true)
  }
}

extension PlannedShapes {
  /// Shapes only when every graph input is fully static (folding Shape must not bake in a symbolic dim).
  func valueShapesIfStatic(of model: Model) throws -> [String: [Int]]? {
    for i in model.graph.runtimeInputs {
      guard let s = i.type?.tensorShape, s.allSatisfy({ $0.value != nil }) else { return nil }
    }
    return try valueShapes(of: model)
  }
}
