/// The one error type every Secateur module throws.
///
/// `code` maps one-to-one onto the C ABI's `sct_status`; `message` follows the form
/// `"<node> (<op>): <what> <value>: <rule>"` wherever a node is concerned.
public struct SecateurError: Error, CustomStringConvertible, Sendable, Equatable {
  public enum Code: Int32, Sendable {
    case invalidArgument = 1  // a caller passed something wrong (null, bad name, wrong shape or dtype)
    case invalidModel = 2     // the model bytes or structure are malformed
    case unsupported = 3      // a valid model uses something Secateur does not implement
    case io = 4               // a file could not be read or written
    case outOfMemory = 5      // a size limit was hit or an allocation failed
    case runtime = 6          // a failure while executing (e.g. a data-dependent index out of range)
  }

  public var code: Code
  public var message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { message }

  public static func invalidModel(_ m: String) -> SecateurError { .init(.invalidModel, m) }
  public static func invalidArgument(_ m: String) -> SecateurError { .init(.invalidArgument, m) }
  public static func unsupported(_ m: String) -> SecateurError { .init(.unsupported, m) }
  public static func io(_ m: String) -> SecateurError { .init(.io, m) }
  public static func runtime(_ m: String) -> SecateurError { .init(.runtime, m) }
}
