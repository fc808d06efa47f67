import ModelFormat

/// Small valid models, one per op family with hostile-attribute history (conv/pool geometry, index ops,
/// reshape/expand targets, pads, resize scales). They seed both fuzzing modes: serialized as the byte
/// corpus (tests/fuzz/corpus) and mutated in place by the structure-aware mode.
public enum FuzzSeeds {
  public static func all() throws -> [(name: String, model: Model)] {
    [("conv", try conv()), ("pool", try pool()), ("gemm", try gemm()), ("norm", try norm()), ("gather-slice", try gatherSlice()),
     ("pad-resize", try padResize()), ("reshape-transpose", try reshapeTranspose()), ("softmax-reduce", try softmaxReduce()),
     ("expand-tile-where", try expandTileWhere()), ("range-topk", try rangeTopK()), ("scatter-onehot", try scatterOneHot()),
     ("depth-cumsum", try depthCumSum())]
  }

  static func i64(_ name: String, _ v: [Int]) throws -> Tensor {
    try Tensor(name: name, v.map(Int64.init), shape: [v.count], dataType: .int64)
  }

  static func f32(_ name: String, _ shape: [Int]) throws -> Tensor {
    let n = shape.reduce(1, *)
    return try Tensor(name: name, (0..<n).map { Float($0 % 7) * 0.25 - 0.5 }, shape: shape, dataType: .float)
  }

  static func input(_ name: String, _ dims: [Dim], _ t: DataType = .float) -> ValueInfo {
    ValueInfo(name: name, type: .tensor(t, dims))
  }

  /// Outputs named `i`, `y` of ArgMax, `nz` and `i` carry int64; the rest float (libonnx's checker wants a type).
  static func output(_ name: String) -> ValueInfo {
    ValueInfo(name: name, type: .tensor(["i", "nz"].contains(name) ? .int64 : .float, nil))
  }

  static func ints(_ n: String, _ v: [Int]) -> Attribute { Attribute(name: n, value: .ints(v)) }
  static func int(_ n: String, _ v: Int) -> Attribute { Attribute(name: n, value: .int(v)) }
  static func float(_ n: String, _ v: Float) -> Attribute { Attribute(name: n, value: .float(v)) }
  static func str(_ n: String, _ v: String) -> Attribute { Attribute(name: n, value: .string(Array(v.utf8))) }

  static func model(_ nodes: [Node], inputs: [ValueInfo], outputs: [String], initializers: [Tensor]) -> Model {
    let g = Graph(name: "seed", nodes: nodes, inputs: inputs, outputs: outputs.map(output), initializers: initializers)
    return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
  }

  static func conv() throws -> Model {
    model([
      Node(name: "conv", opType: "Conv", inputs: ["x", "w", "b"], outputs: ["c"],
           attributes: [ints("kernel_shape", [3, 3]), ints("strides", [1, 2]), ints("pads", [1, 1, 1, 1]),
                        ints("dilations", [1, 1]), int("group", 2)]),
      Node(name: "relu", opType: "Relu", inputs: ["c"], outputs: ["r"]),
      Node(name: "convT", opType: "ConvTranspose", inputs: ["r", "wt"], outputs: ["y"],
           attributes: [ints("strides", [2, 2]), ints("output_padding", [1, 1]), int("group", 1)]),
    ], inputs: [input("x", [.symbol("N"), .value(4), .value(7), .value(6)])], outputs: ["y"],
       initializers: [try f32("w", [6, 2, 3, 3]), try f32("b", [6]), try f32("wt", [6, 2, 2, 2])])
  }

  static func pool() throws -> Model {
    model([
      Node(name: "max", opType: "MaxPool", inputs: ["x"], outputs: ["m"],
           attributes: [ints("kernel_shape", [2, 3]), ints("strides", [2, 1]), ints("pads", [0, 1, 0, 1]), int("ceil_mode", 1)]),
      Node(name: "avg", opType: "AveragePool", inputs: ["m"], outputs: ["a"],
           attributes: [ints("kernel_shape", [2, 2]), int("count_include_pad", 1), str("auto_pad", "SAME_UPPER")]),
      Node(name: "gap", opType: "GlobalAveragePool", inputs: ["a"], outputs: ["y"]),
    ], inputs: [input("x", [.symbol("N"), .value(3), .value(9), .value(8)])], outputs: ["y"], initializers: [])
  }

