/* The sliding-window family (depthwise 2-D convolution and 2-D max pooling over one NCHW plane), written
 * once and compiled per ISA (included by kernels_*.c after kernels_body.h, which provides VEC, LANES, the
 * V* vocabulary and the epilogue; VLOADN / VSTOREN, VLOADR and VDEINT2R must be defined).
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

static inline void FN(window_fill)(float *d, long n, float pad) {
  long i = 0;
  for (; i + LANES <= n; i += LANES) VSTORE(d + i, VSET1(pad));
  for (; i < n; i++) d[i] = pad;
}

/* Staged rows are built in registers and each stored once, by loads masked to the row's valid columns
 * (VLOADR: the other lanes are the pad). Building a padded row in memory first — pad stores, a vector
 * copy, a partial store — and reading it back by vector made every read wait on several in-flight
 * stores: stride-2 staging of a 28-wide row cost 820 ns per plane against 120 for the arithmetic. */

/* One input row `src` split into its two stride-2 column phases d0 (even padded columns) and d1 (odd),
 * P columns each, written exactly (the last vector masked): Winograd's input transform stages through
 * here with its phase rows packed back to back, no slack. */
static inline void FN(window_split_row)(float *d0, float *d1, const float *src, const sct_dw_geometry *g,
                                        long P, float pad) {
  const long pw = g->pw, iw = g->iw;
  const VEC padv = VSET1(pad);
  for (long c = 0; c < P; c += LANES) {
    const long col = 2 * c - pw; /* input column of padded column 2c */
    const VEC lo = VLOADR(src, col, iw, padv), hi = VLOADR(src, col + LANES, iw, padv);
    VEC even, odd;
    VDEINT2R(lo, hi, even, odd);
    if (c + LANES <= P) {
      VSTORE(d0 + c, even);
      VSTORE(d1 + c, odd);
    } else {
      VSTOREN(d0 + c, even, P - c);
      VSTOREN(d1 + c, odd, P - c);
    }
  }
}

/* Stages the padded input rows of the band starting at output row oh0 into the phase planes. */
static inline void FN(window_stage)(float *stage, const float *x, const sct_dw_geometry *g,
                                    const sct_dw_plan *pl, long oh0, long rows_per_phase, float pad) {
  const long sh = g->sh, sw = g->sw, P = pl->pitch, S = pl->plane, pw = g->pw, iw = g->iw;
  const VEC padv = VSET1(pad);
  for (long a = 0; a < sh; a++) {
    for (long t = 0; t < rows_per_phase; t++) {
      const long ih = (oh0 + t) * sh + a - g->ph;
      const int inside = ih >= 0 && ih < g->ih;
      const float *src = inside ? x + ih * iw : x;
      if (sw == 2) {
        float *d0 = stage + (a * 2) * S + t * P;
        if (inside) {
          FN(window_split_row)(d0, d0 + S, src, g, P, pad);
        } else {
          FN(window_fill)(d0, P, pad);
          FN(window_fill)(d0 + S, P, pad);
        }
        continue;
      }
      for (long b = 0; b < sw; b++) {
        float *d = stage + (a * sw + b) * S + t * P;
        if (!inside) {
          FN(window_fill)(d, P, pad);
        } else if (sw == 1) {
          for (long i = 0; i < P; i += LANES) {
            const VEC v = VLOADR(src, i - pw, iw, padv);
            if (i + LANES <= P) VSTORE(d + i, v);
            else VSTOREN(d + i, v, P - i);
          }
        } else {
          /* Strides above 2 (rare): a gather per element. */
          for (long i = 0; i < P; i++) {
            const long col = i * sw + b - pw;
            d[i] = col >= 0 && col < iw ? src[col] : pad;
          }
        }
      }
    }
  }
}

/* The per-channel epilogue of one vector of outputs (scale, bias, residual, clamp); `cnt` valid lanes of
 * residual may be read. */
