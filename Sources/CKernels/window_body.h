/* The sliding-window family (depthwise 2-D convolution and 2-D max pooling over one NCHW plane), written
 * once and compiled per ISA (included by kernels_*.c after kernels_body.h, which provides VEC, LANES, the
 * V* vocabulary and the epilogue; VLOADN / VSTOREN must be defined).
 *
 * Implementation note — phase planes. A band of output rows is computed as ONE flat vector loop:
 * the padded input rows the band reads are staged once into sh × sw "phase planes" (padded row r goes to
 * phase r % sh, column c to phase c % sw) that share one row pitch P ≥ ow. Output (oh, ox) then sits at
 * flat index o = oh · P + ox, and every tap (r, q) of every stride and dilation reads its phase plane at
 * o + a constant offset: unit-stride loads, no border branches, no per-row set-up, and small planes
 * (7 × 7, 14 × 14 — most of MobileNet's depthwise layers) fill whole vectors across row boundaries
 * instead of one partial vector per row. Columns ox ≥ ow of the flat result are junk and are dropped
 * when the band is written out with the epilogue.
 * (The first version staged each input row separately and computed row by row: its per-row set-up —
 * divisions, memsets, one partial vector — held MobileNetV2's depthwise layers to ~5 GFLOP/s.) */

/* Phase column i of phase b reads input column i·sw + b − pw; it is inside the row for i in [*lo, *hi). */
static inline void FN(window_span)(const sct_dw_geometry *g, long b, long P, long *lo, long *hi) {
  const long sw = g->sw;
  long l = g->pw > b ? (g->pw - b + sw - 1) / sw : 0;
  long h = g->iw + g->pw > b ? (g->iw + g->pw - b + sw - 1) / sw : 0;
  if (h > P) h = P;
  if (l > h) l = h;
  *lo = l;
  *hi = h;
}

static inline void FN(window_fill)(float *d, long n, float pad) {
  long i = 0;
  for (; i + LANES <= n; i += LANES) VSTORE(d + i, VSET1(pad));
  for (; i < n; i++) d[i] = pad;
}

/* Stages the padded input rows of the band starting at output row oh0 into the phase planes.
 * Stride 2 (every MobileNet downsampling layer) splits each row into both column phases in one vector
 * pass (VDEINT2); a scalar gather per element was a fifth of the depthwise time. */
static inline void FN(window_stage)(float *stage, const float *x, const sct_dw_geometry *g,
                                    const sct_dw_plan *pl, long oh0, long rows_per_phase, float pad) {
  const long sh = g->sh, sw = g->sw, P = pl->pitch, S = pl->plane, pw = g->pw;
  if (sw == 2) {
    long lo0, hi0, lo1, hi1;
    FN(window_span)(g, 0, P, &lo0, &hi0);
    FN(window_span)(g, 1, P, &lo1, &hi1);
    const long lo = lo0 > lo1 ? lo0 : lo1, hi = hi0 < hi1 ? hi0 : hi1;
    for (long a = 0; a < sh; a++) {
      for (long t = 0; t < rows_per_phase; t++) {
        long ih = (oh0 + t) * sh + a - g->ph;
        float *d0 = stage + (a * 2) * S + t * P, *d1 = d0 + S;
        if (ih < 0 || ih >= g->ih) {
          FN(window_fill)(d0, P, pad);
          FN(window_fill)(d1, P, pad);
          continue;
        }
        const float *src = x + ih * g->iw;
        FN(window_fill)(d0, lo0, pad);
        FN(window_fill)(d1, lo1, pad);
        for (long i = lo0; i < lo && i < hi0; i++) d0[i] = src[2 * i - pw];
        for (long i = lo1; i < lo && i < hi1; i++) d1[i] = src[2 * i + 1 - pw];
        long i = lo;
        for (; i + LANES <= hi; i += LANES) {
          VEC even, odd;
          VDEINT2(src + 2 * i - pw, even, odd);
          VSTORE(d0 + i, even);
          VSTORE(d1 + i, odd);
        }
        for (long k = i > lo0 ? i : lo0; k < hi0; k++) d0[k] = src[2 * k - pw];
        for (long k = i > lo1 ? i : lo1; k < hi1; k++) d1[k] = src[2 * k + 1 - pw];
        FN(window_fill)(d0 + hi0, P - hi0, pad);
        FN(window_fill)(d1 + hi1, P - hi1, pad);
      }
    }
    return;
  }
  for (long b = 0; b < sw; b++) {
    long lo, hi;
    FN(window_span)(g, b, P, &lo, &hi);
    for (long a = 0; a < sh; a++) {
      for (long t = 0; t < rows_per_phase; t++) {
        long ih = (oh0 + t) * sh + a - g->ph;
        float *d = stage + (a * sw + b) * S + t * P;
        if (ih < 0 || ih >= g->ih) {
          FN(window_fill)(d, P, pad);
          continue;
        }
        const float *src = x + ih * g->iw;
        FN(window_fill)(d, lo, pad);
        if (sw == 1) {
          memcpy(d + lo, src + lo - pw, sizeof(float) * (hi - lo));
        } else {
          const float *s = src + lo * sw + b - pw;
          for (long i = lo; i < hi; i++, s += sw) d[i] = *s;
        }
        FN(window_fill)(d + hi, P - hi, pad);
      }
    }
  }
}

