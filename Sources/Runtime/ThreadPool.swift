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
  /// Where the threads sit (ThreadPool+Placement.swift).
  let placement = PlacementProbe()

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
  ///
  /// `bands`: chunk i covers the i-th part of the output in a fixed order (row bands or column tiles of
  /// an image, blocks of channels), the chunks about equal. The caller then claims chunks from the first
  /// and the workers from the last, so with two threads each keeps about the same end of every layer, and
  /// of the next run: it reads much of what it wrote itself, from its own cache. Claimed from one end,
  /// neighbouring chunks went to either thread at random. At 2 threads, in-process A/B: MobileNetV2 −2–9 %
  /// (its 56² and 28² pointwise layers ~20 %), MobileNetV1 −3–6 %. Not for chunks of unequal size: a small
  /// last chunk, claimed first from that end, no longer evens out the finish (a split of a 14 × 14 layer
  /// into column tiles × channel blocks, the last tile 4 columns wide, lost 8–13 % on ResNet-50).
  public func parallelFor(_ count: Int, bands: Bool = false, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 || threads.isEmpty || !state.busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
      for i in 0..<count { body(i) }
      return
    }
    state.workersFromLast.store(bands, ordering: .relaxed)
    state.run(count, body)
    state.busy.store(false, ordering: .releasing)
  }

  /// Splits `0..<total` into about `threadCount * 4` contiguous ranges (at least `grain` items each);
  /// `bands` as for `parallelFor`.
  public func parallelRanges(_ total: Int, grain: Int = 1, bands: Bool = false, _ body: (Range<Int>) -> Void) {
    if total <= 0 { return }
    let maxChunks = max(1, total / max(1, grain))
    let chunks = min(maxChunks, threadCount == 1 ? 1 : threadCount * 4)
    if chunks == 1 { body(0..<total); return }
    parallelFor(chunks, bands: bands) { c in
      let lo = total * c / chunks, hi = total * (c + 1) / chunks
      if lo < hi { body(lo..<hi) }
    }
  }
}

/// What the caller and the workers share: the current job, the word that hands its chunks out, and the
/// sleep/wake machinery. Kept apart from `ThreadPool` so workers can hold it strongly.
///
/// The job's generation, chunk count and next unclaimed chunk live in one 64-bit word (`work`), and a
/// chunk is claimed by a compare-exchange on the whole word. So a worker can only ever claim a chunk of
/// the job it saw published, and the caller waits for the chunks to be *done*, never for the workers to
/// show up: a worker that wakes late (asleep on the condition variable, or its core taken by another
/// runtime's spinning threads) finds nothing left and goes back to waiting. The previous design counted
/// workers in and out of each job, so every parallel region waited for a late worker — through the
/// Python binding, next to onnxruntime's spinning pool, MobileNetV2 on 2 threads ran at 11–23 ms
/// against 5.3 ms alone, slower than one thread.
///
/// Implementation note: the atomics sit on cache lines of their own (128-byte padding: a line plus the
/// adjacent-line prefetch), away from the object's header and from whatever malloc places next to it.
/// An idle worker reads `work` in a tight loop; a line it shared with data the caller writes (this
/// object's reference count, a neighbouring object) bounced between the cores on every write, and which
/// neighbour that was changed from session to session: `secateur bench` of ResNet-18 on 2 threads ran at
/// 25 ms in some sessions and 38 ms in others, and at 23–25 ms in every session with the padding.
private final class PoolState: @unchecked Sendable {
  private let padHeader = CacheLinePad()
  /// generation (high 32 bits) | end of the unclaimed chunks (16 bits: the chunk count when published,
  /// lowered as workers claim from the last) | next unclaimed chunk (low 16 bits).
  let work = Atomic<UInt64>(0)
  let stopping = Atomic<Bool>(false)
  private let padWork = CacheLinePad()
  /// Chunks of the current job that have finished.
  let done = Atomic<Int>(0)
  private let padDone = CacheLinePad()
  let busy = Atomic<Bool>(false)
  /// Whether workers claim the current job's chunks from its last one (see `parallelFor(_:bands:_:)`).
  /// Written before the job is published; a worker reads it after seeing the job's generation, and a
  /// stale value only changes which free chunk it takes.
  let workersFromLast = Atomic<Bool>(false)
  /// The CPU the caller last published a job from (-1: unknown); a worker about to sleep keeps off it.
  let callerCpu = Atomic<Int>(-1)
  private let padBusy = CacheLinePad()
  // Heap-allocated: pthread objects must not move, and `&property` on a class gives no such promise.
  let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  var sleepers = 0
  // The current job; written by the caller before `work` publishes it, read by a worker only after it
  // has claimed one of its chunks (so the caller, which waits for every chunk, still holds it).
  var job: ((Int) -> Void)?
  /// How long an idle worker spins before it sleeps.
  let spinNanoseconds: UInt64 = 2_000_000
  /// The most chunks one job hands out (the count field's width); larger loops are folded into ranges.
  static let maxChunks = 0xFFFF

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

