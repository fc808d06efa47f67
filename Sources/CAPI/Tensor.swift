#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ModelFormat

/// `sct_tensor`: an immutable-shape tensor over owned memory (created, or returned by a run) or over
/// caller memory (wrapped). `dims` is the shape as C reads it, valid for the handle's life.
final class TensorHandle: Handle {
  override class var cName: String { "sct_tensor" }
  let tensor: Tensor
  let dims: UnsafeMutablePointer<Int64>

  init(_ tensor: Tensor) {
    self.tensor = tensor
    dims = .allocate(capacity: max(tensor.shape.count, 1))
    for (i, d) in tensor.shape.enumerated() { dims[i] = Int64(d) }
  }

  deinit { dims.deallocate() }

  /// A handle for a tensor a run produced. The bytes are copied when anything else still references
  /// them (a graph input passed through, a constant, an output requested twice), so that writing
  /// through `sct_tensor_data` can never change the model or another tensor.
  static func taking(_ t: inout Tensor, output name: String) throws -> TensorHandle {
    guard t.dataType != .string else {
      throw SecateurError.unsupported("output '\(name)' is a string tensor, which the C API does not support")
    }
    if !isKnownUniquelyReferenced(&t.buffer) {
      let copy = try Buffer(copying: UnsafeRawBufferPointer(start: t.buffer.baseAddress, count: t.byteCount))
      t = try Tensor(name: t.name, dataType: t.dataType, shape: t.shape, buffer: copy)
    }
    return TensorHandle(t)
  }
}

/// Element type and shape from C arguments, checked: the type must have a byte layout, every dim ≥ 0,
/// and the byte size must not overflow. Returns the bytes the data needs.
func tensorLayout(_ type: Int32, _ shape: UnsafePointer<Int64>?, _ rank: UInt) throws -> (DataType, [Int], Int) {
  guard let dtype = DataType(rawValue: type), dtype != .undefined else {
    throw SecateurError.invalidArgument("element type \(type) is not an ONNX element type (see sct_type)")
  }
  guard dtype != .string else {
    throw SecateurError.unsupported("string tensors are not supported by the C API")
  }
  let r = try count(rank, "rank", max: 1024)
  var dims: [Int] = []
  if r > 0 {
    let s = try nonNull(shape, "shape")
    for i in 0..<r {
      guard s[i] >= 0, s[i] <= Int64(Int.max) else {
        throw SecateurError.invalidArgument("shape[\(i)] is \(s[i]): dims must be ≥ 0")
      }
      dims.append(Int(s[i]))
    }
  }
  guard let n = shapeElementCount(dims), let bytes = dtype.storageBytes(count: n) else {
    throw SecateurError.invalidArgument("shape \(dims) of \(dtype) overflows")
  }
  return (dtype, dims, bytes)
}

// MARK: - Creating and releasing

/// `sct_status sct_tensor_create(sct_type type, const int64_t *shape, size_t rank, const void *data,
///                               size_t byte_size, sct_tensor **tensor)`
@c public func sct_tensor_create(_ type: Int32, _ shape: UnsafePointer<Int64>?, _ rank: UInt, _ data: UnsafeRawPointer?,
                                 _ byteSize: UInt, _ tensor: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
  guarded("sct_tensor_create") {
    let out = try nonNull(tensor, "tensor")
    out.pointee = nil
    let (dtype, dims, bytes) = try tensorLayout(type, shape, rank)
    let buffer: Buffer
    if let data {
      guard byteSize == UInt(bytes) else {
        throw SecateurError.invalidArgument("byte_size is \(byteSize), \(dtype)\(dims) needs exactly \(bytes)")
      }
      buffer = try Buffer(copying: UnsafeRawBufferPointer(start: data, count: bytes))
    } else {
      guard byteSize == 0 else {
        throw SecateurError.invalidArgument("data is NULL but byte_size is \(byteSize) (NULL data means zero-filled, byte_size 0)")
      }
      buffer = try Buffer(zeroedCount: bytes)
    }
    out.pointee = TensorHandle(try Tensor(dataType: dtype, shape: dims, buffer: buffer)).opaque()
  }
}

