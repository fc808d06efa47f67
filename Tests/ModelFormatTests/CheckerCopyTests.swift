import Testing
@testable import ModelFormat

/// A Relu over x plus a large (4 KiB) and a small initializer; `extraAttribute` adds an attribute Relu
/// does not have, which only libonnx's checker rejects.
private func reluModel(extraAttribute: Bool) throws -> [UInt8] {
  let big = try Tensor(name: "big", [Float](repeating: 0.5, count: 1024), shape: [32, 32], dataType: .float)
  let small = try Tensor(name: "small", [1, 2] as [Float], shape: [2], dataType: .float)
  var node = Node(name: "relu", opType: "Relu", inputs: ["x"], outputs: ["y"])
  if extraAttribute { node.attributes = [Attribute(name: "bogus", value: .int(1))] }
  let graph = Graph(name: "g", nodes: [node],
                    inputs: [ValueInfo(name: "x", type: .tensor(.float, [.value(2)]))],
                    outputs: [ValueInfo(name: "y", type: .tensor(.float, [.value(2)]))],
                    initializers: [big, small])
  return ModelLoader.serialize(Model(graph: graph, opsetImports: [OpsetImport(domain: "", version: 13)],
                                     irVersion: 8, producerName: "test"))
}

/// The checker's copy cuts the large payload only, libonnx still accepts it, and loading keeps every
/// weight intact.
@Test func checkerCopyElidesLargePayloads() throws {
  let bytes = try reluModel(extraAttribute: false)
  let copy = try CheckerCopy.elidingWeights(try Buffer.copying(bytes))
  #expect(copy.count < bytes.count - 4000)
  #expect(copy.count > 0)
  try copy.withUnsafeBytes { try ONNXChecker.checkIfApplicable($0) }
  let m = try ModelLoader.load(bytes: bytes)
  #expect(m.graph.initializerMap["big"]?.byteCount == 4096)
  #expect(m.graph.initializerMap["big"]?.withElements(as: Float.self) { $0.allSatisfy { $0 == 0.5 } } == true)
  #expect(m.graph.initializerMap["small"]?.withElements(as: Float.self) { Array($0) } == [1, 2])
}

/// What the checker catches beyond our own validation is still caught when it sees the cut copy.
@Test func checkerStillRejectsThroughTheCopy() throws {
  let bytes = try reluModel(extraAttribute: true)
  #expect(throws: SecateurError.self) { try ModelLoader.load(bytes: bytes) }
  var options = ModelLoader.Options()
  options.runONNXChecker = false
  _ = try ModelLoader.load(bytes: bytes, options: options)
}
