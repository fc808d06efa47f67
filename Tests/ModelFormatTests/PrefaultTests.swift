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

/// The `AnonHugePages` of the mapping holding `address`, in kB (/proc/self/smaps), or nil.
private func hugePagesKB(at address: UnsafeMutableRawPointer) -> Int? {
  guard let f = fopen("/proc/self/smaps", "r") else { return nil }
  defer { fclose(f) }
  let a = UInt(bitPattern: address)
  var inside = false
  var line = [CChar](repeating: 0, count: 512)
  while fgets(&line, Int32(line.count), f) != nil {
    let text = String(cString: line)
    if let dash = text.firstIndex(of: "-"), let space = text.firstIndex(of: " "), dash < space,
       let lo = UInt(text[..<dash], radix: 16), let hi = UInt(text[text.index(after: dash)..<space], radix: 16) {
      inside = lo <= a && a < hi
    } else if inside, text.hasPrefix("AnonHugePages:") {
      return Int(text.split(separator: " ", omittingEmptySubsequences: true)[1])
    }
  }
  return nil
}

/// After a slow huge-page prefault (as on a VM whose host took the memory back), the next blocks are
/// prefaulted on 4 KiB pages, still all mapped; once the backoff is over they may be huge again.
@Test func slowHugePagesAreTurnedOff() throws {
  Buffer.noteSlowHugePages()
  defer { Buffer.noteSlowHugePages(at: nil) }
  let buffer = try Buffer(uninitializedCount: 16 << 20, prefault: true)
  let pages = residentPages(buffer)
  #expect(pages.resident == pages.total)
  #expect(hugePagesKB(at: buffer.baseAddress + (8 << 20)) == 0)
}
#endif
