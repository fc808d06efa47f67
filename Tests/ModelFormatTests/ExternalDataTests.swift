import ModelFormat
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A temporary folder holding `model.onnx` whose initializer "w" (4 floats) lives in external data at `location`.
func writeExternalModel(location: String, offset: Int = 0, length: Int? = 16) throws -> String {
  var template = Array("/tmp/sct-ext-XXXXXX".utf8CString)
  guard let dir = mkdtemp(&template) else { throw SecateurError.io("mkdtemp failed") }
  let root = String(cString: dir)
  var t = ProtoBytes()
  t.packed(1, [4])
  t.varint(2, 1)
  t.bytes(8, Array("w".utf8))
  var entries: [(String, String)] = [("location", location), ("offset", String(offset))]
  if let length { entries.append(("length", String(length))) }
  for (k, v) in entries {
    var e = ProtoBytes()
    e.bytes(1, Array(k.utf8))
    e.bytes(2, Array(v.utf8))
    t.bytes(13, e.out)
  }
  t.varint(14, 1)  // EXTERNAL
  var g = ProtoBytes()
  var node = ProtoBytes()
  node.bytes(1, Array("w".utf8)); node.bytes(2, Array("y".utf8)); node.bytes(4, Array("Identity".utf8))
  g.bytes(1, node.out)
  g.bytes(2, Array("g".utf8))
  g.bytes(5, t.out)
  var out = ProtoBytes()
  out.bytes(1, Array("y".utf8))
  var tensorType = ProtoBytes()
  tensorType.varint(1, 1)  // float [4]
  var dim = ProtoBytes()
  dim.varint(1, 4)
  var shape = ProtoBytes()
  shape.bytes(1, dim.out)
  tensorType.bytes(2, shape.out)
  var type = ProtoBytes()
  type.bytes(1, tensorType.out)
  out.bytes(2, type.out)
  g.bytes(12, out.out)
  var m = ProtoBytes()
  m.varint(1, 8)
  var op = ProtoBytes()
  op.varint(2, 17)
  m.bytes(8, op.out)
  m.bytes(7, g.out)
  try FileIO.write(path: root + "/model.onnx", bytes: m.out)
  let weights: [Float] = [1, 2, 3, 4]
  try weights.withUnsafeBytes { try FileIO.write(path: root + "/weights.bin", bytes: Array($0)) }
  return root
}

@Test func externalDataInsideTheFolderLoads() throws {
  let dir = try writeExternalModel(location: "weights.bin")
  let m = try ModelLoader.load(path: dir + "/model.onnx")
  let w = try #require(m.graph.initializerMap["w"])
  #expect(w.doubleValues() == [1, 2, 3, 4])
}

@Test(arguments: ["/etc/passwd", "../etc/passwd", "sub/../../x.bin"])
func externalDataOutsideTheFolderIsRefused(location: String) throws {
  let dir = try writeExternalModel(location: location)
  do {
    _ = try ModelLoader.load(path: dir + "/model.onnx")
    Issue.record("external location '\(location)' was accepted")
  } catch let e as SecateurError {
    #expect(e.message.contains("'w'"))
    #expect(e.message.contains("model's folder"))
  }
}

@Test func externalDataThroughAnEscapingSymlinkIsRefused() throws {
  let dir = try writeExternalModel(location: "link.bin")
  #expect(symlink("/etc/hostname", dir + "/link.bin") == 0)
  #expect(throws: SecateurError.self) { try ModelLoader.load(path: dir + "/model.onnx") }
}

@Test func externalDataPastTheEndOfTheFileIsRefused() throws {
  let dir = try writeExternalModel(location: "weights.bin", offset: 8)
  do {
    _ = try ModelLoader.load(path: dir + "/model.onnx")
    Issue.record("read past the end of weights.bin")
  } catch let e as SecateurError {
    #expect(e.message.contains("run past"))
  }
}

@Test func externalDataIsRefusedWhenLoadingFromMemory() throws {
  let dir = try writeExternalModel(location: "weights.bin")
  let bytes = try FileIO.read(path: dir + "/model.onnx")
  do {
    _ = try ModelLoader.load(bytes: bytes.bytes)
    Issue.record("memory load read a file")
  } catch let e as SecateurError {
    #expect(e.message.contains("external data is not allowed"))
  }
}