/// `sct_status sct_tensor_wrap(sct_type type, const int64_t *shape, size_t rank, void *data,
///                             size_t byte_size, sct_tensor **tensor)`
@c public func sct_tensor_wrap(_ type: Int32, _ shape: UnsafePointer<Int64>?, _ rank: UInt, _ data: UnsafeMutableRawPointer?,
                               _ byteSize: UInt, _ tensor: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
  guarded("sct_tensor_wrap") {
    let out = try nonNull(tensor, "tensor")
    out.pointee = nil
    let (dtype, dims, bytes) = try tensorLayout(type, shape, rank)
    guard byteSize >= UInt(bytes), byteSize <= UInt(Int.max) else {
      throw SecateurError.invalidArgument("byte_size is \(byteSize), too small for \(dtype)\(dims), which needs \(bytes)")
    }
    let buffer: Buffer
    if bytes == 0 && data == nil {
      buffer = try Buffer(zeroedCount: 0)
    } else {
      buffer = Buffer(borrowing: try nonNull(data, "data"), count: Int(byteSize))
    }
    out.pointee = TensorHandle(try Tensor(dataType: dtype, shape: dims, buffer: buffer)).opaque()
  }
}

/// `void sct_tensor_release(sct_tensor *tensor)`
@c public func sct_tensor_release(_ tensor: OpaquePointer?) {
  Handle.release(tensor)
}

// MARK: - Reading

/// `sct_status sct_tensor_type(const sct_tensor *tensor, sct_type *type)`
@c public func sct_tensor_type(_ tensor: OpaquePointer?, _ type: UnsafeMutablePointer<Int32>?) -> Int32 {
  guarded("sct_tensor_type") {
    let out = try nonNull(type, "type")
    out.pointee = try TensorHandle.from(tensor, "tensor").tensor.dataType.rawValue
  }
}

/// `sct_status sct_tensor_shape(const sct_tensor *tensor, const int64_t **dims, size_t *rank)`
@c public func sct_tensor_shape(_ tensor: OpaquePointer?, _ dims: UnsafeMutablePointer<UnsafePointer<Int64>?>?,
                                _ rank: UnsafeMutablePointer<UInt>?) -> Int32 {
  guarded("sct_tensor_shape") {
    let outDims = try nonNull(dims, "dims"), outRank = try nonNull(rank, "rank")
    let t = try TensorHandle.from(tensor, "tensor")
    outDims.pointee = UnsafePointer(t.dims)
    outRank.pointee = UInt(t.tensor.shape.count)
  }
}

/// `sct_status sct_tensor_data(const sct_tensor *tensor, void **data)`
@c public func sct_tensor_data(_ tensor: OpaquePointer?, _ data: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
  guarded("sct_tensor_data") {
    let out = try nonNull(data, "data")
    out.pointee = try TensorHandle.from(tensor, "tensor").tensor.buffer.baseAddress
  }
}

/// `sct_status sct_tensor_byte_size(const sct_tensor *tensor, size_t *byte_size)`
@c public func sct_tensor_byte_size(_ tensor: OpaquePointer?, _ byteSize: UnsafeMutablePointer<UInt>?) -> Int32 {
  guarded("sct_tensor_byte_size") {
    let out = try nonNull(byteSize, "byte_size")
    out.pointee = UInt(try TensorHandle.from(tensor, "tensor").tensor.byteCount)
  }
}

/// `sct_status sct_tensor_element_count(const sct_tensor *tensor, size_t *count)`
@c public func sct_tensor_element_count(_ tensor: OpaquePointer?, _ count: UnsafeMutablePointer<UInt>?) -> Int32 {
  guarded("sct_tensor_element_count") {
    let out = try nonNull(count, "count")
    out.pointee = UInt(try TensorHandle.from(tensor, "tensor").tensor.elementCount)
  }
}

/// `const char *sct_type_name(sct_type type)`: "float32", "int64", …; "unknown" for other values.
@c public func sct_type_name(_ type: Int32) -> UnsafePointer<CChar> {
  switch DataType(rawValue: type) {
  case .float: return cString("float32")
  case .uint8: return cString("uint8")
  case .int8: return cString("int8")
  case .uint16: return cString("uint16")
  case .int16: return cString("int16")
  case .int32: return cString("int32")
  case .int64: return cString("int64")
  case .string: return cString("string")
  case .bool: return cString("bool")
  case .float16: return cString("float16")
  case .double: return cString("float64")
  case .uint32: return cString("uint32")
  case .uint64: return cString("uint64")
  case .complex64: return cString("complex64")
  case .complex128: return cString("complex128")
  case .bfloat16: return cString("bfloat16")
  case .float8e4m3fn: return cString("float8e4m3fn")
  case .float8e4m3fnuz: return cString("float8e4m3fnuz")
  case .float8e5m2: return cString("float8e5m2")
  case .float8e5m2fnuz: return cString("float8e5m2fnuz")
  case .uint4: return cString("uint4")
  case .int4: return cString("int4")
  case .float4e2m1: return cString("float4e2m1")
  case .float8e8m0: return cString("float8e8m0")
  case .uint2: return cString("uint2")
  case .int2: return cString("int2")
  case .undefined, nil: return cString("unknown")
  }
}
