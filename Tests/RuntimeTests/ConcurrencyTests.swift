import Foundation
import ModelFormat
import Runtime
import Testing

/// One session shared by 8 OS threads at once (not tasks: the cooperative pool may have fewer threads than
/// tasks), each with its own inputs and shapes; every output must equal a single-threaded run of the same
/// session on the same input, bit for bit. `make tsan` runs these under ThreadSanitizer.
enum ConcurrencyFixture {
  /// x[N, 12] → Mul → Add → Relu → Softmax → Transpose → Concat with itself, plus a data-dependent
  /// Reshape (target fed as an input) so both the planned and the node-by-node paths are shared.
  static func model() throws -> Model {
    let c = 12
    let w = try Tensor(name: "w", (0..<c).map { Float(($0 * 5) % 11) * 0.1 - 0.5 }, shape: [c], dataType: .float)
    let b = try Tensor(name: "b", (0..<c).map { Float($0 % 3) * 0.2 }, shape: [c], dataType: .float)
    let g = Graph(name: "concurrency", nodes: [
      Node(name: "mm", opType: "Mul", inputs: ["x", "w"], outputs: ["m"]),
      Node(name: "add", opType: "Add", inputs: ["m", "b"], outputs: ["a"]),
      Node(name: "relu", opType: "Relu", inputs: ["a"], outputs: ["r"]),
      Node(name: "softmax", opType: "Softmax", inputs: ["r"], outputs: ["s"], attributes: [Attribute(name: "axis", value: .int(-1))]),
      Node(name: "transpose", opType: "Transpose", inputs: ["s"], outputs: ["t"]),
      Node(name: "concat", opType: "Concat", inputs: ["t", "t"], outputs: ["y"], attributes: [Attribute(name: "axis", value: .int(1))]),
      Node(name: "reshape", opType: "Reshape", inputs: ["s", "shape"], outputs: ["z"]),
    ], inputs: [ValueInfo(name: "x", type: .tensor(.float, [.symbol("N"), .value(c)])),
                ValueInfo(name: "shape", type: .tensor(.int64, [.value(2)]))],
      outputs: [ValueInfo(name: "y", type: .tensor(.float, nil)), ValueInfo(name: "z", type: .tensor(.float, nil))],
      initializers: [w, b])
    return Model(graph: g, opsetImports: [OpsetImport(domain: "", version: 17)])
  }

  static func feeds(thread t: Int, iteration r: Int) throws -> [String: Tensor] {
    let n = 1 + (t * 3 + r) % 9
    let x = (0..<(n * 12)).map { Float(($0 * 7 + t * 13 + r * 3) % 23) * 0.125 - 1 }
    let shape: [Int64] = r % 3 == 0 ? [-1, 6] : [Int64(n), 12]
    return ["x": try Tensor(x, shape: [n, 12], dataType: .float), "shape": try Tensor(shape, shape: [2], dataType: .int64)]
  }

  static func bits(_ outs: [Tensor]) -> [[UInt32]] {
    outs.map { t in t.withElements(as: Float.self) { $0.map(\.bitPattern) } }
  }
}

@Test func concurrencyEightThreadsMatchSerialRuns() throws {
  let threads = 8, iterations = 40
  let session = try Session(model: try ConcurrencyFixture.model(), options: SessionOptions(threads: 2))
  // The single-threaded reference: the same session, the same inputs, one call at a time.
  let expected: [[[[UInt32]]]] = try (0..<threads).map { t in
    try (0..<iterations).map { r in
      ConcurrencyFixture.bits(try session.run(try ConcurrencyFixture.feeds(thread: t, iteration: r)))
    }
  }
  let mismatches = FailureLog()
  let start = DispatchSemaphore(value: 0)
  let group = DispatchGroup()
  for t in 0..<threads {
    group.enter()
    let thread = Thread {
      start.wait()
      for r in 0..<iterations {
        do {
          let got = ConcurrencyFixture.bits(try session.run(try ConcurrencyFixture.feeds(thread: t, iteration: r)))
          if got != expected[t][r] { mismatches.add("thread \(t) iteration \(r): output differs from the serial run") }
        } catch {
          mismatches.add("thread \(t) iteration \(r): \(error)")
        }
      }
      group.leave()
    }
    thread.start()
  }
  for _ in 0..<threads { start.signal() }
  group.wait()
  #expect(mismatches.items.isEmpty, "\(mismatches.items.prefix(5))")
}

/// Many signatures at once from many threads with a tiny plan cache: plans are built, evicted and rebuilt
/// while other threads still run them.
@Test func concurrencyPlanEvictionUnderLoad() throws {
  var options = SessionOptions(threads: 1)
  options.planCacheCapacity = 2
  let session = try Session(model: try ConcurrencyFixture.model(), options: options)
  let failures = FailureLog()
  let group = DispatchGroup()
  for t in 0..<8 {
    group.enter()
    Thread {
      for r in 0..<30 {
        do {
          let feeds = try ConcurrencyFixture.feeds(thread: t, iteration: r)
          let a = ConcurrencyFixture.bits(try session.run(feeds))
          let b = ConcurrencyFixture.bits(try session.run(feeds))
          if a != b { failures.add("thread \(t) iteration \(r): two runs differ") }
        } catch {
          failures.add("thread \(t) iteration \(r): \(error)")
        }
      }
      group.leave()
    }.start()
  }
  group.wait()
  #expect(failures.items.isEmpty, "\(failures.items.prefix(5))")
  #expect(session.cachedPlanCount <= 2)
}

/// A lock-protected list of failure messages.
final class FailureLog: @unchecked Sendable {
  private let lock = NSLock()
  private var storage: [String] = []
  func add(_ s: String) { lock.lock(); storage.append(s); lock.unlock() }
  var items: [String] { lock.lock(); defer { lock.unlock() }; return storage }
}
