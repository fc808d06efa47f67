import ModelFormat
import Runtime

/// The pipeline a host runs on an untrusted model, driven end to end on fuzzer input:
/// bytes → load (memory only) → optimize → create session → run on generated inputs.
///
/// Any thrown `SecateurError` is a correct outcome; a trap, a sanitizer report, an allocation over
/// libFuzzer's `-malloc_limit_mb`, or a hang is a bug. Used by `secateur-fuzz` and by the regression
/// tests that replay every crash the fuzzer found (tests/fuzz/regressions).
public enum FuzzPipeline {
  /// Session memory cap while fuzzing (16 MiB): small, so units stay fast and a model that passes it cannot exhaust the fuzzer's RSS limit.
  public static let memoryLimit = 16 << 20
  /// Largest generated input, in elements (the harness's own allocation, not the runtime's).
  static let maxInputElements = 1 << 16

  /// Runs the whole pipeline on serialized model bytes; returns the error text, or nil when every run succeeded.
  @discardableResult
  public static func run(bytes: UnsafeRawBufferPointer, checker: Bool) -> String? {
    var options = ModelLoader.Options()
    options.runONNXChecker = checker
    options.maxFileBytes = 1 << 24
    do {
      let model = try ModelLoader.load(bytes: bytes, options: options)
      return run(model: model)
    } catch {
      return "\(error)"
    }
  }

  /// Optimizes, compiles and runs a decoded model twice (two values for symbolic dims, so a second plan is built).
  @discardableResult
  public static func run(model: Model) -> String? {
    do {
      var options = SessionOptions(threads: 1, optimize: true)
      options.memoryLimit = memoryLimit
      let session = try Session(model: model, options: options)
      for dim in [1, 3] {
        guard let feeds = inputs(for: session.inputs, symbolicDim: dim) else { return "inputs too large to generate" }
        _ = try session.run(feeds)
      }
      return nil
    } catch {
      return "\(error)"
    }
  }

  /// One tensor per declared input: symbolic and unknown dims become `symbolicDim`; values cycle through
  /// small integers including negatives and zero (so index-like inputs hit edge cases).
  static func inputs(for infos: [ValueInfo], symbolicDim: Int) -> [String: Tensor]? {
    var feeds: [String: Tensor] = [:]
    for info in infos {
      guard case .tensor(let dtype, let shape)? = info.type else { return nil }
      let dims = (shape ?? [.value(2)]).map { d -> Int in
        if case .value(let v) = d { return v }
        return symbolicDim
      }
      guard dims.allSatisfy({ $0 >= 0 }), let n = shapeElementCount(dims), n <= maxInputElements else { return nil }
      guard let t = tensor(dtype, dims, n) else { return nil }
      feeds[info.name] = t
    }
    return feeds
  }

  static func tensor(_ dtype: DataType, _ dims: [Int], _ n: Int) -> Tensor? {
    let pattern: [Int] = [0, 1, -1, 2, 3, -2, 5, 1]
    func make<T>(_ f: (Int) -> T) -> Tensor? {
      try? Tensor((0..<n).map { f(pattern[$0 % pattern.count]) }, shape: dims, dataType: dtype)
    }
    switch dtype {
    case .float: return make { Float($0) * 0.5 }
    case .double: return make { Double($0) * 0.5 }
    case .int64: return make { Int64($0) }
    case .int32: return make { Int32($0) }
    case .int16: return make { Int16($0) }
    case .int8: return make { Int8($0) }
    case .uint8: return make { UInt8(truncatingIfNeeded: $0) }
    case .uint16: return make { UInt16(truncatingIfNeeded: $0) }
    case .uint32: return make { UInt32(truncatingIfNeeded: $0) }
    case .uint64: return make { UInt64(truncatingIfNeeded: $0) }
    case .bool: return make { $0 > 0 }
    case .float16, .bfloat16: return make { UInt16(truncatingIfNeeded: $0 & 0x3c00) }
    case .string: return try? Tensor(strings: (0..<n).map { Array("s\($0)".utf8) }, shape: dims)
    default:
      guard let bytes = dtype.storageBytes(count: n), let b = try? Buffer(zeroedCount: bytes) else { return nil }
      return try? Tensor(dataType: dtype, shape: dims, buffer: b)
    }
  }
}
