import CKernels
import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Runtime

/// The thread pool hands every index of a loop to exactly one thread, whatever the workers are doing
/// when the job is published: spinning, asleep, still starting, or late from the previous job (a
/// worker may claim chunks only of the job it saw published; the caller waits for chunks, not workers).
@Suite struct ThreadPoolTests {
  /// Runs `parallelFor(count)` and returns how many times each index was visited.
  static func visits(_ pool: ThreadPool, _ count: Int, bands: Bool = false) -> [Int] {
    let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
    hits.initialize(repeating: 0, count: max(count, 1))
    defer { hits.deallocate() }
    // No lock: each index belongs to one thread, so a chunk handed out twice shows up as a 2 (and as a
    // race under `make tsan`).
    pool.parallelFor(count, bands: bands) { i in hits[i] += 1 }
    return Array(UnsafeBufferPointer(start: hits, count: count))
  }

  @Test(arguments: [0, 1, 2, 3, 7, 64, 1000, 0xFFFF, 0x10000, 70_001], [false, true])
  func everyIndexOnce(count: Int, bands: Bool) {
    let pool = ThreadPool(threadCount: 2)
    #expect(Self.visits(pool, count, bands: bands) == Array(repeating: 1, count: count))
  }

  /// With `bands`, the caller claims from the first chunk and a worker from the last, so each thread
  /// keeps its end of the image from layer to layer. The caller's first chunk waits until another
  /// thread has started one: which one shows the end the workers claim from.
  @Test(arguments: [false, true])
  func workersTakeBandsFromTheLast(bands: Bool) {
    let pool = ThreadPool(threadCount: 2)
    let caller = pthread_self()
    let firstByWorker = Atomic<Int>(-1)
    pool.parallelFor(6, bands: bands) { i in
      if pthread_equal(pthread_self(), caller) == 0 {
        _ = firstByWorker.compareExchange(expected: -1, desired: i, ordering: .relaxed)
      } else if i == 0 {
        let deadline = Date().addingTimeInterval(5)
        while firstByWorker.load(ordering: .relaxed) < 0 && Date() < deadline { usleep(100) }
      }
    }
    #expect(firstByWorker.load(ordering: .relaxed) == (bands ? 5 : 1))
  }

  /// Thousands of tiny jobs back to back: a worker still inside job g while job g + 1 is published
  /// must not run a chunk of either twice, nor one of g + 1 under g's body.
  @Test func backToBackJobsStayApart() {
    let pool = ThreadPool(threadCount: 3)
    let total = Atomic<Int>(0)
    var expected = 0
    for job in 0..<20_000 {
      let count = 1 + job % 9
      expected += count * (job + 1)
      pool.parallelFor(count, bands: job % 2 == 1) { _ in total.add(job + 1, ordering: .relaxed) }
    }
    #expect(total.load(ordering: .relaxed) == expected)
    for count in [100, 3000] {
      for _ in 0..<50 { #expect(Self.visits(pool, count) == Array(repeating: 1, count: count)) }
    }
  }

  /// Jobs published while the workers sleep (idle past their spin), so they wake late or not at all.
  @Test func jobsAfterTheWorkersSleep() {
    let pool = ThreadPool(threadCount: 2)
    for round in 0..<4 {
      usleep(10_000)  // longer than the 2 ms spin: the worker is asleep on the condition variable
      let count = 5 + round * 50
      #expect(Self.visits(pool, count) == Array(repeating: 1, count: count))
    }
  }

  /// A loop started from inside a job, and loops started from two threads at once, run inline on
  /// the busy pool and still cover every index.
  @Test func nestedAndConcurrentCallers() {
    let pool = ThreadPool(threadCount: 2)
    let inner = Atomic<Int>(0)
    pool.parallelFor(8) { _ in pool.parallelFor(10) { _ in inner.add(1, ordering: .relaxed) } }
    #expect(inner.load(ordering: .relaxed) == 80)

    let sums = Mutex<[Int]>([])
    let group = DispatchGroup()
    for t in 0..<2 {
      group.enter()
      Thread {
        let s = Atomic<Int>(0)
        for _ in 0..<200 { pool.parallelFor(33) { i in s.add(i + t, ordering: .relaxed) } }
        sums.withLock { $0.append(s.load(ordering: .relaxed)) }
        group.leave()
      }.start()
    }
    group.wait()
    let indexSum: Int = 200 * (0..<33).reduce(0, +)
    let expected: [Int] = [indexSum, indexSum + 200 * 33]  // thread t adds t to each of its 200 × 33 visits
    let got: [Int] = sums.withLock { $0.sorted() }
    #expect(got == expected)
  }

  /// Pools torn down right after creation, mid-spin and asleep: deinit joins every worker.
  @Test func teardownInEveryWorkerState() {
    for i in 0..<30 {
      let pool = ThreadPool(threadCount: 2 + i % 3)
      if i % 3 == 1 { _ = Self.visits(pool, 16) }
      if i % 3 == 2 { _ = Self.visits(pool, 16); usleep(5_000) }
    }
  }

  /// A sleeping worker keeps off the caller's CPU: taking a CPU out of the affinity moves the thread
  /// off it, and it is allowed again afterwards; a CPU the thread may not use, or the last one, is
  /// never taken away.
  @Test func sleepingAwayFromACpu() {
    #expect(sct_thread_sleep_away_from(-1) == 0)
    #expect(sct_thread_sleep_away_from(1 << 20) == 0)
    let cpu = sct_current_cpu()
    guard cpu >= 0, sct_thread_sleep_away_from(cpu) == 1 else { return }  // a 1-CPU machine or mask
    #expect(sct_current_cpu() != cpu)
    #expect(sct_thread_sleep_away_from(cpu) == 0)  // already off it
    sct_thread_allow_cpu(cpu)
    #expect(sct_thread_sleep_away_from(cpu) == 1)  // allowed again, so it can be taken away again
    sct_thread_allow_cpu(cpu)
  }
}
