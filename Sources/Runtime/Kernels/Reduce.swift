import ModelFormat

/// ONNX Reduce* ops and ArgMax/ArgMin (Reduce+Arg.swift). The element functions and the loop driver
/// that walks the reduced axes live in Reduce+Engine.swift.
///
/// Attributes: `keepdims` (default 1), `noop_with_empty_axes` (default 0; with no axes, reduce all
/// unless it is set, in which case the input passes through unchanged).
enum ReduceKernels {
  static let registrations: [OpRegistration] = reduceRegistrations + argRegistrations

  static let reduceRegistrations: [OpRegistration] = ReduceKind.allCases.flatMap { kind in
    // 13 (ReduceSum) / 18 (the others): `axes` moved from an attribute to optional input 1,
    // and `noop_with_empty_axes` was added.
    let inputSince = kind == .sum ? 13 : 18
    return [
      OpRegistration(kind.rawValue) { c in try ReduceKernel(c, kind, axesFromInput: false) },
      OpRegistration(kind.rawValue, since: inputSince) { c in try ReduceKernel(c, kind, axesFromInput: true) },
    ]
  }
}

enum ReduceKind: String, CaseIterable, Sendable {
  case sum = "ReduceSum", mean = "ReduceMean", max = "ReduceMax", min = "ReduceMin", prod = "ReduceProd"
  case l1 = "ReduceL1", l2 = "ReduceL2", logSum = "ReduceLogSum", logSumExp = "ReduceLogSumExp"
  case sumSquare = "ReduceSumSquare"
}

/// Which axes of a rank-`rank` tensor `axes` reduces; nil when the op passes its input through
/// (no axes and `noop_with_empty_axes`). Throws on out-of-range or repeated axes.
func reduceMask(_ axes: [Int], rank: Int, noop: Bool, _ label: String) throws -> [Bool]? {
  if axes.isEmpty { return noop ? nil : [Bool](repeating: true, count: rank) }
  var mask = [Bool](repeating: false, count: rank)
  for a in axes {
    let n = a < 0 ? a + rank : a
    guard n >= 0, n < rank else {
      throw SecateurError.invalidModel("\(label): axis \(a) is out of range for rank \(rank)")
    }
    guard !mask[n] else { throw SecateurError.invalidModel("\(label): axis \(a) is repeated") }
    mask[n] = true
  }
  return mask
}

final class ReduceKernel: OpKernel {
  let label: String
  let kind: ReduceKind
  let keepDims: Bool
  let noopWithEmptyAxes: Bool
  /// The `axes` attribute (opsets before the input form); nil = none given.
  let axesAttribute: [Int]?
  let axesFromInput: Bool

  init(_ ctx: NodeContext, _ kind: ReduceKind, axesFromInput: Bool) throws {
    label = ctx.label
    self.kind = kind
    keepDims = try ctx.int("keepdims", 1) != 0
    noopWithEmptyAxes = try ctx.int("noop_with_empty_axes", 0) != 0
    axesAttribute = axesFromInput ? nil : try ctx.ints("axes")
    self.axesFromInput = axesFromInput
  }

  private var types: Set<DataType> {
    kind == .max || kind == .min ? ElementTypes.numeric.union([.bool]) : ElementTypes.numeric
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try x.require(types, label)
    var axes = axesAttribute ?? []
    if axesFromInput, let a = optionalSpec(inputs, 1) {
      try a.require([.int64], label, "axes")
      guard a.shape.count <= 1 else { throw SecateurError.invalidModel("\(label): axes \(a) must be 1-D") }
      if a.elementCount > 0 { axes = try values.ints(1, label) }
    }
    guard let mask = try reduceMask(axes, rank: x.shape.count, noop: noopWithEmptyAxes, label) else { return [x] }
    var shape: [Int] = []
    for (d, n) in x.shape.enumerated() {
      if !mask[d] { shape.append(n) } else if keepDims { shape.append(1) }
    }
    return [TensorSpec(x.dataType, shape)]
  }

  /// The reduced-axis mask for this run (validated by `outputSpecs`); nil = pass through.
  private func mask(_ inputs: [TensorView?], rank: Int) -> [Bool]? {
    var axes = axesAttribute ?? []
    if axesFromInput, let a = inputView(inputs, 1), a.dataType == .int64 {
      let p = a.pointer(Int64.self)
      axes = (0..<a.count).map { Int(p[$0]) }
    }
    return (try? reduceMask(axes, rank: rank, noop: noopWithEmptyAxes, label)) ?? nil
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputView(inputs, 0), let y = outputs.first else { return }
    guard let mask = mask(inputs, rank: x.shape.count) else {
      if x.data != y.data, let bytes = x.spec.byteCount, y.spec.byteCount == bytes {
        y.data.copyMemory(from: x.data, byteCount: bytes)
      }
      return
    }
    let job = ReduceJob(shape: x.shape, mask: mask, pool: context.pool)
    switch x.dataType {
    case .float: job.floats(kind, x.pointer(Float.self), y.pointer(Float.self), Float.self)
    case .double: job.floats(kind, x.pointer(Double.self), y.pointer(Double.self), Double.self)
    case .float16: job.floats(kind, x.pointer(Float16.self), y.pointer(Float16.self), Float.self)
    case .int8: job.ints(kind, x.pointer(Int8.self), y.pointer(Int8.self))
    case .int16: job.ints(kind, x.pointer(Int16.self), y.pointer(Int16.self))
    case .int32: job.ints(kind, x.pointer(Int32.self), y.pointer(Int32.self))
    case .int64: job.ints(kind, x.pointer(Int64.self), y.pointer(Int64.self))
    case .uint8, .bool: job.ints(kind, x.pointer(UInt8.self), y.pointer(UInt8.self))
    case .uint16: job.ints(kind, x.pointer(UInt16.self), y.pointer(UInt16.self))
    case .uint32: job.ints(kind, x.pointer(UInt32.self), y.pointer(UInt32.self))
    case .uint64: job.ints(kind, x.pointer(UInt64.self), y.pointer(UInt64.self))
    default: break
    }
  }
}
