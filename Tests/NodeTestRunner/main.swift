// Runs the ONNX backend node tests written by tools/gen_node_tests.py and compares every output with
// the reference at the case's tolerance (default rtol 1e-3, atol 1e-7, as onnx's backend runner).
//
// Usage: secateur-node-tests DIR [--filter SUBSTR] [--must-pass FILE] [--write-passing FILE] [--isolate] [-v]
//        secateur-node-tests --case CASE_DIR      (one case; prints "PASS", "FAIL <why>" or "ERROR <why>")
#if canImport(Glibc)
import Glibc
#endif
import ModelFormat
import Runtime

struct CaseResult {
  enum Kind: String { case pass = "PASS", fail = "FAIL", error = "ERROR", crash = "CRASH" }
  var kind: Kind
  var detail: String
}

func listDirectory(_ path: String) -> [String] {
  guard let d = opendir(path) else { return [] }
  defer { closedir(d) }
  var names: [String] = []
  while let e = readdir(d) {
    let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    if name != "." && name != ".." { names.append(name) }
  }
  return names.sorted()
}

func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

func readText(_ path: String) -> String? {
  guard let b = try? FileIO.read(path: path) else { return nil }
  return String(decoding: b.bytes, as: UTF8.self)
}

/// Element-wise closeness as numpy.testing.assert_allclose: |a − b| ≤ atol + rtol·|b|, NaN == NaN.
func compare(_ got: Tensor, _ want: Tensor, rtol: Double, atol: Double) -> String? {
  guard got.dataType == want.dataType else { return "dtype \(got.dataType) != expected \(want.dataType)" }
  guard got.shape == want.shape else { return "shape \(got.shape) != expected \(want.shape)" }
  if want.dataType == .string { return got.strings == want.strings ? nil : "string values differ" }
  if want.dataType.isFloatingPoint, let g = got.doubleValues(), let w = want.doubleValues() {
    for i in 0..<w.count {
      let a = g[i], b = w[i]
      if a.isNaN && b.isNaN { continue }
      if a == b { continue }
      if abs(a - b) > atol + rtol * abs(b) || a.isNaN != b.isNaN {
        return "element \(i): got \(a), expected \(b)"
      }
    }
    return nil
  }
  if let g = got.intValues(), let w = want.intValues() {
    for i in 0..<w.count where g[i] != w[i] { return "element \(i): got \(g[i]), expected \(w[i])" }
    return nil
  }
  return got.contentEquals(want) ? nil : "bytes differ (\(want.dataType))"
}

func runCase(_ dir: String) -> CaseResult {
  if exists(dir + "/SKIPPED") { return CaseResult(kind: .error, detail: "skipped: " + (readText(dir + "/SKIPPED") ?? "")) }
  var rtol = 1e-3, atol = 1e-7
  if let t = readText(dir + "/tolerance.txt") {
    let parts = t.split(whereSeparator: { $0 == " " || $0 == "\n" })
    if parts.count >= 2, let r = Double(parts[0]), let a = Double(parts[1]) { rtol = r; atol = a }
  }
  do {
    let model = try ModelLoader.load(path: dir + "/model.onnx")
    let session = try Session(model: model, options: SessionOptions(threads: 1))
    for set in listDirectory(dir).filter({ $0.hasPrefix("test_data_set_") }) {
      let sdir = dir + "/" + set
      let files = listDirectory(sdir)
      var feeds: [String: Tensor] = [:]
      let inputNames = session.inputs.map(\.name)
      for (i, f) in files.filter({ $0.hasPrefix("input_") }).sorted(by: { $0.count != $1.count ? $0.count < $1.count : $0 < $1 }).enumerated() {
        var t = try ONNXReader().readTensor(try FileIO.read(path: sdir + "/" + f))
        if !inputNames.contains(t.name), i < inputNames.count { t.name = inputNames[i] }
        feeds[t.name] = t
      }
      let outputs = try session.run(feeds)
      let expected = try files.filter { $0.hasPrefix("output_") }
        .sorted(by: { $0.count != $1.count ? $0.count < $1.count : $0 < $1 })
        .map { try ONNXReader().readTensor(try FileIO.read(path: sdir + "/" + $0)) }
      guard expected.count == outputs.count else {
        return CaseResult(kind: .fail, detail: "\(outputs.count) outputs, expected \(expected.count)")
      }
      for (k, (g, w)) in zip(outputs, expected).enumerated() {
        if let why = compare(g, w, rtol: rtol, atol: atol) {
          return CaseResult(kind: .fail, detail: "\(set) output \(k): \(why)")
        }
      }
    }
    return CaseResult(kind: .pass, detail: "")
  } catch let e as SecateurError {
    return CaseResult(kind: .error, detail: e.message)
  } catch {
    return CaseResult(kind: .error, detail: "\(error)")
  }
}

