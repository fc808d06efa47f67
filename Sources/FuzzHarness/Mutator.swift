import ModelFormat

/// Structure-aware fuzzing: the fuzzer's bytes are read as a seed index followed by 4-byte mutation
/// instructions `(kind, a, b, c)` applied to that seed's IR — a dim, an attribute, a dtype, an edge, an
/// initializer value, the opset — so most inputs are well-formed protobuf that reaches the kernels'
/// validation instead of stopping in the reader. The result is serialized and run through the byte pipeline.
public enum StructureMutator {
  /// Values that break naive arithmetic: zero, negatives, one past small ranges, and overflow bait.
  static let interesting: [Int] = [0, 1, -1, 2, 3, -2, 4, 5, 7, 8, 16, 64, 255, 1000, -1000, 1 << 16, 1 << 20,
                                   1 << 31, -(1 << 31), 1 << 32, 1 << 40, 1 << 62, Int.max, Int.min, Int.max / 2, -3]
  static let dtypes: [DataType] = [.float, .int64, .int32, .double, .uint8, .bool, .float16, .int8, .string, .undefined,
                                   .uint64, .bfloat16, .int4, .complex64]
  static let ops = ["Conv", "MaxPool", "AveragePool", "Gather", "Slice", "Pad", "Resize", "Reshape", "Transpose",
                    "Concat", "Split", "Softmax", "ReduceMean", "Expand", "Tile", "Where", "TopK", "Range",
                    "ConstantOfShape", "Gemm", "MatMul", "BatchNormalization", "LayerNormalization", "Flatten",
                    "DepthToSpace", "SpaceToDepth", "CumSum", "Trilu", "OneHot", "ScatterElements", "ScatterND",
                    "GatherElements", "GatherND", "ArgMax", "Squeeze", "Unsqueeze", "ConvTranspose", "Einsum",
                    "LpPool", "GlobalMaxPool", "Compress", "Unique", "NonZero", "Cast", "Upsample", "EyeLike", "Identity"]

  static func pick<T>(_ xs: [T], _ i: UInt8) -> T? { xs.isEmpty ? nil : xs[Int(i) % xs.count] }

  /// The mutated model for these fuzzer bytes, or nil when there are no bytes.
  public static func model(from data: UnsafeRawBufferPointer, seeds: [Model]) -> Model? {
    guard let first = data.first, var m = pick(seeds, first) else { return nil }
    var i = 1
    while i + 4 <= data.count {
      apply(&m, data[i], data[i + 1], data[i + 2], data[i + 3])
      i += 4
    }
    return m
  }

