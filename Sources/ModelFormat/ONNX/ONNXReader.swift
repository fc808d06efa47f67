/// Decodes ONNX protobuf messages (`ModelProto`, `GraphProto`, `TensorProto`, ...) into the IR.
///
/// Field numbers follow onnx.proto (IR 10). Unknown fields are skipped so newer files still load.
/// Every length is checked against the bytes left; nesting is capped so a hostile file cannot
/// exhaust the stack.
public struct ONNXReader {
  /// Where external tensor data may be read from; nil means memory-only (external data is refused).
  public var externalData: ExternalDataResolver?
  /// Maximum nesting of graphs inside attributes.
  public var maxDepth = 32
  /// What the last read met (shared by copies of this reader).
  public let stats = ReadStats()
  /// Lets `readTensor` slide a misaligned `raw_data` payload back over bytes of its own message it has
  /// already read, so the tensor stays a view instead of a copy. Exporters do not align payloads
  /// (ResNet-50 from PyTorch: 79 MB of its 102 MB were misaligned, and copying them held the weights
  /// twice). Only for a buffer the reader owns and nothing parses again: it is no longer valid protobuf.
  public var alignPayloadsInPlace = false

  public final class ReadStats: @unchecked Sendable {
    public internal(set) var externalTensors = 0
  }

  public init(externalData: ExternalDataResolver? = nil) {
    self.externalData = externalData
  }

  // MARK: Entry points

  public func readModel(_ storage: Buffer) throws -> Model {
    var r = ProtoReader(storage: storage, range: 0..<storage.count, context: "ModelProto")
    return try readModel(&r)
  }

  public func readTensor(_ storage: Buffer) throws -> Tensor {
    var r = ProtoReader(storage: storage, range: 0..<storage.count, context: "TensorProto")
    return try readTensor(&r)
  }

  // MARK: Messages

