/// A node attribute (`AttributeProto`). Strings are bytes, as ONNX defines them.
public struct Attribute: Sendable {
  public indirect enum Value: Sendable {
    case float(Float)
    case int(Int)
    case string([UInt8])
    case tensor(Tensor)
    case graph(Graph)
    case floats([Float])
    case ints([Int])
    case strings([[UInt8]])
    case tensors([Tensor])
    case graphs([Graph])
    case typeProto(ValueType?)
    case typeProtos([ValueType?])
    /// A reference to an attribute of the enclosing function (`ref_attr_name`), with its declared type code.
    case reference(String, type: Int)
    /// Sparse tensors are kept as the raw `SparseTensorProto` bytes: no kernel needs them.
    case sparseTensor([UInt8])
    case sparseTensors([[UInt8]])
  }

  public var name: String
  public var value: Value
  public var docString: String = ""

  public init(name: String, value: Value, docString: String = "") {
    self.name = name
    self.value = value
    self.docString = docString
  }

  public var intValue: Int? { if case .int(let v) = value { return v } else { return nil } }
  public var floatValue: Float? { if case .float(let v) = value { return v } else { return nil } }
  public var ints: [Int]? { if case .ints(let v) = value { return v } else { return nil } }
  public var floats: [Float]? { if case .floats(let v) = value { return v } else { return nil } }
  public var stringValue: String? {
    if case .string(let v) = value { return String(decoding: v, as: UTF8.self) } else { return nil }
  }
  public var tensor: Tensor? { if case .tensor(let v) = value { return v } else { return nil } }
  public var graph: Graph? { if case .graph(let v) = value { return v } else { return nil } }
}
