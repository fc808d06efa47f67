import ModelFormat
import Optimizer

/// Concrete shapes of every value, found by planning the model for its declared input shapes
/// (symbolic dims set to `symbolicDim`). Implements the Optimizer's `ShapeProvider`.
public struct PlannedShapes: ShapeProvider {
  public var symbolicDim = 1
  /// Per-input shape overrides by name.
  public var inputShapes: [String: [Int]] = [:]
  /// Cap on what planning may fold (constant nodes are evaluated to learn shapes). A session passes its
  /// own limit: with the 8 GiB default, a Range folded here allocated 512 MiB while planning a model for
  /// a session capped at 16 MiB (fuzz regression struct/range-scratch-8x-output).
  public var memoryLimit = SessionOptions().memoryLimit

  public init(symbolicDim: Int = 1, inputShapes: [String: [Int]] = [:], memoryLimit: Int = SessionOptions().memoryLimit) {
    self.symbolicDim = symbolicDim
    self.inputShapes = inputShapes
    self.memoryLimit = memoryLimit
  }

  public func valueShapes(of model: Model) throws -> [String: [Int]] {
    let program = try Program(model: model, memoryLimit: memoryLimit, prepack: false)
    var specs: [TensorSpec] = []
    for info in program.inputInfos {
      guard case .tensor(let t, let shape)? = info.type else {
        throw SecateurError.unsupported("input '\(info.name)' is not a tensor")
      }
      let dims = inputShapes[info.name] ?? (shape ?? []).map { $0.value ?? symbolicDim }
      specs.append(TensorSpec(t, dims))
    }
    let plan = try Plan(program: program, inputSpecs: specs)
    var shapes: [String: [Int]] = [:]
    for (vid, spec) in plan.specs.enumerated() {
      if let spec { shapes[program.valueNames[vid]] = spec.shape }
    }
    return shapes
  }
}
