import COnnxBridge

/// Loading and saving whole models: bytes or file → `Model` → bytes or file.
public enum ModelLoader {
  /// Options for loading.
  public struct Options: Sendable {
    /// Run Debian libonnx's checker where it applies (IR ≤ 8, opset ≤ 17); newer models skip it.
    public var runONNXChecker = true
    /// Largest model file accepted.
    public var maxFileBytes = 1 << 34
    public init() {}
  }

  /// Loads a model file. External data is read only from inside the file's folder.
  public static func load(path: String, options: Options = Options()) throws -> Model {
    let bytes = try FileIO.read(path: path, limit: options.maxFileBytes)
    let reader = ONNXReader(externalData: ExternalDataResolver(baseDirectory: FileIO.directory(of: path)))
    return try decode(bytes, reader: reader, options: options)
  }

  /// Loads a model from memory. No file is touched: a tensor with external data is an error.
  public static func load(bytes: UnsafeRawBufferPointer, options: Options = Options()) throws -> Model {
    try decode(try Buffer(copying: bytes), reader: ONNXReader(externalData: nil), options: options)
  }

  public static func load(bytes: [UInt8], options: Options = Options()) throws -> Model {
    try bytes.withUnsafeBytes { try load(bytes: $0, options: options) }
  }

  static func decode(_ buffer: Buffer, reader: ONNXReader, options: Options) throws -> Model {
    guard buffer.count > 0 else { throw SecateurError.invalidModel("the model is empty (0 bytes)") }
    // When the linked libonnx allows it, its checker sees a copy with the large weights cut short
    // (CheckerCopy.swift): no second full copy of them while it runs. The copy is taken first because
    // reading may then align payloads inside the buffer (`alignPayloadsInPlace`); a copy that fails
    // (malformed bytes) leaves the reader to report the error.
    let checkerCopy = options.runONNXChecker && sct_onnx_checker_ignores_raw_data_size() != 0
      ? try? CheckerCopy.elidingWeights(buffer) : nil
    var reader = reader
    reader.alignPayloadsInPlace = !options.runONNXChecker || checkerCopy != nil
    var model = try reader.readModel(buffer)
    // libonnx's checker resolves external data against the process's working folder (it is not told the
    // model's folder), so it cannot judge such models; the reader has already enforced containment.
    // The copy is checked only after the reader has validated every payload length itself.
    if options.runONNXChecker && reader.stats.externalTensors == 0 {
      if let checkerCopy {
        try checkerCopy.withUnsafeBytes { try ONNXChecker.checkIfApplicable($0) }
      } else {
        try ONNXChecker.checkIfApplicable(buffer.bytes)
      }
    }
    try model.validate()
    return model
  }

  public static func serialize(_ model: Model) -> [UInt8] { ONNXWriter().serialize(model) }

  public static func save(_ model: Model, to path: String) throws { try ONNXWriter().write(model, to: path) }
}

/// Swift side of the libonnx shim (`COnnxBridge`).
public enum ONNXChecker {
  /// The newest IR version and opset Debian's libonnx can judge.
  public static var maxIRVersion: Int { Int(sct_onnx_max_ir_version()) }
  public static var maxOpset: Int { Int(sct_onnx_max_opset()) }

  /// Runs libonnx's checker on serialized bytes; does nothing when the model is newer than libonnx knows.
  public static func checkIfApplicable(_ bytes: UnsafeRawBufferPointer, fullCheck: Bool = false) throws {
    var err = [CChar](repeating: 0, count: 2048)
    let rc = sct_onnx_check_model(bytes.baseAddress, bytes.count, fullCheck ? 1 : 0, &err, err.count)
    switch rc {
    case SCT_ONNX_OK, SCT_ONNX_NOT_APPLICABLE: return
    default:
      let msg = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      throw SecateurError.invalidModel("ONNX checker: \(msg)")
    }
  }

  /// Runs libonnx's checker; returns nil when it passed, the reason when it failed, "not applicable" text otherwise.
  public static func check(_ model: Model, fullCheck: Bool) -> (ok: Bool, applicable: Bool, message: String) {
    let bytes = ONNXWriter().serialize(model)
    var err = [CChar](repeating: 0, count: 2048)
    let rc = bytes.withUnsafeBytes { sct_onnx_check_model($0.baseAddress, $0.count, fullCheck ? 1 : 0, &err, err.count) }
    let msg = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return (rc == SCT_ONNX_OK, rc != SCT_ONNX_NOT_APPLICABLE, msg)
  }

  /// Converts a model to another opset with libonnx's version converter (opsets ≤ 17 only).
  public static func convert(_ model: Model, toOpset target: Int) throws -> Model {
    let bytes = ONNXWriter().serialize(model)
    var out: UnsafeMutableRawPointer? = nil
    var outLen = 0
    var err = [CChar](repeating: 0, count: 2048)
    let rc = bytes.withUnsafeBytes {
      sct_onnx_convert_version($0.baseAddress, $0.count, Int32(target), &out, &outLen, &err, err.count)
    }
    defer { sct_onnx_free(out) }
    guard rc == SCT_ONNX_OK, let out else {
      let msg = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      throw SecateurError.unsupported("ONNX version converter: \(msg)")
    }
    return try ModelLoader.load(bytes: UnsafeRawBufferPointer(start: out, count: outLen))
  }
}
