import CKernels
import COpenBLAS
import ModelFormat

enum GemmKernels {
  static let registrations: [OpRegistration] = [
    OpRegistration("Gemm", since: 1) { try GemmKernel($0) },
    // 6: 'broadcast' attribute removed (C always broadcasts).
    OpRegistration("Gemm", since: 6) { try GemmKernel($0) },
    // 7: unidirectional broadcasting of C.
    OpRegistration("Gemm", since: 7) { try GemmKernel($0) },
    // 9: int32/int64/uint32/uint64 inputs.
    OpRegistration("Gemm", since: 9) { try GemmKernel($0) },
    // 11: C became optional.
    OpRegistration("Gemm", since: 11) { try GemmKernel($0) },
    // 13: bfloat16.
    OpRegistration("Gemm", since: 13) { try GemmKernel($0) },
    OpRegistration("MatMul", since: 1) { try MatMulKernel($0) },
    // 9: integer element types.
    OpRegistration("MatMul", since: 9) { try MatMulKernel($0) },
    // 13: bfloat16.
    OpRegistration("MatMul", since: 13) { try MatMulKernel($0) },
  ]
}

/// Element types Gemm and MatMul accept.
let matmulTypes: Set<DataType> = [.float, .double, .float16, .int32, .int64, .uint32, .uint64]

/// One row-major matrix product `C[m0..<m1, n0..<n1] = alpha · op(A) · op(B) + beta · C` for float32/float64,
/// with `op` a transpose when asked; lda/ldb/ldc are the full row strides.
struct BlasCall {
  var transA: Bool, transB: Bool
  var m: Int, n: Int, k: Int
  var lda: Int, ldb: Int, ldc: Int
  var alpha: Double, beta: Double

  /// Runs `0..<m` × `0..<n` as blocks on the pool, each a single-threaded BLAS call.
  /// Implementation note: blocks split rows first (contiguous output), columns only when m is small.
  func run<T>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>, _ pool: ThreadPool, tasks: Int) {
    let target = pool.threadCount == 1 ? 1 : pool.threadCount * 3
    let flops = m * n * k
    let want = flops < 32_768 ? 1 : max(1, target / max(tasks, 1))
    let mBlocks = max(1, min(want, m / 8))
    let nBlocks = mBlocks >= want ? 1 : max(1, min(want / mBlocks, n / 32))
    let call = self
    let body = { (task: Int) in
      let mb = task / nBlocks, nb = task % nBlocks
      let m0 = call.m * mb / mBlocks, m1 = call.m * (mb + 1) / mBlocks
      let n0 = call.n * nb / nBlocks, n1 = call.n * (nb + 1) / nBlocks
      if m1 <= m0 || n1 <= n0 { return }
      let aOff = call.transA ? m0 : m0 * call.lda
      let bOff = call.transB ? n0 * call.ldb : n0
      call.block(a + aOff, b + bOff, c + m0 * call.ldc + n0, m1 - m0, n1 - n0)
    }
    if mBlocks * nBlocks == 1 { body(0) } else { pool.parallelFor(mBlocks * nBlocks, body) }
  }

  @inline(__always)
  private func block<T>(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ c: UnsafeMutablePointer<T>, _ mm: Int, _ nn: Int) {
    let ta = transA ? CblasTrans : CblasNoTrans, tb = transB ? CblasTrans : CblasNoTrans
    if mm == 1 {
      // One row (a batch-1 classifier): a matrix–vector product. sgemm would repack the whole weight
      // every call (5 MB on MobileNetV2's classifier, 5 % of its run); gemv streams it once.
      // Row 0 of op(A) has stride lda when A is transposed, else 1.
      let incA = Int32(transA ? lda : 1)
      let (rows, cols, tv) = transB ? (nn, k, CblasNoTrans) : (k, nn, CblasTrans)
      if T.self == Float.self {
        cblas_sgemv(CblasRowMajor, tv, Int32(rows), Int32(cols), Float(alpha),
                    UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), Int32(ldb),
                    UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), incA, Float(beta),
                    UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), 1)
        return
      } else if T.self == Double.self {
        cblas_dgemv(CblasRowMajor, tv, Int32(rows), Int32(cols), alpha,
                    UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), Int32(ldb),
                    UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), incA, beta,
                    UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), 1)
        return
      }
    }
    if T.self == Float.self {
      cblas_sgemm(CblasRowMajor, ta, tb, Int32(mm), Int32(nn), Int32(k), Float(alpha),
                  UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), Int32(lda),
                  UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), Int32(ldb), Float(beta),
                  UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), Int32(ldc))
    } else if T.self == Double.self {
      cblas_dgemm(CblasRowMajor, ta, tb, Int32(mm), Int32(nn), Int32(k), alpha,
                  UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), Int32(lda),
                  UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), Int32(ldb), beta,
                  UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), Int32(ldc))
    }
  }
}

