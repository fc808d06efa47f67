import ModelFormat

/// What the pruner needs from an execution engine: shapes, outputs and latency of candidate models.
///
/// The Optimizer only declares it; the Runtime implements it (`PruningEvaluator`), so arrows keep
/// pointing down. Every model passed in has concrete input shapes.
public protocol CandidateEvaluator {
  /// Every value's concrete shape for the model's declared input shapes; throws naming the node whose
  /// shape rule fails.
  func shapes(_ model: Model) throws -> [String: [Int]]
  /// Runs `model` (as written, no graph optimization) on each feed set; returns the graph outputs.
  func outputs(_ model: Model, feeds: [[String: Tensor]]) throws -> [[Tensor]]
  /// Median latency in milliseconds of the model after the standard optimizer, on `feeds`.
  func latencyMs(_ model: Model, feeds: [String: Tensor]) throws -> Double
  /// The model with constants folded and dead code removed, but BatchNormalization kept (pruning and
  /// BN recalibration need it).
  func simplified(_ model: Model) throws -> Model
}

extension Model {
  /// The model with its first image-like (rank-4) runtime input fixed to `shape`, or every symbolic dim
  /// of every runtime input set to `symbolicDim`.
  func withInputShape(_ name: String, _ shape: [Int]) -> Model {
    var m = self
    for (i, info) in m.graph.inputs.enumerated() where info.name == name {
      let t = info.type?.tensorElementType ?? .float
      m.graph.inputs[i].type = .tensor(t, shape.map { .value($0) })
    }
    return m
  }

  /// Concrete shapes of runtime inputs, symbolic dims taken as `symbolicDim`.
  public func concreteInputShapes(symbolicDim: Int = 1) -> [String: [Int]] {
    var out: [String: [Int]] = [:]
    for i in graph.runtimeInputs {
      out[i.name] = (i.type?.tensorShape ?? []).map { d -> Int in
        if let v = d.value, v > 0 { return v }
        return symbolicDim
      }
    }
    return out
  }
}
