#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ModelFormat

/// Mirror of `sct_value_info` in include/secateur.h. Field order and types must match the header
/// exactly (LP64: 32 bytes; offsets 0, 8, 12, 16, 24 — tests/c/test_capi.c checks the C side).
struct CValueInfo {
  var name: UnsafePointer<CChar>?
  var type: Int32
  var rank: Int32
  var dims: UnsafePointer<Int64>?
  var dimNames: UnsafePointer<UnsafePointer<CChar>?>?
}

/// The C view of a list of graph inputs or outputs: names, dims and symbol names in malloc'd storage
/// that lives as long as the table (that is, as long as the model or session that owns it).
///
/// Built once, read-only afterwards, so concurrent readers need no lock.
final class ValueInfoTable {
  private(set) var entries: [CValueInfo] = []
  private var blocks: [UnsafeMutableRawPointer] = []

  init(_ infos: [ValueInfo]) throws {
    for info in infos {
      var entry = CValueInfo(name: try keep(info.name), type: 0, rank: -1, dims: nil, dimNames: nil)
      if case .tensor(let dtype, let shape)? = info.type {
        entry.type = dtype.rawValue
        if let shape {
          entry.rank = Int32(clamping: shape.count)
          let dims = try allocate(Int64.self, shape.count)
          let names = try allocate(UnsafePointer<CChar>?.self, shape.count)
          for (i, d) in shape.enumerated() {
            switch d {
            case .value(let v): dims[i] = Int64(v); names[i] = nil
            case .symbol(let s): dims[i] = -1; names[i] = try keep(s)
            case .unknown: dims[i] = -1; names[i] = nil
            }
          }
          entry.dims = UnsafePointer(dims)
          entry.dimNames = UnsafePointer(names)
        }
      }
      entries.append(entry)
    }
  }

  deinit {
    for b in blocks { free(b) }
  }

  /// Writes entry `index` to a caller's `sct_value_info`, or throws naming the valid range.
  func write(_ index: UInt, to info: UnsafeMutableRawPointer?, what: String) throws {
    let out = try nonNull(info, "info")
    guard index < UInt(entries.count) else {
      throw SecateurError.invalidArgument("\(what) index \(index) is out of range: there are \(entries.count)")
    }
    out.storeBytes(of: entries[Int(index)], as: CValueInfo.self)
  }

  private func keep(_ s: String) throws -> UnsafePointer<CChar> {
    guard let p = strdup(s) else { throw SecateurError(.outOfMemory, "out of memory copying the name '\(s)'") }
    blocks.append(UnsafeMutableRawPointer(p))
    return UnsafePointer(p)
  }

  private func allocate<T>(_: T.Type, _ n: Int) throws -> UnsafeMutablePointer<T> {
    guard let p = malloc(max(n, 1) * MemoryLayout<T>.stride) else {
      throw SecateurError(.outOfMemory, "out of memory describing a value of rank \(n)")
    }
    blocks.append(p)
    return p.bindMemory(to: T.self, capacity: max(n, 1))
  }
}
