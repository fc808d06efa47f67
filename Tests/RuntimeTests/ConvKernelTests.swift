import Testing
import ModelFormat
@testable import Runtime

/// One Conv configuration: 2-D unless `rank` says otherwise; `group == cin == cout` is depthwise.
struct ConvCase: CustomStringConvertible, Sendable {
  var n = 1
  var cin: Int
  var cout: Int
  var size = 9
  var kernel: Int
  var stride = 1
  var pad = 0
  var dilation = 1
  var group = 1
  var rank = 2
  var bias = true
  /// W as an initializer (prepacked at session creation) or as a graph input.
  var constantWeight = true
  var autoPad = "NOTSET"
  var threads = 2

  var description: String {
    "\(rank)D n\(n) \(cin)→\(cout) size\(size) k\(kernel) s\(stride) p\(pad) d\(dilation) g\(group)"
      + "\(bias ? " bias" : "")\(constantWeight ? "" : " W-input") \(autoPad) t\(threads)"
  }

  var xShape: [Int] { [n, cin] + Array(repeating: size, count: rank) }
  var wShape: [Int] { [cout, cin / group] + Array(repeating: kernel, count: rank) }

  /// Channels 1, 3, 13, 37; kernels 1/3/5; strides 1/2; pads; dilation 2; groups incl. depthwise.
  static let sweep: [ConvCase] = {
    var cases: [ConvCase] = []
    for (cin, cout) in [(1, 1), (3, 13), (13, 3), (13, 37), (37, 13)] {
      for kernel in [1, 3, 5] {
        for stride in [1, 2] {
          let pad = kernel / 2
          cases.append(ConvCase(cin: cin, cout: cout, kernel: kernel, stride: stride, pad: pad))
        }
      }
      cases.append(ConvCase(cin: cin, cout: cout, kernel: 3, pad: 2, dilation: 2))
      cases.append(ConvCase(cin: cin, cout: cout, kernel: 3, stride: 2, pad: 0, bias: false, constantWeight: false))
    }
    for c in [3, 13, 37] {
      cases.append(ConvCase(n: 2, cin: c, cout: c, kernel: 3, pad: 1, group: c))
      cases.append(ConvCase(cin: c, cout: c, kernel: 5, stride: 2, pad: 2, group: c))
      cases.append(ConvCase(cin: c, cout: c, kernel: 3, pad: 2, dilation: 2, group: c, threads: 1))
      cases.append(ConvCase(cin: c, cout: c, size: 10, kernel: 3, stride: 2, group: c, autoPad: "SAME_UPPER"))
    }
    cases.append(ConvCase(cin: 6, cout: 9, kernel: 3, pad: 1, group: 3))
    cases.append(ConvCase(cin: 26, cout: 26, kernel: 1, group: 13))
    cases.append(ConvCase(n: 3, cin: 13, cout: 37, kernel: 1, threads: 1))
    cases.append(ConvCase(n: 2, cin: 3, cout: 13, size: 10, kernel: 3, stride: 2, autoPad: "SAME_LOWER"))
    cases.append(ConvCase(cin: 3, cout: 13, size: 10, kernel: 5, autoPad: "VALID"))
    cases.append(ConvCase(cin: 3, cout: 13, size: 17, kernel: 5, stride: 2, pad: 1, rank: 1))
    cases.append(ConvCase(cin: 13, cout: 13, size: 17, kernel: 3, pad: 1, group: 13, rank: 1))
    cases.append(ConvCase(cin: 3, cout: 5, size: 5, kernel: 3, stride: 2, pad: 1, rank: 3))
    cases.append(ConvCase(cin: 4, cout: 4, size: 5, kernel: 3, pad: 2, dilation: 2, group: 4, rank: 3))
    return cases
  }()
}

/// Deterministic values in [-1, 1).
func pseudoRandom(_ count: Int, seed: UInt64) -> [Float] {
  var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
  return (0..<count).map { _ in
    s ^= s << 13; s ^= s >> 7; s ^= s << 17
    return Float(s % 2001) / 1000 - 1
  }
}

/// The naive convolution the kernel must match (Double accumulation).
func referenceConv(_ c: ConvCase, _ x: [Float], _ w: [Float], _ b: [Float]?, pads: [Int], out: [Int]) -> [Float] {
  let r = c.rank, spatialIn = c.xShape[2...].reduce(1, *), kc = w.count / (c.cout * (c.cin / c.group))
  let outCount = out.reduce(1, *), cg = c.cin / c.group, mg = c.cout / c.group
  var y = [Float](repeating: 0, count: c.n * c.cout * outCount)
  for n in 0..<c.n {
    for m in 0..<c.cout {
      let g = m / mg
      for o in 0..<outCount {
        var oc = [Int](repeating: 0, count: r), rest = o
        for d in stride(from: r - 1, through: 0, by: -1) { oc[d] = rest % out[d]; rest /= out[d] }
        var acc = Double(b?[m] ?? 0)
        for ci in 0..<cg {
          for k in 0..<kc {
            var kk = [Int](repeating: 0, count: r), kr = k
            for d in stride(from: r - 1, through: 0, by: -1) { kk[d] = kr % c.kernel; kr /= c.kernel }
            var inside = true, xi = 0
            for d in 0..<r {
              let i = oc[d] * c.stride - pads[d] + kk[d] * c.dilation
              if i < 0 || i >= c.size { inside = false; break }
              xi = xi * c.size + i
            }
            if !inside { continue }
            acc += Double(x[(n * c.cin + g * cg + ci) * spatialIn + xi]) * Double(w[(m * cg + ci) * kc + k])
          }
        }
        y[(n * c.cout + m) * outCount + o] = Float(acc)
      }
    }
  }
  return y
}

