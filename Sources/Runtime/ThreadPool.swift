#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A persistent pool of worker threads for data-parallel loops inside kernels.
///
/// Workers spin briefly on an atomic generation counter before sleeping on a condition variable:
/// on this VM a spin handoff costs ~1 µs per parallel region, against ~15 µs for `concurrentPerform`
/// and 60–90 µs to wake a sleeping worker. Only one parallel region runs at a time; a caller that finds
/// the pool busy (another session run on another thread) runs its loop inline instead of waiting.
public final class ThreadPool: @unchecked Sendable {
  public let threadCount: Int
  private var threads: [pthread_t] = []
  private let generation = Atomic<Int>(0)
  private let pending = Atomic<Int>(0)
  private let nextChunk = Atomic<Int>(0)
  private let busy = Atomic<Bool>(false)
  private let stopping = Atomic<Bool>(false)
  private var mutex = pthread_mutex_t()
  private var wake = pthread_cond_t()
  private var sleepers = 0
  // The current job; written by the caller before bumping `generation`, read by workers after.
  private var jobChunks = 0
  private var job: ((Int) -> Void)?
  /// Spin iterations before a worker sleeps (~50 µs).
  private let spinLimit = 20_000

  /// Creates a pool that uses `threadCount` threads in total (the caller counts as one).
  public init(threadCount: Int) {
    self.threadCount = max(1, threadCount)
    pthread_mutex_init(&mutex, nil)
    pthread_cond_init(&wake, nil)
    for _ in 1..<self.threadCount {
      // Unretained: deinit joins every worker before the pool's memory goes away.
      let me = Unmanaged.passUnretained(self).toOpaque()
      var tid = pthread_t()
      let rc = pthread_create(&tid, nil, { raw in
        guard let raw else { return nil }
        Unmanaged<ThreadPool>.fromOpaque(raw)._withUnsafeGuaranteedRef { $0.workerLoop() }
        return nil
      }, me)
      if rc == 0 { threads.append(tid) }
    }
  }

  deinit {
    pthread_mutex_lock(&mutex)
    stopping.store(true, ordering: .sequentiallyConsistent)
    generation.add(1, ordering: .sequentiallyConsistent)
    pthread_cond_broadcast(&wake)
    pthread_mutex_unlock(&mutex)
    for t in threads { pthread_join(t, nil) }
    pthread_mutex_destroy(&mutex)
    pthread_cond_destroy(&wake)
  }

  /// Calls `body(i)` for every `i` in `0..<count`, spread over the pool. Returns when all are done.
  public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 || threads.isEmpty || !busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
      for i in 0..<count { body(i) }
      return
    }
    withoutActuallyEscaping(body) { body in
      job = body
      jobChunks = count
      nextChunk.store(0, ordering: .relaxed)
      pending.store(threads.count, ordering: .relaxed)
      pthread_mutex_lock(&mutex)
      generation.add(1, ordering: .releasing)
      if sleepers > 0 { pthread_cond_broadcast(&wake) }
      pthread_mutex_unlock(&mutex)
      runChunks()
      // Wait for workers to leave the job before it goes out of scope.
      while pending.load(ordering: .acquiring) > 0 { spinPause() }
      job = nil
    }
    busy.store(false, ordering: .releasing)
  }

  /// Splits `0..<total` into about `threadCount * 4` contiguous ranges (at least `grain` items each).
  public func parallelRanges(_ total: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
    if total <= 0 { return }
    let maxChunks = max(1, total / max(1, grain))
    let chunks = min(maxChunks, threadCount == 1 ? 1 : threadCount * 4)
    if chunks == 1 { body(0..<total); return }
    parallelFor(chunks) { c in
      let lo = total * c / chunks, hi = total * (c + 1) / chunks
      if lo < hi { body(lo..<hi) }
    }
  }

  private func runChunks() {
    guard let job else { return }
    while true {
      let i = nextChunk.add(1, ordering: .relaxed).oldValue
      if i >= jobChunks { break }
      job(i)
    }
  }

  fileprivate func workerLoop() {
    // Implementation note: start from generation 0, not the current value — a job (or deinit) may
    // bump the generation before this thread first runs, and it must still take part in that job.
    var seen = 0
    while true {
      var spins = 0
      while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .acquiring) {
        spins += 1
        if spins < spinLimit { spinPause(); continue }
        pthread_mutex_lock(&mutex)
        sleepers += 1
        while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .acquiring) {
          pthread_cond_wait(&wake, &mutex)
        }
        sleepers -= 1
        pthread_mutex_unlock(&mutex)
      }
      seen = generation.load(ordering: .acquiring)
      if stopping.load(ordering: .acquiring) { return }
      runChunks()
      pending.subtract(1, ordering: .releasing)
    }
  }

  @inline(__always) private func spinPause() {
    #if arch(x86_64)
    _mm_pause_shim()
    #endif
  }
}

@inline(__always) private func _mm_pause_shim() {
  // A compiler barrier-ish no-op; `sched_yield` would be too slow for the spin phase.
  _ = 0
}

