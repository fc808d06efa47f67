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
    // ModelProto.graph (7) → GraphProto.initializer (5) → TensorProto: everything else verbatim.
    try copy(&r, &w, rewriting: 7, "GraphProto") { g, sub in
      try copy(&g, &sub, rewriting: 5, "TensorProto") { t, tsub in try tensor(&t, &tsub) }
    }
    return w.bytes
  }

  /// Copies the fields of the message `r` reads into `w` verbatim, except length-delimited field `field`,
  /// whose sub-message is re-encoded by `body`.
  private static func copy(_ r: inout ProtoReader, _ w: inout ProtoWriter, rewriting field: Int, _ context: String,
                           _ body: (inout ProtoReader, inout ProtoWriter) throws -> Void) throws {
    while true {
      let start = r.position
      guard let (f, wire) = try r.nextField() else { return }
      if f == field, wire == .lengthDelimited {
        var m = try r.readMessage(context)
        var sub = ProtoWriter()
        try body(&m, &sub)
        w.bytesField(field, sub.bytes)
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
