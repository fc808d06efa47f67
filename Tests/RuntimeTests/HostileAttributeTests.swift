import ModelFormat
import Runtime
import Testing

/// Model-controlled attributes and constant inputs that would divide by zero, index out of bounds or
/// allocate without bound in a naive kernel (TFLite CVE-2023-27579, ncnn 2026 fuzz findings). Each must
/// end in a `SecateurError` naming the node — at session creation or at the first run — never a trap.
struct HostileCase: CustomStringConvertible, Sendable {
  let op: String
  let attributes: [Attribute]
  let constants: [(String, [Int64])]
  let inputShape: [Int]
  var description: String { "\(op) \(attributes.map { "\($0.name)=\($0.value)" }) \(constants.map { "\($0.0)=\($0.1)" }) x\(inputShape)" }

  init(_ op: String, _ attributes: [Attribute] = [], constants: [(String, [Int64])] = [], x: [Int] = [2, 4, 4]) {
    self.op = op
    self.attributes = attributes
    self.constants = constants
    self.inputShape = x
  }

  static func int(_ n: String, _ v: Int) -> Attribute { Attribute(name: n, value: .int(v)) }
  static func ints(_ n: String, _ v: [Int]) -> Attribute { Attribute(name: n, value: .ints(v)) }

  static let all: [HostileCase] = [
    HostileCase("Gather", [int("axis", 5)], constants: [("i", [0])]),
    HostileCase("Gather", [int("axis", 0)], constants: [("i", [7])]),               // index past the dim
    HostileCase("Gather", [int("axis", 0)], constants: [("i", [Int64.min])]),
    HostileCase("Slice", constants: [("s", [0]), ("e", [2]), ("a", [0]), ("st", [0])]),  // step 0
    HostileCase("Slice", constants: [("s", [0]), ("e", [2]), ("a", [9])]),             // axis out of range
    HostileCase("Pad", constants: [("p", [0, 0, 0, 0, 0, -9])]),                       // negative pad past the dim
    HostileCase("Pad", constants: [("p", [0, 0, Int64(1) << 40, 0, 0, 0])]),            // unbounded growth
    HostileCase("Reshape", constants: [("s", [-1, -1])]),
    HostileCase("Reshape", constants: [("s", [3, 5])]),                                 // wrong element count
    HostileCase("Reshape", constants: [("s", [Int64(1) << 62, 4])]),
    HostileCase("Tile", constants: [("r", [1, -2, 1])]),
    HostileCase("Tile", constants: [("r", [1, Int64(1) << 40, 1 << 20])]),
    HostileCase("Expand", constants: [("s", [Int64(1) << 31, 2, 4, 4])]),
    HostileCase("Split", [int("axis", -4)]),
    HostileCase("Concat", [int("axis", 3)]),
    HostileCase("Softmax", [int("axis", Int.min)]),
    HostileCase("Transpose", [ints("perm", [0, 0, 1])]),
    HostileCase("Transpose", [ints("perm", [0, 1, 7])]),
    HostileCase("DepthToSpace", [int("blocksize", 0)], x: [1, 4, 2, 2]),
    HostileCase("SpaceToDepth", [int("blocksize", 0)], x: [1, 4, 2, 2]),
    HostileCase("SpaceToDepth", [int("blocksize", -2)], x: [1, 4, 2, 2]),
    HostileCase("Flatten", [int("axis", 9)]),
    HostileCase("CumSum", constants: [("a", [3])]),
    HostileCase("TopK", [int("axis", -1)], constants: [("k", [9])]),
    HostileCase("TopK", [int("axis", -1)], constants: [("k", [-1])]),
    HostileCase("ArgMax", [int("axis", 3)]),
    HostileCase("ReduceSum", constants: [("a", [5])]),
    HostileCase("Squeeze", constants: [("a", [1])]),                                    // dim 4 is not 1
    HostileCase("Unsqueeze", constants: [("a", [9])]),
    HostileCase("ConstantOfShape", constants: [("s", [Int64(1) << 20, 1 << 20])]),
    HostileCase("OneHot", [int("axis", -1)], constants: [("d", [-3]), ("v", [0, 1])]),
  ]
}

/// Builds a one-node model: input x (float) plus the case's int64 constants as the following inputs.
func hostileModel(_ c: HostileCase) throws -> Model {
  var inits: [Tensor] = []
  var inputs = ["x"]
  for (name, v) in c.constants {
    let shape = (c.op == "CumSum" || c.op == "Trilu") ? [] : [v.count]
    inits.append(try Tensor(name: name, v, shape: shape, dataType: c.op == "OneHot" && name == "v" ? .int64 : .int64))
    inputs.append(name)
  }
  if c.op == "ConstantOfShape" { inputs = ["s"] }
  if c.op == "OneHot" { inputs = ["x", "d", "v"] }
  let node = Node(name: "hostile", opType: c.op, inputs: inputs, outputs: ["y"], attributes: c.attributes)
  let g = Graph(name: "g", nodes: [node],
                inputs: c.op == "ConstantOfShape" ? [] : [ValueInfo(name: "x", type: .tensor(.float, c.inputShape.map { .value($0) }))],
                outputs: [ValueInfo(name: "y", type: nil)], initializers: inits)
  return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
}

@Test(arguments: HostileCase.all)
func hostileAttributeIsAnErrorNamingTheNode(_ c: HostileCase) throws {
  var options = SessionOptions(threads: 1)
  options.memoryLimit = 64 << 20
  do {
    let session = try Session(model: try hostileModel(c), options: options)
    let n = c.inputShape.reduce(1, *)
    let feeds = session.inputs.isEmpty ? [:] : ["x": try Tensor((0..<n).map { Float($0) }, shape: c.inputShape, dataType: .float)]
    _ = try session.run(feeds)
    Issue.record("\(c): accepted")
  } catch let e as SecateurError {
    #expect(e.message.contains("hostile"), "\(c): \(e.message)")
  }
}