  static func generation(_ word: UInt64) -> UInt64 { word >> 32 }
  static func end(_ word: UInt64) -> Int { Int((word >> 16) & UInt64(maxChunks)) }
  static func next(_ word: UInt64) -> Int { Int(word & UInt64(maxChunks)) }
  static func word(generation: UInt64, count: Int) -> UInt64 {
    (generation << 32) | (UInt64(count) << 16)
  }

  /// Publishes a new generation (a job, or the stop signal) and wakes sleeping workers.
  @discardableResult
  private func publish(count: Int) -> UInt64 {
    let generation = (PoolState.generation(work.load(ordering: .relaxed)) &+ 1) & 0xFFFF_FFFF
    callerCpu.store(Int(sct_current_cpu()), ordering: .relaxed)
    work.store(PoolState.word(generation: generation, count: count), ordering: .releasing)
    pthread_mutex_lock(mutex)
    if sleepers > 0 { pthread_cond_broadcast(wake) }
    pthread_mutex_unlock(mutex)
    return generation
  }

  func stop() {
    stopping.store(true, ordering: .sequentiallyConsistent)
    publish(count: 0)
  }

  /// Runs one job of `count` chunks on the caller and whichever workers join in; returns when every
  /// chunk is done.
  func run(_ count: Int, _ body: (Int) -> Void) {
    if count > PoolState.maxChunks {
      let chunks = PoolState.maxChunks
      run(chunks) { c in
        for i in count * c / chunks..<count * (c + 1) / chunks { body(i) }
      }
      return
    }
    withoutActuallyEscaping(body) { body in
      job = body
      done.store(0, ordering: .relaxed)
      runChunks(of: publish(count: count))
      // Wait only for chunks a worker is still running (yielding now and then, in case that worker
      // shares this core).
      var spins = 0
      while done.load(ordering: .acquiring) < count {
        sct_cpu_pause()
        spins &+= 1
        if spins & 255 == 0 { sched_yield() }
      }
      job = nil
    }
  }

  /// Claims and runs chunks of job `generation` until none is left (or a newer job replaced it): the
  /// first unclaimed one, or with `fromLast` the last (the word's count field then shrinks instead).
  func runChunks(of generation: UInt64, fromLast: Bool = false) {
    var word = work.load(ordering: .acquiring)
    while PoolState.generation(word) == generation {
      let next = PoolState.next(word), end = PoolState.end(word)
      if next >= end { return }
      let claimed = fromLast ? end - 1 : next
      let (exchanged, current) = work.compareExchange(
        expected: word, desired: fromLast ? word &- (1 << 16) : word &+ 1, successOrdering: .acquiring, failureOrdering: .acquiring)
      if !exchanged { word = current; continue }
      job?(claimed)
      done.add(1, ordering: .releasing)
      word = work.load(ordering: .acquiring)
    }
  }

  func workerLoop() {
    // Implementation note: start from generation 0, not the current value — a job (or stop) may be
    // published before this thread first runs, and it must still take part in that job.
    var seen: UInt64 = 0
    while true {
      var spins = 0
      var deadline: UInt64 = 0
      while PoolState.generation(work.load(ordering: .acquiring)) == seen && !stopping.load(ordering: .acquiring) {
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
        // Sleep off the caller's CPU, so the wake-up puts this thread beside the caller, not behind it
        // (see thread_placement.c); the CPU is allowed again once awake.
        let avoided = Int32(truncatingIfNeeded: callerCpu.load(ordering: .relaxed))
        let moved = sct_thread_sleep_away_from(avoided) != 0
        pthread_mutex_lock(mutex)
        sleepers += 1
        while PoolState.generation(work.load(ordering: .acquiring)) == seen && !stopping.load(ordering: .acquiring) {
          pthread_cond_wait(wake, mutex)
        }
        sleepers -= 1
        pthread_mutex_unlock(mutex)
        if moved { sct_thread_allow_cpu(avoided) }
      }
      if stopping.load(ordering: .acquiring) { return }
      seen = PoolState.generation(work.load(ordering: .acquiring))
      runChunks(of: seen, fromLast: workersFromLast.load(ordering: .relaxed))
    }
  }
}

/// 128 bytes of nothing: keeps the stored properties on either side on different cache lines.
private struct CacheLinePad {
  let bytes: (SIMD64<UInt8>, SIMD64<UInt8>) = (.zero, .zero)
}
