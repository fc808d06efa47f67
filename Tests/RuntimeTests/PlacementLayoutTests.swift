import ModelFormat
@testable import Runtime
import Testing

/// Each value's arena offset in a plan's locations.
private func arenaOffsets(_ locations: [Plan.Location]) -> [Int: Int] {
  var offsets: [Int: Int] = [:]
  for (vid, l) in locations.enumerated() { if case .arena(let offset) = l { offsets[vid] = offset } }
  return offsets
}

/// A several-thread plan carries two layouts — own bytes for threads on two dies, recency reuse (as one
/// thread plans) for threads on one — and each run puts the intermediates where the layout for the
/// placement the pool assumes says, with the same outputs.
@Test func severalThreadPlansCarryALayoutForEachPlacement() throws {
  let (model, bias) = try makeChainModel(depth: 10, channels: 1024)
  let two = try Session(model: model, options: SessionOptions(threads: 2))
  let one = try Session(model: model, options: SessionOptions(threads: 1))
  let specs = [TensorSpec(.float, [4, 1024])]
  let plan = try two.plan(for: specs), serial = try one.plan(for: specs)
  #expect(serial.sameDieLocations == nil)
  let apart = arenaOffsets(plan.locations), together = arenaOffsets(try #require(plan.sameDieLocations))
  #expect(apart.count >= 9 && apart.keys == together.keys)
  #expect(Set(apart.values).count == apart.count)  // every value its own bytes
  #expect(Set(together.values).count < together.count)  // bytes reused
  #expect(together == arenaOffsets(serial.locations))

  let x = (0..<(4 * 1024)).map { Float($0 % 89) * 0.02 - 0.5 }
  let last = try #require(two.program.valueNames.firstIndex(of: "r8"))  // the last intermediate
  for (assumeApart, offsets) in [(true, apart), (false, together), (true, apart)] {
    two.pool.assumePlacement(apart: assumeApart)
    let out = try two.run(["x": try Tensor(x, shape: [4, 1024], dataType: .float)])
    #expect(values(out[0]) == referenceChain(x, bias: bias, depth: 10))
    let arena = try plan.takeArena()
    defer { plan.returnArena(arena) }
    let offset = try #require(offsets[last])
    let stored = UnsafeBufferPointer(start: (arena.baseAddress + offset).assumingMemoryBound(to: Float.self), count: x.count)
    let placed = Array(stored) == referenceChain(x, bias: bias, depth: 9)
    #expect(placed, "with the threads assumed apart: \(assumeApart), the last intermediate is not at its offset")
  }
}

/// The probe runs only where there are workers: one thread is never found apart, and two are probed
/// (which placement this machine has at the time is not for a test to say).
@Test func placementProbeRunsOnlyWithWorkers() throws {
  let pool = ThreadPool(threadCount: 1)
  pool.probePlacementIfDue()
  #expect(!pool.threadsLookApart && pool.placement.lastProbe.load(ordering: .relaxed) == 0)
  let pair = ThreadPool(threadCount: 2)
  for _ in 0..<3 { pair.probePlacementIfDue() }
  #expect(pair.placement.lastProbe.load(ordering: .relaxed) > 0)
}
