import ModelFormat
import Runtime
import Testing

/// y = relu(relu(x + b) + b) … `depth` times, on input x of shape [N, C] with a symbolic batch.
func makeChainModel(depth: Int, channels: Int) throws -> (Model, [Float]) {
  let bias = (0..<channels).map { Float($0 % 5) - 2 }
  var nodes: [Node] = []
  var prev = "x"
  for i in 0..<depth {
    nodes.append(Node(name: "add\(i)", opType: "Add", inputs: [prev, "b"], outputs: ["a\(i)"]))
    nodes.append(Node(name: "relu\(i)", opType: "Relu", inputs: ["a\(i)"], outputs: ["r\(i)"]))
    prev = "r\(i)"
  }
  let g = Graph(name: "chain", nodes: nodes,
                inputs: [ValueInfo(name: "x", type: .tensor(.float, [.symbol("N"), .value(channels)]))],
                outputs: [ValueInfo(name: prev, type: .tensor(.float, [.symbol("N"), .value(channels)]))],
                initializers: [try Tensor(name: "b", bias, shape: [channels], dataType: .float)])
  return (Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)]), bias)
}

/// The same chain computed directly.
func referenceChain(_ x: [Float], bias: [Float], depth: Int) -> [Float] {
  var v = x
  for _ in 0..<depth {
    for i in v.indices { v[i] = max(0, v[i] + bias[i % bias.count]) }
  }
  return v
}

func values(_ t: Tensor) -> [Float] { t.withElements(as: Float.self) { Array($0) } }

@Test(arguments: [1, 3, 8])
func symbolicBatchRunsAtEverySize(batch: Int) throws {
  let (model, bias) = try makeChainModel(depth: 4, channels: 7)
  let session = try Session(model: model, options: SessionOptions(threads: 2))
  let x = (0..<(batch * 7)).map { Float($0 % 11) - 5 }
  let out = try session.run(["x": try Tensor(x, shape: [batch, 7], dataType: .float)])
  #expect(out[0].shape == [batch, 7])
  #expect(values(out[0]) == referenceChain(x, bias: bias, depth: 4))
}

/// Intermediates whose lifetimes do not overlap share arena memory.
@Test func arenaReusesDeadIntermediates() throws {
  let (model, _) = try makeChainModel(depth: 10, channels: 1024)
  let session = try Session(model: model, options: SessionOptions(threads: 1))
  let plan = try session.planSummary(inputShapes: [[4, 1024]])
  #expect(!plan.dynamic)
  #expect(plan.steps == 20)
  #expect(plan.intermediateBytes >= 19 * 4 * 1024 * 4)
  #expect(plan.arenaBytes <= 3 * 4 * 1024 * 4)  // two live buffers (+ alignment) suffice for a chain
}

/// With several threads the plan's arena holds every intermediate in bytes of its own (the layout for
/// threads on two dies, see Plan.assignArena), unless they would need over 64 MiB
/// (Plan.unsharedArenaLimit); the outputs are the same either way.
@Test func severalThreadsGiveIntermediatesTheirOwnBytes() throws {
  let (model, bias) = try makeChainModel(depth: 10, channels: 1024)
  let session = try Session(model: model, options: SessionOptions(threads: 2))
  let small = try session.planSummary(inputShapes: [[4, 1024]])
  #expect(small.intermediateBytes >= 19 * 4 * 1024 * 4)
  #expect(small.arenaBytes >= small.intermediateBytes)
  // 19 intermediates of 1024 × 1024 floats: 76 MiB unshared, over the limit, so reused again.
  let large = try session.planSummary(inputShapes: [[1024, 1024]])
  #expect(large.intermediateBytes > 64 << 20)
  #expect(large.arenaBytes <= 3 * 1024 * 1024 * 4)
  let x = (0..<(4 * 1024)).map { Float($0 % 97) * 0.01 }
  let out = try session.run(["x": try Tensor(x, shape: [4, 1024], dataType: .float)])
  #expect(values(out[0]) == referenceChain(x, bias: bias, depth: 10))
}

/// One session, many threads at once, each with its own input: every output matches a serial run.
@Test func concurrentRunsDoNotInterfere() async throws {
  let (model, bias) = try makeChainModel(depth: 6, channels: 33)
  let session = try Session(model: model, options: SessionOptions(threads: 2))
  try await withThrowingTaskGroup(of: Bool.self) { group in
    for t in 0..<8 {
      group.addTask {
        for r in 0..<50 {
          let batch = 1 + (t + r) % 4
          let x = (0..<(batch * 33)).map { Float(($0 * 7 + t * 13 + r) % 17) - 8 }
          let out = try session.run(["x": try Tensor(x, shape: [batch, 33], dataType: .float)])
          if values(out[0]) != referenceChain(x, bias: bias, depth: 6) { return false }
        }
        return true
      }
    }
    for try await ok in group { #expect(ok) }
  }
}

@Test func wrongInputShapeNamesTheInput() throws {
  let (model, _) = try makeChainModel(depth: 1, channels: 7)
  let session = try Session(model: model)
  do {
    _ = try session.run(["x": try Tensor([Float](repeating: 0, count: 8), shape: [1, 8], dataType: .float)])
    Issue.record("a [1, 8] input was accepted for [N, 7]")
  } catch let e as SecateurError {
    #expect(e.code == .invalidArgument)
    #expect(e.message.contains("input 'x'"))
    #expect(e.message.contains("[1, 8]"))
  }
}

@Test func unsupportedOpNamesNodeAndOp() throws {
  let g = Graph(name: "g", nodes: [Node(name: "mystery", opType: "NoSuchOp", inputs: ["x"], outputs: ["y"])],
                inputs: [ValueInfo(name: "x", type: .tensor(.float, [.value(1)]))],
                outputs: [ValueInfo(name: "y", type: .tensor(.float, [.value(1)]))])
  let model = Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
  do {
    _ = try Session(model: model)
    Issue.record("accepted an unknown op")
  } catch let e as SecateurError {
    #expect(e.code == .unsupported)
    #expect(e.message.contains("mystery"))
    #expect(e.message.contains("NoSuchOp"))
  }
}
