/// Where each intermediate value lives in a session's arena, given the steps that first write and last
/// read it: values whose lifetimes overlap never share bytes.
///
/// Three layouts. `bySize` packs tightly (largest first, each at the lowest offset free for its lifetime:
/// TFLite's greedy-by-size). `byRecency` goes in step order and puts each value where the arena was
/// touched most recently, so a kernel writes its output into lines still in cache: a freshly written
/// 1 × 1 conv output otherwise misses every line on its way to DRAM and back. On MobileNetV2, zeroing
/// each output just before its kernel (warming it) took 10 % off the summed kernel times. `unshared`
/// gives every value bytes of its own, for several threads (`Plan` says when).
enum ArenaLayout {
  struct Item: Equatable {
    let size: Int
    /// First and last step that touch the value (inclusive).
    let lo: Int, hi: Int
  }

  struct Result: Equatable {
    let offsets: [Int]
    let total: Int
  }

  static func bySize(_ items: [Item]) -> Result {
    let order = items.indices.sorted { items[$0].size != items[$1].size ? items[$0].size > items[$1].size : $0 < $1 }
    var offsets = [Int](repeating: 0, count: items.count)
    var placed: [(offset: Int, size: Int, lo: Int, hi: Int)] = []
    var total = 0
    for i in order {
      let it = items[i]
      let overlapping = placed.filter { $0.lo <= it.hi && it.lo <= $0.hi }.sorted { $0.offset < $1.offset }
      var offset = 0
      for p in overlapping {
        if offset + it.size <= p.offset { break }
        offset = max(offset, p.offset + p.size)
      }
      placed.append((offset, it.size, it.lo, it.hi))
      offsets[i] = offset
      total = max(total, offset + it.size)
    }
    return Result(offsets: offsets, total: total)
  }

  /// Every value at its own offset, in step order: nothing is reused within a run.
  static func unshared(_ items: [Item]) -> Result {
    var offsets = [Int](repeating: 0, count: items.count), total = 0
    for i in items.indices.sorted(by: { (items[$0].lo, $0) < (items[$1].lo, $1) }) {
      offsets[i] = total
      total += items[i].size
    }
    return Result(offsets: offsets, total: total)
  }

  /// A run of arena bytes last touched at step `lastStep` (busy while a value placed there is live).
  private struct Segment {
    var offset: Int, size: Int
    var lastStep: Int
  }

  /// In step order; each value goes to the start of the free segment (or the arena's end) whose bytes
  /// were touched most recently: cost = Σ bytes × bytes of traffic since their last use, bytes past the
  /// end counting as older than any. Bounded growth: when the result would need more than `slack` × the tight
  /// layout's bytes, the tight layout is returned instead.
  static func byRecency(_ items: [Item], slack: Double = 1.25) -> Result {
    let tight = bySize(items)
    // The candidate scan is quadratic in segments: graphs of thousands of values keep the tight layout.
    guard items.count <= 4000 else { return tight }
    let order = items.indices.sorted { (items[$0].lo, -items[$0].size, $0) < (items[$1].lo, -items[$1].size, $1) }
    let maxStep = items.map(\.hi).max() ?? 0
    // Bytes touched up to each step (outputs written, values read for the last time): what evicts a line
    // is the traffic since its last use, not the number of steps.
    var traffic = [Int](repeating: 0, count: maxStep + 2)
    for it in items {
      traffic[it.lo + 1] += it.size
      if it.hi != it.lo { traffic[it.hi + 1] += it.size }
    }
    for s in 1..<traffic.count { traffic[s] += traffic[s - 1] }
    let fresh = 2 * Double(traffic.last ?? 0) + 1  // staleness of bytes never used
    var segments: [Segment] = []
    var offsets = [Int](repeating: 0, count: items.count)
    for i in order {
      let it = items[i]
      guard it.size > 0 else { offsets[i] = 0; continue }
      var best: (cost: Double, start: Int)? = nil
      let top = segments.last.map { $0.offset + $0.size } ?? 0
      var candidates = segments.indices.filter { segments[$0].lastStep < it.lo }.map { segments[$0].offset }
      candidates.append(top)
      var j = 0
      for c in candidates {
        while j < segments.count && segments[j].offset + segments[j].size <= c { j += 1 }
        var covered = 0, cost = 0.0, k = j, feasible = true
        while covered < it.size {
          if k == segments.count {
            cost += Double(it.size - covered) * fresh
            covered = it.size
            break
          }
          let s = segments[k]
          if s.lastStep >= it.lo { feasible = false; break }
          let take = min(s.offset + s.size - max(c, s.offset), it.size - covered)
          cost += Double(take) * Double(traffic[it.lo] - traffic[s.lastStep + 1] + 1)
          covered += take
          k += 1
        }
        if feasible, best == nil || cost < best!.cost { best = (cost, c) }
      }
      let start = best?.start ?? top
      offsets[i] = start
      occupy(&segments, start: start, size: it.size, until: it.hi)
    }
    let total = segments.last.map { $0.offset + $0.size } ?? 0
    if Double(total) > slack * Double(tight.total) { return tight }
    return Result(offsets: offsets, total: total)
  }

  /// Marks [start, start + size) as touched until step `until`, splitting the segments it cuts and
  /// growing the arena past its end.
  private static func occupy(_ segments: inout [Segment], start: Int, size: Int, until: Int) {
    let end = start + size
    var out: [Segment] = []
    out.reserveCapacity(segments.count + 2)
    var inserted = false
    for s in segments {
      let sEnd = s.offset + s.size
      if sEnd <= start || s.offset >= end {
        if !inserted && s.offset >= end {
          out.append(Segment(offset: start, size: size, lastStep: until))
          inserted = true
        }
        out.append(s)
        continue
      }
      if s.offset < start { out.append(Segment(offset: s.offset, size: start - s.offset, lastStep: s.lastStep)) }
      if !inserted {
        out.append(Segment(offset: start, size: size, lastStep: until))
        inserted = true
      }
      if sEnd > end { out.append(Segment(offset: end, size: sEnd - end, lastStep: s.lastStep)) }
    }
    if !inserted { out.append(Segment(offset: start, size: size, lastStep: until)) }
    segments = out
  }
}