static inline VEC FN(window_epi)(VEC a, VEC sc, VEC bi, VEC lo, VEC hi, const float *res, long cnt) {
  a = VFMA(a, sc, bi);
  if (res) a = VADD(a, cnt == LANES ? VLOAD(res) : VLOADN(res, cnt));
  return VMIN(VMAX(a, lo), hi);
}

/* Computes output rows [0, R) of the staged band (output row oh0 + r at flat index r · P) straight into
 * the plane yo (row stride ow), epilogue applied in registers. A row's partial last vector is stored
 * whole while it stays inside the plane (its junk lanes land on later rows, written afterwards), masked
 * only where it would cross the plane's end: a 7- or 14-wide plane costs about one plain store per row.
 * Never past the plane: the next plane may belong to another thread, or be past the tensor's end (a
 * 16-lane store from the 6th row of a 7 × 7 plane reaches 2 floats into the next one). */
#define SCT_WINDOW_ROWS(EXPR)                                                                           \
  for (long r = 0; r < R; r++) {                                                                        \
    float *yr = yo + (oh0 + r) * ow;                                                                    \
    const float *rr = res ? res + (oh0 + r) * ow : NULL;                                                \
    const long plane_left = out_plane - (oh0 + r) * ow;                                                 \
    for (long ox = 0; ox < ow; ox += LANES) {                                                           \
      const long i = r * P + ox, cnt = plane_left - ox < LANES ? plane_left - ox : LANES;               \
      VEC a = EXPR;                                                                                     \
      if (conv) a = FN(window_epi)(a, sc, bi, lo, hi, rr ? rr + ox : NULL, cnt);                        \
      if (cnt == LANES) VSTORE(yr + ox, a);                                                             \
      else VSTOREN(yr + ox, a, cnt);                                                                    \
    }                                                                                                   \
  }

/* Shared driver over planes [p_begin, p_end) of x (ih·iw floats each) into y (oh·ow each): `w` non-NULL
 * = depthwise conv (plane p is channel p % channels: weights w + c·kh·kw, epilogue `e`); NULL = max
 * pooling. The plan, tap offsets and staging buffer are set up once per call, not once per plane: on
 * MobileNet's 7 × 7 and 14 × 14 layers that set-up, plus a second pass through an output buffer, was
 * most of a plane's time (480 ns per 14 × 14 plane against ~60 of arithmetic). */
