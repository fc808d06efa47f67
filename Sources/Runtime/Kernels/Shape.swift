import ModelFormat

/// Ops that only change how a tensor's elements are shaped, or whose outputs are shapes:
/// Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, Expand, ConstantOfShape, Range.
enum ShapeKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("Shape", since: 1) { try ShapeKernel($0) },
    OpRegistration("Shape", since: 15) { try ShapeKernel($0) },  // 15: start/end attributes
    OpRegistration("Size", since: 1) { SizeKernel($0) },
    OpRegistration("Reshape", since: 1) { try ReshapeKernel($0) },  // 1: 'shape' attribute
    OpRegistration("Reshape", since: 5) { try ReshapeKernel($0) },  // 5: shape moved to an input
    OpRegistration("Reshape", since: 14) { try ReshapeKernel($0) },  // 14: allowzero
    OpRegistration("Flatten", since: 1) { try FlattenKernel($0) },
    OpRegistration("Flatten", since: 11) { try FlattenKernel($0) },  // 11: negative axis
    OpRegistration("Squeeze", since: 1) { try SqueezeKernel($0, unsqueeze: false) },
    OpRegistration("Squeeze", since: 13) { try SqueezeKernel($0, unsqueeze: false) },  // 13: axes moved to an input
    OpRegistration("Unsqueeze", since: 1) { try SqueezeKernel($0, unsqueeze: true) },
    OpRegistration("Unsqueeze", since: 13) { try SqueezeKernel($0, unsqueeze: true) },  // 13: axes moved to an input
    OpRegistration("Identity", since: 1) { IdentityKernel($0) },
    OpRegistration("Dropout", since: 1) { try DropoutKernel($0) },
    OpRegistration("Dropout", since: 12) { try DropoutKernel($0) },  // 12: ratio/training_mode inputs
    OpRegistration("Expand", since: 8) { ExpandKernel($0) },
    OpRegistration("ConstantOfShape", since: 9) { try ConstantOfShapeKernel($0) },
    OpRegistration("Range", since: 11) { RangeKernel($0) },
  ]
}

/// `Shape`: the input's dims as int64, sliced by `start`/`end` (15, clamped like Python slicing).
final class ShapeKernel: OpKernel {
  let label: String
  let start: Int, end: Int?
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    start = try ctx.int("start", 0)
    end = try ctx.intOrNil("end")
  }
  func range(_ rank: Int) -> Range<Int> {
    func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
    let s = clamp(start), e = clamp(end ?? rank)
    return s..<max(s, e)
  }
  func valuesFromSpecs(_ inputs: [TensorSpec?]) throws -> [Tensor]? {
    let x = try required(inputs, 0, label)
    let dims = Array(x.shape[range(x.rank)])
    return [try int64Tensor(dims, shape: [dims.count])]
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    return [TensorSpec(.int64, [range(x.rank).count])]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let p = outputs[0].pointer(Int64.self)
    for (k, i) in range(x.shape.count).enumerated() { p[k] = Int64(x.shape[i]) }
  }
}

/// `Size`: the input's element count as an int64 scalar.
final class SizeKernel: OpKernel {
  let label: String
  init(_ ctx: NodeContext) { label = ctx.label }
  func valuesFromSpecs(_ inputs: [TensorSpec?]) throws -> [Tensor]? {
    [try int64Tensor([try required(inputs, 0, label).elementCount], shape: [])]
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] { [TensorSpec(.int64, [])] }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    outputs[0].pointer(Int64.self).pointee = Int64(inputs[0]?.count ?? 0)
  }
}

/// `Reshape`: 0 copies the input dim (unless `allowzero`), -1 is inferred from the element count.
final class ReshapeKernel: OpKernel {
  let label: String
  let allowZero: Bool
  let attributeShape: [Int]?
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    allowZero = try ctx.int("allowzero", 0) != 0
    attributeShape = ctx.opset < 5 ? try ctx.ints("shape") : nil
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    let target = try attributeShape ?? values.ints(1, label)
    return [TensorSpec(x.dataType, try reshapeTarget(x.shape, target, allowZero: allowZero, label))]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    copyThrough(inputs, outputs)
  }
}

/// Resolves a Reshape target against the input shape.
func reshapeTarget(_ input: [Int], _ target: [Int], allowZero: Bool, _ label: String) throws -> [Int] {
  var out = target
  var inferred: Int? = nil
  for (i, d) in target.enumerated() {
    if d == 0 && !allowZero {
      guard i < input.count else { throw SecateurError.invalidModel("\(label): shape \(target) copies dim \(i) of \(input), which has none") }
      out[i] = input[i]
    } else if d == -1 {
      guard inferred == nil else { throw SecateurError.invalidModel("\(label): shape \(target) has more than one -1") }
      inferred = i
    } else if d < 0 {
      throw SecateurError.invalidModel("\(label): shape \(target) has a negative dim")
    }
  }
  guard let total = shapeElementCount(input) else { throw SecateurError.invalidModel("\(label): input shape overflows") }
  if let k = inferred {
    var known = 1
    for (i, d) in out.enumerated() where i != k { known = known.multipliedReportingOverflow(by: d).partialValue }
    guard known != 0, total % known == 0 else {
      throw SecateurError.invalidModel("\(label): cannot reshape \(input) into \(target)")
    }
    out[k] = total / known
  }
  guard shapeElementCount(out) == total else {
    throw SecateurError.invalidModel("\(label): cannot reshape \(input) (\(total) elements) into \(target)")
  }
  return out
}

