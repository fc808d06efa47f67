import ArgumentParser
import ModelFormat
import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// `secateur bench model.onnx [--runs N] [--threads T]`: session creation time and run latency
/// (median and p90 over N runs after warm-up) on generated inputs.
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Time a model: session creation and median/p90 run latency.")

  @Argument(help: "Path to an .onnx model.") var model: String
  @Option(help: "Timed runs.") var runs = 50
  @Option(help: "Warm-up runs (not timed).") var warmup = 5
  @Option(help: "Threads per run (0 = all cores).") var threads = 0
  @Flag(help: "Skip the graph optimizer.") var noOptimize = false
  @Flag(help: "Print one JSON object instead of text.") var json = false
  @Option(help: "Idle milliseconds before each timed run, as between spaced-out requests (0 = back to back).")
  var pauseMs = 0.0
  @Option(help: "Megabytes of other memory written before each timed run, as by the rest of a host application between requests: the run then starts with cold caches (0 = none).")
  var evictMb = 0
  @Flag(help: "Also print each node's mean time per run and share of the total (slowest first).") var profile = false

  func run() throws {
    do {
      let t0 = now()
      var options = SessionOptions(threads: threads, optimize: !noOptimize)
      options.profile = profile
      let session = try Session(path: model, options: options)
      let created = now() - t0
      var rng = SplitMix64(seed: 0)
      var feeds: [String: Tensor] = [:]
      for info in session.inputs { feeds[info.name] = try randomTensor(for: info, dim: 1, rng: &rng) }
      for _ in 0..<warmup { _ = try session.run(feeds) }
      _ = session.stepTimings(reset: true)
      var times: [Double] = []
      // A sweep past the last-level cache evicts the weights and the arena, as another engine or the host's
      // own work does between spaced-out requests (`make bench` interleaves three engines this way).
      var evict = [UInt8](repeating: 0, count: max(0, min(evictMb, 4096)) << 20)
      for r in 0..<max(1, runs) {
        if pauseMs > 0 { usleep(useconds_t(min(pauseMs, 10_000) * 1000)) }
        if !evict.isEmpty {
          evict.withUnsafeMutableBytes { b in
            for i in stride(from: 0, to: b.count, by: 64) { b[i] = UInt8(truncatingIfNeeded: r) }
          }
        }
        let s = now()
        _ = try session.run(feeds)
        times.append((now() - s) * 1000)
      }
      times.sort()
      if profile { printProfile(session.stepTimings(), runs: times.count) }
      let median = times[times.count / 2], p90 = times[min(times.count - 1, times.count * 9 / 10)]
      if json {
        print("{\"model\": \"\(model)\", \"threads\": \(threads), \"runs\": \(times.count), \"median_ms\": \(median), \"p90_ms\": \(p90), \"create_ms\": \(created * 1000), \"kernel_isa\": \"\(KernelISA.current.rawValue)\"}")
      } else {
        // The arena is the memory every run touches besides the weights and I/O: what a cold run fetches
        // again. It holds the intermediates after liveness reuse plus the kernels' scratch, so a small
        // model's can exceed its intermediates' own total.
        let arena = (try? session.planSummary(inputShapes: session.inputs.map { feeds[$0.name]?.shape ?? [] }))
          .map { "; arena \(rounded(Double($0.arenaBytes) / 1_048_576, 2)) MB (intermediates and scratch; the intermediates alone, unshared, \(rounded(Double($0.intermediateBytes) / 1_048_576, 2)) MB)" } ?? ""
        print("\(model): median \(rounded(median, 3)) ms, p90 \(rounded(p90, 3)) ms over \(times.count) runs; session created in \(rounded(created * 1000, 1)) ms\(arena); kernels \(KernelISA.current.rawValue) (\(KernelISA.current.instructionSets))")
      }
    } catch {
      fail(error)
    }
  }
}

/// The per-node table of `bench --profile`: mean ms per run and share of the summed node time.
private func printProfile(_ rows: [StepTiming], runs: Int) {
  let total = rows.reduce(0) { $0 + $1.totalSeconds }
  guard total > 0 else { return }
  print("node time per run (mean over \(runs) runs), slowest first:")
  for r in rows.sorted(by: { $0.totalSeconds > $1.totalSeconds }) {
    let ms = r.totalSeconds * 1000 / Double(max(1, runs))
    print("  \(rounded(ms, 3)) ms  \(rounded(100 * r.totalSeconds / total, 1)) %  \(r.label)")
  }
  print("  total \(rounded(total * 1000 / Double(max(1, runs)), 3)) ms")
}

/// Monotonic seconds.
func now() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
