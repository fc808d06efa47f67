import ArgumentParser
import ModelFormat
import Optimizer
import Runtime

/// `secateur prune model.onnx -o pruned.onnx --macs 0.5 | --latency-ms X | --spec spec.json`, or
/// `secateur prune model.onnx --list` to print the channel groups and removable blocks specs refer to.
struct Prune: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Prune a model jointly by resolution, depth and channels to a MACs or latency budget (or a spec).")

  @Argument(help: "Path to an .onnx model (before BN folding gives BN recalibration).") var model: String
  @Option(name: .shortAndLong, help: "Where to write the pruned model.") var output: String?
  @Option(help: "Budget: fraction of the original MACs to keep (e.g. 0.5).") var macs: Double?
  @Option(name: .customLong("latency-ms"), help: "Budget: latency in milliseconds measured on this machine.") var latencyMs: Double?
  @Option(help: "Dimensions to search: any of channel,depth,spatial.") var dims = "channel,depth,spatial"
  @Option(help: "Calibration inputs: .npz keyed by input name (first axis = samples) or .npy for the image input.") var calib: String?
  @Option(help: "Generated calibration samples when --calib is not given.") var calibSamples = 4
  @Option(help: "Seed of the search and of generated calibration data.") var seed: UInt64 = 0
  @Option(help: "Write the report as JSON here.") var report: String?
  @Option(help: "Write an SVG plot of the search here.") var svg: String?
  @Option(help: "Apply a fixed spec (JSON: resolution, drop_blocks, widths, ratios, ratio) instead of searching.") var spec: String?
  @Option(name: .customLong("write-spec"), help: "Write the chosen decision as a spec file.") var writeSpec: String?
  @Flag(help: "List channel groups and removable blocks with their ids, then exit.") var list = false
  @Option(name: .customLong("shape"), help: "Concrete input shape NAME=1,3,224,224 (repeatable; needed for symbolic H/W).")
  var shapes: [String] = []
  @Option(help: "Population size of the evolutionary search.") var population = 8
  @Option(help: "Generations of the evolutionary search.") var generations = 4
  @Option(help: "Channel importance: l1, l2 or activation.") var importance = "l1"
  @Option(name: .customLong("round-to"), help: "Round kept channel counts up to a multiple of this.") var roundTo = 1
  @Flag(name: .customLong("no-recalibrate"), help: "Skip BN recalibration of candidates.") var noRecalibrate = false
  @Option(help: "Threads per run (0 = all cores).") var threads = 0
  @Flag(help: "Print the report as JSON on stdout instead of text.") var json = false

  func run() throws {
    do {
      let m = try ModelLoader.load(path: model)
      var o = PruneOptions()
      o.seed = seed
      o.population = population
      o.generations = generations
      o.calibrationSamples = calibSamples
      o.roundTo = max(1, roundTo)
      o.recalibrateBN = !noRecalibrate
      guard let imp = ImportanceCriterion(rawValue: importance) else {
        throw SecateurError.invalidArgument("--importance must be l1, l2 or activation, got '\(importance)'")
      }
      o.importance = imp
      var dimSet = Set<PruneDimension>()
      for d in dims.split(separator: ",") {
        guard let v = PruneDimension(rawValue: String(d)) else {
          throw SecateurError.invalidArgument("--dims: unknown dimension '\(d)' (use channel, depth, spatial)")
        }
        dimSet.insert(v)
      }
      o.dimensions = dimSet
      for s in shapes {
        guard let eq = s.firstIndex(of: "=") else { throw SecateurError.invalidArgument("--shape '\(s)' must be NAME=D0,D1,...") }
        let dims = s[s.index(after: eq)...].split(separator: ",").compactMap { Int($0) }
        o.inputShapes[String(s[..<eq])] = dims
      }
      if !json { o.progress = { print($0) } }
      if let calib { o.calibration = try loadCalibration(calib, model: m, shapes: o.inputShapes) }
      let evaluator = PruningEvaluator(threads: threads)
      let pruner = try JointPruner(model: m, options: o, evaluator: evaluator)
      if list {
        printList(pruner)
        return
      }
      guard let output else { throw SecateurError.invalidArgument("give -o OUTPUT (or --list)") }
      let result: PruneResult
      if let spec {
        let buffer = try FileIO.read(path: spec)
        let text = withExtendedLifetime(buffer) { String(decoding: buffer.bytes, as: UTF8.self) }
        result = try pruner.apply(try PruneSpec(json: try JSON.parse(text)), measureLatency: true)
      } else {
        switch (macs, latencyMs) {
        case (let f?, nil):
          guard f > 0, f <= 1 else { throw SecateurError.invalidArgument("--macs must be in (0, 1], got \(f)") }
          o.budget = .macs(f)
        case (nil, let ms?):
          guard ms > 0 else { throw SecateurError.invalidArgument("--latency-ms must be positive") }
          o.budget = .latencyMs(ms)
        default:
          throw SecateurError.invalidArgument("give exactly one of --macs, --latency-ms or --spec")
        }
        result = try JointPruner(model: m, options: o, evaluator: evaluator).search()
      }
      try ModelLoader.save(try PassManager.exportable(result.model), to: output)
      if json { print(result.json.encoded()) } else { print(result.text) }
      if let report { try FileIO.write(path: report, bytes: Array(result.json.encoded().utf8)) }
      if let svg { try FileIO.write(path: svg, bytes: Array(result.svg.utf8)) }
      if let writeSpec { try FileIO.write(path: writeSpec, bytes: Array(result.spec.json.encoded().utf8)) }
      if !json { print("wrote \(output)") }
    } catch {
      fail(error)
    }
  }

  func printList(_ p: JointPruner) {
    let prunable = p.groups.groups.filter(\.isPrunable)
    print("input \(p.imageInput) \(p.resolution[0])×\(p.resolution[1]), \(p.baseMACs) MACs, \(p.baseParameters) parameters")
    print("channel groups (\(prunable.count) prunable of \(p.groups.groups.count)):")
    for g in p.groups.groups {
      let who = g.producers.joined(separator: ", ")
      let state = g.isPrunable ? "" : "  frozen: " + (g.frozenReasons.first ?? (g.channels <= 1 ? "a single channel" : ""))
      print("  \(g.key.padding(to: 5)) \(String(g.channels).padding(to: 6)) \(who)\(state)")
    }
    print("removable blocks (\(p.blocks.count)):")
    for b in p.blocks {
      print("  \(b.key.padding(to: 5)) \(b.add)  (\(b.branch.count) nodes, shortcut \(b.identity))")
    }
  }

  /// Calibration feeds: an .npz keyed by input name or a single .npy for the image input; the first
  /// axis indexes samples, each fed as a batch of one.
  func loadCalibration(_ path: String, model: Model, shapes: [String: [Int]]) throws -> [[String: Tensor]] {
    let bytes = try FileIO.read(path: path)
    var named: [(String, Tensor)]
    if path.hasSuffix(".npy") {
      guard let image = model.graph.runtimeInputs.first else { throw SecateurError.invalidArgument("model has no input") }
      named = [(image.name, try withExtendedLifetime(bytes) { try NPY.decode(bytes.bytes, name: path) })]
    } else {
      named = try withExtendedLifetime(bytes) { try NPZ.decode(bytes.bytes) }
    }
    var feeds: [[String: Tensor]] = []
    for (name, t) in named {
      guard model.graph.runtimeInputs.contains(where: { $0.name == name }) else {
        throw SecateurError.invalidArgument("--calib: '\(name)' is not an input of the model")
      }
      guard t.dataType == .float, let n = t.shape.first, n > 0 else {
        throw SecateurError.invalidArgument("--calib: '\(name)' must be float32 with samples on the first axis")
      }
      let per = t.elementCount / n
      let values = t.withElements(as: Float.self) { Array($0) }
      for i in 0..<n {
        if feeds.count <= i { feeds.append([:]) }
        feeds[i][name] = try Tensor(name: name, Array(values[(i * per)..<((i + 1) * per)]), shape: [1] + t.shape.dropFirst(), dataType: .float)
      }
    }
    return feeds
  }
}