/// `Flatten`: [d0…d(axis-1), d(axis)…] → 2-D.
final class FlattenKernel: OpKernel {
  let label: String
  let axis: Int
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    axis = try ctx.int("axis", 1)
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    let a = axis < 0 ? axis + x.rank : axis
    guard a >= 0, a <= x.rank else { throw SecateurError.invalidModel("\(label): axis \(axis) is out of range for rank \(x.rank)") }
    return [TensorSpec(x.dataType, [product(x.shape[0..<a]), product(x.shape[a...])])]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    copyThrough(inputs, outputs)
  }
}

/// `Squeeze` / `Unsqueeze`: axes from the attribute (before 13) or input 1 (13+).
final class SqueezeKernel: OpKernel {
  let label: String
  let unsqueeze: Bool
  let attributeAxes: [Int]?
  let axesFromInput: Bool
  init(_ ctx: NodeContext, unsqueeze: Bool) throws {
    label = ctx.label
    self.unsqueeze = unsqueeze
    axesFromInput = ctx.opset >= 13
    attributeAxes = axesFromInput ? nil : try ctx.ints("axes")
    if unsqueeze && !axesFromInput && attributeAxes == nil { throw ctx.error("attribute 'axes' is required") }
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    var axes: [Int]? = attributeAxes
    if axesFromInput, inputs.count > 1, inputs[1] != nil { axes = try values.ints(1, label) }
    if unsqueeze {
      guard let axes else { throw SecateurError.invalidModel("\(label): axes are required") }
      let r = x.rank + axes.count
      let norm = try axes.map { try normalizeAxis($0, rank: r, label) }
      guard Set(norm).count == norm.count else { throw SecateurError.invalidModel("\(label): repeated axes \(axes)") }
      var out: [Int] = []
      var it = x.shape.makeIterator()
      for i in 0..<r { out.append(norm.contains(i) ? 1 : (it.next() ?? 1)) }
      return [TensorSpec(x.dataType, out)]
    }
    guard let axes, !axes.isEmpty else { return [TensorSpec(x.dataType, x.shape.filter { $0 != 1 })] }
    let norm = try axes.map { try normalizeAxis($0, rank: x.rank, label) }
    for a in norm where x.shape[a] != 1 {
      throw SecateurError.invalidModel("\(label): cannot squeeze axis \(a) of size \(x.shape[a])")
    }
    return [TensorSpec(x.dataType, x.shape.enumerated().filter { !norm.contains($0.offset) }.map(\.element))]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    copyThrough(inputs, outputs)
  }
}

/// `Identity`: tensors only (optional and sequence values are not supported by the runtime).
final class IdentityKernel: OpKernel {
  let label: String
  init(_ ctx: NodeContext) { label = ctx.label }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    return [x]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    copyThrough(inputs, outputs)
  }
}

/// `Dropout` at inference: output = input, mask all true. Training mode with a non-zero ratio would
/// need random numbers and is refused.
final class DropoutKernel: OpKernel {
  let label: String
  let ratioAttribute: Float
  let inputsForm: Bool
  /// Before 10 the mask had the input's element type; from 10 it is bool.
  let maskIsBool: Bool
  let wantsMask: Bool
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    inputsForm = ctx.opset >= 12
    maskIsBool = ctx.opset >= 10
    // Only produce the mask when the node names it: the session points unnamed outputs at scratch memory.
    wantsMask = ctx.node.outputs.count > 1 && !ctx.node.outputs[1].isEmpty
    ratioAttribute = try ctx.float("ratio", 0.5)
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    if inputsForm, inputs.count > 2, inputs[2] != nil {
      let training = try values.ints(2, label).first ?? 0
      var ratio = 0.5
      if inputs.count > 1, inputs[1] != nil {
        guard let r = values[1]?.doubleValues()?.first else { throw KernelError.needsValue(input: 1) }
        ratio = r
      }
      if training != 0 && ratio != 0 {
        throw SecateurError.unsupported("\(label): training-mode dropout with ratio \(ratio) is not supported")
      }
    }
    if !maskIsBool { _ = try withCastType(x.dataType, label) { _ in 0 } }
    return wantsMask ? [x, TensorSpec(maskIsBool ? .bool : x.dataType, x.shape)] : [x]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    copyThrough(inputs, outputs)
    if outputs.count > 1 {
      let m = outputs[1]
      let one = try scalarBytes(1, m.dataType, label)
      one.withUnsafeBytes { fillElements(m.data, count: m.count, value: $0.baseAddress!, elementSize: m.dataType.byteSize) }
    }
  }
}

