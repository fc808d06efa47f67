/// One dimension of a declared (graph-level) shape: a number, a named symbol, or unknown.
public enum Dim: Hashable, Sendable, CustomStringConvertible {
  case value(Int)
  case symbol(String)
  case unknown

  public var value: Int? { if case .value(let v) = self { return v } else { return nil } }

  public var description: String {
    switch self {
    case .value(let v): return String(v)
    case .symbol(let s): return s
    case .unknown: return "?"
    }
  }
}

/// A declared shape; `nil` dims (in `ValueType`) mean the rank itself is unknown.
public typealias Shape = [Dim]

/// The type of a graph value as ONNX declares it (`TypeProto`).
public indirect enum ValueType: Hashable, Sendable, CustomStringConvertible {
  case tensor(DataType, Shape?)
  case sparseTensor(DataType, Shape?)
  case sequence(ValueType?)
  case optional(ValueType?)
  case map(key: DataType, value: ValueType?)

  public var description: String {
    switch self {
    case .tensor(let t, let s): return "\(t)\(s.map { "[" + $0.map(\.description).joined(separator: ",") + "]" } ?? "[?]")"
    case .sparseTensor(let t, let s): return "sparse \(ValueType.tensor(t, s))"
    case .sequence(let e): return "seq(\(e.map(\.description) ?? "?"))"
    case .optional(let e): return "optional(\(e.map(\.description) ?? "?"))"
    case .map(let k, let v): return "map(\(k), \(v.map(\.description) ?? "?"))"
    }
  }

  public var tensorElementType: DataType? {
    if case .tensor(let t, _) = self { return t }
    return nil
  }

  public var tensorShape: Shape? {
    if case .tensor(_, let s) = self { return s }
    return nil
  }
}

/// A named graph input, output, or annotated intermediate.
public struct ValueInfo: Hashable, Sendable {
  public var name: String
  public var type: ValueType?
  public var docString: String

  public init(name: String, type: ValueType?, docString: String = "") {
    self.name = name
    self.type = type
    self.docString = docString
  }
}

/// Number of elements of a concrete shape, or nil on a negative dim or overflow.
@inlinable
public func shapeElementCount(_ shape: [Int]) -> Int? {
  var n = 1
  for d in shape {
    if d < 0 { return nil }
    let (m, o) = n.multipliedReportingOverflow(by: d)
    if o { return nil }
    n = m
  }
  return n
}
