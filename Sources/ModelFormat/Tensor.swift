/// A dense tensor: element type, concrete shape, and its bytes (row-major, ONNX layout).
///
/// String tensors keep their elements in `strings` and have an empty buffer.
public struct Tensor: @unchecked Sendable {
  public var name: String
  public var dataType: DataType
  public var shape: [Int]
  public var buffer: Buffer
  public var strings: [[UInt8]]
  public var docString: String = ""

  /// Creates a tensor over an existing buffer after checking the buffer is large enough for the shape.
  public init(name: String = "", dataType: DataType, shape: [Int], buffer: Buffer) throws {
    guard let n = shapeElementCount(shape) else {
      throw SecateurError.invalidModel("tensor '\(name)': shape \(shape) is negative or overflows")
    }
    guard dataType != .string, dataType != .undefined else {
      throw SecateurError.invalidModel("tensor '\(name)': element type \(dataType) has no byte layout")
    }
    guard let bytes = dataType.storageBytes(count: n), bytes <= buffer.count else {
      throw SecateurError.invalidModel(
        "tensor '\(name)': \(buffer.count) bytes given for \(dataType) shape \(shape), which needs \(dataType.storageBytes(count: n) ?? -1)")
    }
    self.name = name
    self.dataType = dataType
    self.shape = shape
    self.buffer = buffer
    self.strings = []
  }

  /// A zero-filled tensor.
  public init(name: String = "", zeros dataType: DataType, shape: [Int]) throws {
    if dataType == .string {
      guard let n = shapeElementCount(shape) else { throw SecateurError.invalidArgument("bad shape \(shape)") }
      try self.init(name: name, strings: Array(repeating: [], count: n), shape: shape)
      return
    }
    guard let n = shapeElementCount(shape), let bytes = dataType.storageBytes(count: n) else {
      throw SecateurError.invalidArgument("tensor '\(name)': shape \(shape) overflows")
    }
    try self.init(name: name, dataType: dataType, shape: shape, buffer: Buffer(zeroedCount: bytes))
  }

  /// A string tensor.
  public init(name: String = "", strings: [[UInt8]], shape: [Int]) throws {
    guard let n = shapeElementCount(shape), n == strings.count else {
      throw SecateurError.invalidModel("tensor '\(name)': \(strings.count) strings for shape \(shape)")
    }
    self.name = name
    self.dataType = .string
    self.shape = shape
    self.buffer = try Buffer(zeroedCount: 0)
    self.strings = strings
  }

  /// A tensor holding a copy of `values`.
  public init<T>(name: String = "", _ values: [T], shape: [Int], dataType: DataType) throws {
    guard MemoryLayout<T>.stride == dataType.byteSize else {
      throw SecateurError.invalidArgument("element size \(MemoryLayout<T>.stride) does not match \(dataType)")
    }
    guard let n = shapeElementCount(shape), n == values.count else {
      throw SecateurError.invalidArgument("tensor '\(name)': \(values.count) values for shape \(shape)")
    }
    let buffer = try values.withUnsafeBytes { try Buffer(copying: $0) }
    try self.init(name: name, dataType: dataType, shape: shape, buffer: buffer)
  }

  public var elementCount: Int { shapeElementCount(shape) ?? 0 }
  public var byteCount: Int { dataType == .string ? 0 : (dataType.storageBytes(count: elementCount) ?? 0) }
  public var rawPointer: UnsafeMutableRawPointer { buffer.baseAddress }

  /// Typed read-only access to the elements; `T` must match `dataType`'s element size.
  public func withElements<T, R>(as: T.Type, _ body: (UnsafeBufferPointer<T>) throws -> R) rethrows -> R {
    let n = MemoryLayout<T>.stride == dataType.byteSize ? elementCount : 0
    return try body(UnsafeBufferPointer(start: buffer.baseAddress.assumingMemoryBound(to: T.self), count: n))
  }

  /// The elements converted to `Int` (for shape-like int32/int64/uint/bool tensors), or nil for other types.
  public func intValues() -> [Int]? {
    switch dataType {
    case .int64: return withElements(as: Int64.self) { $0.map { Int($0) } }
    case .int32: return withElements(as: Int32.self) { $0.map { Int($0) } }
    case .int16: return withElements(as: Int16.self) { $0.map { Int($0) } }
    case .int8: return withElements(as: Int8.self) { $0.map { Int($0) } }
    case .uint8, .bool: return withElements(as: UInt8.self) { $0.map { Int($0) } }
    case .uint16: return withElements(as: UInt16.self) { $0.map { Int($0) } }
    case .uint32: return withElements(as: UInt32.self) { $0.map { Int($0) } }
    case .uint64: return withElements(as: UInt64.self) { $0.map { Int(truncatingIfNeeded: $0) } }
    default: return nil
    }
  }

  /// The elements converted to `Double` for any real numeric type, or nil.
  public func doubleValues() -> [Double]? {
    switch dataType {
    case .float: return withElements(as: Float.self) { $0.map { Double($0) } }
    case .double: return withElements(as: Double.self) { Array($0) }
    case .float16: return withElements(as: Float16.self) { $0.map { Double($0) } }
    case .bfloat16: return withElements(as: UInt16.self) { $0.map { Double(Float(bitPattern: UInt32($0) << 16)) } }
    default: return intValues()?.map(Double.init)
    }
  }

  /// Bytes equal, element type and shape equal (used by round-trip tests and constant deduplication).
  public func contentEquals(_ other: Tensor) -> Bool {
    guard dataType == other.dataType, shape == other.shape else { return false }
    if dataType == .string { return strings == other.strings }
    let n = byteCount
    guard other.byteCount == n else { return false }
    return memcmp(buffer.baseAddress, other.buffer.baseAddress, n) == 0
  }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
