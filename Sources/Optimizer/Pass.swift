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

  /// The pipeline sessions run by default.
  public static let `default` = PassManager(passes: [EliminateIdentity(), EliminateDeadCode()])

  public func run(on model: inout Model) throws -> [PassReport] {
    try passes.map { try $0.run(on: &model) }
  }
}