  static func gemm() throws -> Model {
    model([
      Node(name: "gemm", opType: "Gemm", inputs: ["x", "w", "b"], outputs: ["g"],
           attributes: [int("transB", 1), float("alpha", 0.5), float("beta", 1)]),
      Node(name: "mm", opType: "MatMul", inputs: ["g", "w2"], outputs: ["m"]),
      Node(name: "flat", opType: "Flatten", inputs: ["m"], outputs: ["y"], attributes: [int("axis", 1)]),
    ], inputs: [input("x", [.symbol("N"), .value(5)])], outputs: ["y"],
       initializers: [try f32("w", [4, 5]), try f32("b", [4]), try f32("w2", [4, 3])])
  }

  static func norm() throws -> Model {
    model([
      Node(name: "bn", opType: "BatchNormalization", inputs: ["x", "s", "bb", "mean", "var"], outputs: ["b"],
           attributes: [float("epsilon", 1e-5)]),
      Node(name: "in", opType: "InstanceNormalization", inputs: ["b", "s", "bb"], outputs: ["i"]),
      Node(name: "ln", opType: "LayerNormalization", inputs: ["i", "ls", "lb"], outputs: ["y"], attributes: [int("axis", -1)]),
    ], inputs: [input("x", [.symbol("N"), .value(3), .value(4), .value(5)])], outputs: ["y"],
       initializers: [try f32("s", [3]), try f32("bb", [3]), try f32("mean", [3]), try f32("var", [3]), try f32("ls", [5]), try f32("lb", [5])])
  }

  static func gatherSlice() throws -> Model {
    model([
      Node(name: "gather", opType: "Gather", inputs: ["x", "idx"], outputs: ["g"], attributes: [int("axis", 1)]),
      Node(name: "slice", opType: "Slice", inputs: ["g", "starts", "ends", "axes", "steps"], outputs: ["s"]),
      Node(name: "ge", opType: "GatherElements", inputs: ["s", "gi"], outputs: ["e"], attributes: [int("axis", 0)]),
      Node(name: "gnd", opType: "GatherND", inputs: ["x", "ndi"], outputs: ["y"]),
    ], inputs: [input("x", [.symbol("N"), .value(6), .value(5)])], outputs: ["e", "y"],
       initializers: [try i64("idx", [0, 5, -1, 2]), try i64("starts", [0, 1]), try i64("ends", [100, -1]), try i64("axes", [1, 2]),
                      try i64("steps", [2, 1]),
                      try Tensor(name: "gi", [Int64](repeating: 0, count: 6), shape: [1, 2, 3], dataType: .int64),
                      try Tensor(name: "ndi", [Int64]([0, 1, 0, -1]), shape: [2, 2], dataType: .int64)])
  }

  static func padResize() throws -> Model {
    model([
      Node(name: "pad", opType: "Pad", inputs: ["x", "pads", "cv"], outputs: ["p"], attributes: [str("mode", "reflect")]),
      Node(name: "resize", opType: "Resize", inputs: ["p", "", "scales"], outputs: ["r"],
           attributes: [str("mode", "linear"), str("coordinate_transformation_mode", "half_pixel")]),
      Node(name: "resize2", opType: "Resize", inputs: ["r", "", "", "sizes"], outputs: ["y"], attributes: [str("mode", "nearest")]),
    ], inputs: [input("x", [.symbol("N"), .value(2), .value(4), .value(4)])], outputs: ["y"],
       initializers: [try i64("pads", [0, 0, 1, 2, 0, 0, 2, 1]), try f32("cv", []), 
                      try Tensor(name: "scales", [Float]([1, 1, 1.5, 0.5]), shape: [4], dataType: .float),
                      try i64("sizes", [1, 2, 3, 5])])
  }

  static func reshapeTranspose() throws -> Model {
    model([
      Node(name: "reshape", opType: "Reshape", inputs: ["x", "shape"], outputs: ["r"]),
      Node(name: "transpose", opType: "Transpose", inputs: ["r"], outputs: ["t"], attributes: [ints("perm", [2, 0, 1])]),
      Node(name: "split", opType: "Split", inputs: ["t", "sp"], outputs: ["a", "b"], attributes: [int("axis", 0)]),
      Node(name: "concat", opType: "Concat", inputs: ["b", "a"], outputs: ["c"], attributes: [int("axis", 0)]),
      Node(name: "unsq", opType: "Unsqueeze", inputs: ["c", "uax"], outputs: ["u"]),
      Node(name: "sq", opType: "Squeeze", inputs: ["u", "uax"], outputs: ["y"]),
    ], inputs: [input("x", [.symbol("N"), .value(4), .value(6)])], outputs: ["y"],
       initializers: [try i64("shape", [0, -1, 3]), try i64("sp", [1, 2]), try i64("uax", [1])])
  }

