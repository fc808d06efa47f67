import ArgumentParser
import ModelFormat
import Optimizer
import Runtime

/// `secateur optimize in.onnx -o out.onnx`: runs the optimizer pipeline and reports each pass.
struct Optimize: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Optimize a model and write it as ONNX.")

  @Argument(help: "Path to an .onnx model.") var model: String
  @Option(name: .shortAndLong, help: "Where to write the optimized model.") var output: String

  func run() throws {
    do {
      var m = try ModelLoader.load(path: model)
      let nodesBefore = m.graph.nodes.count, paramsBefore = m.graph.parameterCount
      for r in try PassManager.runtime.run(on: &m) { print(r) }
      try ModelLoader.save(try PassManager.exportable(m), to: output)
      print("nodes \(nodesBefore) → \(m.graph.nodes.count), parameters \(paramsBefore) → \(m.graph.parameterCount)")
      print("wrote \(output)")
    } catch {
      fail(error)
    }
  }
}