/// A plain loop for the types BLAS lacks (float16 accumulates in Float; integers wrap like ONNX Runtime).
protocol LoopScalar {
  associatedtype Acc
  static var zeroAcc: Acc { get }
  static func fma(_ acc: Acc, _ a: Self, _ b: Self) -> Acc
  static func finish(_ acc: Acc, alpha: Double, beta: Double, c: Self?) -> Self
}
extension Float16: LoopScalar {
  static var zeroAcc: Float { 0 }
  static func fma(_ acc: Float, _ a: Float16, _ b: Float16) -> Float { acc + Float(a) * Float(b) }
  static func finish(_ acc: Float, alpha: Double, beta: Double, c: Float16?) -> Float16 {
    Float16(Float(alpha) * acc + (c.map { Float(beta) * Float($0) } ?? 0))
  }
}
extension FixedWidthInteger {
  static var zeroAcc: Self { 0 }
  static func fma(_ acc: Self, _ a: Self, _ b: Self) -> Self { acc &+ a &* b }
  static func finish(_ acc: Self, alpha: Double, beta: Double, c: Self?) -> Self {
    if alpha == 1 && (beta == 1 || c == nil) { return acc &+ (c ?? 0) }
    let v = alpha * Double(acc) + (c.map { beta * Double($0) } ?? 0)
    return v.isFinite && v >= Double(Self.min) && v < Double(Self.max) ? Self(v) : (v < 0 ? Self.min : Self.max)
  }
}
extension Int32: LoopScalar {}
extension Int64: LoopScalar {}
extension UInt32: LoopScalar {}
extension UInt64: LoopScalar {}

/// `C[i, j] = finish(Σ_k A[i, k]·B[k, j])` with explicit strides (element units) for A and B, so
/// transposes are just swapped strides.
func loopMatMul<T: LoopScalar>(_ a: UnsafePointer<T>, _ aRow: Int, _ aCol: Int, _ b: UnsafePointer<T>, _ bRow: Int, _ bCol: Int,
                               _ c: UnsafeMutablePointer<T>, m: Int, n: Int, k: Int, alpha: Double, beta: Double,
                               addend: ((Int, Int) -> T)?) {
  for i in 0..<m {
    for j in 0..<n {
      var acc = T.zeroAcc
      for p in 0..<k { acc = T.fma(acc, a[i * aRow + p * aCol], b[p * bRow + j * bCol]) }
      c[i * n + j] = T.finish(acc, alpha: alpha, beta: beta, c: addend?(i, j))
    }
  }
}

/// ONNX `Gemm`: Y = alpha · A′ · B′ + beta · C, A′/B′ optionally transposed, C broadcast to (M, N).
final class GemmKernel: OpKernel, @unchecked Sendable {
  let label: String
  /// `alpha`, `beta` default 1; `transA`, `transB` default 0.
  let alpha: Float, beta: Float
  let transA: Bool, transB: Bool
  /// A constant float B (weights) packed once into the column panels of CKernels' B-panel GEMM, which
  /// the float path then runs on for any number of rows of A (batch-1 classifiers are matrix–vector
  /// products that stream B once; see bgemm_body.h).
  let panelB: [Float]?
  /// B's spec when `panelB` holds it: the program then drops the constant B (see `releasableInputs`).
  let constantBSpec: TensorSpec?
  var releasableInputs: [Int] { constantBSpec == nil ? [] : [1] }
  /// Applied to the float32 output in the same call (`FusedGemm`); `.none` for ONNX Gemm.
  let activation: Activation

  init(_ ctx: NodeContext, activation: Activation = .none) throws {
    self.activation = activation
    _ = openBLASSingleThreaded
    label = ctx.label
    alpha = try ctx.float("alpha", 1)
    beta = try ctx.float("beta", 1)
    transA = try ctx.int("transA", 0) != 0
    transB = try ctx.int("transB", 0) != 0
    let packed = packConstantB(ctx, transposed: transB)
    panelB = packed?.panels
    constantBSpec = packed?.spec
  }

  private func bSpec(_ inputs: [TensorSpec?]) throws -> TensorSpec { try specOfB(inputs, constantBSpec, label) }

