import ModelFormat
import Testing

@Test func npzRoundTrip() throws {
  let a = try Tensor([1.5, -2, 3] as [Float], shape: [3], dataType: .float)
  let b = try Tensor([7, 8, 9, 10] as [Int64], shape: [2, 2], dataType: .int64)
  let bytes = try NPZ.encode([("a", a), ("b/c", b)])
  let back = try bytes.withUnsafeBytes { try NPZ.decode($0) }
  #expect(back.map(\.name) == ["a", "b/c"])
  #expect(back[0].tensor.contentEquals(a))
  #expect(back[1].tensor.contentEquals(b))
}

@Test func npyRejectsShortData() throws {
  let t = try Tensor([1, 2, 3, 4] as [Float], shape: [4], dataType: .float)
  let bytes = try NPY.encode(t)
  #expect(throws: SecateurError.self) { try Array(bytes.dropLast(4)).withUnsafeBytes { try NPY.decode($0) } }
}
