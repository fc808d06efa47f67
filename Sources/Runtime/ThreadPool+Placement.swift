#if canImport(Glibc)
import Glibc
#endif
import CKernels
import Synchronization

/// Whether the pool's threads look to sit on one die or on two, from how fast a worker reads lines the
/// caller has just written.
///
/// Why: this VM's two vCPUs run on one AMD CCD at times (a shared L3: such lines arrive at ~70 GB/s) and
/// on two at others (~20 GB/s, across the fabric), for seconds to minutes at a time, and the arena layout
/// that is faster differs between the two (`Plan.sameDieLocations`). The FMA rate reads the same on both,
/// so only a hand-over can tell them apart.
final class PlacementProbe: @unchecked Sendable {
  /// 64 KB: 1–7 µs to read.
  static let bytes = 64 << 10
  /// Placement changes over seconds; a probe every 50 ms costs a few µs.
  static let intervalNanoseconds: UInt64 = 50_000_000
  /// Between the two placements as this probe reads them at the end of a MobileNetV1 run here: 9–17
  /// GB/s on two CCDs, 36–57 on one (the bench's 256 KB probe, threads pinned: ~24 and ~70).
  static let apartBelowGBs = 28.0
  /// How long the caller waits for a worker to take the reading (a spinning worker does in ~1 µs; a
  /// sleeping one takes 60–90 µs to wake, and the probe is then skipped).
  static let waitNanoseconds: UInt64 = 20_000

  let buffer: UnsafeMutableRawPointer
  let apart = Atomic<Bool>(false)
  let lastProbe = Atomic<UInt64>(0)
  /// The worker's read time for the current probe (0: none yet).
  let readNanoseconds = Atomic<Int>(0)
  /// The last probe's finding (0: none, 1: apart, 2: together): two in a row must agree before `apart`
  /// changes, since an interrupt can slow one read.
  let lastFinding = Atomic<Int>(0)

  init() {
    buffer = UnsafeMutableRawPointer.allocate(byteCount: PlacementProbe.bytes, alignment: 64)
    buffer.initializeMemory(as: UInt8.self, repeating: 0, count: PlacementProbe.bytes)
  }

  deinit { buffer.deallocate() }

  static func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }

  func record(apart found: Bool) {
    let code = found ? 1 : 2
    if lastFinding.exchange(code, ordering: .relaxed) == code { apart.store(found, ordering: .relaxed) }
  }
}

extension ThreadPool {
  /// Whether the last placement probes found this pool's threads on different dies (false until they
  /// have, and always at one thread).
  public var threadsLookApart: Bool { placement.apart.load(ordering: .relaxed) }

  /// Probes where the threads sit, unless a probe ran in the last 50 ms: the caller writes 64 KB, a worker
  /// reads it, timed. Meant for the end of a run, while the workers still spin.
  public func probePlacementIfDue() {
    guard threadCount > 1 else { return }
    let probe = placement
    let start = PlacementProbe.now(), last = probe.lastProbe.load(ordering: .relaxed)
    guard start >= last, start - last >= PlacementProbe.intervalNanoseconds,
          probe.lastProbe.compareExchange(expected: last, desired: start, ordering: .relaxed).exchanged else { return }
    memset(probe.buffer, Int32(truncatingIfNeeded: start >> 10) & 0x7F, PlacementProbe.bytes)
    probe.readNanoseconds.store(0, ordering: .releasing)
    let caller = pthread_self()
    parallelFor(2) { _ in
      if pthread_equal(pthread_self(), caller) != 0 {
        // Keep this chunk until a worker has read, so the caller does not take the other one itself;
        // if no worker comes, the caller's own read would say nothing about placement.
        let deadline = PlacementProbe.now() &+ PlacementProbe.waitNanoseconds
        while probe.readNanoseconds.load(ordering: .acquiring) == 0 && PlacementProbe.now() < deadline { sct_cpu_pause() }
        _ = probe.readNanoseconds.compareExchange(expected: 0, desired: -1, ordering: .relaxed)
      } else {
        let ns = Int(sct_time_read_ns(probe.buffer, PlacementProbe.bytes))
        _ = probe.readNanoseconds.compareExchange(expected: 0, desired: max(1, ns), ordering: .releasing)
      }
    }
    let ns = probe.readNanoseconds.load(ordering: .acquiring)
    guard ns > 0 else { return }
    probe.record(apart: Double(PlacementProbe.bytes) / Double(ns) < PlacementProbe.apartBelowGBs)
  }

  /// For tests: the placement runs assume from now on.
  func assumePlacement(apart: Bool) {
    placement.record(apart: apart)
    placement.record(apart: apart)
    // No probe for an hour, so none changes it back.
    placement.lastProbe.store(PlacementProbe.now() &+ 3_600_000_000_000, ordering: .relaxed)
  }
}