static inline void FN(window_planes)(const float *x, const float *w, float *y, const sct_dw_geometry *g,
                                     const sct_dw_planes_epilogue *e, long channels, long p_begin, long p_end) {
  sct_dw_plan pl;
  if (!sct_dw_make_plan(g, &pl)) return; /* callers check sct_dwconv2d_supported first */
  const long kh = g->kh, kw = g->kw, taps = kh * kw, P = pl.pitch, S = pl.plane, ow = g->ow, oh = g->oh;
  const long phases = g->sh * g->sw, extra = ((kh - 1) * g->dh) / g->sh;
  const long in_plane = g->ih * g->iw, out_plane = oh * ow;
  const int conv = w != NULL;
  const float pad = conv ? 0.0f : -__builtin_inff();
  float stage[SCT_DW_MAX_STAGE] __attribute__((aligned(64)));
  long off[SCT_DW_MAX_TAPS];
  for (long r = 0; r < kh; r++) {
    for (long q = 0; q < kw; q++) {
      long rd = r * g->dh, qd = q * g->dw;
      off[r * kw + q] = ((rd % g->sh) * g->sw + qd % g->sw) * S + (rd / g->sh) * P + qd / g->sw;
    }
  }
  /* Lanes past a band's rows (junk columns, a short last band) read whatever an earlier plane staged
   * there; zeroing the buffer once keeps every such lane a finite number. */
  memset(stage, 0, sizeof(float) * (size_t)(phases * S));
  const VEC lo = VSET1(conv ? e->lo : 0.0f), hi = VSET1(conv ? e->hi : 0.0f);
  const int k3 = taps == 9 && kw == 3 && g->dw == 1 && g->sw <= 2;
  for (long p = p_begin; p < p_end; p++) {
    const long c = channels > 0 ? p % channels : 0;
    const float *xp = x + p * in_plane;
    float *yo = y + p * out_plane;
    const float *res = conv && e->residual ? e->residual + p * out_plane : NULL;
    const float *wc = conv ? w + c * taps : NULL;
    const VEC sc = VSET1(conv && e->scale ? e->scale[c] : 1.0f), bi = VSET1(conv && e->bias ? e->bias[c] : 0.0f);
    for (long oh0 = 0; oh0 < oh; oh0 += pl.rows) {
      const long R = oh - oh0 < pl.rows ? oh - oh0 : pl.rows;
      FN(window_stage)(stage, xp, g, &pl, oh0, R + extra, pad);
      if (!conv) {
        SCT_WINDOW_ROWS(({
          VEC m_ = VLOAD(stage + off[0] + i);
          for (long t = 1; t < taps; t++) m_ = VMAX(m_, VLOAD(stage + off[t] + i));
          m_;
        }))
      } else if (k3) {
        /* 3×3 undilated, stride 1 or 2 (MobileNet's every depthwise layer): three row bases (plus three
         * odd-phase bases for stride 2) instead of nine tap pointers, which spilled and were reloaded
         * every vector. Stride 1: taps at p, p+1, p+2; stride 2: p, q, p+1 with q the odd-column phase. */
        const VEC w0 = VSET1(wc[0]), w1 = VSET1(wc[1]), w2 = VSET1(wc[2]), w3 = VSET1(wc[3]), w4 = VSET1(wc[4]);
        const VEC w5 = VSET1(wc[5]), w6 = VSET1(wc[6]), w7 = VSET1(wc[7]), w8 = VSET1(wc[8]);
        const float *p0 = stage + off[0], *p1 = stage + off[3], *p2 = stage + off[6];
        if (g->sw == 1) {
          SCT_WINDOW_ROWS(VFMA(VLOAD(p2 + i + 2), w8, VFMA(VLOAD(p2 + i + 1), w7, VFMA(VLOAD(p2 + i), w6,
                          VFMA(VLOAD(p1 + i + 2), w5, VFMA(VLOAD(p1 + i + 1), w4, VFMA(VLOAD(p1 + i), w3,
                          VFMA(VLOAD(p0 + i + 2), w2, VFMA(VLOAD(p0 + i + 1), w1, VMUL(VLOAD(p0 + i), w0))))))))))
        } else {
          const float *q0 = stage + off[1], *q1 = stage + off[4], *q2 = stage + off[7];
          SCT_WINDOW_ROWS(VFMA(VLOAD(p2 + i + 1), w8, VFMA(VLOAD(q2 + i), w7, VFMA(VLOAD(p2 + i), w6,
                          VFMA(VLOAD(p1 + i + 1), w5, VFMA(VLOAD(q1 + i), w4, VFMA(VLOAD(p1 + i), w3,
                          VFMA(VLOAD(p0 + i + 1), w2, VFMA(VLOAD(q0 + i), w1, VMUL(VLOAD(p0 + i), w0))))))))))
        }
      } else {
        SCT_WINDOW_ROWS(({
          VEC a_ = VZERO();
          for (long t = 0; t < taps; t++) a_ = VFMA(VLOAD(stage + off[t] + i), VSET1(wc[t]), a_);
          a_;
        }))
      }
    }
  }
}
#undef SCT_WINDOW_ROWS

void FN(sct_dwconv2d_planes_f32)(const float *x, const float *w, float *y, const sct_dw_geometry *g,
                                 const sct_dw_planes_epilogue *e, long channels, long p_begin, long p_end) {
  FN(window_planes)(x, w, y, g, e, channels, p_begin, p_end);
}

void FN(sct_maxpool2d_planes_f32)(const float *x, float *y, const sct_dw_geometry *g, long p_begin, long p_end) {
  FN(window_planes)(x, NULL, y, g, NULL, 0, p_begin, p_end);
}
