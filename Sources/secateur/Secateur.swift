import ArgumentParser
import ModelFormat

@main
struct Secateur: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "secateur",
    abstract: "Run, optimize and prune ONNX models on the CPU.",
    version: "0.1.0",
    subcommands: [Inspect.self, Run.self, Bench.self, Optimize.self, Prune.self])
}

/// Prints `error` to stderr and exits non-zero: every subcommand reports failures the same way.
func fail(_ error: Error) -> Never {
  let message = (error as? SecateurError)?.message ?? "\(error)"
  printError("error: \(message)")
  Secateur.exit(withError: ExitCode(1))
}

func printError(_ s: String) {
  var stderr = StandardError()
  print(s, to: &stderr)
}

struct StandardError: TextOutputStream {
  mutating func write(_ string: String) {
    var bytes = Array(string.utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
  }
}

#if canImport(Glibc)
import Glibc
#endif
