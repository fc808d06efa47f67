import ModelFormat

/// Element type and concrete shape of a runtime value.
public struct TensorSpec: Hashable, Sendable, CustomStringConvertible {
  public var dataType: DataType
  public var shape: [Int]
  public init(_ dataType: DataType, _ shape: [Int]) {
    self.dataType = dataType
    self.shape = shape
  }
  public var elementCount: Int { shapeElementCount(shape) ?? 0 }
  /// Bytes needed, or nil on overflow.
  public var byteCount: Int? { shapeElementCount(shape).flatMap { dataType.storageBytes(count: $0) } }
  public var description: String { "\(dataType)\(shape)" }
}

/// A runtime tensor handed to a kernel: spec plus a pointer to its bytes (valid for the call only).
public struct TensorView: @unchecked Sendable {
  public var spec: TensorSpec
  public var data: UnsafeMutableRawPointer
  /// String tensors only: their elements (kernels that accept strings read/write these).
  public var strings: StringStorage?

  public init(spec: TensorSpec, data: UnsafeMutableRawPointer, strings: StringStorage? = nil) {
    self.spec = spec
    self.data = data
    self.strings = strings
  }

  @inlinable public var shape: [Int] { spec.shape }
  @inlinable public var dataType: DataType { spec.dataType }
  @inlinable public var count: Int { spec.elementCount }
  @inlinable public func pointer<T>(_: T.Type) -> UnsafeMutablePointer<T> { data.assumingMemoryBound(to: T.self) }
  @inlinable public func buffer<T>(_: T.Type) -> UnsafeMutableBufferPointer<T> {
    UnsafeMutableBufferPointer(start: data.assumingMemoryBound(to: T.self), count: count)
  }
}

/// Mutable holder for string tensor elements (strings do not live in the arena).
public final class StringStorage: @unchecked Sendable {
  public var values: [[UInt8]]
  public init(_ values: [[UInt8]]) { self.values = values }
}

/// Plan-time knowledge about a node's inputs: which values are already known (constants, shapes).
public struct InputValues {
  let values: [Tensor?]
  public init(_ values: [Tensor?]) { self.values = values }
  /// The constant contents of input `i`, if known before running.
  public subscript(i: Int) -> Tensor? { i < values.count ? values[i] : nil }

  /// The integer contents of input `i`; throws `needsValue` when it is not known yet (a data-dependent shape).
  public func ints(_ i: Int, _ label: String) throws -> [Int] {
    guard let t = self[i] else { throw KernelError.needsValue(input: i) }
    guard let v = t.intValues() else {
      throw SecateurError.invalidModel("\(label): input \(i) must be an integer tensor, got \(t.dataType)")
    }
    return v
  }
}

/// Thrown by a shape rule that needs an input's contents not known at plan time; the session then
/// executes that signature node by node.
public enum KernelError: Error {
  case needsValue(input: Int)
}

/// What a kernel gets at run time besides its tensors.
public struct RunContext {
  public let pool: ThreadPool
  /// Scratch memory of at least `workspaceBytes` bytes, 64-byte aligned, private to this run.
  public let workspace: UnsafeMutableRawPointer?
}

/// One ONNX op, prepared for one node: attributes parsed and validated, weights prepacked.
///
/// Kernels are created once per session and shared by concurrent runs, so `run` must not mutate `self`.
public protocol OpKernel: AnyObject, Sendable {
  /// The shape rule: output element types and shapes from the inputs' (nil = absent input).
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec]
  /// Scratch bytes `run` needs for these shapes.
  func workspaceBytes(_ inputs: [TensorSpec?], _ outputs: [TensorSpec]) -> Int
  /// The same for a run on a pool of `threads` threads (the pool `run` then gets): kernels whose threads
  /// each need scratch of their own say so here. Defaults to the count above.
  func workspaceBytes(_ inputs: [TensorSpec?], _ outputs: [TensorSpec], threads: Int) -> Int
  /// Computes outputs from inputs. Throws only for data-dependent failures (e.g. an index out of range).
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws
  /// True when outputs are a pure function of the inputs and may be folded at plan time.
  var isDeterministic: Bool { get }
  /// Shape/Size and friends: outputs fully known from input specs alone.
  func valuesFromSpecs(_ inputs: [TensorSpec?]) throws -> [Tensor]?
  /// Indices of constant inputs this kernel holds a packed copy (and the spec) of, so it works with them
  /// absent: the program passes them as nil and, once no other step reads the value, drops the
  /// constant, so the weights are not resident twice (unpacked and packed).
  var releasableInputs: [Int] { get }
}

