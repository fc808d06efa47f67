import CKernels

/// The SIMD variant of the float kernels (Sources/CKernels) this process runs. CKernels picks it once per
/// process, at the first kernel call, from cpuid and the OS's saved-register support, so one binary uses
/// what each CPU has; the environment variable `SECATEUR_ISA=avx2|baseline` caps it (tests run every
/// variant on one machine that way). Reported so that a user, or a benchmark table, can say which code
/// produced a figure.
public enum KernelISA: String, Sendable, CaseIterable {
  case avx512, avx2, baseline

  /// The variant chosen for this process (making the choice if no kernel has run yet).
  public static var current: KernelISA {
    switch sct_ckernels_isa() {
    case 2: return .avx512
    case 1: return .avx2
    default: return .baseline
    }
  }

  /// The instruction sets the variant needs, as written in CPU manuals.
  public var instructionSets: String {
    switch self {
    case .avx512: return "AVX-512F"
    case .avx2: return "AVX2 + FMA"
    case .baseline: return "x86-64 (SSE2)"
    }
  }
}