  func dims(_ a: [Int], _ b: [Int]) throws -> (m: Int, n: Int, k: Int) {
    guard a.count == 2, b.count == 2 else { throw SecateurError.invalidModel("\(label): A \(a) and B \(b) must be matrices") }
    let (m, ka) = transA ? (a[1], a[0]) : (a[0], a[1])
    let (kb, n) = transB ? (b[1], b[0]) : (b[0], b[1])
    guard ka == kb else { throw SecateurError.invalidModel("\(label): inner dims differ: A′ is \(m)×\(ka), B′ is \(kb)×\(n)") }
    // BLAS takes 32-bit sizes.
    guard (a + b).allSatisfy({ $0 < Int32.max }) else { throw SecateurError.unsupported("\(label): A \(a) or B \(b) is too large for BLAS") }
    return (m, n, ka)
  }

  func outputSpecs(_ inputs: [TensorSpec?], _ values: InputValues) throws -> [TensorSpec] {
    let a = try required(inputs, 0, label), b = try bSpec(inputs)
    try a.require(matmulTypes, label, "A")
    let (m, n, _) = try dims(a.shape, b.shape)
    guard b.dataType == a.dataType else { throw SecateurError.invalidModel("\(label): A is \(a.dataType) but B is \(b.dataType)") }
    if inputs.count > 2, let c = inputs[2] {
      guard c.dataType == a.dataType else { throw SecateurError.invalidModel("\(label): C is \(c.dataType), A is \(a.dataType)") }
      let bs = try broadcastShapes([c.shape, [m, n]], label)
      guard bs == [m, n] else { throw SecateurError.invalidModel("\(label): C \(c.shape) does not broadcast to [\(m), \(n)]") }
    }
    return [TensorSpec(a.dataType, [m, n])]
  }

  func run(_ inputs: [TensorView?], _ outputs: [TensorView], _ context: RunContext) throws {
    guard inputs.count >= 2, let a = inputs[0], let y = outputs.first else { return }
    let c = inputs.count > 2 ? inputs[2] : nil
    let bs = try bSpec(inputs.map { $0?.spec })
    let (m, n, k) = try dims(a.shape, bs.shape)
    let cs = c.map { broadcastStrides($0.shape, to: [m, n]) }
    let useC = c != nil && beta != 0
    // B is absent only when the program dropped it after packing: B is then float, so A is too (checked
    // by outputSpecs) and `blas` reads `panelB`, never this stand-in's data (only its shape).
    guard let b = inputs[1] ?? (a.dataType == .float && panelB != nil ? TensorView(spec: bs, data: a.data) : nil) else {
      throw SecateurError.runtime("\(label): B is missing")
    }
    switch a.dataType {
    case .float:
      blas(Float.self, a, b, c, cs, y, m, n, k, useC, context)
      if case .none = activation {} else { activation.apply(y.pointer(Float.self), count: m * n) }
    case .double:
      blas(Double.self, a, b, c, cs, y, m, n, k, useC, context)
    case .float16: loop(Float16.self, a, b, c, cs, y, m, n, k)
    case .int32: loop(Int32.self, a, b, c, cs, y, m, n, k)
    case .int64: loop(Int64.self, a, b, c, cs, y, m, n, k)
    case .uint32: loop(UInt32.self, a, b, c, cs, y, m, n, k)
    case .uint64: loop(UInt64.self, a, b, c, cs, y, m, n, k)
    default: throw SecateurError.unsupported("\(label): element type \(a.dataType) is not supported")
    }
  }

  private func blas<T: BinaryFloatingPoint>(_: T.Type, _ a: TensorView, _ b: TensorView, _ c: TensorView?, _ cs: [Int]?,
                                            _ y: TensorView, _ m: Int, _ n: Int, _ k: Int, _ useC: Bool, _ context: RunContext) {
    let yp = y.pointer(T.self)
    if useC, let c, let cs {
      let cp = c.pointer(T.self), bt = T(beta)
      for i in 0..<m { for j in 0..<n { yp[i * n + j] = bt * cp[i * cs[0] + j * cs[1]] } }
    }
    if m == 0 || n == 0 { return }
    if k == 0 {
      // BLAS would leave Y untouched; the empty product is 0.
      if !useC { yp.update(repeating: T.zero, count: m * n) }
      return
    }
    if T.self == Float.self, let panelB {
      return runPanelGemm(panelB, m: m, n: n, k: k, a.pointer(Float.self), lda: a.shape[1], transA: transA,
                          y.pointer(Float.self), alpha: alpha, accumulate: useC, context.pool)
    }
    let call = BlasCall(transA: transA, transB: transB, m: m, n: n, k: k,
                        lda: a.shape[1], ldb: b.shape[1], ldc: n, alpha: Double(alpha), beta: useC ? 1 : 0)
    call.run(a.pointer(T.self), b.pointer(T.self), yp, context.pool, tasks: 1)
  }