/// Zero-sized dims flow through shape-moving ops without error or trap.
@Test(arguments: ["Transpose", "Softmax", "Relu", "Flatten", "ReduceSum", "Concat", "Slice"])
func zeroSizedDimsRun(_ op: String) throws {
  let node = Node(name: "z", opType: op, inputs: op == "Concat" ? ["x", "x"] : ["x"], outputs: ["y"],
                  attributes: op == "Concat" ? [Attribute(name: "axis", value: .int(0))] : [])
  let g = Graph(name: "g", nodes: [node], inputs: [ValueInfo(name: "x", type: .tensor(.float, [.symbol("N"), .value(3)]))],
                outputs: [ValueInfo(name: "y", type: nil)])
  let session = try Session(model: Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)]),
                            options: SessionOptions(threads: 1))
  do {
    _ = try session.run(["x": try Tensor([Float](), shape: [0, 3], dataType: .float)])
  } catch let e as SecateurError {
    #expect(e.message.contains("z"), "\(op): \(e.message)")
  }
}

/// Conv and pooling geometry from the model: group must divide the channels; kernel, stride and dilation
/// must be ≥ 1; pads ≥ 0; the window must fit the padded input.
struct HostileWindowCase: CustomStringConvertible, Sendable {
  let op: String
  let attributes: [Attribute]
  let weight: [Int]?
  var description: String { "\(op) \(attributes.map { "\($0.name)=\($0.value)" }) w\(weight ?? [])" }

  static func ints(_ n: String, _ v: [Int]) -> Attribute { Attribute(name: n, value: .ints(v)) }
  static func int(_ n: String, _ v: Int) -> Attribute { Attribute(name: n, value: .int(v)) }

  static let all: [HostileWindowCase] = [
    HostileWindowCase(op: "Conv", attributes: [int("group", 3)], weight: [6, 1, 3, 3]),        // 4 channels, group 3
    HostileWindowCase(op: "Conv", attributes: [int("group", 0)], weight: [6, 4, 3, 3]),
    HostileWindowCase(op: "Conv", attributes: [int("group", -2)], weight: [6, 2, 3, 3]),
    HostileWindowCase(op: "Conv", attributes: [ints("strides", [0, 1])], weight: [6, 4, 3, 3]),
    HostileWindowCase(op: "Conv", attributes: [ints("dilations", [1, 0])], weight: [6, 4, 3, 3]),
    HostileWindowCase(op: "Conv", attributes: [ints("pads", [-1, 0, 0, 0])], weight: [6, 4, 3, 3]),
    HostileWindowCase(op: "Conv", attributes: [ints("pads", [Int.max, 0, 0, 0])], weight: [6, 4, 3, 3]),
    HostileWindowCase(op: "Conv", attributes: [ints("kernel_shape", [0, 3])], weight: [6, 4, 3, 3]),
    HostileWindowCase(op: "Conv", attributes: [], weight: [6, 4, 9, 9]),                        // window > input
    HostileWindowCase(op: "Conv", attributes: [], weight: [6, 5, 3, 3]),                        // channel mismatch
    HostileWindowCase(op: "Conv", attributes: [ints("dilations", [Int.max / 2, 1])], weight: [6, 4, 3, 3]),
    // Empty W with a huge group: `0 % group == 0` held, and weight packing looped 2^40 times (fuzz hang).
    HostileWindowCase(op: "Conv", attributes: [int("group", 1 << 40)], weight: [0, 2, 3, 3]),
    HostileWindowCase(op: "MaxPool", attributes: [ints("kernel_shape", [0, 2])], weight: nil),
    HostileWindowCase(op: "MaxPool", attributes: [ints("kernel_shape", [2, 2]), ints("strides", [0, 1])], weight: nil),
    HostileWindowCase(op: "MaxPool", attributes: [ints("kernel_shape", [2, 2]), ints("pads", [0, -3, 0, 0])], weight: nil),
    HostileWindowCase(op: "AveragePool", attributes: [ints("kernel_shape", [9, 9])], weight: nil),
    HostileWindowCase(op: "AveragePool", attributes: [ints("kernel_shape", [2, 2]), ints("dilations", [0, 1])], weight: nil),
  ]
}

@Test(arguments: HostileWindowCase.all)
func hostileWindowIsAnErrorNamingTheNode(_ c: HostileWindowCase) throws {
  var inits: [Tensor] = []
  var inputs = ["x"]
  if let w = c.weight {
    let n = w.reduce(1, *)
    inits.append(try Tensor(name: "w", [Float](repeating: 0.5, count: n), shape: w, dataType: .float))
    inputs.append("w")
  }
  let g = Graph(name: "g", nodes: [Node(name: "hostile", opType: c.op, inputs: inputs, outputs: ["y"], attributes: c.attributes)],
                inputs: [ValueInfo(name: "x", type: .tensor(.float, [.value(1), .value(4), .value(5), .value(5)]))],
                outputs: [ValueInfo(name: "y", type: nil)], initializers: inits)
  do {
    let session = try Session(model: Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)]),
                              options: SessionOptions(threads: 1))
    _ = try session.run(["x": try Tensor([Float](repeating: 1, count: 100), shape: [1, 4, 5, 5], dataType: .float)])
    Issue.record("\(c): accepted")
  } catch let e as SecateurError {
    #expect(e.message.contains("hostile"), "\(c): \(e.message)")
  }
}