/// Runs one case in a child process so a trap in one kernel cannot stop the whole run.
func runIsolated(_ dir: String, executable: String) -> CaseResult {
  let cmd = "'\(executable)' --case '\(dir)' 2>&1"
  guard let f = popen(cmd, "r") else { return CaseResult(kind: .error, detail: "popen failed") }
  var out = ""
  var buf = [CChar](repeating: 0, count: 4096)
  while fgets(&buf, Int32(buf.count), f) != nil { out += String(cString: buf) }
  let status = pclose(f)
  let line = out.split(separator: "\n").last.map(String.init) ?? ""
  if status != 0 && !line.hasPrefix("PASS") && !line.hasPrefix("FAIL") && !line.hasPrefix("ERROR") {
    return CaseResult(kind: .crash, detail: "exit status \(status): \(line.prefix(200))")
  }
  for k in [CaseResult.Kind.pass, .fail, .error] where line.hasPrefix(k.rawValue) {
    return CaseResult(kind: k, detail: String(line.dropFirst(k.rawValue.count)).trimmingSpaces())
  }
  return CaseResult(kind: .crash, detail: "no result: \(line.prefix(200))")
}

extension String {
  func trimmingSpaces() -> String {
    var s = Substring(self)
    while s.first == " " { s = s.dropFirst() }
    return String(s)
  }
}

/// The op a case tests: the first node's op type in its model (cases are named after it, but not uniformly).
func opOf(_ dir: String) -> String {
  guard let m = try? ModelLoader.load(path: dir + "/model.onnx", options: { var o = ModelLoader.Options(); o.runONNXChecker = false; return o }()),
        let n = m.graph.nodes.first else { return "?" }
  return n.opType
}

let args = Array(CommandLine.arguments.dropFirst())
if args.first == "--case", args.count == 2 {
  let r = runCase(args[1])
  print("\(r.kind.rawValue) \(r.detail.split(separator: "\n").joined(separator: "; "))")
  exit(0)
}
guard let root = args.first, !root.hasPrefix("-") else {
  print("usage: secateur-node-tests DIR [--filter SUBSTR] [--must-pass FILE] [--write-passing FILE] [--isolate] [-v]")
  exit(2)
}
@MainActor func option(_ name: String) -> String? {
  guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
  return args[i + 1]
}
let filter = option("--filter")
let isolate = args.contains("--isolate")
let verbose = args.contains("-v")
let executable = CommandLine.arguments[0].hasPrefix("/") ? CommandLine.arguments[0]
  : (FileIO.realPath(CommandLine.arguments[0]) ?? CommandLine.arguments[0])

var results: [(name: String, op: String, result: CaseResult)] = []
for name in listDirectory(root) where filter.map({ name.contains($0) }) ?? true {
  let dir = root + "/" + name
  guard exists(dir + "/model.onnx") else { continue }
  let r = isolate ? runIsolated(dir, executable: executable) : runCase(dir)
  results.append((name, opOf(dir), r))
  if verbose || (r.kind != .pass && filter != nil) { print("\(r.kind.rawValue) \(name) \(r.detail.prefix(300))") }
}

// Per-op summary.
var perOp: [String: (pass: Int, total: Int)] = [:]
for r in results { perOp[r.op, default: (0, 0)].total += 1; if r.result.kind == .pass { perOp[r.op]!.pass += 1 } }
if verbose || filter == nil {
  print("\nper op (passed/total):")
  var line = ""
  for (op, c) in perOp.sorted(by: { $0.key < $1.key }) {
    let item = "\(op) \(c.pass)/\(c.total)"
    if line.count + item.count > 110 { print(line); line = "" }
    line += (line.isEmpty ? "  " : ", ") + item
  }
  if !line.isEmpty { print(line) }
}
let passed = results.filter { $0.result.kind == .pass }
let crashed = results.filter { $0.result.kind == .crash }
print("\nnode tests: \(passed.count) passed, \(results.count - passed.count) not passed (\(crashed.count) crashed) of \(results.count) cases")

if let path = option("--write-passing") {
  let text = passed.map(\.name).joined(separator: "\n") + "\n"
  try? FileIO.write(path: path, bytes: Array(text.utf8))
  print("wrote \(passed.count) passing case names to \(path)")
}
if let path = option("--must-pass") {
  let must = (readText(path) ?? "").split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") }
  let byName = Dictionary(results.map { ($0.name, $0.result) }, uniquingKeysWith: { a, _ in a })
  var regressions: [String] = []
  for m in must where filter.map({ m.contains($0) }) ?? true {
    guard let r = byName[m] else { regressions.append("\(m): case missing"); continue }
    if r.kind != .pass { regressions.append("\(m): \(r.kind.rawValue) \(r.detail.prefix(200))") }
  }
  if !regressions.isEmpty {
    print("\n\(regressions.count) must-pass cases failed:")
    for r in regressions { print("  " + r) }
    exit(1)
  }
  print("all \(must.count) must-pass cases pass")
}
exit(0)
