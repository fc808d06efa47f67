/* The body of every CKernels family, written once over a small vector vocabulary and compiled per ISA by
 * kernels_avx512.c, kernels_avx2.c and kernels_scalar.c (which define VEC, LANES, the V* operations and
 * SUFFIX before including this file). */
#include <string.h>

#define SCT_CAT2(a, b) a##_##b
#define SCT_CAT(a, b) SCT_CAT2(a, b)
#define FN(name) SCT_CAT(name, SUFFIX)

/* The epilogue on one vector of outputs (`res` points at the matching residual values or is NULL). */
static inline VEC FN(epi)(VEC acc, const sct_epilogue_f32 *e, const float *res) {
  acc = VFMA(acc, VSET1(e->scale), VSET1(e->bias));
  if (res) acc = VADD(acc, VLOAD(res));
  return VMIN(VMAX(acc, VSET1(e->lo)), VSET1(e->hi));
}

/* Stages input row `ih` (zeros when outside the plane) as `sw` phases of `phase` floats: padded column c
 * goes to phase c % sw, index c / sw. */
static inline void FN(fill)(float *d, float v, long n) {
  if (v == 0.0f) {
    memset(d, 0, sizeof(float) * n);
  } else {
    for (long i = 0; i < n; i++) d[i] = v;
  }
}

static inline void FN(dw_stage)(float *dst, const float *x, long ih, const sct_dw_geometry *g, long phase, float pad) {
  const long sw = g->sw, last = (g->ow - 1) * sw + (g->kw - 1) * g->dw; /* last padded column read */
  if (ih < 0 || ih >= g->ih) {
    FN(fill)(dst, pad, sw * phase);
    return;
  }
  const float *src = x + ih * g->iw;
  for (long p = 0; p < sw; p++) {
    float *d = dst + p * phase;
    /* Column c = i·sw + p reads input col = c − pw, valid when 0 ≤ col < iw and c ≤ last. */
    long n = last >= p ? (last - p) / sw + 1 : 0;
    long a = g->pw > p ? (g->pw - p + sw - 1) / sw : 0;
    long e = g->iw + g->pw > p ? (g->iw + g->pw - p + sw - 1) / sw : 0;
    if (e > n) e = n;
    if (a > e) a = e;
    FN(fill)(d, pad, a);
    if (sw == 1) {
      memcpy(d + a, src + a - g->pw, sizeof(float) * (e - a));
    } else {
      const float *s = src + a * sw + p - g->pw;
      for (long i = a; i < e; i++, s += sw) d[i] = *s;
    }
    FN(fill)(d + e, pad, phase - e);
  }
}

/* Implementation note: each input row is staged once into a zero-padded, phase-split copy (see dw_stage),
 * so every kernel tap of every stride and dilation is one unit-stride vector load at a fixed offset: no
 * border branches, no gathers, and odd widths run the same vector loop with one partial store at the end.
 * Staged rows live in (kh − 1)·dh + 1 slots keyed by row index, so consecutive output rows reuse them.
 * (A first version staged every row per output row with a per-element modulo loop: 60 % of MobileNetV2.) */
