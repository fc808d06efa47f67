import ModelFormat
import Optimizer
import Runtime
import Testing

/// Channel dependency analysis on small hand-built graphs; shapes come from the Runtime's evaluator.
struct DependencyGroupsTests {
  func conv(_ name: String, _ x: String, _ w: String, group: Int = 1) -> Node {
    Node(name: name, opType: "Conv", inputs: [x, w], outputs: [name + "_out"],
         attributes: [Attribute(name: "group", value: .int(group)), Attribute(name: "pads", value: .ints([1, 1, 1, 1]))])
  }

  func weight(_ name: String, _ shape: [Int]) throws -> Tensor {
    try Tensor(name: name, (0..<shape.reduce(1, *)).map { Float($0 % 7) - 3 }, shape: shape, dataType: .float)
  }

  /// conv1 → relu → depthwise → add(relu) → conv2 → output: conv1, the depthwise conv and the residual
  /// share one group; conv2's output is a graph output and stays frozen.
  func residualModel() throws -> Model {
    let nodes = [
      conv("c1", "x", "w1"),
      Node(name: "r", opType: "Relu", inputs: ["c1_out"], outputs: ["r_out"]),
      conv("dw", "r_out", "wd", group: 8),
      Node(name: "add", opType: "Add", inputs: ["dw_out", "r_out"], outputs: ["a_out"]),
      conv("c2", "a_out", "w2"),
    ]
    let g = Graph(nodes: nodes, inputs: [ValueInfo(name: "x", type: .tensor(.float, [.value(1), .value(3), .value(8), .value(8)]))],
                  outputs: [ValueInfo(name: "c2_out", type: .tensor(.float, nil))],
                  initializers: [try weight("w1", [8, 3, 3, 3]), try weight("wd", [8, 1, 3, 3]), try weight("w2", [5, 8, 3, 3])])
    return Model(graph: g)
  }

  @Test func residualAndDepthwiseShareOneGroup() throws {
    let m = try residualModel()
    let groups = DependencyGroups(model: m, shapes: try PruningEvaluator().shapes(m))
    #expect(groups.groups.count == 2)
    #expect(groups.groups[0].channels == 8 && groups.groups[0].isPrunable)
    #expect(groups.groups[1].frozenReasons.first?.contains("graph output") == true)
    let blocks = DepthPruning.findBlocks(in: m.graph, shapes: try PruningEvaluator().shapes(m))
    #expect(blocks.count == 1 && blocks[0].identity == "r_out")
  }

  @Test(arguments: [1, 3, 7])
  func pruningSlicesEveryMember(_ width: Int) throws {
    var m = try residualModel()
    let groups = DependencyGroups(model: m, shapes: try PruningEvaluator().shapes(m))
    try groups.prune(&m, keep: [0: Array(0..<width)])
    let inits = m.graph.initializerMap
    #expect(inits["w1"]?.shape == [width, 3, 3, 3])
    #expect(inits["wd"]?.shape == [width, 1, 3, 3])
    #expect(inits["w2"]?.shape == [5, width, 3, 3])
    #expect(m.graph.nodes.first { $0.name == "dw" }?.attribute("group")?.intValue == width)
  }

  @Test func frozenGroupIsRefused() throws {
    var m = try residualModel()
    let groups = DependencyGroups(model: m, shapes: try PruningEvaluator().shapes(m))
    #expect(throws: SecateurError.self) { try groups.prune(&m, keep: [1: [0, 1]]) }
  }

  @Test func jsonRoundTrips() throws {
    let spec = PruneSpec(resolution: [160, 128], dropBlocks: ["b1"], widths: ["g2": 7], ratio: 0.5)
    let back = try PruneSpec(json: try JSON.parse(spec.json.encoded()))
    #expect(back == spec)
  }
}
