/* Picks each microkernel family's ISA variant once per process (cpuid + xgetbv, no libgcc
 * __cpu_model dependency, so it links the same into the CLI and the static-stdlib .so). */
#include <cpuid.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int detect(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
  if (!osxsave || !avx) return 0;
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  uint64_t xcr0 = ((uint64_t)hi << 32) | lo;
  if ((xcr0 & 0x6) != 0x6) return 0; /* XMM + YMM state saved by the OS */
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  int avx2 = (b >> 5) & 1, avx512f = (b >> 16) & 1;
  if (avx512f && (xcr0 & 0xe6) == 0xe6) return 2; /* + opmask, ZMM_Hi256, Hi16_ZMM */
  if (avx2 && fma) return 1;
  return 0;
}

static int chosen = -1;

/* SECATEUR_ISA=avx2|baseline caps the choice below what the CPU has, so the tests can run every variant
 * on one machine (it never raises it: asking for AVX-512 on an AVX2 CPU still gets AVX2). */
static int cap(int detected) {
  const char *want = getenv("SECATEUR_ISA");
  if (!want) return detected;
  int v = strcmp(want, "baseline") == 0 ? 0 : strcmp(want, "avx2") == 0 ? 1 : 2;
  return v < detected ? v : detected;
}

int sct_ckernels_isa(void) {
  int v = __atomic_load_n(&chosen, __ATOMIC_RELAXED);
  if (v < 0) {
    v = cap(detect());
    __atomic_store_n(&chosen, v, __ATOMIC_RELAXED);
  }
  return v;
}

void sct_dwconv2d_planes_f32(const float *x, const float *w, float *y, const sct_dw_geometry *g,
                             const sct_dw_planes_epilogue *e, long channels, long p_begin, long p_end) {
  switch (sct_ckernels_isa()) {
  case 2: sct_dwconv2d_planes_f32_avx512(x, w, y, g, e, channels, p_begin, p_end); return;
  case 1: sct_dwconv2d_planes_f32_avx2(x, w, y, g, e, channels, p_begin, p_end); return;
  default: sct_dwconv2d_planes_f32_scalar(x, w, y, g, e, channels, p_begin, p_end); return;
  }
}

void sct_hard_gate_f32(float *y, long n, float alpha, float beta, int times_input) {
  switch (sct_ckernels_isa()) {
  case 2: sct_hard_gate_f32_avx512(y, n, alpha, beta, times_input); return;
  case 1: sct_hard_gate_f32_avx2(y, n, alpha, beta, times_input); return;
  default: sct_hard_gate_f32_scalar(y, n, alpha, beta, times_input); return;
  }
}

void sct_epilogue_apply_f32(float *y, long n, const sct_epilogue_f32 *e) {
  switch (sct_ckernels_isa()) {
  case 2: sct_epilogue_apply_f32_avx512(y, n, e); return;
  case 1: sct_epilogue_apply_f32_avx2(y, n, e); return;
  default: sct_epilogue_apply_f32_scalar(y, n, e); return;
  }
}

int sct_dwconv2d_supported(const sct_dw_geometry *g) {
  sct_dw_plan pl;
  return sct_dw_make_plan(g, &pl);
}

long sct_gemm_mr(void) {
  switch (sct_ckernels_isa()) {
  case 2: return sct_gemm_mr_avx512();
  case 1: return sct_gemm_mr_avx2();
  default: return sct_gemm_mr_scalar();
  }
}

long sct_gemm_packed_count(long m, long k) {
  long mr = sct_gemm_mr();
  return (m + mr - 1) / mr * mr * k;
}

void sct_gemm_pack_f32(long m, long k, const float *w, float *packed) {
  switch (sct_ckernels_isa()) {
  case 2: sct_gemm_pack_f32_avx512(m, k, w, packed); return;
  case 1: sct_gemm_pack_f32_avx2(m, k, w, packed); return;
  default: sct_gemm_pack_f32_scalar(m, k, w, packed); return;
  }
}

