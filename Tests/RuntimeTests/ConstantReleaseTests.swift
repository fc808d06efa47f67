import Testing
import ModelFormat
@testable import Runtime

/// A constant Conv weight packed at session creation is dropped from the program's constants (the
/// packed panels are all a run reads), while the bias and a weight also read elsewhere stay.
@Test func packedConvWeightIsDropped() throws {
  let w = try Tensor(name: "w", (0..<(16 * 8 * 9)).map { Float($0 % 7) - 3 }, shape: [16, 8, 3, 3], dataType: .float)
  let w1 = try Tensor(name: "w1", (0..<(16 * 16)).map { Float($0 % 5) - 2 }, shape: [16, 16, 1, 1], dataType: .float)
  let graph = Graph(name: "g", nodes: [
      Node(name: "c0", opType: "Conv", inputs: ["x", "w"], outputs: ["y0"],
           attributes: [Attribute(name: "strides", value: .ints([2, 2]))]),
      Node(name: "c1", opType: "Conv", inputs: ["y0", "w1"], outputs: ["y"]),
      Node(name: "s", opType: "Shape", inputs: ["w1"], outputs: ["ws"]),
    ],
    inputs: [ValueInfo(name: "x", type: .tensor(.float, [.value(1), .value(8), .value(9), .value(9)]))],
    outputs: [ValueInfo(name: "y", type: nil), ValueInfo(name: "ws", type: nil)],
    initializers: [w, w1])
  let model = Model(graph: graph, opsetImports: [OpsetImport(domain: "", version: 17)], irVersion: 8, producerName: "t")
  let session = try Session(model: model, options: SessionOptions(threads: 1, optimize: false))
  #expect(session.program.valueIds["w"].map { session.program.constants[$0] == nil } == true)
  #expect(session.model.graph.initializers.isEmpty)
  let x = try Tensor(name: "x", (0..<(8 * 81)).map { Float($0 % 11) / 4 - 1 }, shape: [1, 8, 9, 9], dataType: .float)
  let out = try session.run(["x": x])
  #expect(out[0].shape == [1, 16, 4, 4])
  #expect(out[1].intValues() == [16, 16, 1, 1])
  // W fed as graph inputs (never packed, read in place) gives the same values.
  var fed = graph
  fed.initializers = []
  fed.inputs += [ValueInfo(name: "w", type: .tensor(.float, [.value(16), .value(8), .value(3), .value(3)])),
                 ValueInfo(name: "w1", type: .tensor(.float, [.value(16), .value(16), .value(1), .value(1)]))]
  let reference = try Session(model: Model(graph: fed, opsetImports: model.opsetImports, irVersion: 8, producerName: "t"),
                              options: SessionOptions(threads: 1, optimize: false))
  let expected = try reference.run(["x": x, "w": w, "w1": w1])
  let a = expected[0].withElements(as: Float.self) { Array($0) }, b = out[0].withElements(as: Float.self) { Array($0) }
  #expect(a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-3 * max(1, abs($0)) })
}

/// A constant 2-D MatMul weight packed into the B-panel GEMM's panels is dropped too (it stayed resident
/// beside its panels before); one also read at run time as another MatMul's A stays. The outputs match the
/// same MatMuls with B fed as graph inputs.
@Test func packedMatMulWeightIsDropped() throws {
  let bs: [Float] = (0..<240).map { (i: Int) -> Float in Float(i % 9) / 4 - 1 }
  let b1s: [Float] = (0..<70).map { (i: Int) -> Float in Float(i % 5) - 2 }
  let b = try Tensor(name: "b", bs, shape: [24, 10], dataType: .float)
  let b1 = try Tensor(name: "b1", b1s, shape: [10, 7], dataType: .float)
  let graph = Graph(name: "g", nodes: [
      Node(name: "m0", opType: "MatMul", inputs: ["x", "b"], outputs: ["y0"]),
      Node(name: "m1", opType: "MatMul", inputs: ["y0", "b1"], outputs: ["y"]),
      Node(name: "m2", opType: "MatMul", inputs: ["b1", "z"], outputs: ["w2"]),
    ],
    inputs: [ValueInfo(name: "x", type: .tensor(.float, [.value(2), .value(3), .value(24)])),
             ValueInfo(name: "z", type: .tensor(.float, [.value(7), .value(2)]))],
    outputs: [ValueInfo(name: "y", type: nil), ValueInfo(name: "w2", type: nil)],
    initializers: [b, b1])
  let model = Model(graph: graph, opsetImports: [OpsetImport(domain: "", version: 17)], irVersion: 8, producerName: "t")
  let session = try Session(model: model, options: SessionOptions(threads: 1, optimize: false))
  #expect(session.program.valueIds["b"].map { session.program.constants[$0] == nil } == true)
  #expect(session.program.valueIds["b1"].map { session.program.constants[$0] != nil } == true)  // m2 reads it as A
  let xs: [Float] = (0..<144).map { (i: Int) -> Float in Float(i % 13) / 6 - 1 }
  let x = try Tensor(name: "x", xs, shape: [2, 3, 24], dataType: .float)
  let z = try Tensor(name: "z", (0..<14).map { (i: Int) -> Float in Float(i) / 7 - 1 }, shape: [7, 2], dataType: .float)
  let out = try session.run(["x": x, "z": z])
  #expect(out[0].shape == [2, 3, 7])
  #expect(out[1].shape == [10, 2])
  var fed = graph
  fed.initializers = []
  fed.inputs += [ValueInfo(name: "b", type: .tensor(.float, [.value(24), .value(10)])),
                 ValueInfo(name: "b1", type: .tensor(.float, [.value(10), .value(7)]))]
  let reference = try Session(model: Model(graph: fed, opsetImports: model.opsetImports, irVersion: 8, producerName: "t"),
                              options: SessionOptions(threads: 1, optimize: false))
  let expected = try reference.run(["x": x, "z": z, "b": b, "b1": b1])
  for k in 0..<2 {
    let e = expected[k].withElements(as: Float.self) { Array($0) }, o = out[k].withElements(as: Float.self) { Array($0) }
    #expect(e.count == o.count && zip(e, o).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($0)) })
  }
}
