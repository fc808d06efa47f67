@testable import Runtime
import Testing

/// Values live at once never share bytes, and every value lies inside the arena's total.
private func expectValid(_ items: [ArenaLayout.Item], _ r: ArenaLayout.Result) {
  #expect(r.offsets.count == items.count)
  for (i, a) in items.enumerated() {
    #expect(r.offsets[i] >= 0 && r.offsets[i] + a.size <= r.total)
    for (j, b) in items.enumerated() where j > i && a.lo <= b.hi && b.lo <= a.hi && a.size > 0 && b.size > 0 {
      let disjoint = r.offsets[i] + a.size <= r.offsets[j] || r.offsets[j] + b.size <= r.offsets[i]
      #expect(disjoint, "values \(i) \(a) and \(j) \(b) overlap at \(r.offsets[i]) / \(r.offsets[j])")
    }
  }
}

/// Random lifetimes and sizes, including several values born at one step: both layouts stay valid and
/// the recency layout stays within its slack of the tight one.
@Test func arenaLayoutsNeverOverlapLiveValues() {
  var state: UInt64 = 0x9E37_79B9_7F4A_7C15
  func next(_ n: Int) -> Int {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Int((state >> 33) % UInt64(n))
  }
  for _ in 0..<200 {
    let count = 1 + next(40)
    let items = (0..<count).map { _ -> ArenaLayout.Item in
      let lo = next(30)
      return ArenaLayout.Item(size: 64 * (1 + next(50)), lo: lo, hi: lo + next(6))
    }
    let tight = ArenaLayout.bySize(items), recent = ArenaLayout.byRecency(items), own = ArenaLayout.unshared(items)
    expectValid(items, tight)
    expectValid(items, recent)
    expectValid(items, own)
    #expect(own.total == items.reduce(0) { $0 + $1.size })  // no two values share a byte
    #expect(Double(recent.total) <= 1.25 * Double(tight.total))
    #expect(ArenaLayout.byRecency(items) == recent)  // deterministic
  }
}

/// A value goes where the arena was touched last: at step 4, p's block (freed after step 1, lowest
/// offset) and q's (freed after step 3) are free; the tight layout takes p's, the recency layout q's.
@Test func arenaRecencyPicksTheMostRecentlyFreedBytes() {
  let items = [
    ArenaLayout.Item(size: 1024, lo: 0, hi: 1),  // p
    ArenaLayout.Item(size: 1024, lo: 0, hi: 3),  // q
    ArenaLayout.Item(size: 1024, lo: 0, hi: 5),  // s: live throughout
    ArenaLayout.Item(size: 1024, lo: 4, hi: 5),  // t
  ]
  let tight = ArenaLayout.bySize(items), recent = ArenaLayout.byRecency(items)
  expectValid(items, tight)
  expectValid(items, recent)
  #expect(tight.offsets[3] == tight.offsets[0])
  #expect(recent.offsets[3] == recent.offsets[1])
  #expect(recent.total == 3 * 1024 && tight.total == 3 * 1024)
}
