import ModelFormat

/// Output fidelity of a candidate against the original on the calibration inputs.
public struct Fidelity: Sendable {
  /// Mean over samples of the cosine similarity of all outputs (flattened together).
  public var cosine: Double
  /// Mean over samples of ‖candidate − original‖ / ‖original‖.
  public var relativeError: Double
  /// Fraction of samples whose argmax agrees, for classifier-like outputs ([N, K], K > 1); nil otherwise.
  public var top1: Double?

  public static let perfect = Fidelity(cosine: 1, relativeError: 0, top1: 1)
}

enum Calibration {
  /// Bilinear (half-pixel) resize of an NCHW float tensor's last two dims.
  static func resize(_ t: Tensor, to hw: [Int]) throws -> Tensor {
    guard t.shape.count == 4, t.dataType == .float, hw.count == 2 else { return t }
    let (n, c, h, w) = (t.shape[0], t.shape[1], t.shape[2], t.shape[3])
    let (oh, ow) = (hw[0], hw[1])
    if oh == h && ow == w { return t }
    let src = t.floats
    var dst = [Float](repeating: 0, count: n * c * oh * ow)
    func coord(_ o: Int, _ inSize: Int, _ outSize: Int) -> (Int, Int, Float) {
      let x = max(0, (Float(o) + 0.5) * Float(inSize) / Float(outSize) - 0.5)
      let i0 = min(Int(x), inSize - 1), i1 = min(i0 + 1, inSize - 1)
      return (i0, i1, x - Float(i0))
    }
    let ys = (0..<oh).map { coord($0, h, oh) }, xs = (0..<ow).map { coord($0, w, ow) }
    for p in 0..<(n * c) {
      let base = p * h * w, obase = p * oh * ow
      for (oy, (y0, y1, fy)) in ys.enumerated() {
        for (ox, (x0, x1, fx)) in xs.enumerated() {
          let a = src[base + y0 * w + x0], b = src[base + y0 * w + x1]
          let cc = src[base + y1 * w + x0], d = src[base + y1 * w + x1]
          dst[obase + oy * ow + ox] = (a * (1 - fx) + b * fx) * (1 - fy) + (cc * (1 - fx) + d * fx) * fy
        }
      }
    }
    return try Tensor(name: t.name, dst, shape: [n, c, oh, ow], dataType: .float)
  }

  /// Compares candidate outputs with reference outputs, sample by sample.
  static func fidelity(_ got: [[Tensor]], _ want: [[Tensor]]) throws -> Fidelity {
    var cos = 0.0, rel = 0.0, agree = 0, classifier = true
    for (g, w) in zip(got, want) {
      var dot = 0.0, ng = 0.0, nw = 0.0, diff = 0.0
      for (a0, b) in zip(g, w) {
        var a = a0
        if a.shape != b.shape, a.shape.count == 4, b.shape.count == 4, a.shape[..<2] == b.shape[..<2] {
          a = try resize(a, to: Array(b.shape[2...]))
        }
        guard a.shape == b.shape, let x = a.doubleValues(), let y = b.doubleValues() else { return Fidelity(cosine: 0, relativeError: 1, top1: 0) }
        for i in x.indices {
          dot += x[i] * y[i]; ng += x[i] * x[i]; nw += y[i] * y[i]
          diff += (x[i] - y[i]) * (x[i] - y[i])
        }
      }
      cos += (ng > 0 && nw > 0) ? dot / (ng.squareRoot() * nw.squareRoot()) : (ng == nw ? 1 : 0)
      rel += nw > 0 ? diff.squareRoot() / nw.squareRoot() : diff.squareRoot()
      if let a = g.first, let b = w.first, b.shape.count == 2, b.shape[1] > 1, a.shape == b.shape,
         let x = a.doubleValues(), let y = b.doubleValues() {
        let k = b.shape[1]
        for r in 0..<b.shape[0] {
          let ax = (0..<k).max { x[r * k + $0] < x[r * k + $1] }, ay = (0..<k).max { y[r * k + $0] < y[r * k + $1] }
          if ax == ay { agree += 1 }
        }
      } else {
        classifier = false
      }
    }
    let n = Double(max(1, want.count))
    let rows = want.reduce(0) { $0 + ($1.first?.shape.first ?? 1) }
    return Fidelity(cosine: cos / n, relativeError: rel / n, top1: classifier ? Double(agree) / Double(max(1, rows)) : nil)
  }

  /// Per-channel mean and variance over every axis but `axis`, accumulated across samples.
  struct Moments {
    var sum: [Double]
    var sumSq: [Double]
    var count = 0.0
    init(channels: Int) { sum = Array(repeating: 0, count: channels); sumSq = sum }

    mutating func add(_ t: Tensor, axis: Int) {
      guard axis < t.shape.count, t.shape[axis] == sum.count else { return }
      let v = t.floats
      let c = t.shape[axis], inner = t.shape[(axis + 1)...].reduce(1, *), outer = t.shape[..<axis].reduce(1, *)
      for o in 0..<outer {
        for ch in 0..<c {
          let base = (o * c + ch) * inner
          var s = 0.0, s2 = 0.0
          for j in 0..<inner { let x = Double(v[base + j]); s += x; s2 += x * x }
          sum[ch] += s
          sumSq[ch] += s2
        }
      }
      count += Double(outer * inner)
    }

    /// Pools one equally weighted sample given by its per-channel mean and variance.
    mutating func addMoments(mean: [Double], variance: [Double]) {
      guard mean.count == sum.count, variance.count == sum.count else { return }
      for ch in sum.indices {
        sum[ch] += mean[ch]
        sumSq[ch] += variance[ch] + mean[ch] * mean[ch]
      }
      count += 1
    }

    var mean: [Double] { sum.map { $0 / max(1, count) } }
    var variance: [Double] { zip(sum, sumSq).map { s, s2 in max(0, s2 / max(1, count) - (s / max(1, count)) * (s / max(1, count))) } }
  }
}

/// Small deterministic generator (SplitMix64): searches and generated calibration data repeat for a seed.
public struct PruneRandom: Sendable {
  var state: UInt64
  public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
  public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
  public mutating func normal() -> Double {
    let u = max(uniform(), 1e-12), v = uniform()
    return (-2 * _log(u)).squareRoot() * _cos(2 * Double.pi * v)
  }
}

// Implementation note: no Foundation, so log/cos come from the C library.
#if canImport(Glibc)
import Glibc
func _log(_ x: Double) -> Double { Glibc.log(x) }
func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
import Darwin
func _log(_ x: Double) -> Double { Darwin.log(x) }
func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
