#if canImport(Glibc)
import Glibc
#endif
import CKernels
import Synchronization

/// A persistent pool of worker threads for data-parallel loops inside kernels.
///
/// Workers spin on an atomic generation counter for up to 2 ms before sleeping on a condition variable:
/// on this VM a spin handoff costs ~1 µs per parallel region, against ~15 µs for `concurrentPerform`
/// and 60–90 µs to wake a sleeping worker. A model runs a parallel region per layer with short serial
/// gaps between them, so the spin must outlast those gaps: a first version spun 20,000 loads (~10 µs)
/// and slept between most layers, which made MobileNetV2 slower on 2 threads (20.9 ms) than on 1 (14.0). Only one parallel region runs at a time; a caller that finds
/// the pool busy (another session run on another thread) runs its loop inline instead of waiting.
public final class ThreadPool: @unchecked Sendable {
  public let threadCount: Int
  private var threads: [pthread_t] = []
  private let state: PoolState

  /// Creates a pool that uses `threadCount` threads in total (the caller counts as one).
  public init(threadCount: Int) {
    self.threadCount = max(1, threadCount)
    state = PoolState()
    for _ in 1..<self.threadCount {
      // Each worker owns a strong reference to the shared state (released when it exits), never to the
      // pool itself: a worker that retained the pool while its deinit ran crashed debug builds
      // (a retain on a deallocating object) about one session in three.
      let retained = Unmanaged.passRetained(state).toOpaque()
      var tid = pthread_t()
      let rc = pthread_create(&tid, nil, { raw in
        guard let raw else { return nil }
        let state = Unmanaged<PoolState>.fromOpaque(raw).takeRetainedValue()
        state.workerLoop()
        return nil
      }, retained)
      if rc == 0 {
        threads.append(tid)
      } else {
        Unmanaged<PoolState>.fromOpaque(retained).release()
      }
    }
  }

  deinit {
    state.stop()
    for t in threads { pthread_join(t, nil) }
  }

  /// Calls `body(i)` for every `i` in `0..<count`, spread over the pool. Returns when all are done.
  public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 || threads.isEmpty || !state.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
      for i in 0..<count { body(i) }
      return
    }
    state.run(count, workers: threads.count, body)
    state.busy.store(false, ordering: .releasing)
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
}

/// What the caller and the workers share: the current job, the counters that hand it out, and the
/// sleep/wake machinery. Kept apart from `ThreadPool` so workers can hold it strongly.
///
/// Implementation note: the atomics sit on cache lines of their own (128-byte padding: a line plus the
/// adjacent-line prefetch), away from the object's header and from whatever malloc places next to it.
/// An idle worker reads `generation` in a tight loop; a line it shared with data the caller writes
/// (this object's reference count, a neighbouring object) bounced between the cores on every write, and
/// which neighbour that was changed from session to session: `secateur bench` of ResNet-18 on 2 threads
/// ran at 25 ms in some sessions and 38 ms in others, and at 23–25 ms in every session with the padding.
/// (Through the Python binding both modes still occur; the workers then take their full share of chunks
/// but every chunk runs slower, so another layout effect remains, not yet found.)
private final class PoolState: @unchecked Sendable {
  private let padHeader = CacheLinePad()
  let generation = Atomic<Int>(0)
  let stopping = Atomic<Bool>(false)
  private let padGeneration = CacheLinePad()
  let nextChunk = Atomic<Int>(0)
  private let padNextChunk = CacheLinePad()
  let pending = Atomic<Int>(0)
  private let padPending = CacheLinePad()
  let busy = Atomic<Bool>(false)
  private let padBusy = CacheLinePad()
  // Heap-allocated: pthread objects must not move, and `&property` on a class gives no such promise.
  let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  var sleepers = 0
  // The current job; written by the caller before bumping `generation`, read by workers after.
  var jobChunks = 0
  var job: ((Int) -> Void)?
  /// How long an idle worker spins before it sleeps.
  let spinNanoseconds: UInt64 = 2_000_000

  init() {
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(wake, nil)
  }

  deinit {
    pthread_mutex_destroy(mutex)
    pthread_cond_destroy(wake)
    mutex.deallocate()
    wake.deallocate()
  }

  static func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }

  func stop() {
    pthread_mutex_lock(mutex)
    stopping.store(true, ordering: .sequentiallyConsistent)
    generation.add(1, ordering: .sequentiallyConsistent)
    pthread_cond_broadcast(wake)
    pthread_mutex_unlock(mutex)
  }

  /// Runs one job on the caller and `workers` workers; returns when every worker has left it.
  func run(_ count: Int, workers: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
      job = body
      jobChunks = count
      nextChunk.store(0, ordering: .relaxed)
      pending.store(workers, ordering: .relaxed)
      pthread_mutex_lock(mutex)
      generation.add(1, ordering: .releasing)
      if sleepers > 0 { pthread_cond_broadcast(wake) }
      pthread_mutex_unlock(mutex)
      runChunks()
      // Wait for workers to leave the job before it goes out of scope (yielding now and then, in case a
      // worker shares this core).
      var spins = 0
      while pending.load(ordering: .acquiring) > 0 {
        sct_cpu_pause()
        spins &+= 1
        if spins & 255 == 0 { sched_yield() }
      }
      job = nil
    }
  }

  func runChunks() {
    guard let job else { return }
    while true {
      let i = nextChunk.add(1, ordering: .relaxed).oldValue
      if i >= jobChunks { break }
      job(i)
    }
  }

  func workerLoop() {
    // Implementation note: start from generation 0, not the current value — a job (or stop) may
    // bump the generation before this thread first runs, and it must still take part in that job.
    var seen = 0
    while true {
      var spins = 0
      var deadline: UInt64 = 0
      while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .acquiring) {
        sct_cpu_pause()
        spins &+= 1
        if spins & 255 != 0 { continue }
        // Every 256 pauses (~5 µs): let a thread that shares this core run (the scheduler may have put
        // the caller here; spinning through its time slice made some runs 1.7× slower than others),
        // then read the clock.
        sched_yield()
        let now = PoolState.monotonicNanoseconds()
        if deadline == 0 { deadline = now + spinNanoseconds }
        if now < deadline { continue }
        pthread_mutex_lock(mutex)
        sleepers += 1
        while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .acquiring) {
          pthread_cond_wait(wake, mutex)
        }
        sleepers -= 1
        pthread_mutex_unlock(mutex)
      }
      seen = generation.load(ordering: .acquiring)
      if stopping.load(ordering: .acquiring) { return }
      runChunks()
      pending.subtract(1, ordering: .releasing)
    }
  }
}

/// 128 bytes of nothing: keeps the stored properties on either side on different cache lines.
private struct CacheLinePad {
  let bytes: (SIMD64<UInt8>, SIMD64<UInt8>) = (.zero, .zero)
}
