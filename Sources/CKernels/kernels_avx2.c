/* AVX2+FMA variants of the CKernels families (selected at run time by dispatch.c). */
#include <immintrin.h>

#include "internal.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx2,fma")
#endif

#define VEC __m256
#define LANES 8
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps(p, v)
#define VSET1(f) _mm256_set1_ps(f)
#define VZERO() _mm256_setzero_ps()
#define VFMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VADD(a, b) _mm256_add_ps(a, b)
#define VMAX(a, b) _mm256_max_ps(a, b)
#define VMIN(a, b) _mm256_min_ps(a, b)
#define VMUL(a, b) _mm256_mul_ps(a, b)
#define VSUB(a, b) _mm256_sub_ps(a, b)
#define SUFFIX avx2
static inline __m256i sct_mask8(long n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define VLOADN(p, n) _mm256_maskload_ps(p, sct_mask8(n))
/* The first n lanes of v to p as 4-, 2- and 1-float stores. Not `vmaskmovps`: as a store it is
 * microcoded on AMD (12–19 cycles each on this Zen 4, against ~1 for these), and every output row of a
 * 7², 14², 28² or 56² depthwise plane ends in one. With this and VLOADMZ, kernels_micro dw (min of 12
 * alternated runs): AVX2 depthwise planes −4–15 %, 14² and 7² −11–15 %. A masked load has no such cost. */
static inline void sct_store_first8(float *p, __m256 v, long n) {
  if (n >= 8) {
    _mm256_storeu_ps(p, v);
    return;
  }
  if (n <= 0) return;
  __m128 part = _mm256_castps256_ps128(v);
  if (n & 4) {
    _mm_storeu_ps(p, part);
    part = _mm256_extractf128_ps(v, 1);
    p += 4;
  }
  if (n & 2) {
    _mm_storel_pi((__m64 *)p, part);
    part = _mm_movehl_ps(part, part);
    p += 2;
  }
  if (n & 1) _mm_store_ss(p, part);
}
#define VSTOREN(p, v, n) sct_store_first8(p, v, n)
/* A lane mask: all-ones lanes. Lanes t with 0 ≤ off + t < n. */
#define VMASK __m256i
static inline __m256i sct_mask_range8(long off, long n) {
  long a = -off, b = n - off; /* valid lanes [a, b) */
  if (a < 0) a = 0;
  if (b > 8) b = 8;
  if (b < a) b = a;
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_and_si256(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32((int)a - 1)),
                          _mm256_cmpgt_epi32(_mm256_set1_epi32((int)b), idx));
}
#define VMASK_RANGE(off, n) sct_mask_range8(off, n)
/* The lanes whose bits are set in `bits` (bit t = lane t). */
static inline __m256i sct_mask_bits8(unsigned bits) {
  const __m256i lane = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)bits), lane), lane);
}
#define VMASK_BITS(bits) sct_mask_bits8(bits)
/* Lanes of m read p[off + t] (the others are padv and not accessed: no fault past an allocation). */
static inline __m256 sct_load_masked8(const float *p, long off, __m256i m, __m256 padv) {
  const __m256 v = _mm256_maskload_ps((const float *)((__UINTPTR_TYPE__)p + (__UINTPTR_TYPE__)(off * 4)), m);
  return _mm256_blendv_ps(padv, v, _mm256_castsi256_ps(m));
}
#define VLOADM(p, off, m, padv) sct_load_masked8(p, off, m, padv)
/* The same with zero pad: the masked load already zeroes its other lanes, so no blend (one uop less per
 * tap load; every load of a 14- or 7-wide row is masked with 8 lanes). */
#define VLOADMZ(p, off, m) _mm256_maskload_ps((const float *)((__UINTPTR_TYPE__)(p) + (__UINTPTR_TYPE__)((off) * 4)), m)
/* Even and odd elements of the 2·LANES floats lo_, hi_ (registers). */
/* cur's lanes moved up one, lane 0 taken from prev's last lane. */
#define VSHIFT_IN(cur, prev)                                                                            \
  _mm256_blend_ps(_mm256_permutevar8x32_ps(cur, _mm256_setr_epi32(7, 0, 1, 2, 3, 4, 5, 6)),            \
                  _mm256_permutevar8x32_ps(prev, _mm256_setr_epi32(7, 0, 1, 2, 3, 4, 5, 6)), 1)
#define VDEINT2R(lo_, hi_, even, odd)                                                                   \
  do {                                                                                                  \
    even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo_, hi_, 0x88)), 0xD8)); \
    odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo_, hi_, 0xDD)), 0xD8)); \
  } while (0)
/* Stores even / odd interleaved: p[2i] = even[i], p[2i + 1] = odd[i] (2·LANES floats). */
#define VINT2(p, even, odd)                                                                             \
  do {                                                                                                  \
    __m256 l_ = _mm256_unpacklo_ps(even, odd), h_ = _mm256_unpackhi_ps(even, odd);                      \
    _mm256_storeu_ps(p, _mm256_permute2f128_ps(l_, h_, 0x20));                                          \
    _mm256_storeu_ps((p) + 8, _mm256_permute2f128_ps(l_, h_, 0x31));                                    \
  } while (0)
/* Stride-1 3 × 3 depthwise planes whose rows are one or two vectors (7², 14²) slide down their rows
 * (window_k3s1_slide) with what 16 registers hold: kernels_micro dw on this Zen 4, min of 10 alternated
 * runs, 7² −42 % (0.050 → 0.029 ms, AVX-512's time), 14² −15–18 %. Wider rows spill there and keep the
 * row pairs of window_direct_k3 (in one-vector strips the slide lost 9 % at 56² and 21 % at 112²). */
#define WINDOW_SLIDE_S1_MAX_VECS 2
#include "kernels_body.h"
#include "window_body.h"
/* 6 × 16: 12 accumulators + 2 x vectors + 1 broadcast fit the 16 ymm registers (6 × 24 spilled and ran at
 * 30–50 GFLOP/s on Zen 3 against 60–85 for this shape). Each 256-row k-block panel (16 KB) stays in L1
 * while 96 rows of weights (96 KB, L2) sweep it. */
#define GEMM_MR 6
/* Six rows in a ymm's first six lanes (a masked load: the packed panel's next k follows, or its end): the
 * narrow-column path (gemm_cols). Through the 6 × 16 tile, the one column past 48 of a 7 × 7 layer cost
 * 16 columns' work and the four past 192 of a 14 × 14 layer 4 columns' each: MobileNetV1's 7 × 7 1 × 1
 * layers ran 22–24 % slower than with AVX-512 on this Zen 4, whose 16-lane tile had this path. */
#define GEMM_MRV 1
#define GEMM_MRV_LANES 8
#define MRV __m256
#define MRV_LOAD(p) _mm256_maskload_ps(p, sct_mask8(GEMM_MR))
#define MRV_STORE(p, v) _mm256_storeu_ps(p, v)
#define MRV_SET1(f) _mm256_set1_ps(f)
#define MRV_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define MRV_ADD(a, b) _mm256_add_ps(a, b)
#define MRV_ZERO() _mm256_setzero_ps()
#define GEMM_NR (2 * LANES)
#define GEMM_PANEL_FLOATS 16384
#define GEMM_JG 4 /* at most this many panels share one weight pass (gemm_blocking: fewer when k is long) */
#define GEMM_MC 96
#include "gemm_body.h"
#include "bgemm_body.h"
#include "stem_body.h"
#include "winograd_body.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