/// `Expand`: numpy broadcast of the input against the given shape.
final class ExpandKernel: OpKernel {
  let label: String
  init(_ ctx: NodeContext) { label = ctx.label }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let x = try required(inputs, 0, label)
    try requireMovable(x.dataType, label)
    let shape = try values.ints(1, label)
    guard shape.allSatisfy({ $0 >= 0 }) else { throw SecateurError.invalidModel("\(label): shape \(shape) has a negative dim") }
    return [TensorSpec(x.dataType, try broadcastShapes([x.shape, shape], label))]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let x = inputs[0] else { return }
    let y = outputs[0]
    stridedCopy(dst: y.data, y.spec.strides, src: x.data, broadcastStrides(x.shape, to: y.shape),
                shape: y.shape, elementSize: y.dataType.byteSize, pool: context.pool)
  }
}

/// `ConstantOfShape`: a tensor of the given shape filled with `value` (default float 0).
final class ConstantOfShapeKernel: OpKernel {
  let label: String
  let value: Tensor
  init(_ ctx: NodeContext) throws {
    label = ctx.label
    value = try ctx.tensor("value") ?? Tensor([Float(0)], shape: [1], dataType: .float)
    guard value.elementCount == 1 else { throw ctx.error("'value' must hold one element") }
    try requireMovable(value.dataType, label)
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let shape = try values.ints(0, label)
    guard shape.allSatisfy({ $0 >= 0 }) else { throw SecateurError.invalidModel("\(label): shape \(shape) has a negative dim") }
    return [TensorSpec(value.dataType, shape)]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    let y = outputs[0]
    fillElements(y.data, count: y.count, value: value.buffer.baseAddress, elementSize: y.dataType.byteSize)
  }
}

/// `Range`: start, start+delta, … up to (excluding) limit; count = max(ceil((limit-start)/delta), 0).
final class RangeKernel: OpKernel {
  let label: String
  init(_ ctx: NodeContext) { label = ctx.label }
  static func scalars(_ t: [Tensor?]) -> (Double, Double, Double)? {
    guard t.count >= 3, let s = t[0]?.doubleValues()?.first, let l = t[1]?.doubleValues()?.first,
          let d = t[2]?.doubleValues()?.first else { return nil }
    return (s, l, d)
  }
  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let s = try required(inputs, 0, label)
    for i in 0..<3 {
      let t = try required(inputs, i, label)
      guard t.elementCount == 1, t.dataType == s.dataType else {
        throw SecateurError.invalidModel("\(label): start, limit and delta must be scalars of one type")
      }
      if values[i] == nil { throw KernelError.needsValue(input: i) }
    }
    guard let (start, limit, delta) = RangeKernel.scalars([values[0], values[1], values[2]]) else {
      throw SecateurError.unsupported("\(label): element type \(s.dataType) is not supported")
    }
    guard delta != 0 else { throw SecateurError.invalidModel("\(label): delta must not be zero") }
    let n = ((limit - start) / delta).rounded(.up)
    guard n.isFinite, n < 1e12 else { throw SecateurError.invalidModel("\(label): range of \(n) elements is too large") }
    _ = try withCastType(s.dataType, label) { _ in 0 }
    guard s.dataType.byteSize > 0 else { throw SecateurError.unsupported("\(label): element type \(s.dataType) is not supported") }
    return [TensorSpec(s.dataType, [Int(max(n, 0))])]
  }
  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    let y = outputs[0]
    let n = y.count
    guard n > 0, let s = inputs[0], let d = inputs[2] else { return }
    let t = y.dataType
    if t.isInteger {
      let start = readInts(s).first ?? 0, delta = readInts(d).first ?? 0
      // Implementation note: converted in chunks of 1024, so the scratch stays small whatever the output
      // type (fuzz finding: a whole-length Int64/Double array was 8× a uint8 output, beyond the memory limit).
      var vals = [Int64](repeating: 0, count: min(n, 1024))
      for lo in stride(from: 0, to: n, by: 1024) {
        let m = min(1024, n - lo)
        for i in 0..<m { vals[i] = Int64(truncatingIfNeeded: start &+ (lo + i) &* delta) }
        try vals.withUnsafeBytes {
          try convertElements(from: .int64, $0.baseAddress!, to: t, y.data + lo * t.byteSize, count: m, pool: context.pool, label)
        }
      }
    } else {
      var two = [Double](repeating: 0, count: 2)
      try two.withUnsafeMutableBytes { b in
        try convertElements(from: t, s.data, to: .double, b.baseAddress!, count: 1, pool: context.pool, label)
        try convertElements(from: t, d.data, to: .double, b.baseAddress! + 8, count: 1, pool: context.pool, label)
      }
      // start + i·delta in double, as numpy.arange, then rounded once to the element type.
      var vals = [Double](repeating: 0, count: min(n, 1024))
      for lo in stride(from: 0, to: n, by: 1024) {
        let m = min(1024, n - lo)
        for i in 0..<m { vals[i] = two[0] + Double(lo + i) * two[1] }
        try vals.withUnsafeBytes {
          try convertElements(from: .double, $0.baseAddress!, to: t, y.data + lo * t.byteSize, count: m, pool: context.pool, label)
        }
      }
    }
  }
}