long sct_bgemm_panel(void) {
  switch (sct_ckernels_isa()) {
  case 2: return sct_bgemm_panel_avx512();
  case 1: return sct_bgemm_panel_avx2();
  default: return sct_bgemm_panel_scalar();
  }
}

long sct_bgemm_packed_count(long k, long n) {
  long np = sct_bgemm_panel();
  return (n + np - 1) / np * np * k;
}

void sct_bgemm_pack_f32(long k, long n, const float *b, long rs, long cs, float *packed) {
  switch (sct_ckernels_isa()) {
  case 2: sct_bgemm_pack_f32_avx512(k, n, b, rs, cs, packed); return;
  case 1: sct_bgemm_pack_f32_avx2(k, n, b, rs, cs, packed); return;
  default: sct_bgemm_pack_f32_scalar(k, n, b, rs, cs, packed); return;
  }
}

void sct_bgemm_f32(long m, long n_begin, long n_end, long k, const float *a, long ars, long acs,
                   const float *packed, float *y, long ldy, float alpha, int accumulate) {
  switch (sct_ckernels_isa()) {
  case 2: sct_bgemm_f32_avx512(m, n_begin, n_end, k, a, ars, acs, packed, y, ldy, alpha, accumulate); return;
  case 1: sct_bgemm_f32_avx2(m, n_begin, n_end, k, a, ars, acs, packed, y, ldy, alpha, accumulate); return;
  default: sct_bgemm_f32_scalar(m, n_begin, n_end, k, a, ars, acs, packed, y, ldy, alpha, accumulate); return;
  }
}

void sct_gemm_f32(long m_begin, long m_end, long n, long k, const float *packed, const float *x, long ldx,
                  float *y, long ldy, const sct_gemm_epilogue *e) {
  switch (sct_ckernels_isa()) {
  case 2: sct_gemm_f32_avx512(m_begin, m_end, n, k, packed, x, ldx, y, ldy, e); return;
  case 1: sct_gemm_f32_avx2(m_begin, m_end, n, k, packed, x, ldx, y, ldy, e); return;
  default: sct_gemm_f32_scalar(m_begin, m_end, n, k, packed, x, ldx, y, ldy, e); return;
  }
}

void sct_maxpool2d_planes_f32(const float *x, float *y, const sct_dw_geometry *g, long p_begin, long p_end) {
  switch (sct_ckernels_isa()) {
  case 2: sct_maxpool2d_planes_f32_avx512(x, y, g, p_begin, p_end); return;
  case 1: sct_maxpool2d_planes_f32_avx2(x, y, g, p_begin, p_end); return;
  default: sct_maxpool2d_planes_f32_scalar(x, y, g, p_begin, p_end); return;
  }
}

int sct_conv_direct_supported(const sct_conv_geometry *g) {
  if (g->c < 1 || g->c > 4 || g->kh < 1 || g->kw < 1 || g->kw > 16 || g->sh < 1 || g->dh < 1) return 0;
  if (g->sw < 1 || g->sw > 2 || g->dw != 1 || g->ow < 1 || g->oh < 1 || g->ih < 1 || g->iw < 1) return 0;
  if (g->ph < 0 || g->pw < 0 || g->ph > g->kh * g->dh || g->pw > g->kw) return 0;
  return g->c * g->kh * g->sw <= SCT_STEM_MAX_ROWS && g->c * g->kh * g->kw <= SCT_STEM_MAX_K;
}

void sct_conv_direct_f32(long m_begin, long m_end, long oh_begin, long oh_end, const float *packed, const float *x,
                         const sct_conv_geometry *g, float *y, long ldy, const sct_gemm_epilogue *e) {
  switch (sct_ckernels_isa()) {
  case 2: sct_conv_direct_f32_avx512(m_begin, m_end, oh_begin, oh_end, packed, x, g, y, ldy, e); return;
  case 1: sct_conv_direct_f32_avx2(m_begin, m_end, oh_begin, oh_end, packed, x, g, y, ldy, e); return;
  default: sct_conv_direct_f32_scalar(m_begin, m_end, oh_begin, oh_end, packed, x, g, y, ldy, e); return;
  }
}

