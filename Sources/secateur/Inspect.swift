import ArgumentParser
import ModelFormat
import Optimizer
import Runtime

/// `secateur inspect model.onnx`: inputs, outputs, op histogram, parameters, MACs.
struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Describe a model: inputs, outputs, ops, parameters, MACs.")

  @Argument(help: "Path to an .onnx model.") var model: String

  func run() throws {
    do {
      let m = try ModelLoader.load(path: model)
      print("model: \(model)")
      print("  IR version \(m.irVersion), opsets: " +
            m.opsetImports.map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain) \($0.version)" }.joined(separator: ", ") +
            (m.producerName.isEmpty ? "" : ", producer \(m.producerName) \(m.producerVersion)"))
      print("inputs:")
      for i in m.graph.runtimeInputs { print("  \(i.name): \(i.type.map(\.description) ?? "?")") }
      print("outputs:")
      for o in m.graph.outputs { print("  \(o.name): \(o.type.map(\.description) ?? "?")") }
      var histogram: [String: Int] = [:]
      for n in m.graph.nodes { histogram[n.opType, default: 0] += 1 }
      print("ops (\(m.graph.nodes.count) nodes):")
      for (op, c) in histogram.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
        print("  \(op.padding(to: 24)) \(c)")
      }
      print("parameters: \(formatCount(m.graph.parameterCount))")
      do {
        let shapes = try PlannedShapes().valueShapes(of: m)
        let cost = CostModel(graph: m.graph, shapes: shapes)
        print("MACs: \(formatCount(cost.totalMACs)) (Conv/ConvTranspose/Gemm/MatMul, symbolic dims = 1)")
      } catch {
        print("MACs: unavailable (\((error as? SecateurError)?.message ?? "\(error)"))")
      }
    } catch {
      fail(error)
    }
  }
}

func formatCount(_ n: Int) -> String {
  let d = Double(n)
  if d >= 1e9 { return "\(n) (\(rounded(d / 1e9))G)" }
  if d >= 1e6 { return "\(n) (\(rounded(d / 1e6))M)" }
  if d >= 1e3 { return "\(n) (\(rounded(d / 1e3))K)" }
  return "\(n)"
}

func rounded(_ x: Double, _ digits: Int = 2) -> String {
  var p = 1.0
  for _ in 0..<digits { p *= 10 }
  let v = (x * p).rounded() / p
  return "\(v)"
}

extension String {
  func padding(to n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