  private func loop<T: LoopScalar>(_: T.Type, _ a: TensorView, _ b: TensorView, _ c: TensorView?, _ cs: [Int]?,
                                   _ y: TensorView, _ m: Int, _ n: Int, _ k: Int) {
    let (aRow, aCol) = transA ? (1, a.shape[1]) : (a.shape[1], 1)
    let (bRow, bCol) = transB ? (1, b.shape[1]) : (b.shape[1], 1)
    let cp = c?.pointer(T.self)
    let addend: ((Int, Int) -> T)? = cp.flatMap { p in cs.map { s in { i, j in p[i * s[0] + j * s[1]] } } }
    loopMatMul(a.pointer(T.self), aRow, aCol, b.pointer(T.self), bRow, bCol, y.pointer(T.self),
               m: m, n: n, k: k, alpha: Double(alpha), beta: Double(beta), addend: addend)
  }
}

/// Input 1 (B) of a Gemm or MatMul node when it is a constant float matrix: packed into panels, and its
/// spec, kept for shape inference once the program drops the constant (the kernel's `releasableInputs`).
func packConstantB(_ ctx: NodeContext, transposed: Bool) -> (panels: [Float], spec: TensorSpec)? {
  guard ctx.prepack, let b = ctx.constant(1), let panels = packPanels(b, transposed: transposed) else { return nil }
  return (panels, TensorSpec(b.dataType, b.shape))
}

/// B's spec: the input's, or the one kept when the program dropped the constant B.
func specOfB(_ inputs: [TensorSpec?], _ constantBSpec: TensorSpec?, _ label: String) throws -> TensorSpec {
  if inputs.count > 1, let b = inputs[1] { return b }
  if let b = constantBSpec { return b }
  return try required(inputs, 1, label)
}

/// A constant float matrix B (k × n, or n × k when `transposed`) packed once per session into the B-panel
/// GEMM's column panels (CKernels bgemm_body.h); nil when B is not a non-empty float matrix.
func packPanels(_ b: Tensor, transposed: Bool) -> [Float]? {
  guard b.dataType == .float, b.shape.count == 2, b.shape.allSatisfy({ $0 > 0 }) else { return nil }
  // Element (kk, j) of B′ = op(B) sits at kk·rs + j·cs of B as stored.
  let (k, n) = transposed ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
  let (rs, cs) = transposed ? (1, b.shape[1]) : (b.shape[1], 1)
  let count = sct_bgemm_packed_count(k, n)
  return b.withElements(as: Float.self) { src in
    [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      if let dst = buffer.baseAddress { Buffer.prefault(UnsafeMutableRawPointer(dst), count * 4) }
      if let base = src.baseAddress, let dst = buffer.baseAddress { sct_bgemm_pack_f32(k, n, base, rs, cs, dst) }
      initialized = count
    }
  }
}

/// Y (m × n, row-major; added to when `accumulate`) = alpha · op(A) · B′ on packed panels, A row-major
/// with row stride lda (transposed: k × m); the panels split into contiguous ranges over the pool, each
/// range streaming its share of B once. Faster than OpenBLAS sgemm on the unpacked B at every row count
/// measured (768 × 768, 1 thread, Zen 4: 1 row 0.026 against 0.038 ms, 16 rows 0.16 against 0.25, 128
/// rows 1.34 against 1.50), which also repacks B on every call.
func runPanelGemm(_ panels: [Float], m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, lda: Int, transA: Bool,
                  _ y: UnsafeMutablePointer<Float>, alpha: Float, accumulate: Bool, _ pool: ThreadPool) {
  if m == 0 || n == 0 || k == 0 { return }
  let width = sct_bgemm_panel(), panelCount = (n + width - 1) / width
  if width == 1 {
    // The baseline ISA: one-column panels are B′ transposed (n × k, row-major), which OpenBLAS's own
    // SIMD kernels multiply faster than a scalar loop would.
    panels.withUnsafeBufferPointer { pb in
      guard let base = pb.baseAddress else { return }
      BlasCall(transA: transA, transB: true, m: m, n: n, k: k, lda: lda, ldb: k, ldc: n, alpha: Double(alpha),
               beta: accumulate ? 1 : 0).run(a, base, y, pool, tasks: 1)
    }
    return
  }
  let (ars, acs) = transA ? (1, lda) : (lda, 1)
  // Below ~64 K multiply-adds a parallel region costs more than it saves.
  let grain = m * n * k < 65_536 ? panelCount : 1
  panels.withUnsafeBufferPointer { pb in
    guard let base = pb.baseAddress else { return }
    pool.parallelRanges(panelCount, grain: grain) { range in
      sct_bgemm_f32(m, range.lowerBound * width, min(n, range.upperBound * width), k, a, ars, acs, base, y, n,
                    alpha, accumulate ? 1 : 0)
    }
  }
}