void sct_conv_subsample_f32(const float *x, const sct_conv_geometry *g, long c_begin, long c_end, float *dst) {
  switch (sct_ckernels_isa()) {
  case 2: sct_conv_subsample_f32_avx512(x, g, c_begin, c_end, dst); return;
  case 1: sct_conv_subsample_f32_avx2(x, g, c_begin, c_end, dst); return;
  default: sct_conv_subsample_f32_scalar(x, g, c_begin, c_end, dst); return;
  }
}

void sct_conv_gemm_f32(long m_begin, long m_end, long j_begin, long j_end, const float *packed, const float *x,
                       const sct_conv_geometry *g, float *y, long ldy, const sct_gemm_epilogue *e) {
  switch (sct_ckernels_isa()) {
  case 2: sct_conv_gemm_f32_avx512(m_begin, m_end, j_begin, j_end, packed, x, g, y, ldy, e); return;
  case 1: sct_conv_gemm_f32_avx2(m_begin, m_end, j_begin, j_end, packed, x, g, y, ldy, e); return;
  default: sct_conv_gemm_f32_scalar(m_begin, m_end, j_begin, j_end, packed, x, g, y, ldy, e); return;
  }
}

int sct_wino23_supported(const sct_wino_geometry *g) {
  if (g->ih < 1 || g->iw < 1 || g->oh < 1 || g->ow < 1 || g->ph < 0 || g->pw < 0) return 0;
  if (g->ow > 2 * SCT_WINO_MAX_TW) return 0;
  /* Every tile's 4 × 4 patch lies in the padded plane: rows up to 2·⌈oh/2⌉ + 1, columns likewise; the
   * staging zero-fills past the input, so only the output size needs a bound. */
  return g->oh <= (1L << 30) && g->ih <= (1L << 30) && g->iw <= (1L << 30);
}

long sct_wino23_weights_count(long m, long c) { return 16 * sct_gemm_packed_count(m, c); }

void sct_wino23_weights_f32(const float *w, long m, long c, float *u, float *packed) {
  switch (sct_ckernels_isa()) {
  case 2: sct_wino23_weights_f32_avx512(w, m, c, u, packed); return;
  case 1: sct_wino23_weights_f32_avx2(w, m, c, u, packed); return;
  default: sct_wino23_weights_f32_scalar(w, m, c, u, packed); return;
  }
}

void sct_wino23_input_f32(const float *x, const sct_wino_geometry *g, long c_begin, long c_end, long ty_begin,
                          long ty_end, float *v, long v_stride, long v_ld) {
  switch (sct_ckernels_isa()) {
  case 2: sct_wino23_input_f32_avx512(x, g, c_begin, c_end, ty_begin, ty_end, v, v_stride, v_ld); return;
  case 1: sct_wino23_input_f32_avx2(x, g, c_begin, c_end, ty_begin, ty_end, v, v_stride, v_ld); return;
  default: sct_wino23_input_f32_scalar(x, g, c_begin, c_end, ty_begin, ty_end, v, v_stride, v_ld); return;
  }
}

void sct_wino23_output_f32(const float *mt, long m_stride, long m_ld, const sct_wino_geometry *g, long m_begin,
                           long m_end, long ty_begin, long ty_end, float *y, const sct_gemm_epilogue *e) {
  switch (sct_ckernels_isa()) {
  case 2: sct_wino23_output_f32_avx512(mt, m_stride, m_ld, g, m_begin, m_end, ty_begin, ty_end, y, e); return;
  case 1: sct_wino23_output_f32_avx2(mt, m_stride, m_ld, g, m_begin, m_end, ty_begin, ty_end, y, e); return;
  default: sct_wino23_output_f32_scalar(mt, m_stride, m_ld, g, m_begin, m_end, ty_begin, ty_end, y, e); return;
  }
}
