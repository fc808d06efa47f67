import Foundation
import FuzzHarness
import ModelFormat
import Testing

/// Every input the fuzzer (`make fuzz`) found crashing is kept under tests/fuzz/regressions/{bytes,struct}
/// and replayed here through the same pipeline: each must now end in a thrown error or a clean run.
/// The file name says what crashed; SECURITY.md lists them.
enum FuzzRegressions {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("tests/fuzz/regressions")

  static func files(_ mode: String) -> [String] {
    let dir = root.appendingPathComponent(mode)
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return names.sorted().map { "\(mode)/\($0)" }
  }

  static var all: [String] { files("bytes") + files("struct") }
}

@Test(arguments: FuzzRegressions.all)
func fuzzRegressionDoesNotCrash(_ file: String) throws {
  let data = try Data(contentsOf: FuzzRegressions.root.appendingPathComponent(file))
  let result: String? = data.withUnsafeBytes { bytes in
    if file.hasPrefix("struct/") {
      guard let seeds = try? FuzzSeeds.all().map(\.model),
            let m = StructureMutator.model(from: bytes, seeds: seeds) else { return "no model" }
      return ModelLoader.serialize(m).withUnsafeBytes { FuzzPipeline.run(bytes: $0, checker: false) }
    }
    return FuzzPipeline.run(bytes: bytes, checker: bytes.count % 2 == 1)
  }
  // Reaching here is the test; the outcome is printed so a fix that merely moves the failure shows.
  print("\(file): \(result ?? "ran")")
}

/// The seed models themselves load and run (so both fuzzing modes start from inputs that reach the kernels).
@Test func fuzzSeedsRun() throws {
  for (name, model) in try FuzzSeeds.all() {
    let bytes = ModelLoader.serialize(model)
    let result = bytes.withUnsafeBytes { FuzzPipeline.run(bytes: $0, checker: false) }
    // Conv/Pool kernels may not be registered yet; anything else must run.
    if let result, !result.contains("is not supported") { Issue.record("seed \(name): \(result)") }
  }
}

@Test func fuzzRegressionsExist() {
  #expect(FuzzRegressions.all.count >= 2)
}
