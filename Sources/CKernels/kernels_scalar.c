/* Baseline x86-64 (SSE2) variants of the CKernels families: the same body on one float at a time,
 * left to the compiler's auto-vectorizer. */
#include "internal.h"

static inline float sct_max(float a, float b) { return a > b ? a : b; }
static inline float sct_min(float a, float b) { return a < b ? a : b; }

#define VEC float
#define LANES 1
#define VLOAD(p) (*(p))
#define VSTORE(p, v) (*(p) = (v))
#define VSET1(f) (f)
#define VZERO() 0.0f
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VADD(a, b) ((a) + (b))
#define VMAX(a, b) sct_max(a, b)
#define VMIN(a, b) sct_min(a, b)
#define VMUL(a, b) ((a) * (b))
#define VSUB(a, b) ((a) - (b))
#define SUFFIX scalar
#define VLOADN(p, n) ((void)(n), *(p))
#define VSTOREN(p, v, n) ((void)(n), *(p) = (v))
#define VMASK int
#define VMASK_RANGE(off, n) ((off) >= 0 && (off) < (n))
#define VMASK_BITS(bits) ((int)((bits) & 1u))
#define VLOADM(p, off, m, padv) ((m) ? (p)[off] : (padv))
#define VLOADMZ(p, off, m) ((m) ? (p)[off] : 0.0f)
/* cur's lanes moved up one, lane 0 taken from prev's last lane: one lane, so prev itself. */
#define VSHIFT_IN(cur, prev) ((void)(cur), (prev))
#define VDEINT2R(lo_, hi_, even, odd) \
  do {                                \
    even = (lo_);                     \
    odd = (hi_);                      \
  } while (0)
#define VINT2(p, even, odd) \
  do {                      \
    (p)[0] = (even);        \
    (p)[1] = (odd);         \
  } while (0)
#include "kernels_body.h"
#include "window_body.h"
#define GEMM_MR 4
#define GEMM_NR (3 * LANES)
#define GEMM_PANEL_FLOATS 16384
#define GEMM_JG 4 /* at most this many panels share one weight pass (gemm_blocking: fewer when k is long) */
#define GEMM_MC GEMM_MR /* weight-stationary: one MR block over every panel of the group */
#include "gemm_body.h"
#include "bgemm_body.h"
#include "stem_body.h"
#include "winograd_body.h"
