#if canImport(Glibc)
import Glibc
import Testing
@testable import ModelFormat

/// How many of the 4 KiB pages inside `buffer` are mapped (mincore).
private func residentPages(_ buffer: Buffer) -> (resident: Int, total: Int) {
  let page = 4096, address = Int(bitPattern: buffer.baseAddress)
  let start = (address + page - 1) & ~(page - 1), end = (address + buffer.count) & ~(page - 1)
  var vector = [UInt8](repeating: 0, count: (end - start) / page)
  guard let p = UnsafeMutableRawPointer(bitPattern: start), mincore(p, end - start, &vector) == 0 else { return (0, -1) }
  return (vector.filter { $0 & 1 != 0 }.count, vector.count)
}

/// A block allocated with `prefault` has every page mapped before anything writes to it (one
/// madvise, not a fault per page); without it, the untouched block stays unmapped. 8 MiB: above
/// glibc's mmap threshold, so the block is fresh pages rather than reused heap.
@Test func prefaultMapsEveryPageBeforeTheFirstWrite() throws {
  let plain = try Buffer(uninitializedCount: 8 << 20)
  let cold = residentPages(plain)
  #expect(cold.total > 0)
  #expect(cold.resident < cold.total / 2)
  let prefaulted = try Buffer(uninitializedCount: 8 << 20, prefault: true)
  let warm = residentPages(prefaulted)
  #expect(warm.total > 0)
  #expect(warm.resident == warm.total)
}
#endif