/// A one-node Conv model for `c`.
func convModel(_ c: ConvCase, _ w: [Float], _ b: [Float]?) throws -> Model {
  var attrs: [Attribute] = [
    Attribute(name: "strides", value: .ints(Array(repeating: c.stride, count: c.rank))),
    Attribute(name: "dilations", value: .ints(Array(repeating: c.dilation, count: c.rank))),
    Attribute(name: "group", value: .int(c.group)),
    Attribute(name: "auto_pad", value: .string(Array(c.autoPad.utf8))),
  ]
  if c.autoPad == "NOTSET" { attrs.append(Attribute(name: "pads", value: .ints(Array(repeating: c.pad, count: 2 * c.rank)))) }
  let wT = try Tensor(name: "W", w, shape: c.wShape, dataType: .float)
  var inputs = [ValueInfo(name: "X", type: .tensor(.float, c.xShape.map { .value($0) }))]
  var inits: [Tensor] = []
  if c.constantWeight { inits.append(wT) } else { inputs.append(ValueInfo(name: "W", type: .tensor(.float, c.wShape.map { .value($0) }))) }
  if let b { inits.append(try Tensor(name: "B", b, shape: [c.cout], dataType: .float)) }
  let node = Node(name: "conv", opType: "Conv", inputs: ["X", "W"] + (b == nil ? [] : ["B"]), outputs: ["Y"], attributes: attrs)
  let graph = Graph(nodes: [node], inputs: inputs, outputs: [ValueInfo(name: "Y", type: nil)], initializers: inits)
  return Model(graph: graph, opsetImports: [OpsetImport(domain: "", version: 13)])
}

/// Pads and output size the reference uses (the ONNX rule, written independently of ConvGeometry).
func expectedGeometry(_ c: ConvCase) -> (pads: [Int], out: [Int]) {
  let ek = (c.kernel - 1) * c.dilation + 1
  switch c.autoPad {
  case "SAME_UPPER", "SAME_LOWER":
    let out = (c.size + c.stride - 1) / c.stride
    let total = max(0, (out - 1) * c.stride + ek - c.size)
    let begin = c.autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
    return (Array(repeating: begin, count: c.rank), Array(repeating: out, count: c.rank))
  case "VALID":
    return (Array(repeating: 0, count: c.rank), Array(repeating: (c.size - ek) / c.stride + 1, count: c.rank))
  default:
    return (Array(repeating: c.pad, count: c.rank), Array(repeating: (c.size + 2 * c.pad - ek) / c.stride + 1, count: c.rank))
  }
}

@Suite("Conv kernel vs naive reference")
struct ConvKernelTests {
  /// Tolerance: rtol 1e-4, atol 1e-5 (sgemm reassociates the float sums).
  static let rtol: Float = 1e-4, atol: Float = 1e-5

  @Test(arguments: ConvCase.sweep)
  func convMatchesReference(_ c: ConvCase) throws {
    let x = pseudoRandom(c.xShape.reduce(1, *), seed: 1)
    let w = pseudoRandom(c.wShape.reduce(1, *), seed: 2)
    let b = c.bias ? pseudoRandom(c.cout, seed: 3) : nil
    let session = try Session(model: try convModel(c, w, b), options: SessionOptions(threads: c.threads, optimize: false))
    var feeds = ["X": try Tensor(x, shape: c.xShape, dataType: .float)]
    if !c.constantWeight { feeds["W"] = try Tensor(w, shape: c.wShape, dataType: .float) }
    let y = try #require(try session.run(feeds).first)
    let (pads, out) = expectedGeometry(c)
    #expect(y.shape == [c.n, c.cout] + out, "\(c)")
    let want = referenceConv(c, x, w, b, pads: pads, out: out)
    let got = y.withElements(as: Float.self) { Array($0) }
    #expect(got.count == want.count)
    var worst = 0, bad = 0
    for i in 0..<min(got.count, want.count) where abs(got[i] - want[i]) > Self.atol + Self.rtol * abs(want[i]) {
      if bad == 0 { worst = i }
      bad += 1
    }
    #expect(bad == 0, "\(c): \(bad) mismatches, first at \(worst): got \(got[worst]) want \(want[worst])")
  }

  /// W expects 3 input channels with group 3, X declares 4: the shape rule rejects it naming the node.
  @Test func mismatchedChannelsNameTheNode() throws {
    let c = ConvCase(cin: 3, cout: 6, kernel: 3, group: 3)
    var model = try convModel(c, pseudoRandom(c.wShape.reduce(1, *), seed: 1), nil)
    let xShape = [1, 4, 9, 9]
    model.graph.inputs[0] = ValueInfo(name: "X", type: .tensor(.float, xShape.map { .value($0) }))
    do {
      let s = try Session(model: model, options: SessionOptions(threads: 1, optimize: false))
      _ = try s.run(["X": try Tensor(pseudoRandom(xShape.reduce(1, *), seed: 1), shape: xShape, dataType: .float)])
      Issue.record("expected an error for 4 channels with group 3")
    } catch let e as SecateurError {
      #expect(e.code == .invalidModel, "\(e)")
      #expect(e.message.contains("conv (Conv)"), "\(e)")
    }
  }
}
