import ModelFormat
import Runtime
import Testing

/// The short soak (`make soak` runs 100,000 with an RSS check): 5,000 runs over 40 batch sizes with a plan
/// cache of 8, so plans are evicted and rebuilt throughout; the cache never holds more than its capacity
/// and every run's output is the reference chain. (RSS is not asserted here: tests run in parallel.)
@Test func soakShortPlanCacheStaysBounded() throws {
  let (model, bias) = try makeChainModel(depth: 3, channels: 5)
  var options = SessionOptions(threads: 1)
  options.planCacheCapacity = 8
  let session = try Session(model: model, options: options)
  for i in 0..<5_000 {
    let n = 1 + (i * 17) % 40
    let x = (0..<(n * 5)).map { Float(($0 + i) % 9) - 4 }
    let out = try session.run(["x": try Tensor(x, shape: [n, 5], dataType: .float)])
    if values(out[0]) != referenceChain(x, bias: bias, depth: 3) {
      Issue.record("run \(i) (batch \(n)) differs from the reference")
      return
    }
    #expect(session.cachedPlanCount <= 8)
  }
}
