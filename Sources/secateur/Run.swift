import ArgumentParser
import ModelFormat
import Runtime

/// `secateur run model.onnx [--input name=file.npy]... [--output out.npz] [--threads N]`
struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a model on .npy inputs (random inputs when none are given) and print or save the outputs.")

  @Argument(help: "Path to an .onnx model.") var model: String
  @Option(name: .customLong("input"), help: "An input as NAME=FILE.npy (repeatable). Missing inputs are random.")
  var inputs: [String] = []
  @Option(help: "Write every output into one .npz keyed by output name.") var output: String?
  @Option(help: "Threads per run (0 = all cores).") var threads = 0
  @Flag(help: "Skip the graph optimizer (for debugging).") var noOptimize = false
  @Option(help: "Seed for generated inputs.") var seed: UInt64 = 0
  @Option(help: "Value for symbolic input dimensions of generated inputs.") var dim = 1

  func run() throws {
    do {
      let session = try Session(path: model, options: SessionOptions(threads: threads, optimize: !noOptimize))
      var feeds: [String: Tensor] = [:]
      for spec in inputs {
        guard let eq = spec.firstIndex(of: "=") else {
          throw SecateurError.invalidArgument("--input '\(spec)' must be NAME=FILE.npy")
        }
        let name = String(spec[..<eq]), path = String(spec[spec.index(after: eq)...])
        let bytes = try FileIO.read(path: path)
        var t = try NPY.decode(bytes.bytes, name: path)
        t.name = name
        feeds[name] = t
      }
      var rng = SplitMix64(seed: seed)
      for info in session.inputs where feeds[info.name] == nil {
        feeds[info.name] = try randomTensor(for: info, dim: dim, rng: &rng)
      }
      let outputs = try session.run(feeds)
      for (info, t) in zip(session.outputs, outputs) {
        print("\(info.name): \(t.dataType) \(t.shape)  \(summary(t))")
      }
      if let output {
        let npz = try NPZ.encode(zip(session.outputs, outputs).map { ($0.name, $1) })
        try FileIO.write(path: output, bytes: npz)
        print("wrote \(outputs.count) output(s) to \(output)")
      }
    } catch {
      fail(error)
    }
  }
}

/// A tensor of the declared type and shape (symbolic dims = `dim`) filled with uniform values in [-1, 1)
/// (floats) or small non-negative integers.
func randomTensor(for info: ValueInfo, dim: Int, rng: inout SplitMix64) throws -> Tensor {
  guard case .tensor(let type, let shape)? = info.type else {
    throw SecateurError.unsupported("input '\(info.name)' is not a tensor; pass it with --input")
  }
  let dims = (shape ?? []).map { $0.value ?? dim }
  let n = shapeElementCount(dims) ?? 0
  switch type {
  case .float: return try Tensor(name: info.name, (0..<n).map { _ in Float(rng.uniform() * 2 - 1) }, shape: dims, dataType: .float)
  case .double: return try Tensor(name: info.name, (0..<n).map { _ in rng.uniform() * 2 - 1 }, shape: dims, dataType: .double)
  case .int64: return try Tensor(name: info.name, (0..<n).map { _ in Int64(rng.next() % 10) }, shape: dims, dataType: .int64)
  case .int32: return try Tensor(name: info.name, (0..<n).map { _ in Int32(rng.next() % 10) }, shape: dims, dataType: .int32)
  default:
    var t = try Tensor(name: info.name, zeros: type, shape: dims)
    t.name = info.name
    return t
  }
}

/// min / max / mean of a tensor's values, and the argmax for a 1×K float output (a classifier).
func summary(_ t: Tensor) -> String {
  guard let v = t.doubleValues(), !v.isEmpty else { return "" }
  let mn = v.min()!, mx = v.max()!, mean = v.reduce(0, +) / Double(v.count)
  var s = "min \(rounded(mn, 4))  max \(rounded(mx, 4))  mean \(rounded(mean, 4))"
  if t.shape.count == 2, t.shape[0] == 1, let i = v.indices.max(by: { v[$0] < v[$1] }) { s += "  argmax \(i)" }
  return s
}

/// Small deterministic generator for reproducible inputs.
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