/* Shared driver: `w` non-NULL = depthwise conv with epilogue `e`; NULL = max pooling. */
static inline void FN(window_plane)(const float *x, const float *w, float *y, const sct_dw_geometry *g,
                                    const sct_epilogue_f32 *e, long row_begin, long row_end) {
  sct_dw_plan pl;
  if (!sct_dw_make_plan(g, &pl)) return; /* callers check sct_dwconv2d_supported first */
  const long kh = g->kh, kw = g->kw, taps = kh * kw, P = pl.pitch, S = pl.plane, ow = g->ow;
  const long phases = g->sh * g->sw, extra = ((kh - 1) * g->dh) / g->sh;
  const float pad = w ? 0.0f : -__builtin_inff();
  float stage[SCT_DW_MAX_STAGE] __attribute__((aligned(64)));
  float out[SCT_DW_MAX_OUT + 2 * SCT_DW_SLACK] __attribute__((aligned(64)));
  long off[SCT_DW_MAX_TAPS];
  float wt[SCT_DW_MAX_TAPS];
  for (long r = 0; r < kh; r++) {
    for (long q = 0; q < kw; q++) {
      long rd = r * g->dh, qd = q * g->dw;
      off[r * kw + q] = ((rd % g->sh) * g->sw + qd % g->sw) * S + (rd / g->sh) * P + qd / g->sw;
      wt[r * kw + q] = w ? w[r * kw + q] : 0.0f;
    }
  }
  /* The slack past each plane's rows is read only for junk lanes; zero it so no lane reads garbage. */
  for (long p = 0; p < phases; p++) memset(stage + p * S + (pl.rows + extra) * P, 0, sizeof(float) * (S - (pl.rows + extra) * P));
  for (long oh0 = row_begin; oh0 < row_end; oh0 += pl.rows) {
    const long R = row_end - oh0 < pl.rows ? row_end - oh0 : pl.rows;
    FN(window_stage)(stage, x, g, &pl, oh0, R + extra, pad);
    if (R < pl.rows) /* a short last band: its junk lanes may read the rows after it */
      for (long p = 0; p < phases; p++) memset(stage + p * S + (R + extra) * P, 0, sizeof(float) * (S - (R + extra) * P));
    const long n = R * P;
    long o = 0;
    if (!w) {
      for (; o < n; o += LANES) {
        VEC m = VLOAD(stage + off[0] + o);
        for (long t = 1; t < taps; t++) m = VMAX(m, VLOAD(stage + off[t] + o));
        VSTORE(out + o, m);
      }
    } else if (taps == 9 && kw == 3 && g->sw <= 2 && g->dw == 1) {
      /* 3×3 undilated across a row, stride 1 or 2 (MobileNet's every depthwise layer): three row bases
       * (plus three odd-phase bases for stride 2) instead of nine tap pointers, which spilled to the
       * stack and were reloaded every vector. Stride 1: taps at P, P+1, P+2; stride 2: P, Q, P+1 with Q
       * the odd-column phase. */
      const VEC w0 = VSET1(wt[0]), w1 = VSET1(wt[1]), w2 = VSET1(wt[2]), w3 = VSET1(wt[3]), w4 = VSET1(wt[4]);
      const VEC w5 = VSET1(wt[5]), w6 = VSET1(wt[6]), w7 = VSET1(wt[7]), w8 = VSET1(wt[8]);
      const float *p0 = stage + off[0], *p1 = stage + off[3], *p2 = stage + off[6];
      if (g->sw == 1) {
#define SCT_DW3S1(i)                                                                                     \
  VFMA(VLOAD(p2 + (i) + 2), w8, VFMA(VLOAD(p2 + (i) + 1), w7, VFMA(VLOAD(p2 + (i)), w6,                 \
  VFMA(VLOAD(p1 + (i) + 2), w5, VFMA(VLOAD(p1 + (i) + 1), w4, VFMA(VLOAD(p1 + (i)), w3,                 \
  VFMA(VLOAD(p0 + (i) + 2), w2, VFMA(VLOAD(p0 + (i) + 1), w1, VMUL(VLOAD(p0 + (i)), w0)))))))))
        for (; o + 2 * LANES <= n; o += 2 * LANES) {
          VEC a0 = SCT_DW3S1(o), a1 = SCT_DW3S1(o + LANES);
          VSTORE(out + o, a0);
          VSTORE(out + o + LANES, a1);
        }
        for (; o < n; o += LANES) VSTORE(out + o, SCT_DW3S1(o));
#undef SCT_DW3S1
      } else {
        const float *q0 = stage + off[1], *q1 = stage + off[4], *q2 = stage + off[7];
#define SCT_DW3S2(i)                                                                                     \
  VFMA(VLOAD(p2 + (i) + 1), w8, VFMA(VLOAD(q2 + (i)), w7, VFMA(VLOAD(p2 + (i)), w6,                     \
  VFMA(VLOAD(p1 + (i) + 1), w5, VFMA(VLOAD(q1 + (i)), w4, VFMA(VLOAD(p1 + (i)), w3,                     \
  VFMA(VLOAD(p0 + (i) + 1), w2, VFMA(VLOAD(q0 + (i)), w1, VMUL(VLOAD(p0 + (i)), w0)))))))))
        for (; o + 2 * LANES <= n; o += 2 * LANES) {
          VEC a0 = SCT_DW3S2(o), a1 = SCT_DW3S2(o + LANES);
          VSTORE(out + o, a0);
          VSTORE(out + o + LANES, a1);
        }
        for (; o < n; o += LANES) VSTORE(out + o, SCT_DW3S2(o));
#undef SCT_DW3S2
      }
    } else if (taps == 9) {
      /* Other 3×3 windows (dilated, wider strides): nine weights and nine bases. */
      const float *p0 = stage + off[0], *p1 = stage + off[1], *p2 = stage + off[2], *p3 = stage + off[3];
      const float *p4 = stage + off[4], *p5 = stage + off[5], *p6 = stage + off[6], *p7 = stage + off[7];
      const float *p8 = stage + off[8];
      const VEC w0 = VSET1(wt[0]), w1 = VSET1(wt[1]), w2 = VSET1(wt[2]), w3 = VSET1(wt[3]), w4 = VSET1(wt[4]);
      const VEC w5 = VSET1(wt[5]), w6 = VSET1(wt[6]), w7 = VSET1(wt[7]), w8 = VSET1(wt[8]);
#define SCT_DW3(i)                                                                                       \
  VFMA(VLOAD(p8 + (i)), w8, VFMA(VLOAD(p7 + (i)), w7, VFMA(VLOAD(p6 + (i)), w6,                         \
  VFMA(VLOAD(p5 + (i)), w5, VFMA(VLOAD(p4 + (i)), w4, VFMA(VLOAD(p3 + (i)), w3,                         \
  VFMA(VLOAD(p2 + (i)), w2, VFMA(VLOAD(p1 + (i)), w1, VMUL(VLOAD(p0 + (i)), w0)))))))))
      for (; o + 2 * LANES <= n; o += 2 * LANES) {
        VEC a0 = SCT_DW3(o), a1 = SCT_DW3(o + LANES);
        VSTORE(out + o, a0);
        VSTORE(out + o + LANES, a1);
      }
      for (; o < n; o += LANES) VSTORE(out + o, SCT_DW3(o));
#undef SCT_DW3
    } else {
      for (; o + 4 * LANES <= n; o += 4 * LANES) {
        VEC a0 = VZERO(), a1 = VZERO(), a2 = VZERO(), a3 = VZERO();
        for (long t = 0; t < taps; t++) {
          const float *p = stage + off[t] + o;
          VEC wv = VSET1(wt[t]);
          a0 = VFMA(VLOAD(p), wv, a0);
          a1 = VFMA(VLOAD(p + LANES), wv, a1);
          a2 = VFMA(VLOAD(p + 2 * LANES), wv, a2);
          a3 = VFMA(VLOAD(p + 3 * LANES), wv, a3);
        }
        VSTORE(out + o, a0);
        VSTORE(out + o + LANES, a1);
        VSTORE(out + o + 2 * LANES, a2);
        VSTORE(out + o + 3 * LANES, a3);
      }
      for (; o < n; o += LANES) {
        VEC a0 = VZERO();
        for (long t = 0; t < taps; t++) a0 = VFMA(VLOAD(stage + off[t] + o), VSET1(wt[t]), a0);
        VSTORE(out + o, a0);
      }
    }
    /* Write the band out: drop the junk columns, apply the epilogue (conv) on the way. */
    for (long r = 0; r < R; r++) {
      const float *src = out + r * P;
      float *yr = y + (oh0 + r) * ow;
      const float *rr = (w && e->residual) ? e->residual + (oh0 + r) * ow : NULL;
      long ox = 0;
      for (; ox + LANES <= ow; ox += LANES) {
        VEC v = VLOAD(src + ox);
        if (w) v = FN(epi)(v, e, rr ? rr + ox : NULL);
        VSTORE(yr + ox, v);
      }
      if (ox < ow) {
        long left = ow - ox;
        VEC v = VLOAD(src + ox);
        if (w) {
          v = VFMA(v, VSET1(e->scale), VSET1(e->bias));
          if (rr) v = VADD(v, VLOADN(rr + ox, left));
          v = VMIN(VMAX(v, VSET1(e->lo)), VSET1(e->hi));
        }
        VSTOREN(yr + ox, v, left);
      }
    }
  }
}

void FN(sct_dwconv2d_f32)(const float *x, const float *w, float *y, const sct_dw_geometry *g,
                          const sct_epilogue_f32 *e, long row_begin, long row_end) {
  FN(window_plane)(x, w, y, g, e, row_begin, row_end);
}

void FN(sct_maxpool2d_f32)(const float *x, float *y, const sct_dw_geometry *g, long row_begin, long row_end) {
  FN(window_plane)(x, NULL, y, g, NULL, row_begin, row_end);
}
