import ModelFormat

/// What one pass changed, printed by `secateur optimize` (e.g. "eliminate-dead-code: 3 nodes removed").
public struct PassReport: Sendable, CustomStringConvertible {
  public var pass: String
  public var changes: Int
  public var summary: String
  public init(pass: String, changes: Int, summary: String) {
    self.pass = pass
    self.changes = changes
    self.summary = summary
  }
  public var description: String { "\(pass): \(summary)" }
}

/// A graph-to-graph rewrite. Passes decline (report no change) rather than assert when a model is odd.
public protocol GraphPass: Sendable {
  var name: String { get }
  func run(on model: inout Model) throws -> PassReport
}

/// Runs passes in order.
public struct PassManager: Sendable {
  public var passes: [any GraphPass]
  public init(passes: [any GraphPass]) { self.passes = passes }

  /// The pipeline without constant evaluation (for callers that have no Runtime).
  public static let `default` = standard(evaluator: nil, shapes: nil)

  /// The standard pipeline. With an evaluator (the Runtime provides one) constant subgraphs fold too;
  /// with shapes, `Shape`/`Size` of statically shaped values fold.
  ///
  /// `fuse` adds the fusion passes, whose Secateur-specific nodes only the Runtime executes: a model
  /// written after them must go through `UnfuseForExport` (see `exportable`).
  public static func standard(evaluator: ConstantEvaluator?,
                              shapes: (@Sendable (Model) -> [String: [Int]]?)?, fuse: Bool = false) -> PassManager {
    var passes: [any GraphPass] = [InlineFunctions(), EliminateIdentity()]
    if let evaluator { passes.append(FoldConstants(evaluator: evaluator, shapes: shapes)) }
    passes += [FoldAffineIntoProducer(), FoldAffineIntoNextConv(), EliminateDeadCode()]
    if fuse { passes += [FuseLayerNorm(), RecognizeActivations(), FuseConvActivation(shapes: shapes)] }
    return PassManager(passes: passes)
  }

  /// Makes an optimized model standard ONNX again, for writing.
  public static func exportable(_ model: Model) throws -> Model {
    var m = model
    _ = try UnfuseForExport().run(on: &m)
    return m
  }

  public func run(on model: inout Model) throws -> [PassReport] {
    try passes.map { try $0.run(on: &model) }
  }
}
