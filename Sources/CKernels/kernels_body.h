/* What every CKernels family shares (name mangling, the conv epilogue), compiled per ISA by
 * kernels_avx512.c, kernels_avx2.c and kernels_scalar.c (which define VEC, LANES, the V* operations and
 * SUFFIX before including this file, and VMASK / VMASK_RANGE / VLOADM, the lane masks). */
#include <string.h>

#define SCT_CAT2(a, b) a##_##b
#define SCT_CAT(a, b) SCT_CAT2(a, b)
#define FN(name) SCT_CAT(name, SUFFIX)

/* Even and odd elements of 2·LANES consecutive floats at p (the ISA file provides the register form). */
#define VDEINT2(p, even, odd)                                                                           \
  do {                                                                                                  \
    const VEC lo2_ = VLOAD(p), hi2_ = VLOAD((p) + LANES);                                               \
    VDEINT2R(lo2_, hi2_, even, odd);                                                                    \
  } while (0)

/* Lanes t with 0 ≤ off + t < n read p[off + t], the others are `padv` (and are not accessed): a row read
 * with its borders padded, in registers. Whole vectors inside the row take the plain load. */
static inline VEC FN(load_range)(const float *p, long off, long n, VEC padv) {
  if (off >= 0 && off + LANES <= n) return VLOAD(p + off);
  return VLOADM(p, off, VMASK_RANGE(off, n), padv);
}
#define VLOADR(p, off, n, padv) FN(load_range)(p, off, n, padv)

/* The epilogue on one vector of outputs (`res` points at the matching residual values or is NULL). */
static inline VEC FN(epi)(VEC acc, const sct_epilogue_f32 *e, const float *res) {
  acc = VFMA(acc, VSET1(e->scale), VSET1(e->bias));
  if (res) acc = VADD(acc, VLOAD(res));
  return VMIN(VMAX(acc, VSET1(e->lo)), VSET1(e->hi));
}

/* clamp(alpha·y + beta, 0, 1) in place on n values, times y when `times_input` (HardSigmoid; HardSwish
 * with alpha = 1/6, beta = 1/2): the MobileNetV3 activations, applied after a conv's fused epilogue. */
void FN(sct_hard_gate_f32)(float *y, long n, float alpha, float beta, int times_input) {
  const VEC a = VSET1(alpha), b = VSET1(beta), zero = VZERO(), one = VSET1(1.0f);
  for (long i = 0; i < n; i += LANES) {
    const long cnt = n - i < LANES ? n - i : LANES;
    const VEC v = cnt == LANES ? VLOAD(y + i) : VLOADN(y + i, cnt);
    VEC g = VMIN(VMAX(VFMA(v, a, b), zero), one);
    if (times_input) g = VMUL(v, g);
    if (cnt == LANES) VSTORE(y + i, g);
    else VSTOREN(y + i, g, cnt);
  }
}

void FN(sct_epilogue_apply_f32)(float *y, long n, const sct_epilogue_f32 *e) {
  long i = 0;
  for (; i + LANES <= n; i += LANES) VSTORE(y + i, FN(epi)(VLOAD(y + i), e, e->residual ? e->residual + i : NULL));
  for (; i < n; i++) {
    float v = y[i] * e->scale + e->bias + (e->residual ? e->residual[i] : 0.0f);
    v = v < e->lo ? e->lo : v;
    y[i] = v > e->hi ? e->hi : v;
  }
}
