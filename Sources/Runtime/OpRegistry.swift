import ModelFormat

/// Builds a kernel for one node.
public typealias KernelFactory = @Sendable (NodeContext) throws -> OpKernel

/// One op implementation, valid from `sinceVersion` of its domain's opset until a later registration
/// of the same op supersedes it.
public struct OpRegistration: Sendable {
  public let opType: String
  public let domain: String
  public let sinceVersion: Int
  public let factory: KernelFactory

  public init(_ opType: String, domain: String = "", since: Int = 1, _ factory: @escaping KernelFactory) {
    self.opType = opType
    self.domain = domain
    self.sinceVersion = since
    self.factory = factory
  }
}

/// The one table of every op Secateur runs. Each kernel family file contributes its `registrations`.
public enum OpRegistry {
  static let families: [[OpRegistration]] = [
    ElementwiseKernels.registrations,
    BinaryKernels.registrations,
    ConvKernels.registrations,
    PoolKernels.registrations,
    GemmKernels.registrations,
    NormalizationKernels.registrations,
    ReduceKernels.registrations,
    ShapeKernels.registrations,
    TensorKernels.registrations,
    SoftmaxKernels.registrations,
    ResizeKernels.registrations,
    FusedKernels.registrations,
    CoverageKernels.registrations,
  ]

  static let table: [String: [OpRegistration]] = {
    var t: [String: [OpRegistration]] = [:]
    for family in families {
      for r in family { t[key(r.domain, r.opType), default: []].append(r) }
    }
    for k in t.keys { t[k]!.sort { $0.sinceVersion < $1.sinceVersion } }
    return t
  }()

  static func key(_ domain: String, _ op: String) -> String {
    (domain == "ai.onnx" ? "" : domain) + "::" + op
  }

  /// Every registered (domain, op) for reports.
  public static var supportedOps: [String] { table.keys.sorted() }

  public static func isSupported(opType: String, domain: String) -> Bool { table[key(domain, opType)] != nil }

  /// Creates the kernel for `context.node`: the latest registration whose version ≤ the model's opset.
  public static func makeKernel(_ context: NodeContext) throws -> OpKernel {
    let n = context.node
    guard let regs = table[key(n.domain, n.opType)] else {
      let d = n.domain.isEmpty ? "ai.onnx" : n.domain
      throw SecateurError.unsupported("\(n.label): operator \(d)::\(n.opType) is not supported")
    }
    guard let r = regs.last(where: { $0.sinceVersion <= context.opset }) else {
      throw SecateurError.unsupported(
        "\(n.label): \(n.opType) is implemented from opset \(regs[0].sinceVersion), the model uses opset \(context.opset)")
    }
    return try r.factory(context)
  }
}
