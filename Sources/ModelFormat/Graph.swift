/// A computation graph (`GraphProto`): nodes in topological order, typed inputs/outputs, initializers.
public struct Graph: Sendable {
  public var name: String
  public var nodes: [Node]
  public var inputs: [ValueInfo]
  public var outputs: [ValueInfo]
  public var valueInfo: [ValueInfo]
  public var initializers: [Tensor]
  public var sparseInitializers: [[UInt8]]
  public var docString: String

  public init(name: String = "main", nodes: [Node] = [], inputs: [ValueInfo] = [], outputs: [ValueInfo] = [],
              valueInfo: [ValueInfo] = [], initializers: [Tensor] = [], sparseInitializers: [[UInt8]] = [],
              docString: String = "") {
    self.name = name
    self.nodes = nodes
    self.inputs = inputs
    self.outputs = outputs
    self.valueInfo = valueInfo
    self.initializers = initializers
    self.sparseInitializers = sparseInitializers
    self.docString = docString
  }

  /// Initializers by name.
  public var initializerMap: [String: Tensor] {
    var m: [String: Tensor] = [:]
    for t in initializers { m[t.name] = t }
    return m
  }

  /// Graph inputs that are not also initializers (the values a caller must feed).
  public var runtimeInputs: [ValueInfo] {
    let inits = Set(initializers.map(\.name))
    return inputs.filter { !inits.contains($0.name) }
  }

  /// Number of scalar parameters held in initializers.
  public var parameterCount: Int { initializers.reduce(0) { $0 + $1.elementCount } }
}

/// A model-local function (`FunctionProto`), kept so it round-trips and can be inlined by the runtime.
public struct Function: Sendable {
  public var name: String
  public var domain: String
  public var overload: String
  public var inputs: [String]
  public var outputs: [String]
  public var attributeNames: [String]
  public var attributeDefaults: [Attribute]
  public var nodes: [Node]
  public var opsetImports: [OpsetImport]
  public var valueInfo: [ValueInfo]
  public var docString: String

  public init(name: String, domain: String, overload: String = "", inputs: [String], outputs: [String],
              attributeNames: [String] = [], attributeDefaults: [Attribute] = [], nodes: [Node],
              opsetImports: [OpsetImport], valueInfo: [ValueInfo] = [], docString: String = "") {
    self.name = name
    self.domain = domain
    self.overload = overload
    self.inputs = inputs
    self.outputs = outputs
    self.attributeNames = attributeNames
    self.attributeDefaults = attributeDefaults
    self.nodes = nodes
    self.opsetImports = opsetImports
    self.valueInfo = valueInfo
    self.docString = docString
  }
}

public struct OpsetImport: Hashable, Sendable {
  public var domain: String
  public var version: Int
  public init(domain: String, version: Int) {
    self.domain = domain
    self.version = version
  }
}

/// A whole model (`ModelProto`).
public struct Model: Sendable {
  public var irVersion: Int
  public var opsetImports: [OpsetImport]
  public var producerName: String
  public var producerVersion: String
  public var domain: String
  public var modelVersion: Int
  public var docString: String
  public var graph: Graph
  public var metadata: [(key: String, value: String)]
  public var functions: [Function]

  public init(graph: Graph, opsetImports: [OpsetImport] = [OpsetImport(domain: "", version: 17)], irVersion: Int = 8,
              producerName: String = "secateur", producerVersion: String = "", domain: String = "",
              modelVersion: Int = 0, docString: String = "", metadata: [(key: String, value: String)] = [],
              functions: [Function] = []) {
    self.irVersion = irVersion
    self.opsetImports = opsetImports
    self.producerName = producerName
    self.producerVersion = producerVersion
    self.domain = domain
    self.modelVersion = modelVersion
    self.docString = docString
    self.graph = graph
    self.metadata = metadata
    self.functions = functions
  }

  /// The opset version imported for `domain` ("" and "ai.onnx" are the same domain), or nil.
  public func opsetVersion(for domain: String) -> Int? {
    let d = domain == "ai.onnx" ? "" : domain
    return opsetImports.first { ($0.domain == "ai.onnx" ? "" : $0.domain) == d }?.version
  }
}
