/// The bytes libonnx's checker is given at load time: the model file with the payload of every large
/// top-level initializer's `raw_data` cut to one byte.
///
/// Why: the checker parses the whole ModelProto again (protobuf copies every `raw_data` into its own
/// string), so checking the file as is held a second full copy of the weights — ~100 MB more peak RSS and
/// the time to copy it for ResNet-50. Libonnx 1.12's checker never compares a `raw_data` length with the
/// tensor's shape (it only requires exactly one non-empty data field, which one byte still is), and
/// `ONNXReader.readTensor` has already enforced exact payload lengths, so the copy loses no check that
/// matters. Callers use it only when `sct_onnx_checker_ignores_raw_data_size()` confirms that behaviour
/// of the linked libonnx, and only for the plain check: strict shape inference (full check) reads
/// initializer values.
///
/// Everything else is copied byte for byte: nested subgraphs, `Constant` values, sparse initializers and
/// small initializers (which shape inference or a future checker might read) keep their data.
enum CheckerCopy {
  /// Payloads at least this long are cut.
  static let elideFrom = 1024

  static func elidingWeights(_ storage: Buffer) throws -> [UInt8] {
    var r = ProtoReader(storage: storage, range: 0..<storage.count, context: "ModelProto")
    var w = ProtoWriter()
    while true {
      let start = r.position
      guard let (field, wire) = try r.nextField() else { break }
      if field == 7, wire == .lengthDelimited {  // ModelProto.graph
        var g = try r.readMessage("GraphProto")
        var sub = ProtoWriter()
        try graph(&g, &sub)
        w.bytesField(7, sub.bytes)
      } else {
        try r.skip(wire)
        append(storage, start..<r.position, to: &w)
      }
    }
    return w.bytes
  }

  private static func graph(_ r: inout ProtoReader, _ w: inout ProtoWriter) throws {
    while true {
      let start = r.position
      guard let (field, wire) = try r.nextField() else { return }
      if field == 5, wire == .lengthDelimited {  // GraphProto.initializer
        var t = try r.readMessage("TensorProto")
        var sub = ProtoWriter()
        try tensor(&t, &sub)
        w.bytesField(5, sub.bytes)
      } else {
        try r.skip(wire)
        append(r.storage, start..<r.position, to: &w)
      }
    }
  }

  private static func tensor(_ r: inout ProtoReader, _ w: inout ProtoWriter) throws {
    while true {
      let start = r.position
      guard let (field, wire) = try r.nextField() else { return }
      if field == 9, wire == .lengthDelimited {  // TensorProto.raw_data
        let payload = try r.readLengthDelimited()
        if payload.count >= elideFrom {
          w.bytesField(9, UnsafeRawBufferPointer(start: r.storage.baseAddress + payload.lowerBound, count: 1))
          continue
        }
      } else {
        try r.skip(wire)
      }
      append(r.storage, start..<r.position, to: &w)
    }
  }

  private static func append(_ storage: Buffer, _ range: Range<Int>, to w: inout ProtoWriter) {
    w.bytes.append(contentsOf: UnsafeRawBufferPointer(start: storage.baseAddress + range.lowerBound, count: range.count))
  }
}
