import ModelFormat

/// Which dimensions the joint search may prune.
public enum PruneDimension: String, Sendable, CaseIterable {
  case channel, depth, spatial
}

/// A fixed (non-search) pruning decision, readable from and writable to JSON:
///
///     {"resolution": [160, 160], "drop_blocks": ["b3", "b7"], "ratio": 1.0,
///      "widths": {"g4": 37, "g9": 1}, "ratios": {"g12": 0.5}, "keep": {"g2": [0, 3, 5]}}
///
/// Groups and blocks are named by the keys `secateur prune MODEL --list` prints (`g<id>`, `b<id>`), or by
/// their producer / Add node names. `ratio` applies to every prunable group not named otherwise.
/// `keep` names the exact channel indices (0-based, in the group's original order) a group keeps,
/// bypassing the importance ranking; `widths`/`ratios` keep the most important channels.
public struct PruneSpec: Sendable, Equatable {
  public var resolution: [Int]?
  public var dropBlocks: [String] = []
  public var widths: [String: Int] = [:]
  public var ratios: [String: Double] = [:]
  public var ratio: Double?
  /// Explicit kept channel indices per group.
  public var keep: [String: [Int]] = [:]

  public init(resolution: [Int]? = nil, dropBlocks: [String] = [], widths: [String: Int] = [:],
              ratios: [String: Double] = [:], ratio: Double? = nil, keep: [String: [Int]] = [:]) {
    self.resolution = resolution
    self.keep = keep
    self.dropBlocks = dropBlocks
    self.widths = widths
    self.ratios = ratios
    self.ratio = ratio
  }

  public init(json: JSON) throws {
    guard json.object != nil else { throw SecateurError.invalidArgument("prune spec: expected a JSON object") }
    let known: Set<String> = ["resolution", "drop_blocks", "widths", "ratios", "ratio", "keep"]
    for (k, _) in json.object! where !known.contains(k) {
      throw SecateurError.invalidArgument("prune spec: unknown key '\(k)' (known: \(known.sorted().joined(separator: ", ")))")
    }
    if let r = json["resolution"], r != .null {
      guard let a = r.array?.compactMap(\.int), a.count == 2, a.allSatisfy({ $0 > 0 }) else {
        throw SecateurError.invalidArgument("prune spec: resolution must be [H, W] with positive integers")
      }
      resolution = a
    }
    if let b = json["drop_blocks"] {
      guard let a = b.array else { throw SecateurError.invalidArgument("prune spec: drop_blocks must be a list") }
      dropBlocks = try a.map {
        if let s = $0.string { return s }
        if let i = $0.int { return "b\(i)" }
        throw SecateurError.invalidArgument("prune spec: drop_blocks entries are \"b<id>\" strings")
      }
    }
    for (k, v) in json["widths"]?.object ?? [] {
      guard let w = v.int, w >= 1 else { throw SecateurError.invalidArgument("prune spec: width of '\(k)' must be an integer ≥ 1") }
      widths[k] = w
    }
    for (k, v) in json["ratios"]?.object ?? [] {
      guard let r = v.double, r > 0, r <= 1 else { throw SecateurError.invalidArgument("prune spec: ratio of '\(k)' must be in (0, 1]") }
      ratios[k] = r
    }
    for (k, v) in json["keep"]?.object ?? [] {
      guard let a = v.array, !a.isEmpty, a.allSatisfy({ $0.int != nil && $0.int! >= 0 }) else {
        throw SecateurError.invalidArgument("prune spec: keep of '\(k)' must be a non-empty list of channel indices ≥ 0")
      }
      let idx = a.map { $0.int! }
      guard Set(idx).count == idx.count else { throw SecateurError.invalidArgument("prune spec: keep of '\(k)' lists a channel twice") }
      keep[k] = idx.sorted()
    }
    if let r = json["ratio"] {
      guard let d = r.double, d > 0, d <= 1 else { throw SecateurError.invalidArgument("prune spec: ratio must be in (0, 1]") }
      ratio = d
    }
  }

  public var json: JSON {
    var kv: [(String, JSON)] = []
    if let resolution { kv.append(("resolution", .array(resolution.map { .number(Double($0)) }))) }
    kv.append(("drop_blocks", .array(dropBlocks.map { .string($0) })))
    if let ratio { kv.append(("ratio", .number(ratio))) }
    kv.append(("widths", .object(widths.sorted { Self.keyOrder($0.key, $1.key) }.map { ($0.key, .number(Double($0.value))) })))
    if !keep.isEmpty {
      kv.append(("keep", .object(keep.sorted { Self.keyOrder($0.key, $1.key) }.map { ($0.key, .array($0.value.map { .number(Double($0)) })) })))
    }
    if !ratios.isEmpty { kv.append(("ratios", .object(ratios.sorted { Self.keyOrder($0.key, $1.key) }.map { ($0.key, .number($0.value)) }))) }
    return .object(kv)
  }

  /// "g2" < "g10": numeric order for generated keys.
  static func keyOrder(_ a: String, _ b: String) -> Bool {
    if let x = Int(a.dropFirst()), let y = Int(b.dropFirst()), a.first == b.first { return x < y }
    return a < b
  }
}