  func readModel(_ r: inout ProtoReader) throws -> Model {
    var model = Model(graph: Graph(), opsetImports: [], irVersion: 0, producerName: "")
    var sawGraph = false
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .varint): model.irVersion = try r.readInt()
      case (2, .lengthDelimited): model.producerName = try r.readString()
      case (3, .lengthDelimited): model.producerVersion = try r.readString()
      case (4, .lengthDelimited): model.domain = try r.readString()
      case (5, .varint): model.modelVersion = try r.readInt()
      case (6, .lengthDelimited): model.docString = try r.readString()
      case (7, .lengthDelimited):
        var g = try r.readMessage("GraphProto")
        model.graph = try readGraph(&g, depth: 0)
        sawGraph = true
      case (8, .lengthDelimited):
        var o = try r.readMessage("OperatorSetIdProto")
        model.opsetImports.append(try readOpset(&o))
      case (14, .lengthDelimited):
        var e = try r.readMessage("StringStringEntryProto")
        model.metadata.append(try readStringPair(&e))
      case (25, .lengthDelimited):
        var f = try r.readMessage("FunctionProto")
        model.functions.append(try readFunction(&f))
      default: try r.skip(wire)
      }
    }
    guard sawGraph else { throw SecateurError.invalidModel("ModelProto: the model has no graph") }
    return model
  }

  func readOpset(_ r: inout ProtoReader) throws -> OpsetImport {
    var o = OpsetImport(domain: "", version: 0)
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .lengthDelimited): o.domain = try r.readString()
      case (2, .varint): o.version = try r.readInt()
      default: try r.skip(wire)
      }
    }
    return o
  }

  func readStringPair(_ r: inout ProtoReader) throws -> (key: String, value: String) {
    var k = "", v = ""
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .lengthDelimited): k = try r.readString()
      case (2, .lengthDelimited): v = try r.readString()
      default: try r.skip(wire)
      }
    }
    return (k, v)
  }

  func readGraph(_ r: inout ProtoReader, depth: Int) throws -> Graph {
    guard depth <= maxDepth else {
      throw SecateurError.invalidModel("GraphProto: subgraphs nested deeper than \(maxDepth) levels")
    }
    var g = Graph(name: "")
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .lengthDelimited):
        var n = try r.readMessage("NodeProto")
        g.nodes.append(try readNode(&n, depth: depth))
      case (2, .lengthDelimited): g.name = try r.readString()
      case (5, .lengthDelimited):
        var t = try r.readMessage("TensorProto (initializer)")
        g.initializers.append(try readTensor(&t))
      case (10, .lengthDelimited): g.docString = try r.readString()
      case (11, .lengthDelimited):
        var v = try r.readMessage("ValueInfoProto (input)")
        g.inputs.append(try readValueInfo(&v))
      case (12, .lengthDelimited):
        var v = try r.readMessage("ValueInfoProto (output)")
        g.outputs.append(try readValueInfo(&v))
      case (13, .lengthDelimited):
        var v = try r.readMessage("ValueInfoProto")
        g.valueInfo.append(try readValueInfo(&v))
      case (15, .lengthDelimited): g.sparseInitializers.append(try r.readBytes())
      default: try r.skip(wire)
      }
    }
    return g
  }

  func readNode(_ r: inout ProtoReader, depth: Int) throws -> Node {
    var n = Node(opType: "", inputs: [], outputs: [])
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .lengthDelimited): n.inputs.append(try r.readString())
      case (2, .lengthDelimited): n.outputs.append(try r.readString())
      case (3, .lengthDelimited): n.name = try r.readString()
      case (4, .lengthDelimited): n.opType = try r.readString()
      case (5, .lengthDelimited):
        var a = try r.readMessage("AttributeProto")
        n.attributes.append(try readAttribute(&a, depth: depth))
      case (6, .lengthDelimited): n.docString = try r.readString()
      case (7, .lengthDelimited): n.domain = try r.readString()
      case (8, .lengthDelimited): n.overload = try r.readString()
      default: try r.skip(wire)
      }
    }
    return n
  }

  func readAttribute(_ r: inout ProtoReader, depth: Int) throws -> Attribute {
    var name = "", doc = "", refName = ""
    var type = 0
    var f: Float = 0, i = 0
    var s: [UInt8] = []
    var t: Tensor?, g: Graph?, tp: ValueType?? = nil
    var floats: [UInt32] = [], ints: [Int] = [], strings: [[UInt8]] = []
    var tensors: [Tensor] = [], graphs: [Graph] = [], tps: [ValueType?] = []
    var sparse: [UInt8]?, sparses: [[UInt8]] = []
    var seen = Set<Int>()
    while let (field, wire) = try r.nextField() {
      seen.insert(field)
      switch (field, wire) {
      case (1, .lengthDelimited): name = try r.readString()
      case (2, .fixed32): f = Float(bitPattern: try r.readFixed32())
      case (3, .varint): i = try r.readInt()
      case (4, .lengthDelimited): s = try r.readBytes()
      case (5, .lengthDelimited):
        var m = try r.readMessage("TensorProto (attribute)")
        t = try readTensor(&m)
      case (6, .lengthDelimited):
        var m = try r.readMessage("GraphProto (attribute)")
        g = try readGraph(&m, depth: depth + 1)
      case (7, _): try r.readRepeatedFixed32(wire, into: &floats)
      case (8, _): try r.readRepeatedVarint(wire, into: &ints)
      case (9, .lengthDelimited): strings.append(try r.readBytes())
      case (10, .lengthDelimited):
        var m = try r.readMessage("TensorProto (attribute)")
        tensors.append(try readTensor(&m))
      case (11, .lengthDelimited):
        var m = try r.readMessage("GraphProto (attribute)")
        graphs.append(try readGraph(&m, depth: depth + 1))
      case (13, .lengthDelimited): doc = try r.readString()
      case (14, .lengthDelimited):
        var m = try r.readMessage("TypeProto")
        tp = .some(try readType(&m, depth: 0))
      case (15, .lengthDelimited):
        var m = try r.readMessage("TypeProto")
        tps.append(try readType(&m, depth: 0))
      case (20, .varint): type = try r.readInt()
      case (21, .lengthDelimited): refName = try r.readString()
      case (22, .lengthDelimited): sparse = try r.readBytes()
      case (23, .lengthDelimited): sparses.append(try r.readBytes())
      default: try r.skip(wire)
      }
    }
    // AttributeType codes: FLOAT=1 INT=2 STRING=3 TENSOR=4 GRAPH=5 FLOATS=6 INTS=7 STRINGS=8 TENSORS=9
    // GRAPHS=10 SPARSE_TENSOR=11 SPARSE_TENSORS=12 TYPE_PROTO=13 TYPE_PROTOS=14. Old files omit `type`:
    // then the field that is present decides.
    if !refName.isEmpty { return Attribute(name: name, value: .reference(refName, type: type), docString: doc) }
    if type == 0 {
      if seen.contains(2) { type = 1 } else if seen.contains(3) { type = 2 } else if seen.contains(4) { type = 3 }
      else if seen.contains(5) { type = 4 } else if seen.contains(6) { type = 5 } else if seen.contains(7) { type = 6 }
      else if seen.contains(8) { type = 7 } else if seen.contains(9) { type = 8 } else if seen.contains(10) { type = 9 }
      else if seen.contains(11) { type = 10 }
    }
    let value: Attribute.Value
    switch type {
    case 1: value = .float(f)
    case 2: value = .int(i)
    case 3: value = .string(s)
    case 4:
      guard let t else { throw SecateurError.invalidModel("attribute '\(name)': type TENSOR but no tensor") }
      value = .tensor(t)
    case 5:
      guard let g else { throw SecateurError.invalidModel("attribute '\(name)': type GRAPH but no graph") }
      value = .graph(g)
    case 6: value = .floats(floats.map { Float(bitPattern: $0) })
    case 7: value = .ints(ints)
    case 8: value = .strings(strings)
    case 9: value = .tensors(tensors)
    case 10: value = .graphs(graphs)
    case 11: value = .sparseTensor(sparse ?? [])
    case 12: value = .sparseTensors(sparses)
    case 13: value = .typeProto(tp ?? nil)
    case 14: value = .typeProtos(tps)
    default: throw SecateurError.invalidModel("attribute '\(name)': unknown attribute type \(type)")
    }
    return Attribute(name: name, value: value, docString: doc)
  }

  func readValueInfo(_ r: inout ProtoReader) throws -> ValueInfo {
    var v = ValueInfo(name: "", type: nil)
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .lengthDelimited): v.name = try r.readString()
      case (2, .lengthDelimited):
        var t = try r.readMessage("TypeProto")
        v.type = try readType(&t, depth: 0)
      case (3, .lengthDelimited): v.docString = try r.readString()
      default: try r.skip(wire)
      }
    }
    return v
  }

  func readType(_ r: inout ProtoReader, depth: Int) throws -> ValueType? {
    guard depth <= maxDepth else { throw SecateurError.invalidModel("TypeProto: nested deeper than \(maxDepth)") }
    var result: ValueType?
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .lengthDelimited), (8, .lengthDelimited):
        var m = try r.readMessage("TypeProto.Tensor")
        var elem = DataType.undefined
        var shape: Shape?
        while let (f2, w2) = try m.nextField() {
          switch (f2, w2) {
          case (1, .varint): elem = DataType(rawValue: Int32(truncatingIfNeeded: try m.readInt())) ?? .undefined
          case (2, .lengthDelimited):
            var s = try m.readMessage("TensorShapeProto")
            shape = try readShape(&s)
          default: try m.skip(w2)
          }
        }
        result = field == 1 ? .tensor(elem, shape) : .sparseTensor(elem, shape)
      case (4, .lengthDelimited), (9, .lengthDelimited):
        var m = try r.readMessage("TypeProto.Sequence")
        var elem: ValueType?
        while let (f2, w2) = try m.nextField() {
          if f2 == 1, w2 == .lengthDelimited {
            var e = try m.readMessage("TypeProto")
            elem = try readType(&e, depth: depth + 1)
          } else { try m.skip(w2) }
        }
        result = field == 4 ? .sequence(elem) : .optional(elem)
      case (5, .lengthDelimited):
        var m = try r.readMessage("TypeProto.Map")
        var key = DataType.undefined
        var val: ValueType?
        while let (f2, w2) = try m.nextField() {
          switch (f2, w2) {
          case (1, .varint): key = DataType(rawValue: Int32(truncatingIfNeeded: try m.readInt())) ?? .undefined
          case (2, .lengthDelimited):
            var e = try m.readMessage("TypeProto")
            val = try readType(&e, depth: depth + 1)
          default: try m.skip(w2)
          }
        }
        result = .map(key: key, value: val)
      default: try r.skip(wire)
      }
    }
    return result
  }

  func readShape(_ r: inout ProtoReader) throws -> Shape {
    var dims: Shape = []
    while let (field, wire) = try r.nextField() {
      guard field == 1, wire == .lengthDelimited else { try r.skip(wire); continue }
      var d = try r.readMessage("TensorShapeProto.Dimension")
      var dim = Dim.unknown
      while let (f2, w2) = try d.nextField() {
        switch (f2, w2) {
        case (1, .varint): dim = .value(try d.readInt())
        case (2, .lengthDelimited): dim = .symbol(try d.readString())
        default: try d.skip(w2)
        }
      }
      dims.append(dim)
    }
    return dims
  }

  func readFunction(_ r: inout ProtoReader) throws -> Function {
    var f = Function(name: "", domain: "", inputs: [], outputs: [], nodes: [], opsetImports: [])
    while let (field, wire) = try r.nextField() {
      switch (field, wire) {
      case (1, .lengthDelimited): f.name = try r.readString()
      case (4, .lengthDelimited): f.inputs.append(try r.readString())
      case (5, .lengthDelimited): f.outputs.append(try r.readString())
      case (6, .lengthDelimited): f.attributeNames.append(try r.readString())
      case (7, .lengthDelimited):
        var n = try r.readMessage("NodeProto (function)")
        f.nodes.append(try readNode(&n, depth: 1))
      case (8, .lengthDelimited): f.docString = try r.readString()
      case (9, .lengthDelimited):
        var o = try r.readMessage("OperatorSetIdProto")
        f.opsetImports.append(try readOpset(&o))
      case (10, .lengthDelimited): f.domain = try r.readString()
      case (11, .lengthDelimited):
        var a = try r.readMessage("AttributeProto (function default)")
        f.attributeDefaults.append(try readAttribute(&a, depth: 1))
      case (12, .lengthDelimited):
        var v = try r.readMessage("ValueInfoProto")
        f.valueInfo.append(try readValueInfo(&v))
      case (13, .lengthDelimited): f.overload = try r.readString()
      default: try r.skip(wire)
      }
    }
    return f
  }
}
