import ModelFormat
import Runtime
import Testing

// `Session.run(_:outputNames:into:)`, the Runtime side of the C ABI's sct_session_run_into: outputs are
// written into caller buffers, and a destination that does not fit is rejected naming the output.

/// A tensor over `storage`'s memory, as the C ABI's sct_tensor_wrap makes one.
func borrowed(_ storage: UnsafeMutableBufferPointer<Float>, shape: [Int]) throws -> Tensor {
  let buffer = Buffer(borrowing: UnsafeMutableRawPointer(storage.baseAddress!), count: storage.count * 4)
  return try Tensor(dataType: .float, shape: shape, buffer: buffer)
}

@Test(arguments: [1, 5])
func runIntoWritesTheCallersBuffer(batch: Int) throws {
  let (model, bias) = try makeChainModel(depth: 3, channels: 7)
  let session = try Session(model: model, options: SessionOptions(threads: 2))
  let x = (0..<(batch * 7)).map { Float($0 % 9) - 4 }
  let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: batch * 7)
  defer { out.deallocate() }
  out.initialize(repeating: .nan)
  let name = session.outputs[0].name
  for _ in 0..<2 {  // the second run reuses the cached plan
    try session.run(["x": try Tensor(x, shape: [batch, 7], dataType: .float)], outputNames: [name],
                    into: [try borrowed(out, shape: [batch, 7])])
    #expect(Array(out) == referenceChain(x, bias: bias, depth: 3))
  }
}

@Test func runIntoRejectsAWrongShapeNamingTheOutput() throws {
  let (model, _) = try makeChainModel(depth: 1, channels: 7)
  let session = try Session(model: model)
  let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: 14)
  defer { out.deallocate() }
  out.initialize(repeating: 42)
  let x = try Tensor([Float](repeating: 1, count: 14), shape: [2, 7], dataType: .float)
  let name = session.outputs[0].name
  do {
    try session.run(["x": x], outputNames: [name], into: [try borrowed(out, shape: [7, 2])])
    Issue.record("a [7, 2] destination was accepted for a [2, 7] output")
  } catch let e as SecateurError {
    #expect(e.code == .invalidArgument)
    #expect(e.message.contains("output '\(name)'"))
    #expect(e.message.contains("float32[7, 2]") && e.message.contains("float32[2, 7]"))
  }
  #expect(out.allSatisfy { $0 == 42 })  // nothing was written
}

@Test func runIntoCopiesConstantAndPassThroughOutputs() throws {
  let g = Graph(name: "g", inputs: [ValueInfo(name: "x", type: .tensor(.float, [.value(3)]))],
                outputs: [ValueInfo(name: "x", type: .tensor(.float, [.value(3)])),
                          ValueInfo(name: "c", type: .tensor(.float, [.value(2)]))],
                initializers: [try Tensor(name: "c", [Float(1.5), -2], shape: [2], dataType: .float)])
  let session = try Session(model: Model(graph: g))
  let xOut = UnsafeMutableBufferPointer<Float>.allocate(capacity: 3), cOut = UnsafeMutableBufferPointer<Float>.allocate(capacity: 2)
  defer { xOut.deallocate(); cOut.deallocate() }
  try session.run(["x": try Tensor([Float(1), 2, 3], shape: [3], dataType: .float)], outputNames: ["x", "c"],
                  into: [try borrowed(xOut, shape: [3]), try borrowed(cOut, shape: [2])])
  #expect(Array(xOut) == [1, 2, 3])
  #expect(Array(cOut) == [1.5, -2])
}
