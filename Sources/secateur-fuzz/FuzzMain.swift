import CFuzzerDriver
import FuzzHarness
import ModelFormat

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer target over the whole host pipeline (see `FuzzPipeline`). Built with
/// `-sanitize=fuzzer,address -DFUZZING` by `make fuzz` (mk/robustness.mk), where `main` hands over to
/// libFuzzer's driver; without `FUZZING` it is a plain replayer: `secateur-fuzz [--struct] FILE...` runs each file through the same pipeline.
/// `secateur-fuzz --write-seeds DIR` writes the seed models (the byte-mode corpus) in either build.
///
/// Modes (environment `SECATEUR_FUZZ_MODE`):
/// - `bytes` (default): the input is an ONNX file. Odd-length inputs also run libonnx's checker.
/// - `struct`: the input is a seed index plus mutation instructions (`StructureMutator`).
enum Fuzz {
  nonisolated(unsafe) static var structured = getenv("SECATEUR_FUZZ_MODE").map { String(cString: $0) == "struct" } ?? false
  static let seeds: [Model] = (try? FuzzSeeds.all().map(\.model)) ?? []

  /// `SECATEUR_FUZZ_VERBOSE=1` prints each input's outcome (to check that seeds run, not just fail to load).
  static let verbose = getenv("SECATEUR_FUZZ_VERBOSE") != nil

  @discardableResult
  static func one(_ data: UnsafeRawBufferPointer) -> String? {
    let result: String?
    if structured {
      guard let m = StructureMutator.model(from: data, seeds: seeds) else { return "no seed" }
      result = ModelLoader.serialize(m).withUnsafeBytes { FuzzPipeline.run(bytes: $0, checker: false) }
    } else {
      result = FuzzPipeline.run(bytes: data, checker: data.count % 2 == 1)
    }
    if verbose { print(result ?? "ok") }
    return result
  }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  Fuzz.one(UnsafeRawBufferPointer(start: data, count: size))
  return 0
}

@main
struct FuzzEntry {
  static func main() throws {
    if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--write-seeds" {
      for (name, m) in try FuzzSeeds.all() {
        try FileIO.write(path: "\(CommandLine.arguments[2])/\(name).onnx", bytes: ModelLoader.serialize(m))
      }
      return
    }
    #if FUZZING
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzOneInput(data, size) })
    #else
    var args = Array(CommandLine.arguments.dropFirst())
    if args.first == "--struct" { Fuzz.structured = true; args.removeFirst() }
    for path in args {
      let b = try FileIO.read(path: path)
      print("\(path): \(Fuzz.one(b.bytes) ?? "ok")")
    }
    #endif
  }
}
