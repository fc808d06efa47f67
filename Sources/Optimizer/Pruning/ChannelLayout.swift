import ModelFormat

/// How the channel axis of one value is made of channels of "channel spaces".
///
/// A channel space is a set of channels created by one producer (a Conv's output channels, a Gemm's
/// output features). Values downstream of it read the same space: a ReLU output, a residual sum, the
/// input of the next Conv. Along `axis`, a value is a list of segments; a segment covers channels
/// `lo..<hi` of `space`, each channel repeated over `block` consecutive indices (a depthwise Conv with
/// multiplier m gives block m; Flatten of [N,C,H,W] gives block H·W).
struct ChannelLayout: Equatable {
  struct Segment: Equatable {
    var space: Int
    var lo: Int
    var hi: Int
    var block: Int
    var width: Int { (hi - lo) * block }
  }

  var axis: Int
  var segments: [Segment]
  var width: Int { segments.reduce(0) { $0 + $1.width } }

  /// The same channels with every block multiplied by `factor` (Flatten, depthwise multiplier).
  func expanded(by factor: Int, axis newAxis: Int? = nil) -> ChannelLayout {
    ChannelLayout(axis: newAxis ?? axis, segments: segments.map { var s = $0; s.block *= factor; return s })
  }

  /// Indices along the axis that survive when each space keeps `keep[space]` (sorted original channel
  /// indices; nil = keep all). Nil when nothing is removed.
  func keptIndices(_ keep: (Int) -> [Int]?) -> [Int]? {
    var out: [Int] = []
    var changed = false
    var offset = 0
    for s in segments {
      if let k = keep(s.space) {
        let inRange = k.filter { $0 >= s.lo && $0 < s.hi }
        if inRange.count != s.hi - s.lo { changed = true }
        for c in inRange { for j in 0..<s.block { out.append(offset + (c - s.lo) * s.block + j) } }
      } else {
        for i in 0..<s.width { out.append(offset + i) }
      }
      offset += s.width
    }
    return changed ? out : nil
  }

  /// The width of each part when the axis is cut at `sizes` (Split), or nil when a cut falls inside a
  /// channel's block.
  func split(_ sizes: [Int]) -> [ChannelLayout]? {
    var parts: [ChannelLayout] = []
    var queue = segments[...]
    for size in sizes {
      var need = size
      var part: [Segment] = []
      while need > 0 {
        guard var s = queue.first else { return nil }
        if s.width <= need {
          part.append(s)
          need -= s.width
          queue = queue.dropFirst()
        } else {
          guard need % s.block == 0 else { return nil }
          let take = need / s.block
          var head = s
          head.hi = s.lo + take
          part.append(head)
          s.lo += take
          queue[queue.startIndex] = s
          need = 0
        }
      }
      parts.append(ChannelLayout(axis: axis, segments: part))
    }
    return queue.isEmpty ? parts : nil
  }
}

/// Union-find over channel spaces, with each space's size and the reasons it must stay intact.
struct ChannelSpaces {
  private(set) var parent: [Int] = []
  private(set) var size: [Int] = []
  /// The node that created each space.
  private(set) var origin: [String] = []
  var frozen: [Int: [String]] = [:]

  mutating func make(size n: Int, origin name: String, frozenBecause reason: String? = nil) -> Int {
    parent.append(parent.count)
    size.append(n)
    origin.append(name)
    let id = parent.count - 1
    if let reason { frozen[id, default: []].append(reason) }
    return id
  }

  mutating func find(_ x: Int) -> Int {
    var r = x
    while parent[r] != r { r = parent[r] }
    var y = x
    while parent[y] != r { let next = parent[y]; parent[y] = r; y = next }
    return r
  }

  func root(_ x: Int) -> Int {
    var r = x
    while parent[r] != r { r = parent[r] }
    return r
  }

  /// Joins two spaces; false when their sizes differ (the caller freezes them instead).
  mutating func union(_ a: Int, _ b: Int) -> Bool {
    let ra = find(a), rb = find(b)
    if ra == rb { return true }
    guard size[ra] == size[rb] else { return false }
    let (keep, gone) = ra < rb ? (ra, rb) : (rb, ra)
    parent[gone] = keep
    if let r = frozen.removeValue(forKey: gone) { frozen[keep, default: []] += r }
    return true
  }

  mutating func freeze(_ space: Int, _ reason: String) {
    let r = find(space)
    if !(frozen[r]?.contains(reason) ?? false) { frozen[r, default: []].append(reason) }
  }
}

extension Tensor {
  /// The slices `indices` of `axis`, in that order (weights, biases, BN parameters, shape constants).
  func gathering(_ indices: [Int], axis: Int) throws -> Tensor {
    guard axis >= 0, axis < shape.count, dataType.byteSize > 0 else {
      throw SecateurError.invalidArgument("tensor '\(name)': cannot slice axis \(axis) of shape \(shape)")
    }
    let outer = shape[..<axis].reduce(1, *), n = shape[axis]
    let inner = shape[(axis + 1)...].reduce(1, *) * dataType.byteSize
    guard indices.allSatisfy({ $0 >= 0 && $0 < n }) else {
      throw SecateurError.invalidArgument("tensor '\(name)': index out of range for axis \(axis) of shape \(shape)")
    }
    var newShape = shape
    newShape[axis] = indices.count
    var t = try Tensor(name: name, zeros: dataType, shape: newShape)
    let src = buffer.baseAddress, dst = t.buffer.baseAddress
    var o = 0
    for a in 0..<outer {
      for i in indices {
        (dst + o).copyMemory(from: src + (a * n + i) * inner, byteCount: inner)
        o += inner
      }
    }
    t.docString = docString
    return t
  }

  /// Float32 values of a float tensor (empty for other types).
  var floats: [Float] { dataType == .float ? withElements(as: Float.self) { Array($0) } : [] }
}
