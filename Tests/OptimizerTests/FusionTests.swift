import ModelFormat
import Optimizer
import Runtime
import Testing

/// x → Conv(3×3, pad 1) → BatchNormalization → Add(x) → Relu, with C channels (odd on purpose).
func makeConvBlock(channels c: Int, activation: String) throws -> Model {
  var seed: UInt64 = 42
  func rand() -> Float {
    seed = seed &* 6364136223846793005 &+ 1442695040888963407
    return Float(Int64(bitPattern: seed >> 11) % 2000) / 1000 - 1
  }
  let w = try Tensor(name: "W", (0..<(c * c * 9)).map { _ in rand() * 0.2 }, shape: [c, c, 3, 3], dataType: .float)
  func vec(_ name: String, _ f: () -> Float) throws -> Tensor { try Tensor(name: name, (0..<c).map { _ in f() }, shape: [c], dataType: .float) }
  let inits = [w, try vec("s") { 1 + rand() * 0.5 }, try vec("b") { rand() * 0.1 }, try vec("m") { rand() * 0.1 },
               try vec("v") { 1 + rand() * 0.4 }]
  let nodes = [
    Node(name: "conv", opType: "Conv", inputs: ["x", "W"], outputs: ["c"],
         attributes: [Attribute(name: "pads", value: .ints([1, 1, 1, 1]))]),
    Node(name: "bn", opType: "BatchNormalization", inputs: ["c", "s", "b", "m", "v"], outputs: ["n"]),
    Node(name: "add", opType: "Add", inputs: ["n", "x"], outputs: ["a"]),
    Node(name: "act", opType: activation, inputs: ["a"], outputs: ["y"]),
  ]
  let shape: Shape = [.value(1), .value(c), .value(9), .value(9)]
  let g = Graph(name: "block", nodes: nodes, inputs: [ValueInfo(name: "x", type: .tensor(.float, shape))],
                outputs: [ValueInfo(name: "y", type: .tensor(.float, shape))], initializers: inits)
  return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
}

/// The runtime pipeline turns Conv+BN+Add+activation into one FusedConv, and the fused graph computes
/// what the unfused one does (rtol 1e-5, atol 1e-5: BN folding reorders float arithmetic).
@Test(arguments: ["Relu", "Sigmoid", "Tanh", "HardSwish"])
func convBlockFusesIntoOneNode(activation: String) throws {
  let model = try makeConvBlock(channels: 13, activation: activation)
  var optimized = model
  _ = try PassManager.runtime.run(on: &optimized)
  #expect(optimized.graph.nodes.map(\.opType) == ["FusedConv"])
  #expect(optimized.graph.nodes[0].attribute("activation")?.stringValue == activation)

  var values: [Float] = []
  for i in 0..<(13 * 81) { values.append(Float((i * 37) % 101) / 50 - 1) }
  let x = try Tensor(values, shape: [1, 13, 9, 9], dataType: .float)
  let plain = try Session(model: model, options: SessionOptions(threads: 1, optimize: false)).run(["x": x])[0]
  let fused = try Session(model: model, options: SessionOptions(threads: 2)).run(["x": x])[0]
  let a = plain.withElements(as: Float.self) { Array($0) }, b = fused.withElements(as: Float.self) { Array($0) }
  for i in a.indices {
    let tolerance: Float = 1e-5 + 1e-5 * abs(a[i])
    #expect(abs(a[i] - b[i]) <= tolerance, "element \(i)")
  }

  // Export restores standard ONNX: Conv, Add, activation (BN stays folded).
  let exported = try PassManager.exportable(optimized)
  #expect(exported.graph.nodes.map(\.opType) == ["Conv", "Add", activation])
  #expect(!exported.opsetImports.contains { $0.domain == SecateurOps.domain })
}
