/* AVX-512F variants of the CKernels families (selected at run time by dispatch.c). */
#include <immintrin.h>

#include "internal.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx2,fma")
#endif

#define VEC __m512
#define LANES 16
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps(p, v)
#define VSET1(f) _mm512_set1_ps(f)
#define VZERO() _mm512_setzero_ps()
#define VFMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define VADD(a, b) _mm512_add_ps(a, b)
#define VMAX(a, b) _mm512_max_ps(a, b)
#define VMIN(a, b) _mm512_min_ps(a, b)
#define VMUL(a, b) _mm512_mul_ps(a, b)
#define VSUB(a, b) _mm512_sub_ps(a, b)
#define SUFFIX avx512
#define VLOADN(p, n) _mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1), p)
#define VSTOREN(p, v, n) _mm512_mask_storeu_ps(p, (__mmask16)((1u << (n)) - 1), v)
/* A lane mask: the k-register itself. Lanes t with 0 ≤ off + t < n. */
#define VMASK __mmask16
static inline __mmask16 sct_mask_range16(long off, long n) {
  long a = -off, b = n - off; /* valid lanes [a, b) */
  if (a < 0) a = 0;
  if (b > 16) b = 16;
  if (b <= a) return 0;
  return (__mmask16)(((1u << b) - 1) & ~((1u << a) - 1));
}
#define VMASK_RANGE(off, n) sct_mask_range16(off, n)
/* The lanes whose bits are set in `bits` (bit t = lane t). */
#define VMASK_BITS(bits) ((__mmask16)(bits))
/* Lanes of m read p[off + t] (the others are padv and not accessed: no fault past an allocation). */
#define VLOADM(p, off, m, padv) \
  _mm512_mask_loadu_ps(padv, m, (const float *)((__UINTPTR_TYPE__)(p) + (__UINTPTR_TYPE__)((off) * 4)))
#define VLOADMZ(p, off, m) \
  _mm512_maskz_loadu_ps(m, (const float *)((__UINTPTR_TYPE__)(p) + (__UINTPTR_TYPE__)((off) * 4)))
/* Even and odd elements of the 2·LANES floats lo_, hi_ (registers). */
/* cur's lanes moved up one, lane 0 taken from prev's last lane. */
#define VSHIFT_IN(cur, prev) \
  _mm512_castsi512_ps(_mm512_alignr_epi32(_mm512_castps_si512(cur), _mm512_castps_si512(prev), 15))
#define VDEINT2R(lo_, hi_, even, odd)                                                                   \
  do {                                                                                                  \
    even = _mm512_permutex2var_ps(lo_, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), hi_); \
    odd = _mm512_permutex2var_ps(lo_, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), hi_); \
  } while (0)
/* Stores even / odd interleaved: p[2i] = even[i], p[2i + 1] = odd[i] (2·LANES floats). */
#define VINT2(p, even, odd)                                                                             \
  do {                                                                                                  \
    _mm512_storeu_ps(p, _mm512_permutex2var_ps(even, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), odd)); \
    _mm512_storeu_ps((p) + 16, _mm512_permutex2var_ps(even, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), odd)); \
  } while (0)
/* Two-source lane permutes: the stride-2 depthwise path that packs two output rows per vector. */
#define VIDX __m512i
#define VIDX_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define VPERMX2(a, i, b) _mm512_permutex2var_ps(a, i, b)
/* Stride-1 3 × 3 depthwise planes slide down their rows (window_k3s1_slide), every row the direct path takes
 * (in strips of up to 4 vectors): its nine weights, two carried sums and three products per vector need
 * the 32 vector registers (AVX2's 16 hold them for rows of one or two vectors only). */
#define WINDOW_SLIDE_S1_MAX_VECS SCT_DW_MASK_VECS
#include "kernels_body.h"
#include "window_body.h"
#define GEMM_MR 8
/* Eight rows in one ymm: the narrow-column path (gemm_cols). */
#define GEMM_MRV 1
#define GEMM_MRV_LANES 8
#define MRV __m256
#define MRV_LOAD(p) _mm256_loadu_ps(p)
#define MRV_STORE(p, v) _mm256_storeu_ps(p, v)
#define MRV_SET1(f) _mm256_set1_ps(f)
#define MRV_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define MRV_ADD(a, b) _mm256_add_ps(a, b)
#define MRV_ZERO() _mm256_setzero_ps()
#define GEMM_NR (3 * LANES)
#define GEMM_PANEL_FLOATS 16384
/* At most this many panels share one weight pass (gemm_blocking: fewer when k is long). 16 rather than
 * 4: short-k layers (MobileNet k = 16–32 on 112/56 planes) then read each x row in 3 KB runs instead of
 * 768 B; cache-flushed 16 × 12544 × 32: 0.37–0.49 → 0.31–0.33 ms. */
#define GEMM_JG 16
#define GEMM_MC GEMM_MR /* weight-stationary: one MR block over every panel of the group */
/* From this k on, tiles read x in place (sct_gemm_f32 says why), in groups of panels whose columns of x
 * fill at most GEMM_INPLACE_BYTES (1 MB of L2 on Zen 4: 96 KB groups cost ResNet-50 4 %, 1 MB ±1.5 %). */
#define GEMM_INPLACE_MIN_K 48
/* ... and at any k for at most this many rows: a staged copy of x then serves too few weight blocks to pay
 * for itself (hot caches: m = 9–48, k = 16–32, 7–30 % faster; MobileNetV2's 32 → 16 at 112²: −12 %; in the
 * model, MobileNetV1's 32 → 64 at 112²: −4 %). With 96 rows (MobileNetV2's 112² expand, k = 16) it lost 10 %. */
#define GEMM_INPLACE_MAX_M 64
#define GEMM_INPLACE_BYTES (256 << 10)
/* ... unless the weights are past GEMM_INPLACE_BYTES and all of x fits this: then one group (sct_gemm_f32). */
#define GEMM_INPLACE_ALL_BYTES (640 << 10)
#include "gemm_body.h"
#include "bgemm_body.h"
#include "stem_body.h"
#include "winograd_body.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
