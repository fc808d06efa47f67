#if canImport(Glibc)
import Glibc
#endif
import Synchronization

extension Buffer {
  /// Maps the pages of a large, not yet touched block that is about to be written in full (a model's
  /// bytes, folded or prepacked weights) in one `madvise(MADV_POPULATE_WRITE)` call instead of a fault
  /// per 4 KiB page, and as transparent huge pages while those come fast. Creating a ResNet-50 session
  /// spent a third of its time in page faults; weights on huge pages also run 1–2.5 % faster (fewer
  /// TLB misses).
  ///
  /// Why "while those come fast": on a VM whose guest hands freed memory back to its host
  /// (Firecracker's `page_reporting`, as here), a huge page often comes from such memory, and its
  /// first touch then costs the host a fault per 4 KiB. Prefaulting 100 MB took 11 ms on huge pages
  /// from recently freed memory and 210 ms on returned memory, against a steady 29–44 ms on 4 KiB
  /// pages (fresh processes, `/tmp` test program), and ResNet-50 sessions took 190–460 ms to create.
  /// So each huge-page prefault is timed: one slower than 4 KiB pages would have been turns huge pages
  /// off for the next `hugePageBackoff` seconds. A no-op before Linux 5.14 (the call is unknown).
  public static func prefault(_ base: UnsafeMutableRawPointer, _ count: Int) {
    #if os(Linux)
    let page = 4096, huge = 2 << 20, address = Int(bitPattern: base)
    guard count >= 16 * page else { return }
    let start = (address + page - 1) & ~(page - 1), end = (address + count) & ~(page - 1)
    guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
    let hugeStart = (address + huge - 1) & ~(huge - 1), hugeEnd = (address + count) & ~(huge - 1)
    let t0 = monotonicNanoseconds()
    let tryHuge = hugeEnd - hugeStart >= huge && t0 - slowHugePagesAt.load(ordering: .relaxed) > hugePageBackoff
    if tryHuge, let h = UnsafeMutableRawPointer(bitPattern: hugeStart) {
      _ = madvise(h, hugeEnd - hugeStart, MADV_HUGEPAGE)
    }
    _ = madvise(p, end - start, MADV_POPULATE_WRITE)
    if tryHuge {
      let nanosecondsPerMiB = (monotonicNanoseconds() - t0) * (1 << 20) / (end - start)
      if nanosecondsPerMiB > slowPrefaultPerMiB { noteSlowHugePages() }
    }
    #endif
  }

  /// Turns huge pages off for the next `hugePageBackoff` (a huge-page prefault was just slow); `nil`
  /// turns them back on. Internal: `prefault` and the tests call it.
  static func noteSlowHugePages(at time: Int? = monotonicNanoseconds()) {
    slowHugePagesAt.store(time ?? Int.min / 2, ordering: .relaxed)
  }
}

/// 4 KiB pages prefault at 0.3–0.45 ms per MiB here, huge pages at ~0.1 from recently freed memory
/// and ~2 from memory the host took back; past this, 4 KiB pages would have been faster.
private let slowPrefaultPerMiB = 600_000
/// How long huge pages stay off after a slow prefault (ns): long enough for one session's weights.
private let hugePageBackoff = 10_000_000_000
/// When a huge-page prefault was last slow (CLOCK_MONOTONIC ns; far past: never).
private let slowHugePagesAt = Atomic<Int>(Int.min / 2)

private func monotonicNanoseconds() -> Int {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}
