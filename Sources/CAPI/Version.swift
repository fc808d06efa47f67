import Runtime

/// The library version, as `sct_version()` returns it.
let secateurVersion: StaticString = "0.1.0"

/// The ABI revision; equals `SCT_ABI_VERSION` in include/secateur.h for the header this library was
/// built with. Bumped on any incompatible change to a signature, struct layout or constant.
let secateurABIVersion: UInt32 = 1

/// `const char *sct_version(void)`: "major.minor.patch", static storage.
@c public func sct_version() -> UnsafePointer<CChar> {
  cString(secateurVersion)
}

/// `uint32_t sct_abi_version(void)`: the ABI revision the library implements.
@c public func sct_abi_version() -> UInt32 {
  secateurABIVersion
}

/// `const char *sct_kernel_isa(void)`: the kernels' SIMD variant, "avx512", "avx2" or "baseline".
@c public func sct_kernel_isa() -> UnsafePointer<CChar> {
  switch KernelISA.current {
  case .avx512: return cString("avx512")
  case .avx2: return cString("avx2")
  case .baseline: return cString("baseline")
  }
}
