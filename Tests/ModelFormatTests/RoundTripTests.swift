import ModelFormat
import Testing

/// A model exercising every attribute kind, several tensor types, symbolic dims, a subgraph and metadata.
func makeKitchenSinkModel() throws -> Model {
  let w = try Tensor(name: "w", [1.5, -2, 3.25, 4] as [Float], shape: [2, 2], dataType: .float)
  let i64 = try Tensor(name: "shape", [2, -1] as [Int64], shape: [2], dataType: .int64)
  let half = try Tensor(name: "h", [Float16(1), Float16(-0.5)], shape: [2], dataType: .float16)
  let strs = try Tensor(name: "s", strings: [Array("a".utf8), Array("bc".utf8)], shape: [2])
  let sub = Graph(name: "then", nodes: [Node(opType: "Identity", inputs: ["x"], outputs: ["t"])],
                  outputs: [ValueInfo(name: "t", type: .tensor(.float, [.symbol("N"), .value(2)]))])
  let node = Node(
    name: "n0", opType: "Custom", domain: "com.example", inputs: ["x", "", "w"], outputs: ["y"],
    attributes: [
      Attribute(name: "f", value: .float(0.25)), Attribute(name: "i", value: .int(-7)),
      Attribute(name: "s", value: .string(Array("hello".utf8))), Attribute(name: "t", value: .tensor(i64)),
      Attribute(name: "g", value: .graph(sub)), Attribute(name: "fs", value: .floats([1, 2.5])),
      Attribute(name: "is", value: .ints([1, -2, 3_000_000_000])), Attribute(name: "ss", value: .strings([[1], [2, 3]])),
      Attribute(name: "ts", value: .tensors([w, half])), Attribute(name: "gs", value: .graphs([sub])),
    ], docString: "doc")
  let graph = Graph(
    name: "g", nodes: [node],
    inputs: [ValueInfo(name: "x", type: .tensor(.float, [.symbol("N"), .value(2)]))],
    outputs: [ValueInfo(name: "y", type: .tensor(.float, [.symbol("N"), .unknown]))],
    valueInfo: [ValueInfo(name: "z", type: .sequence(.tensor(.int64, nil)))],
    initializers: [w, i64, half, strs])
  return Model(graph: graph, opsetImports: [OpsetImport(domain: "", version: 17), OpsetImport(domain: "com.example", version: 1)],
               irVersion: 8, producerName: "test", producerVersion: "1", modelVersion: 3, docString: "d",
               metadata: [(key: "k", value: "v")])
}

/// Serialises, parses, and serialises again: the bytes must be identical (load → write → load is lossless).
@Test func roundTripIsLossless() throws {
  var options = ModelLoader.Options()
  options.runONNXChecker = false  // the custom domain is not something libonnx can check
  let model = try makeKitchenSinkModel()
  let bytes = ModelLoader.serialize(model)
  let loaded = try ModelLoader.load(bytes: bytes, options: options)
  #expect(ModelLoader.serialize(loaded) == bytes)
  #expect(loaded.graph.nodes[0].attributes.count == 10)
  #expect(loaded.graph.nodes[0].attribute("is")?.ints == [1, -2, 3_000_000_000])
  #expect(loaded.graph.inputs[0].type == .tensor(.float, [.symbol("N"), .value(2)]))
  #expect(loaded.graph.initializers[3].strings == [Array("a".utf8), Array("bc".utf8)])
  #expect(loaded.graph.initializerMap["w"]!.contentEquals(model.graph.initializerMap["w"]!))
  #expect(loaded.opsetImports == model.opsetImports)
  #expect(loaded.metadata.map(\.key) == ["k"])
}

/// Every prefix of a valid model either loads or throws — never traps — and no prefix short of the
/// whole file yields the whole graph.
@Test func truncatedModelsThrow() throws {
  var options = ModelLoader.Options()
  options.runONNXChecker = false
  let bytes = ModelLoader.serialize(try makeKitchenSinkModel())
  var rejected = 0
  for cut in stride(from: 0, to: bytes.count, by: 3) {
    do {
      let m = try ModelLoader.load(bytes: Array(bytes[0..<cut]), options: options)
      #expect(m.graph.initializers.count < 4 || m.graph.nodes.isEmpty || m.metadata.isEmpty)
    } catch let e as SecateurError {
      rejected += 1
      #expect(!e.message.isEmpty)
    }
  }
  #expect(rejected > bytes.count / 6)
}

/// A tensor claiming a huge shape with a tiny payload is refused before anything is allocated.
@Test func hostileTensorDimsAreRefused() throws {
  var w = ProtoBytes()
  w.packed(1, [1 << 40, 1 << 40])  // dims overflow
  w.varint(2, 1)                   // float
  w.bytes(9, [0, 0, 0, 0])
  #expect(throws: SecateurError.self) { try ONNXReader().readTensor(Buffer.copying(w.out)) }

  var v = ProtoBytes()
  v.packed(1, [1_000_000, 1_000])  // 4 GB claimed, 4 bytes given
  v.varint(2, 1)
  v.bytes(9, [0, 0, 0, 0])
  do {
    _ = try ONNXReader().readTensor(Buffer.copying(v.out))
    Issue.record("a 4 GB tensor with a 4-byte payload was accepted")
  } catch let e as SecateurError {
    #expect(e.message.contains("raw_data has 4 bytes"))
  }
}

/// A length field larger than the bytes left is reported, not followed.
@Test func oversizedLengthIsRefused() throws {
  let bytes: [UInt8] = [0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00]  // field 7 (graph), length 2^32-1
  do {
    _ = try ModelLoader.load(bytes: bytes)
    Issue.record("accepted")
  } catch let e as SecateurError {
    #expect(e.code == .invalidModel)
    #expect(e.message.contains("exceeds"))
  }
}

/// Minimal protobuf encoder for hand-made hostile inputs.
struct ProtoBytes {
  var out: [UInt8] = []
  mutating func raw(_ v: UInt64) {
    var v = v
    while v >= 0x80 { out.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
    out.append(UInt8(v))
  }
  mutating func varint(_ field: Int, _ v: Int) { raw(UInt64(field << 3)); raw(UInt64(bitPattern: Int64(v))) }
  mutating func bytes(_ field: Int, _ b: [UInt8]) { raw(UInt64(field << 3 | 2)); raw(UInt64(b.count)); out += b }
  mutating func packed(_ field: Int, _ vs: [Int]) {
    var sub = ProtoBytes()
    for v in vs { sub.raw(UInt64(bitPattern: Int64(v))) }
    bytes(field, sub.out)
  }
}
