import ModelFormat
import Optimizer
import COnnxBridge
#if canImport(Glibc)
import Glibc
#endif

/// The Runtime's implementation of the pruner's `CandidateEvaluator`: shapes from the planner, outputs
/// from an unoptimized session (so BN statistics can be read at BN inputs), latency from an optimized one.
public struct PruningEvaluator: CandidateEvaluator, Sendable {
  public var threads: Int
  public var latencyRuns: Int

  public init(threads: Int = 0, latencyRuns: Int = 10) {
    self.threads = threads
    self.latencyRuns = latencyRuns
  }

  /// Shapes from the Runtime's planner; when the planner lacks a kernel for some op, from libonnx's
  /// shape inference instead (the pruner only needs shapes, not execution, to analyze and rewrite).
  public func shapes(_ model: Model) throws -> [String: [Int]] {
    do {
      return try PlannedShapes().valueShapes(of: model)
    } catch let e as SecateurError where e.code == .unsupported {
      do { return try PruningEvaluator.onnxShapes(model) } catch let f as SecateurError {
        throw SecateurError(e.code, "\(e.message) (and \(f.message))")
      }
    }
  }

  /// Concrete shapes from libonnx's shape inference (every value must get a static shape).
  static func onnxShapes(_ model: Model) throws -> [String: [Int]] {
    let bytes = ModelLoader.serialize(model)
    var out: UnsafeMutableRawPointer? = nil
    var outLen = 0
    var err = [CChar](repeating: 0, count: 2048)
    let rc = bytes.withUnsafeBytes { sct_onnx_infer_shapes($0.baseAddress, $0.count, &out, &outLen, &err, err.count) }
    defer { sct_onnx_free(out) }
    guard rc == SCT_ONNX_OK, let out else {
      throw SecateurError.unsupported("shape inference failed: \(String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
    }
    var options = ModelLoader.Options()
    options.runONNXChecker = false
    let inferred = try ModelLoader.load(bytes: UnsafeRawBufferPointer(start: out, count: outLen), options: options)
    var shapes: [String: [Int]] = [:]
    for t in inferred.graph.initializers { shapes[t.name] = t.shape }
    for v in inferred.graph.inputs + inferred.graph.valueInfo + inferred.graph.outputs {
      if let s = v.type?.tensorShape, s.allSatisfy({ $0.value != nil }) { shapes[v.name] = s.map { $0.value! } }
    }
    return shapes
  }

  public func outputs(_ model: Model, feeds: [[String: Tensor]]) throws -> [[Tensor]] {
    let s = try Session(model: model, options: SessionOptions(threads: threads, optimize: false))
    return try feeds.map { try s.run($0) }
  }

  public func latencyMs(_ model: Model, feeds: [String: Tensor]) throws -> Double {
    let s = try Session(model: model, options: SessionOptions(threads: threads, optimize: true))
    for _ in 0..<2 { _ = try s.run(feeds) }
    var times: [Double] = []
    for _ in 0..<max(1, latencyRuns) {
      let t = PruningEvaluator.now()
      _ = try s.run(feeds)
      times.append((PruningEvaluator.now() - t) * 1000)
    }
    times.sort()
    return times[times.count / 2]
  }

  public func simplified(_ model: Model) throws -> Model {
    var m = model
    let me = self
    let shapes: @Sendable (Model) -> [String: [Int]]? = { m in
      guard m.graph.runtimeInputs.allSatisfy({ $0.type?.tensorShape?.allSatisfy { $0.value != nil } ?? false }) else { return nil }
      return try? me.shapes(m)
    }
    let pm = PassManager(passes: [InlineFunctions(), EliminateIdentity(),
                                  FoldConstants(evaluator: RuntimeConstantEvaluator(), shapes: shapes), EliminateDeadCode()])
    _ = try pm.run(on: &m)
    return m
  }

  static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
  }
}
