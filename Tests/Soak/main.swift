// secateur-soak: many inferences with changing input shapes; fails when resident memory grows after warm-up.
//
//   secateur-soak [--runs 100000] [--tolerance-mb 4]
//
// The model mixes planned (static-shape) and node-by-node (data-dependent) signatures: the batch cycles
// through 48 sizes, more than the session's plan cache keeps, so plans are built, cached, evicted and
// rebuilt throughout; every 7th run goes to a second session whose reshape target is an input, so its
// shapes are data-dependent and it runs node by node.
// RSS is read from /proc/self/statm every 500 runs.
import ModelFormat
import Runtime

#if canImport(Glibc)
import Glibc
#endif

/// Resident set size: the second field of /proc/self/statm, in pages.
func residentBytes() -> Int {
  guard let f = fopen("/proc/self/statm", "r") else { return 0 }
  defer { fclose(f) }
  var buf = [CChar](repeating: 0, count: 256)
  guard fgets(&buf, Int32(buf.count), f) != nil else { return 0 }
  let fields = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
  guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
  return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func mb(_ b: Int) -> String {
  let tenths = (b * 10) / 1_048_576
  return "\(tenths / 10).\(abs(tenths % 10)) MiB"
}

/// `dynamic`: the Reshape target is a graph input (data-dependent shapes: node-by-node execution);
/// otherwise it is an initializer and every signature gets a static plan with an arena.
func soakModel(dynamic: Bool) throws -> Model {
  let c = 16
  let w = try Tensor(name: "w", (0..<c).map { Float(($0 * 7) % 13) * 0.05 - 0.3 }, shape: [c], dataType: .float)
  let b = try Tensor(name: "b", (0..<c).map { Float($0 % 5) * 0.1 }, shape: [c], dataType: .float)
  let nodes = [
    Node(name: "mm", opType: "Mul", inputs: ["x", "w"], outputs: ["m"]),
    Node(name: "add", opType: "Add", inputs: ["m", "b"], outputs: ["a"]),
    Node(name: "relu", opType: "Relu", inputs: ["a"], outputs: ["r"]),
    Node(name: "softmax", opType: "Softmax", inputs: ["r"], outputs: ["s"], attributes: [Attribute(name: "axis", value: .int(-1))]),
    Node(name: "reshape", opType: "Reshape", inputs: ["s", "shape"], outputs: ["y"]),
    Node(name: "sum", opType: "ReduceSum", inputs: ["y"], outputs: ["z"], attributes: [Attribute(name: "keepdims", value: .int(0))]),
  ]
  let target = try Tensor(name: "shape", [Int64(-1), Int64(4)], shape: [2], dataType: .int64)
  let g = Graph(name: "soak", nodes: nodes,
                inputs: [ValueInfo(name: "x", type: .tensor(.float, [.symbol("N"), .value(c)]))]
                  + (dynamic ? [ValueInfo(name: "shape", type: .tensor(.int64, [.value(2)]))] : []),
                outputs: [ValueInfo(name: "y", type: .tensor(.float, nil)), ValueInfo(name: "z", type: .tensor(.float, nil))],
                initializers: [w, b] + (dynamic ? [] : [target]))
  return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
}

var runs = 100_000
var toleranceMB = 4
var args = CommandLine.arguments.dropFirst().makeIterator()
while let a = args.next() {
  switch a {
  case "--runs": runs = args.next().flatMap { Int($0) } ?? runs
  case "--tolerance-mb": toleranceMB = args.next().flatMap { Int($0) } ?? toleranceMB
  default: print("usage: secateur-soak [--runs N] [--tolerance-mb MB]"); exit(2)
  }
}

do {
  let planned = try Session(model: try soakModel(dynamic: false), options: SessionOptions(threads: 2))
  let dynamic = try Session(model: try soakModel(dynamic: true), options: SessionOptions(threads: 2))
  let warmup = max(1, runs / 10)
  var baseline = 0, peak = 0, samples: [(Int, Int)] = []
  let start = residentBytes()
  for i in 0..<runs {
    let n = 1 + (i * 37) % 48
    let x = try Tensor((0..<(n * 16)).map { Float(($0 + i) % 11) * 0.1 }, shape: [n, 16], dataType: .float)
    let shape = try Tensor([Int64(i % 7 == 0 ? -1 : n), Int64(i % 7 == 0 ? 4 : 16)], shape: [2], dataType: .int64)
    // Every 7th run takes the data-dependent path; the rest run planned signatures.
    let out = i % 7 == 0 ? try dynamic.run(["x": x, "shape": shape]) : try planned.run(["x": x])
    guard out.count == 2, out[0].elementCount == n * 16 else {
      print("soak: run \(i) returned \(out.map(\.shape))"); exit(1)
    }
    if (i + 1) % 500 == 0 {
      let rss = residentBytes()
      samples.append((i + 1, rss))
      if i + 1 == warmup { baseline = rss }
      if i + 1 > warmup { peak = max(peak, rss) }
    }
  }
  print("soak: \(runs) runs; RSS start \(mb(start)), after warm-up (\(warmup) runs) \(mb(baseline)), peak after warm-up \(mb(peak)), end \(mb(samples.last?.1 ?? 0)); plans cached \(planned.cachedPlanCount)")
  let growth = peak - baseline
  if growth > toleranceMB << 20 {
    print("soak: FAILED — RSS grew \(mb(growth)) after warm-up (tolerance \(toleranceMB) MiB)")
    for s in samples.suffix(10) { print("  run \(s.0): \(mb(s.1))") }
    exit(1)
  }
  print("soak: OK — growth after warm-up \(mb(max(0, growth))) ≤ \(toleranceMB) MiB")
} catch {
  print("soak: \(error)")
  exit(1)
}