void FN(sct_dwconv2d_f32)(const float *x, const float *w, float *y, const sct_dw_geometry *g,
                          const sct_epilogue_f32 *e, long row_begin, long row_end) {
  const long kh = g->kh, kw = g->kw, sw = g->sw, ow = g->ow;
  const long owr = (ow + LANES - 1) / LANES * LANES;
  const long phase = owr + ((kw - 1) * g->dw) / sw + 1 + LANES;
  const long slots = (kh - 1) * g->dh + 1;
  float stage[SCT_DW_MAX_STAGE] __attribute__((aligned(64)));
  long tag[SCT_DW_MAX_TAPS];
  const float *tap[SCT_DW_MAX_TAPS];
  float wt[SCT_DW_MAX_TAPS];
  const long taps = kh * kw;
  for (long t = 0; t < taps; t++) wt[t] = w[t];
  for (long s = 0; s < slots; s++) tag[s] = -(1L << 40);
  for (long oh = row_begin; oh < row_end; oh++) {
    for (long r = 0; r < kh; r++) {
      long ih = oh * g->sh - g->ph + r * g->dh;
      long slot = ((ih % slots) + slots) % slots;
      float *dst = stage + slot * sw * phase;
      if (tag[slot] != ih) {
        FN(dw_stage)(dst, x, ih, g, phase, 0.0f);
        tag[slot] = ih;
      }
      for (long q = 0; q < kw; q++) {
        long c = q * g->dw;
        tap[r * kw + q] = dst + (c % sw) * phase + c / sw;
      }
    }
    float *yr = y + oh * ow;
    const float *rr = e->residual ? e->residual + oh * ow : NULL;
    long ox = 0;
    if (taps == 9 && kw == 3) {
      /* 3×3 (MobileNet's every depthwise layer): nine weights in registers, three row pointers; measured
       * 2–3× the generic loop, whose tap-pointer and weight loads bound it at small widths. */
      const float *p0 = tap[0], *p1 = tap[3], *p2 = tap[6];
      const long o1 = tap[1] - tap[0], o2 = tap[2] - tap[0];
      const VEC w0 = VSET1(wt[0]), w1 = VSET1(wt[1]), w2 = VSET1(wt[2]), w3 = VSET1(wt[3]), w4 = VSET1(wt[4]);
      const VEC w5 = VSET1(wt[5]), w6 = VSET1(wt[6]), w7 = VSET1(wt[7]), w8 = VSET1(wt[8]);
#define DW3(o)                                                                                          \
  VFMA(VLOAD(p2 + (o) + o2), w8, VFMA(VLOAD(p2 + (o) + o1), w7, VFMA(VLOAD(p2 + (o)), w6,              \
  VFMA(VLOAD(p1 + (o) + o2), w5, VFMA(VLOAD(p1 + (o) + o1), w4, VFMA(VLOAD(p1 + (o)), w3,              \
  VFMA(VLOAD(p0 + (o) + o2), w2, VFMA(VLOAD(p0 + (o) + o1), w1, VMUL(VLOAD(p0 + (o)), w0)))))))))
      for (; ox + 2 * LANES <= ow; ox += 2 * LANES) {
        VEC a0 = DW3(ox), a1 = DW3(ox + LANES);
        VSTORE(yr + ox, FN(epi)(a0, e, rr ? rr + ox : NULL));
        VSTORE(yr + ox + LANES, FN(epi)(a1, e, rr ? rr + ox + LANES : NULL));
      }
      for (; ox < ow; ox += LANES) {
        VEC a0 = DW3(ox);
        if (ox + LANES <= ow) {
          VSTORE(yr + ox, FN(epi)(a0, e, rr ? rr + ox : NULL));
        } else {
          float tmp[LANES] __attribute__((aligned(64))), rt[LANES] __attribute__((aligned(64)));
          long n = ow - ox;
          if (rr) memcpy(rt, rr + ox, sizeof(float) * n);
          VSTORE(tmp, FN(epi)(a0, e, rr ? rt : NULL));
          memcpy(yr + ox, tmp, sizeof(float) * n);
        }
      }
#undef DW3
      continue;
    }
    for (; ox + 4 * LANES <= ow; ox += 4 * LANES) {
      VEC a0 = VZERO(), a1 = VZERO(), a2 = VZERO(), a3 = VZERO();
      for (long t = 0; t < taps; t++) {
        const float *p = tap[t] + ox;
        VEC wv = VSET1(wt[t]);
        a0 = VFMA(VLOAD(p), wv, a0);
        a1 = VFMA(VLOAD(p + LANES), wv, a1);
        a2 = VFMA(VLOAD(p + 2 * LANES), wv, a2);
        a3 = VFMA(VLOAD(p + 3 * LANES), wv, a3);
      }
      VSTORE(yr + ox, FN(epi)(a0, e, rr ? rr + ox : NULL));
      VSTORE(yr + ox + LANES, FN(epi)(a1, e, rr ? rr + ox + LANES : NULL));
      VSTORE(yr + ox + 2 * LANES, FN(epi)(a2, e, rr ? rr + ox + 2 * LANES : NULL));
      VSTORE(yr + ox + 3 * LANES, FN(epi)(a3, e, rr ? rr + ox + 3 * LANES : NULL));
    }
    for (; ox < ow; ox += LANES) {
      VEC a0 = VZERO();
      for (long t = 0; t < taps; t++) a0 = VFMA(VLOAD(tap[t] + ox), VSET1(wt[t]), a0);
      if (ox + LANES <= ow) {
        VSTORE(yr + ox, FN(epi)(a0, e, rr ? rr + ox : NULL));
      } else {
        float tmp[LANES] __attribute__((aligned(64))), rt[LANES] __attribute__((aligned(64)));
        long n = ow - ox;
        if (rr) memcpy(rt, rr + ox, sizeof(float) * n);
        VSTORE(tmp, FN(epi)(a0, e, rr ? rt : NULL));
        memcpy(yr + ox, tmp, sizeof(float) * n);
      }
    }
  }
}

/* Max pooling over one plane with the depthwise kernel's staging (padding reads as −∞). */
void FN(sct_maxpool2d_f32)(const float *x, float *y, const sct_dw_geometry *g, long row_begin, long row_end) {
  const long kh = g->kh, kw = g->kw, sw = g->sw, ow = g->ow;
  const long owr = (ow + LANES - 1) / LANES * LANES;
  const long phase = owr + ((kw - 1) * g->dw) / sw + 1 + LANES;
  const long slots = (kh - 1) * g->dh + 1;
  float stage[SCT_DW_MAX_STAGE] __attribute__((aligned(64)));
  long tag[SCT_DW_MAX_TAPS];
  const float *tap[SCT_DW_MAX_TAPS];
  const long taps = kh * kw;
  for (long s = 0; s < slots; s++) tag[s] = -(1L << 40);
  for (long oh = row_begin; oh < row_end; oh++) {
    for (long r = 0; r < kh; r++) {
      long ih = oh * g->sh - g->ph + r * g->dh;
      long slot = ((ih % slots) + slots) % slots;
      float *dst = stage + slot * sw * phase;
      if (tag[slot] != ih) {
        FN(dw_stage)(dst, x, ih, g, phase, -__builtin_inff());
        tag[slot] = ih;
      }
      for (long q = 0; q < kw; q++) {
        long c = q * g->dw;
        tap[r * kw + q] = dst + (c % sw) * phase + c / sw;
      }
    }
    float *yr = y + oh * ow;
    for (long ox = 0; ox < ow; ox += LANES) {
      VEC m = VLOAD(tap[0] + ox);
      for (long t = 1; t < taps; t++) m = VMAX(m, VLOAD(tap[t] + ox));
      if (ox + LANES <= ow) {
        VSTORE(yr + ox, m);
      } else {
        float tmp[LANES] __attribute__((aligned(64)));
        VSTORE(tmp, m);
        memcpy(yr + ox, tmp, sizeof(float) * (ow - ox));
      }
    }
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