  static func softmaxReduce() throws -> Model {
    model([
      Node(name: "softmax", opType: "Softmax", inputs: ["x"], outputs: ["s"], attributes: [int("axis", 1)]),
      Node(name: "rmean", opType: "ReduceMean", inputs: ["s"], outputs: ["m"], attributes: [ints("axes", [2]), int("keepdims", 1)]),
      Node(name: "rsum", opType: "ReduceSum", inputs: ["s", "rax"], outputs: ["r"], attributes: [int("keepdims", 0)]),
      Node(name: "argmax", opType: "ArgMax", inputs: ["m"], outputs: ["i"], attributes: [int("axis", -1)]),
    ], inputs: [input("x", [.symbol("N"), .value(3), .value(5)])], outputs: ["i", "r"], initializers: [try i64("rax", [-1])])
  }

  static func expandTileWhere() throws -> Model {
    model([
      Node(name: "expand", opType: "Expand", inputs: ["x", "eshape"], outputs: ["e"]),
      Node(name: "tile", opType: "Tile", inputs: ["e", "reps"], outputs: ["t"]),
      Node(name: "gt", opType: "Greater", inputs: ["t", "zero"], outputs: ["c"]),
      Node(name: "where", opType: "Where", inputs: ["c", "t", "zero"], outputs: ["w"]),
      Node(name: "cast", opType: "Cast", inputs: ["w"], outputs: ["i"], attributes: [int("to", 7)]),
    ], inputs: [input("x", [.symbol("N"), .value(1), .value(3)])], outputs: ["i"],
       initializers: [try i64("eshape", [1, 2, 3]), try i64("reps", [1, 2, 1]), try f32("zero", [1])])
  }

  static func rangeTopK() throws -> Model {
    model([
      Node(name: "shape", opType: "Shape", inputs: ["x"], outputs: ["s"]),
      Node(name: "cos", opType: "ConstantOfShape", inputs: ["s"], outputs: ["c"]),
      Node(name: "range", opType: "Range", inputs: ["start", "limit", "delta"], outputs: ["r"]),
      Node(name: "add", opType: "Add", inputs: ["x", "c"], outputs: ["a"]),
      Node(name: "topk", opType: "TopK", inputs: ["a", "k"], outputs: ["v", "i"], attributes: [int("axis", -1)]),
      Node(name: "nz", opType: "NonZero", inputs: ["v"], outputs: ["nz"]),
    ], inputs: [input("x", [.symbol("N"), .value(6)])], outputs: ["v", "i", "r", "nz"],
       initializers: [try f32("start", []), try Tensor(name: "limit", [Float(5)], shape: [], dataType: .float),
                      try Tensor(name: "delta", [Float(1)], shape: [], dataType: .float), try i64("k", [3])])
  }

  static func scatterOneHot() throws -> Model {
    model([
      Node(name: "scatter", opType: "ScatterElements", inputs: ["x", "si", "x"], outputs: ["s"], attributes: [int("axis", 1)]),
      Node(name: "onehot", opType: "OneHot", inputs: ["oi", "depth", "ov"], outputs: ["o"], attributes: [int("axis", -1)]),
      Node(name: "snd", opType: "ScatterND", inputs: ["s", "ndi", "upd"], outputs: ["y"]),
    ], inputs: [input("x", [.value(2), .value(4)])], outputs: ["y", "o"],
       initializers: [try Tensor(name: "si", [Int64]([0, 1, 2, 3, 3, 2, 1, -4]), shape: [2, 4], dataType: .int64), try i64("oi", [0, 3, -1]), try i64("depth", [4]), try f32("ov", [2]),
                      try Tensor(name: "ndi", [Int64]([1, 3]), shape: [1, 2], dataType: .int64),
                      try f32("upd", [1])])
  }

  static func depthCumSum() throws -> Model {
    model([
      Node(name: "d2s", opType: "DepthToSpace", inputs: ["x"], outputs: ["d"], attributes: [int("blocksize", 2), str("mode", "CRD")]),
      Node(name: "s2d", opType: "SpaceToDepth", inputs: ["d"], outputs: ["s"], attributes: [int("blocksize", 2)]),
      Node(name: "cumsum", opType: "CumSum", inputs: ["s", "cax"], outputs: ["c"], attributes: [int("reverse", 1)]),
      Node(name: "trilu", opType: "Trilu", inputs: ["c", "tk"], outputs: ["y"], attributes: [int("upper", 0)]),
    ], inputs: [input("x", [.symbol("N"), .value(8), .value(3), .value(2)])], outputs: ["y"],
       initializers: [try Tensor(name: "cax", [Int64(1)], shape: [], dataType: .int64),
                      try Tensor(name: "tk", [Int64(-1)], shape: [], dataType: .int64)])
  }
}
