import CKernels
import ModelFormat

/// ONNX `MatMul`: numpy matmul — batch dims broadcast, a 1-D A gains a leading 1 and a 1-D B a trailing 1
/// (both removed from the result).
///
/// float with a constant 2-D B (weights): every row of A, batch dims included, through the B-panel GEMM
/// on B packed once (see `runPanelGemm`). Otherwise float/double: one BLAS call per batch matrix, batches
/// spread over the pool (a single large matrix is split into row/column blocks instead). Other types use
/// a plain loop.
final class MatMulKernel: OpKernel, @unchecked Sendable {
  let label: String
  /// A constant 2-D float B packed into column panels.
  let panelB: [Float]?
  /// B's spec when `panelB` holds it: the program then drops the constant B (see `releasableInputs`), which
  /// otherwise stayed resident beside its panels — a second copy of every such weight.
  let constantBSpec: TensorSpec?
  var releasableInputs: [Int] { constantBSpec == nil ? [] : [1] }

  init(_ ctx: NodeContext) throws {
    _ = openBLASSingleThreaded
    label = ctx.label
    let packed = packConstantB(ctx, transposed: false)
    panelB = packed?.panels
    constantBSpec = packed?.spec
  }

  private func bSpec(_ inputs: [TensorSpec?]) throws -> TensorSpec { try specOfB(inputs, constantBSpec, label) }

  struct Layout {
    var m: Int, n: Int, k: Int
    var batch: [Int]
    var aStrides: [Int], bStrides: [Int]
    var outShape: [Int]
    var batchCount: Int { batch.reduce(1, *) }
  }

  func layout(_ a0: [Int], _ b0: [Int]) throws -> Layout {
    guard !a0.isEmpty, !b0.isEmpty else { throw SecateurError.invalidModel("\(label): MatMul operands must have rank ≥ 1, got \(a0) and \(b0)") }
    let a = a0.count == 1 ? [1] + a0 : a0
    let b = b0.count == 1 ? b0 + [1] : b0
    let m = a[a.count - 2], k = a[a.count - 1], kb = b[b.count - 2], n = b[b.count - 1]
    guard k == kb else { throw SecateurError.invalidModel("\(label): inner dims differ: A \(a0), B \(b0)") }
    // BLAS takes 32-bit sizes.
    guard m < Int32.max, n < Int32.max, k < Int32.max else { throw SecateurError.unsupported("\(label): A \(a0) or B \(b0) is too large for BLAS") }
    let ab = Array(a.dropLast(2)), bb = Array(b.dropLast(2))
    let batch = try broadcastShapes([ab, bb], label)
    var out = batch
    if a0.count > 1 { out.append(m) }
    if b0.count > 1 { out.append(n) }
    return Layout(m: m, n: n, k: k, batch: batch,
                  aStrides: broadcastStrides(ab, to: batch), bStrides: broadcastStrides(bb, to: batch), outShape: out)
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let a = try required(inputs, 0, label), b = try bSpec(inputs)
    try a.require(matmulTypes, label, "A")
    guard b.dataType == a.dataType else { throw SecateurError.invalidModel("\(label): A is \(a.dataType) but B is \(b.dataType)") }
    return [TensorSpec(a.dataType, try layout(a.shape, b.shape).outShape)]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard let a = inputs.first ?? nil, let y = outputs.first else { return }
    let b = inputs.count > 1 ? inputs[1] : nil
    guard let bShape = b?.shape ?? constantBSpec?.shape else { return }
    let l = try layout(a.shape, bShape)
    if a.dataType == .float, let panelB, bShape.count == 2 {
      // B has no batch dims, so A's batch matrices are consecutive rows of one (rows × k) matrix.
      runPanelGemm(panelB, m: l.batchCount * l.m, n: l.n, k: l.k, a.pointer(Float.self), lda: l.k, transA: false, y.pointer(Float.self),
                   alpha: 1, accumulate: false, context.pool)
      return
    }
    guard let b else { throw SecateurError.runtime("\(label): B was released but its panels do not apply") }
    switch a.dataType {
    case .float: blas(l, a.pointer(Float.self), b.pointer(Float.self), y.pointer(Float.self), context)
    case .double: blas(l, a.pointer(Double.self), b.pointer(Double.self), y.pointer(Double.self), context)
    case .float16: loop(l, a, b, y, Float16.self, context)
    case .int32: loop(l, a, b, y, Int32.self, context)
    case .int64: loop(l, a, b, y, Int64.self, context)
    case .uint32: loop(l, a, b, y, UInt32.self, context)
    case .uint64: loop(l, a, b, y, UInt64.self, context)
    default: throw SecateurError.unsupported("\(label): element type \(a.dataType) is not supported")
    }
  }

  /// Element offsets of batch matrix `i` in A and B.
  @inline(__always)
  static func offsets(_ l: Layout, _ i: Int) -> (Int, Int) {
    var rest = i, ao = 0, bo = 0
    for d in stride(from: l.batch.count - 1, through: 0, by: -1) {
      let c = rest % l.batch[d]
      rest /= l.batch[d]
      ao += c * l.aStrides[d]
      bo += c * l.bStrides[d]
    }
    return (ao * l.m * l.k, bo * l.k * l.n)
  }

  private func blas<T: BinaryFloatingPoint>(_ l: Layout, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>,
                       _ context: RunContext) {
    let call = BlasCall(transA: false, transB: false, m: l.m, n: l.n, k: l.k, lda: l.k, ldb: l.n, ldc: l.n, alpha: 1, beta: 0)
    let count = l.batchCount, mn = l.m * l.n
    if count * mn == 0 { return }
    // BLAS leaves C untouched when k is 0; the empty sum is 0.
    if l.k == 0 { y.update(repeating: T.zero, count: count * mn); return }
    if count == 1 { call.run(a, b, y, context.pool, tasks: 1); return }
    context.pool.parallelRanges(count, grain: max(1, 65_536 / max(1, mn * l.k))) { range in
      for i in range {
        let (ao, bo) = MatMulKernel.offsets(l, i)
        call.run(a + ao, b + bo, y + i * mn, context.pool, tasks: count)
      }
    }
  }

  private func loop<T: LoopScalar>(_ l: Layout, _ a: TensorView, _ b: TensorView, _ y: TensorView, _: T.Type,
                                   _ context: RunContext) {
    let ap = a.pointer(T.self), bp = b.pointer(T.self), yp = y.pointer(T.self), mn = l.m * l.n
    context.pool.parallelRanges(l.batchCount, grain: 1) { range in
      for i in range {
        let (ao, bo) = MatMulKernel.offsets(l, i)
        loopMatMul(ap + ao, l.k, 1, bp + bo, l.n, 1, yp + i * mn, m: l.m, n: l.n, k: l.k, alpha: 1, beta: 1, addend: nil)
      }
    }
  }
}