  static func apply(_ m: inout Model, _ kind: UInt8, _ a: UInt8, _ b: UInt8, _ c: UInt8) {
    var g = m.graph
    let value = interesting[Int(c) % interesting.count]
    let small = Int(c) - 128  // a dense small range, for axes and indices
    let n = g.nodes.count
    switch kind % 12 {
    case 0:  // set an int attribute (or one element of an ints attribute)
      guard n > 0 else { break }
      let k = Int(a) % n
      guard !g.nodes[k].attributes.isEmpty else { break }
      let j = Int(b) % g.nodes[k].attributes.count
      var attr = g.nodes[k].attributes[j]
      switch attr.value {
      case .int: attr.value = .int(c & 1 == 0 ? value : small)
      case .ints(var v) where !v.isEmpty:
        v[Int(c >> 4) % v.count] = c & 1 == 0 ? value : Int(c & 0x0f) - 4
        attr.value = .ints(v)
      case .ints: attr.value = .ints([value])
      case .float: attr.value = .float([Float.nan, .infinity, -.infinity, 0, -1, 1e30, 1e-30][Int(c) % 7])
      case .string(let s): attr.value = .string(c & 1 == 0 ? [] : Array(s.dropLast()))
      default: break
      }
      g.nodes[k].attributes[j] = attr
    case 1:  // grow or shrink an ints attribute's length
      guard n > 0 else { break }
      let k = Int(a) % n
      guard !g.nodes[k].attributes.isEmpty else { break }
      let j = Int(b) % g.nodes[k].attributes.count
      if case .ints(var v) = g.nodes[k].attributes[j].value {
        if c & 1 == 0 { v.append(value) } else if !v.isEmpty { v.removeLast() }
        g.nodes[k].attributes[j].value = .ints(v)
      }
    case 2:  // add or remove a named attribute the op may know
      guard n > 0 else { break }
      let k = Int(a) % n
      let names = ["axis", "group", "kernel_shape", "strides", "pads", "dilations", "perm", "axes", "keepdims",
                   "blocksize", "to", "mode", "auto_pad", "ceil_mode", "transA", "transB", "epsilon", "value", "k"]
      guard let name = pick(names, b) else { break }
      if c & 3 == 0 {
        g.nodes[k].attributes.removeAll { $0.name == name }
      } else if c & 3 == 1 {
        g.nodes[k].setAttribute(Attribute(name: name, value: .int(value)))
      } else if c & 3 == 2 {
        g.nodes[k].setAttribute(Attribute(name: name, value: .ints([value, small, 1])))
      } else {
        g.nodes[k].setAttribute(Attribute(name: name, value: .string(Array("SAME_LOWER".utf8))))
      }
    case 3:  // change a declared input dim (or its rank)
      guard !g.inputs.isEmpty, case .tensor(let t, let s)? = g.inputs[Int(a) % g.inputs.count].type else { break }
      var dims = s ?? []
      if c & 0x80 != 0 {
        if c & 1 == 0 { dims.append(.value(Int(c & 7))) } else if !dims.isEmpty { dims.removeLast() }
      } else if !dims.isEmpty {
        dims[Int(b) % dims.count] = c & 1 == 0 ? .value(Int(c >> 1) % 9) : .symbol("S\(b % 2)")
      }
      g.inputs[Int(a) % g.inputs.count].type = .tensor(t, dims)
    case 4:  // change a declared input dtype
      guard !g.inputs.isEmpty, case .tensor(_, let s)? = g.inputs[Int(a) % g.inputs.count].type,
            let t = pick(dtypes, c) else { break }
      g.inputs[Int(a) % g.inputs.count].type = .tensor(t, s)
    case 5:  // rewire an edge: a node input now reads another value (or nothing)
      guard n > 0 else { break }
      let k = Int(a) % n
      guard !g.nodes[k].inputs.isEmpty else { break }
      let names = g.inputs.map(\.name) + g.initializers.map(\.name) + g.nodes.flatMap(\.outputs) + [""]
      g.nodes[k].inputs[Int(b) % g.nodes[k].inputs.count] = pick(names, c) ?? ""
    case 6:  // add or drop a node input
      guard n > 0 else { break }
      let k = Int(a) % n
      if c & 1 == 0, !g.nodes[k].inputs.isEmpty { g.nodes[k].inputs.removeLast() }
      else if let name = pick(g.initializers.map(\.name) + g.inputs.map(\.name), b) { g.nodes[k].inputs.append(name) }
    case 7:  // set one initializer element (integer initializers are shapes, indices, pads, axes)
      guard !g.initializers.isEmpty else { break }
      let k = Int(a) % g.initializers.count
      setElement(&g.initializers[k], Int(b), c & 1 == 0 ? value : small)
    case 8:  // reshape an initializer: new dims with matching data, or a different dtype
      guard !g.initializers.isEmpty else { break }
      let k = Int(a) % g.initializers.count
      let old = g.initializers[k]
      var dims = old.shape
      if c & 0x80 != 0 { dims = c & 1 == 0 ? dims + [Int(b) % 4] : Array(dims.dropLast()) }
      else if !dims.isEmpty { dims[Int(b) % dims.count] = Int(c) % 9 }
      let t = c & 0x40 != 0 ? (pick(dtypes, b) ?? old.dataType) : old.dataType
      guard t != .string, t != .undefined, let count = shapeElementCount(dims), count <= 4096,
            let replacement = try? Tensor(name: old.name, zeros: t, shape: dims) else { break }
      g.initializers[k] = replacement
    case 9:  // swap an op for another
      guard n > 0, let op = pick(ops, c) else { break }
      g.nodes[Int(a) % n].opType = op
    case 10:  // reorder or duplicate nodes (breaks topological order, duplicates outputs)
      guard n > 1 else { break }
      if c & 1 == 0 { g.nodes.swapAt(Int(a) % n, Int(b) % n) } else { g.nodes.append(g.nodes[Int(a) % n]) }
    default:  // opset version
      m.opsetImports = [OpsetImport(domain: "", version: [1, 6, 7, 9, 10, 11, 12, 13, 17, 18, 21, 99, 0][Int(c) % 13])]
    }
    m.graph = g
  }

  /// Writes `value` into element `index` (mod count) of an integer or float initializer.
  static func setElement(_ t: inout Tensor, _ index: Int, _ value: Int) {
    let n = t.elementCount
    guard n > 0, t.buffer.count >= t.byteCount else { return }
    let i = index % n
    guard let copy = try? Buffer(copying: UnsafeRawBufferPointer(start: t.buffer.baseAddress, count: t.byteCount)) else { return }
    let p = copy.baseAddress
    switch t.dataType {
    case .int64: p.storeBytes(of: Int64(value), toByteOffset: i * 8, as: Int64.self)
    case .int32: p.storeBytes(of: Int32(truncatingIfNeeded: value), toByteOffset: i * 4, as: Int32.self)
    case .float: p.storeBytes(of: Float(value), toByteOffset: i * 4, as: Float.self)
    default: return
    }
    if let replacement = try? Tensor(name: t.name, dataType: t.dataType, shape: t.shape, buffer: copy) { t = replacement }
  }
}