extension OpKernel {
  public func workspaceBytes(_ inputs: [TensorSpec?], _ outputs: [TensorSpec]) -> Int { 0 }
  public func workspaceBytes(_ inputs: [TensorSpec?], _ outputs: [TensorSpec], threads: Int) -> Int {
    workspaceBytes(inputs, outputs)
  }
  public var isDeterministic: Bool { true }
  public func valuesFromSpecs(_ inputs: [TensorSpec?]) throws -> [Tensor]? { nil }
  public var releasableInputs: [Int] { [] }
}

/// Everything a kernel factory needs about its node.
public struct NodeContext {
  public let node: Node
  /// The opset version of the node's domain in this model.
  public let opset: Int
  /// Inputs that are constant at session creation (initializers, Constant nodes), by input index.
  public let constants: [Tensor?]
  /// The model's opset imports (control-flow kernels compile their subgraphs with them).
  public var opsetImports: [OpsetImport] = []
  /// False when the kernel only serves shape inference or one constant fold: kernels then skip
  /// prepacking constant weights (they run from the constant tensors themselves). Packing ResNet-50's
  /// weights for the optimizer's shape pass was a third of its session creation.
  public var prepack = true

  public var label: String { node.label }

  public func constant(_ i: Int) -> Tensor? { i < constants.count ? constants[i] : nil }

  // MARK: Attribute access with defaults (the defaults are written once, in each kernel's file)

  public func int(_ name: String, _ def: Int) throws -> Int {
    guard let a = node.attribute(name) else { return def }
    guard let v = a.intValue else { throw SecateurError.invalidModel("\(label): attribute '\(name)' must be an int") }
    return v
  }
  public func intOrNil(_ name: String) throws -> Int? {
    guard node.attribute(name) != nil else { return nil }
    return try int(name, 0)
  }
  public func float(_ name: String, _ def: Float) throws -> Float {
    guard let a = node.attribute(name) else { return def }
    if let v = a.floatValue { return v }
    if let v = a.intValue { return Float(v) }
    throw SecateurError.invalidModel("\(label): attribute '\(name)' must be a float")
  }
  public func ints(_ name: String) throws -> [Int]? {
    guard let a = node.attribute(name) else { return nil }
    if let v = a.ints { return v }
    if let v = a.intValue { return [v] }
    throw SecateurError.invalidModel("\(label): attribute '\(name)' must be a list of ints")
  }
  public func floats(_ name: String) throws -> [Float]? {
    guard let a = node.attribute(name) else { return nil }
    if let v = a.floats { return v }
    if let v = a.floatValue { return [v] }
    throw SecateurError.invalidModel("\(label): attribute '\(name)' must be a list of floats")
  }
  public func string(_ name: String, _ def: String) throws -> String {
    guard let a = node.attribute(name) else { return def }
    guard let v = a.stringValue else { throw SecateurError.invalidModel("\(label): attribute '\(name)' must be a string") }
    return v
  }
  public func tensor(_ name: String) -> Tensor? { node.attribute(name)?.tensor }

  /// An error naming this node.
  public func error(_ what: String) -> SecateurError { SecateurError.invalidModel("\(label): \(what)") }
  public func unsupported(_ what: String) -> SecateurError { SecateurError.unsupported("\(label): \(what)") }
}
