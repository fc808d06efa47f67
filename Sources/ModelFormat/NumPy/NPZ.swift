/// NumPy `.npz` archives: a zip of `.npy` files. Written uncompressed (as `np.savez`); read when stored
/// uncompressed (compressed archives from `np.savez_compressed` are refused with a clear error).
public enum NPZ {
  /// Encodes named tensors as an uncompressed zip of `<name>.npy` entries.
  public static func encode(_ entries: [(name: String, tensor: Tensor)]) throws -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    for (name, tensor) in entries {
      let data = try NPY.encode(tensor)
      let fileName = Array((name + ".npy").utf8)
      let crc = CRC32.checksum(data)
      let offset = UInt32(out.count)
      out += le32(0x0403_4b50) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
      out += le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count))
      out += le16(UInt16(fileName.count)) + le16(0) + fileName + data
      central += le32(0x0201_4b50) + le16(20) + le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21)
      central += le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count))
      central += le16(UInt16(fileName.count)) + le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset)
      central += fileName
    }
    let cdOffset = UInt32(out.count)
    out += central
    out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(UInt16(entries.count)) + le16(UInt16(entries.count))
    out += le32(UInt32(central.count)) + le32(cdOffset) + le16(0)
    return out
  }

  /// Decodes every `.npy` entry; names drop the `.npy` suffix.
  public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> [(name: String, tensor: Tensor)] {
    func u16(_ o: Int) throws -> Int {
      guard o >= 0, o + 2 <= bytes.count else { throw SecateurError.invalidArgument(".npz is truncated") }
      return Int(bytes[o]) | Int(bytes[o + 1]) << 8
    }
    func u32(_ o: Int) throws -> Int { try u16(o) | (try u16(o + 2)) << 16 }
    // Find the end-of-central-directory record (scan back over a possible comment).
    var eocd = -1
    var i = bytes.count - 22
    while i >= max(0, bytes.count - 22 - 65_535) {
      if try u32(i) == 0x0605_4b50 { eocd = i; break }
      i -= 1
    }
    guard eocd >= 0 else { throw SecateurError.invalidArgument("not a .npz (zip) file") }
    let count = try u16(eocd + 10)
    var p = try u32(eocd + 16)
    var result: [(String, Tensor)] = []
    for _ in 0..<count {
      guard try u32(p) == 0x0201_4b50 else { throw SecateurError.invalidArgument(".npz central directory is corrupt") }
      let method = try u16(p + 10)
      let size = try u32(p + 20)
      let nameLen = try u16(p + 28), extraLen = try u16(p + 30), commentLen = try u16(p + 32)
      let local = try u32(p + 42)
      guard p + 46 + nameLen <= bytes.count else { throw SecateurError.invalidArgument(".npz is truncated") }
      var name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(p + 46)..<(p + 46 + nameLen)]), as: UTF8.self)
      guard method == 0 else {
        throw SecateurError.unsupported(".npz entry '\(name)' is compressed; save with np.savez (not savez_compressed)")
      }
      let dataStart = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
      guard dataStart + size <= bytes.count else { throw SecateurError.invalidArgument(".npz entry '\(name)' is truncated") }
      if name.hasSuffix(".npy") { name.removeLast(4) }
      result.append((name, try NPY.decode(UnsafeRawBufferPointer(rebasing: bytes[dataStart..<(dataStart + size)]), name: name)))
      p += 46 + nameLen + extraLen + commentLen
    }
    return result
  }

  static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
  static func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)] }
}

/// CRC-32 (IEEE 802.3), as zip requires.
enum CRC32 {
  static let table: [UInt32] = (0..<256).map { i -> UInt32 in
    var c = UInt32(i)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  static func checksum(_ data: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in data { c = table[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
  }
}
