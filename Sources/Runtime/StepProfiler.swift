#if canImport(Glibc)
import Glibc
#endif

/// Per-node wall time accumulated over the runs of a session created with `SessionOptions.profile`.
///
/// Why: whole-model latency says a model is slow, not which layer is; comparing this table against
/// onnxruntime's own profiler (per-node `_kernel_time`) is how the kernel work gets prioritised.
/// Steps are keyed by the node label (unique per node), so runs with different input shapes (plans) add
/// into the same rows. Timing adds two clock reads per step; sessions without `profile` skip it entirely.
public struct StepTiming: Sendable {
  /// The node's label (`op 'name'`).
  public let label: String
  public let calls: Int
  public let totalSeconds: Double
}

final class StepProfiler: @unchecked Sendable {
  private let table = Locked<(order: [String], rows: [String: (calls: Int, seconds: Double)])>(([], [:]))

  static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
  }

  func record(_ label: String, seconds: Double) {
    table.withLock { t in
      if let r = t.rows[label] {
        t.rows[label] = (r.calls + 1, r.seconds + seconds)
      } else {
        t.order.append(label)
        t.rows[label] = (1, seconds)
      }
    }
  }

  /// Rows in first-run order.
  func timings() -> [StepTiming] {
    table.withLock { t in
      t.order.compactMap { l in t.rows[l].map { StepTiming(label: l, calls: $0.calls, totalSeconds: $0.seconds) } }
    }
  }

  func reset() { table.withLock { $0 = ([], [:]) } }
}
