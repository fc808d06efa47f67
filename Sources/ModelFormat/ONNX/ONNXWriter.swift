/// Encodes the IR as an ONNX `ModelProto`. Tensors are written as `raw_data` (strings as `string_data`),
/// attributes always carry their `type`, so onnx's checker accepts the output.
public struct ONNXWriter {
  public init() {}

  public func serialize(_ model: Model) -> [UInt8] {
    var w = ProtoWriter()
    w.int(1, model.irVersion)
    for o in model.opsetImports { w.message(8) { writeOpset(&$0, o) } }
    w.stringIfSet(2, model.producerName)
    w.stringIfSet(3, model.producerVersion)
    w.stringIfSet(4, model.domain)
    w.intIfSet(5, model.modelVersion)
    w.stringIfSet(6, model.docString)
    w.message(7) { writeGraph(&$0, model.graph) }
    for (k, v) in model.metadata {
      w.message(14) { $0.string(1, k); $0.string(2, v) }
    }
    for f in model.functions { w.message(25) { writeFunction(&$0, f) } }
    return w.bytes
  }

  public func serialize(_ tensor: Tensor) -> [UInt8] {
    var w = ProtoWriter()
    writeTensor(&w, tensor)
    return w.bytes
  }

  public func write(_ model: Model, to path: String) throws {
    try FileIO.write(path: path, bytes: serialize(model))
  }

  func writeOpset(_ w: inout ProtoWriter, _ o: OpsetImport) {
    // onnx.proto is proto2: onnx.helper writes the empty default domain explicitly, and so do we.
    w.string(1, o.domain)
    w.int(2, o.version)
  }

  func writeGraph(_ w: inout ProtoWriter, _ g: Graph) {
    for n in g.nodes { w.message(1) { writeNode(&$0, n) } }
    w.stringIfSet(2, g.name)
    for t in g.initializers { w.message(5) { writeTensor(&$0, t) } }
    w.stringIfSet(10, g.docString)
    for v in g.inputs { w.message(11) { writeValueInfo(&$0, v) } }
    for v in g.outputs { w.message(12) { writeValueInfo(&$0, v) } }
    for v in g.valueInfo { w.message(13) { writeValueInfo(&$0, v) } }
    for s in g.sparseInitializers { w.bytesField(15, s) }
  }

  func writeNode(_ w: inout ProtoWriter, _ n: Node) {
    for i in n.inputs { w.string(1, i) }
    for o in n.outputs { w.string(2, o) }
    w.stringIfSet(3, n.name)
    w.string(4, n.opType)
    for a in n.attributes { w.message(5) { writeAttribute(&$0, a) } }
    w.stringIfSet(6, n.docString)
    w.stringIfSet(7, n.domain)
    w.stringIfSet(8, n.overload)
  }

  func writeAttribute(_ w: inout ProtoWriter, _ a: Attribute) {
    w.string(1, a.name)
    w.stringIfSet(13, a.docString)
    switch a.value {
    case .float(let f): w.float(2, f); w.int(20, 1)
    case .int(let i): w.int(3, i); w.int(20, 2)
    case .string(let s): w.bytesField(4, s); w.int(20, 3)
    case .tensor(let t): w.message(5) { writeTensor(&$0, t) }; w.int(20, 4)
    case .graph(let g): w.message(6) { writeGraph(&$0, g) }; w.int(20, 5)
    case .floats(let fs): w.packedFloats(7, fs); w.int(20, 6)
    case .ints(let xs): w.packedVarints(8, xs); w.int(20, 7)
    case .strings(let ss): for s in ss { w.bytesField(9, s) }; w.int(20, 8)
    case .tensors(let ts): for t in ts { w.message(10) { writeTensor(&$0, t) } }; w.int(20, 9)
    case .graphs(let gs): for g in gs { w.message(11) { writeGraph(&$0, g) } }; w.int(20, 10)
    case .sparseTensor(let b): w.bytesField(22, b); w.int(20, 11)
    case .sparseTensors(let bs): for b in bs { w.bytesField(23, b) }; w.int(20, 12)
    case .typeProto(let t): w.message(14) { writeType(&$0, t) }; w.int(20, 13)
    case .typeProtos(let ts): for t in ts { w.message(15) { writeType(&$0, t) } }; w.int(20, 14)
    case .reference(let r, let type): w.string(21, r); w.int(20, type)
    }
  }

  func writeValueInfo(_ w: inout ProtoWriter, _ v: ValueInfo) {
    w.string(1, v.name)
    if let t = v.type { w.message(2) { writeType(&$0, t) } }
    w.stringIfSet(3, v.docString)
  }

  func writeType(_ w: inout ProtoWriter, _ t: ValueType?) {
    guard let t else { return }
    switch t {
    case .tensor(let e, let s), .sparseTensor(let e, let s):
      let field: Int
      if case .tensor = t { field = 1 } else { field = 8 }
      w.message(field) { m in
        m.int(1, Int(e.rawValue))
        if let s { m.message(2) { writeShape(&$0, s) } }
      }
    case .sequence(let e): w.message(4) { m in if let e { m.message(1) { writeType(&$0, e) } } }
    case .optional(let e): w.message(9) { m in if let e { m.message(1) { writeType(&$0, e) } } }
    case .map(let k, let v):
      w.message(5) { m in
        m.int(1, Int(k.rawValue))
        if let v { m.message(2) { writeType(&$0, v) } }
      }
    }
  }

  func writeShape(_ w: inout ProtoWriter, _ s: Shape) {
    for d in s {
      w.message(1) { m in
        switch d {
        case .value(let v): m.int(1, v)
        case .symbol(let p): m.string(2, p)
        case .unknown: break
        }
      }
    }
  }

  func writeTensor(_ w: inout ProtoWriter, _ t: Tensor) {
    w.packedVarints(1, t.shape)
    w.int(2, Int(t.dataType.rawValue))
    w.stringIfSet(8, t.name)
    w.stringIfSet(12, t.docString)
    if t.dataType == .string {
      for s in t.strings { w.bytesField(6, s) }
    } else {
      w.bytesField(9, UnsafeRawBufferPointer(start: t.buffer.baseAddress, count: t.byteCount))
    }
  }

  func writeFunction(_ w: inout ProtoWriter, _ f: Function) {
    w.string(1, f.name)
    for i in f.inputs { w.string(4, i) }
    for o in f.outputs { w.string(5, o) }
    for a in f.attributeNames { w.string(6, a) }
    for n in f.nodes { w.message(7) { writeNode(&$0, n) } }
    w.stringIfSet(8, f.docString)
    for o in f.opsetImports { w.message(9) { writeOpset(&$0, o) } }
    w.stringIfSet(10, f.domain)
    for a in f.attributeDefaults { w.message(11) { writeAttribute(&$0, a) } }
    for v in f.valueInfo { w.message(12) { writeValueInfo(&$0, v) } }
    w.stringIfSet(13, f.overload)
  }
}
