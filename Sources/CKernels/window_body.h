/* The sliding-window family (depthwise 2-D convolution and 2-D max pooling over one NCHW plane), written
 * once and compiled per ISA (included by kernels_*.c after kernels_body.h, which provides VEC, LANES, the
 * V* vocabulary, the lane masks and the epilogue; VLOADN / VSTOREN, VLOADMZ (VLOADM with a zero pad),
 * VDEINT2R, VSHIFT_IN and VMASK_BITS must be defined).
 *
 * Three ways through a plane:
 * - Flat (small same-size planes, stride 1: MobileNet's 7 × 7 layers): the plane's outputs as flat
 *   vectors, each tap one masked load per vector (window_flat_plane).
 * - Direct (stride-1 columns; the 3 × 3 conv with stride-2 columns — every MobileNet depthwise layer):
 *   each tap of an output vector is loaded straight from its input row, masked to the row's valid
 *   columns with masks made once per call, stride-2 rows deinterleaved in registers. Nothing is stored
 *   but the output. Undilated 3 × 3 rows slide down the plane (window_k3s1_slide on AVX-512,
 *   window_k3s2_slide): each input row's taps are made once and weighted for every output that reads
 *   it, the partial sums carried in registers. Stride-2 outputs at most (LANES − 1) / 2 wide pack two
 *   output rows per vector (window_pairs_s2_plane, where two-source permutes exist).
 * - Phase planes (other strided windows: max pools, 5 × 5 stride 2, column strides above 2): the padded
 *   input rows a band reads are staged once into sh × sw "phase planes" (padded row r goes to phase
 *   r % sh, column c to phase c % sw) that share one row pitch P ≥ ow. Output (oh, ox) then sits at flat
 *   index o = oh · P + ox, and every tap (r, q) of every stride and dilation reads its phase plane at
 *   o + a constant offset: unit-stride loads, no border branches.
 * (The staged path was once the only one; on MobileNetV2's 7 × 7 and 14 × 14 planes its stores, and the
 * reads waiting on them, cost 2–3× the arithmetic.) */

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

/* The epilogue and stores of output rows y and y + 1 at column ox (yr, rr: row y of the output and the
 * residual). The upper row's last vector is masked to its row: the lower row's first vectors are already
 * written (stored right to left instead, to keep it whole, the pairs ran slower). The lower row's stores
 * whole while it stays inside the plane, as in SCT_WINDOW_ROWS. */
static inline void FN(window_store_pair)(float *yr, const float *rr, long ow, long ox, long plane_left, VEC top,
                                         VEC bottom, VEC sc, VEC bi, VEC lo, VEC hi) {
  const long cnt0 = ow - ox < LANES ? ow - ox : LANES;
  const long cnt1 = plane_left - ow - ox < LANES ? plane_left - ow - ox : LANES;
  top = FN(window_epi)(top, sc, bi, lo, hi, rr ? rr + ox : NULL, cnt0);
  bottom = FN(window_epi)(bottom, sc, bi, lo, hi, rr ? rr + ow + ox : NULL, cnt1);
  if (cnt0 == LANES) VSTORE(yr + ox, top);
  else VSTOREN(yr + ox, top, cnt0);
  if (cnt1 == LANES) VSTORE(yr + ow + ox, bottom);
  else VSTOREN(yr + ow + ox, bottom, cnt1);
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

/* Column masks of the direct path — the same for every row and plane of a call, so made once: tap
 * column q of output vector v reads input columns v·LANES − pw + q·dw + t, lane t valid inside [0, iw).
 * Made per load instead (VLOADR), the scalar mask arithmetic of nine loads was most of a 14 × 14
 * plane's time: 265 ns against ~65 with the masks made once. */
#define SCT_DW_MASK_VECS 16
#define SCT_DW_MASK_TAPS 7
typedef struct {
  VMASK m[SCT_DW_MASK_VECS][SCT_DW_MASK_TAPS];
  unsigned char inside[SCT_DW_MASK_VECS]; /* every tap's columns valid in every lane: plain loads */
} FN(window_masks);

/* Fills `cm` for geometry g; 0 when the row is too wide or the kernel too wide for the table. */
static inline int FN(window_make_masks)(FN(window_masks) *cm, const sct_dw_geometry *g) {
  const long nv = (g->ow + LANES - 1) / LANES;
  if (nv > SCT_DW_MASK_VECS || g->kw > SCT_DW_MASK_TAPS) return 0;
  for (long v = 0; v < nv; v++) {
    const long col = v * LANES - g->pw;
    cm->inside[v] = col >= 0 && col + (g->kw - 1) * g->dw + LANES <= g->iw;
    for (long q = 0; q < g->kw; q++) cm->m[v][q] = VMASK_RANGE(col + q * g->dw, g->iw);
  }
  return 1;
}

/* The three taps of one input row `s` for output vector v (columns col, col + 1, col + 2), weighted. */
#define SCT_DW_ROW3(s, wa, wb, wc)                                                                      \
  (inside ? VFMA(VLOAD((s) + col + 2), wc, VFMA(VLOAD((s) + col + 1), wb, VMUL(VLOAD((s) + col), wa)))   \
          : VFMA(VLOADMZ(s, col + 2, m[2]), wc, VFMA(VLOADMZ(s, col + 1, m[1]), wb,                     \
                 VMUL(VLOADMZ(s, col, m[0]), wa))))

/* A stride-1-column window read straight from the input plane, nothing staged: each tap of an output
 * vector is one load of its input row, masked to the row's valid columns (the other lanes are the pad).
 * Staging a 7 × 7 plane — nine short masked row stores, then reads straddling them that must wait for
 * the stores to retire — plus per-load mask arithmetic held MobileNetV2's 7 × 7 and 14 × 14 depthwise
 * layers to 160 and 265 ns per plane. Both write output rows [0, oh) of plane yo like SCT_WINDOW_ROWS:
 * a partial vector whole while it stays inside the plane (later rows overwrite its junk lanes), masked
 * where it would cross the plane's end. */


/* Stride-2 columns of a 3 × 3 undilated-column depthwise conv (MobileNet's downsampling layers), read
 * straight from the input. Output vector v's lane i reads input columns col + 2i + q (col = 2·v·LANES −
 * pw, tap q). The 2·LANES columns from col + 1, deinterleaved, are taps 1 (even) and 2 (odd); tap 0 is
 * tap 2 moved up one lane, its first lane the previous vector's last odd column (column col). One
 * deinterleave and two loads per input row and vector, where loading from col and from col + 2 took
 * four loads and three permutes. Masks: m[0], m[1] for the loads at col + 1 and col + 1 + LANES. */
static inline int FN(window_make_masks_s2)(FN(window_masks) *cm, const sct_dw_geometry *g) {
  const long nv = (g->ow + LANES - 1) / LANES;
  if (nv > SCT_DW_MASK_VECS) return 0;
  for (long v = 0; v < nv; v++) {
    const long col = 2 * v * LANES - g->pw;
    cm->inside[v] = col + 1 >= 0 && col + 1 + 2 * LANES <= g->iw;
    cm->m[v][0] = VMASK_RANGE(col + 1, g->iw), cm->m[v][1] = VMASK_RANGE(col + 1 + LANES, g->iw);
  }
  return 1;
}

/* Taps 0–2 of input row s for the output vector whose tap-0 column is col; *odd holds the previous
 * vector's odd phase on entry (a row's first vector: column col in its last lane) and this one's on exit. */
static inline void FN(dw_taps_s2)(const float *s, long col, int inside, const VMASK *m, VEC *odd, VEC *t0, VEC *t1,
                                  VEC *t2) {
  const VEC a = inside ? VLOAD(s + col + 1) : VLOADMZ(s, col + 1, m[0]);
  const VEC b = inside ? VLOAD(s + col + 1 + LANES) : VLOADMZ(s, col + 1 + LANES, m[1]);
  VEC e, o;
  VDEINT2R(a, b, e, o);
  *t0 = VSHIFT_IN(o, *odd), *t1 = e, *t2 = o, *odd = o;
}

/* Output rows y (and y + 1 when `two`: row stride 2, undilated, so the pair shares input row 2y + 1 and
 * reads five rows for two outputs instead of six). Rows outside the input are pad: skipped. Always
 * inlined, with `two` a constant at each call: left a call, its row loop ran a variable count, so src,
 * odd and the weights lived in memory (a memset per call): MobileNet's stride-2 layers ran 35–50 % slower. */
static inline __attribute__((always_inline)) void FN(window_k3s2_rows)(const float *xp, const VEC *w, float *yo,
                                                                       const sct_dw_geometry *g,
                                                                       const FN(window_masks) *cm, VEC sc, VEC bi,
                                                                       VEC lo, VEC hi, const float *res, long y,
                                                                       int two) {
  const long ow = g->ow, iw = g->iw, ih = g->ih, base = y * g->sh - g->ph, col0 = -g->pw;
  const long plane_left = g->oh * ow - y * ow;
  const float *src[5];
  VEC odd[5];
  const int nrows = two ? 5 : 3;
  for (int i = 0; i < nrows; i++) {
    const long row = base + i * g->dh;
    src[i] = (unsigned long)row < (unsigned long)ih ? xp + row * iw : NULL;
    odd[i] = VSET1(src[i] && col0 >= 0 && col0 < iw ? src[i][col0] : 0.0f);
  }
  float *yr = yo + y * ow;
  const float *rr = res ? res + y * ow : NULL;
  for (long v = 0, ox = 0; ox < ow; v++, ox += LANES) {
    const long col = 2 * ox + col0;
    const int inside = cm->inside[v];
    const VMASK *m = cm->m[v];
    /* Rows 0–1 and 2 of each output in separate chains, added at the end (one chain of nine dependent
     * FMAs would take 36 cycles). */
    VEC top = VZERO(), top2 = VZERO(), bottom = VZERO(), bottom2 = VZERO(), t0, t1, t2;
    for (int i = 0; i < nrows; i++) {
      if (!src[i]) continue;
      FN(dw_taps_s2)(src[i], col, inside, m, &odd[i], &t0, &t1, &t2);
      if (i < 2) top = VFMA(t2, w[3 * i + 2], VFMA(t1, w[3 * i + 1], VFMA(t0, w[3 * i], top)));
      if (i == 2) top2 = VFMA(t2, w[8], VFMA(t1, w[7], VMUL(t0, w[6])));
      if (i == 2 && two) bottom2 = VFMA(t2, w[2], VFMA(t1, w[1], VMUL(t0, w[0])));
      if (i > 2) bottom = VFMA(t2, w[3 * i - 4], VFMA(t1, w[3 * i - 5], VFMA(t0, w[3 * i - 6], bottom)));
    }
    top = VADD(top, top2), bottom = VADD(bottom, bottom2);
    if (!two) {
      const long cnt = plane_left - ox < LANES ? plane_left - ox : LANES;
      top = FN(window_epi)(top, sc, bi, lo, hi, rr ? rr + ox : NULL, cnt);
      if (cnt == LANES) VSTORE(yr + ox, top);
      else VSTOREN(yr + ox, top, cnt);
      continue;
    }
    FN(window_store_pair)(yr, rr, ow, ox, plane_left, top, bottom, sc, bi, lo, hi);
  }
}

static inline void FN(window_direct_k3s2)(const float *xp, const float *wc, float *yo, const sct_dw_geometry *g,
                                          const FN(window_masks) *cm, VEC sc, VEC bi, VEC lo, VEC hi,
                                          const float *res) {
  VEC w[9];
  for (int t = 0; t < 9; t++) w[t] = VSET1(wc[t]);
  const int pairs = g->sh == 2 && g->dh == 1;
  for (long y = 0; y < g->oh; y++) {
    if (pairs && y + 1 < g->oh) {
      FN(window_k3s2_rows)(xp, w, yo, g, cm, sc, bi, lo, hi, res, y, 1);
      y++;
    } else {
      FN(window_k3s2_rows)(xp, w, yo, g, cm, sc, bi, lo, hi, res, y, 0);
    }
  }
}

/* Stride-2 3 × 3 depthwise conv (undilated): slides down the plane one output row at a time (in strips of
 * SCT_SLIDE_VECS vectors, as window_k3s1_slide), making each input row's three taps once. Output y
 * reads input rows 2y − ph + {0, 1, 2}, and its last row is the next output's first: its taps are
 * weighted twice and the second product is carried. Two row loads and a deinterleave per input row,
 * where the pairs of window_k3s2_rows re-read one row in five. Each output sums three independent chains
 * (carried row, middle row, last row). NV is a constant at every call (always inlined), so the carried
 * and summed vectors stay in registers. */
#define SCT_SLIDE_VECS 4
static inline __attribute__((always_inline)) void FN(window_k3s2_slide)(const float *xp, const float *wc, float *yo,
                                                                        const sct_dw_geometry *g,
                                                                        const FN(window_masks) *cm, VEC sc, VEC bi,
                                                                        VEC lo, VEC hi, const float *res, long v0,
                                                                        const int NV, int strips) {
  const long ow = g->ow, oh = g->oh, iw = g->iw, ih = g->ih, col0 = 2 * v0 * LANES - g->pw, out_plane = oh * ow;
  const VEC zero = VZERO();
  VEC w[9];
  for (int t = 0; t < 9; t++) w[t] = VSET1(wc[t]);
  VEC carry[SCT_SLIDE_VECS], mid[SCT_SLIDE_VECS], last[SCT_SLIDE_VECS], next[SCT_SLIDE_VECS];
  /* The taps of input row `row` for every output vector, weighted by tap row `tr` into `out` (zero for
   * a pad row); when `both`, weighted by tap row 0 into `out2` too. */
#define SCT_SLIDE_ROW(row, tr, out, both, out2)                                                         \
  do {                                                                                                  \
    const long row_ = (row);                                                                            \
    if ((unsigned long)row_ >= (unsigned long)ih) {                                                     \
      for (int v = 0; v < NV; v++) out[v] = zero;                                                       \
      if (both) for (int v = 0; v < NV; v++) out2[v] = zero;                                            \
      break;                                                                                            \
    }                                                                                                   \
    const float *s_ = xp + row_ * iw;                                                                   \
    VEC odd_ = VSET1(col0 >= 0 && col0 < iw ? s_[col0] : 0.0f), t0, t1, t2;                             \
    for (int v = 0; v < NV; v++) {                                                                      \
      FN(dw_taps_s2)(s_, 2 * v * LANES + col0, cm->inside[v0 + v], cm->m[v0 + v], &odd_, &t0, &t1, &t2);\
      out[v] = VFMA(t2, w[3 * (tr) + 2], VFMA(t1, w[3 * (tr) + 1], VMUL(t0, w[3 * (tr)])));             \
      if (both) out2[v] = VFMA(t2, w[2], VFMA(t1, w[1], VMUL(t0, w[0])));                               \
    }                                                                                                   \
  } while (0)
  SCT_SLIDE_ROW(-g->ph, 0, carry, 0, next);
  for (long y = 0; y < oh; y++) {
    const long base = 2 * y - g->ph;
    SCT_SLIDE_ROW(base + 1, 1, mid, 0, next);
    SCT_SLIDE_ROW(base + 2, 2, last, 1, next);
    float *yr = yo + y * ow;
    const float *rr = res ? res + y * ow : NULL;
    /* As in window_k3s1_slide: whole past the row's end with one strip, masked to the row with several. */
    const long left = strips ? ow : out_plane - y * ow;
    for (int v = 0; v < NV; v++) {
      const long ox = (v0 + v) * LANES, cnt = left - ox < LANES ? left - ox : LANES;
      const VEC a = FN(window_epi)(VADD(VADD(carry[v], mid[v]), last[v]), sc, bi, lo, hi, rr ? rr + ox : NULL, cnt);
      if (cnt == LANES) VSTORE(yr + ox, a);
      else VSTOREN(yr + ox, a, cnt);
      carry[v] = next[v];
    }
  }
#undef SCT_SLIDE_ROW
}

/* Stride-1 3 × 3 depthwise conv (undilated; rows of at most WINDOW_SLIDE_S1_MAX_VECS vectors, where the ISA
 * defines it), sliding down the plane like
 * window_k3s2_slide: each input row's three column taps are loaded once and weighted by all three tap
 * rows, for the three outputs that read it. Output y reads input rows y − ph + {0, 1, 2}; two partial
 * sums are carried (outputs y and y + 1). Output vectors [v0, v0 + NV) of every row: wider planes go
 * down in strips of SCT_SLIDE_VECS vectors (`strips` set), so the carried sums stay in registers. Three
 * loads per output vector where the row pairs of window_direct_k3 load six, and no per-pair set-up:
 * hot planes on Zen 4 14² −33 %, 28² −35 %, 56² −15–27 %, 112² −13 %. */
static inline __attribute__((always_inline)) void FN(window_k3s1_slide)(const float *xp, const float *wc, float *yo,
                                                                        const sct_dw_geometry *g,
                                                                        const FN(window_masks) *cm, VEC sc, VEC bi,
                                                                        VEC lo, VEC hi, const float *res, long v0,
                                                                        const int NV, int strips) {
  const long ow = g->ow, oh = g->oh, iw = g->iw, ih = g->ih, col0 = v0 * LANES - g->pw, out_plane = oh * ow;
  const VEC zero = VZERO();
  VEC w[9];
  for (int t = 0; t < 9; t++) w[t] = VSET1(wc[t]);
  /* c0: output y's sum so far; c1: output y + 1's. */
  VEC c0[SCT_SLIDE_VECS], c1[SCT_SLIDE_VECS], p[3][SCT_SLIDE_VECS];
  /* Input row `row` weighted by each tap row into p[0..2] (zero for a pad row). */
#define SCT_SLIDE1_ROW(row)                                                                             \
  do {                                                                                                  \
    const long row_ = (row);                                                                            \
    if ((unsigned long)row_ >= (unsigned long)ih) {                                                     \
      for (int v = 0; v < NV; v++) p[0][v] = p[1][v] = p[2][v] = zero;                                  \
      break;                                                                                            \
    }                                                                                                   \
    const float *s_ = xp + row_ * iw;                                                                   \
    for (int v = 0; v < NV; v++) {                                                                      \
      const long col = v * LANES + col0;                                                                \
      const int inside = cm->inside[v0 + v];                                                            \
      const VMASK *m = cm->m[v0 + v];                                                                   \
      const VEC t0 = inside ? VLOAD(s_ + col) : VLOADMZ(s_, col, m[0]);                                 \
      const VEC t1 = inside ? VLOAD(s_ + col + 1) : VLOADMZ(s_, col + 1, m[1]);                         \
      const VEC t2 = inside ? VLOAD(s_ + col + 2) : VLOADMZ(s_, col + 2, m[2]);                         \
      for (int r = 0; r < 3; r++) p[r][v] = VFMA(t2, w[3 * r + 2], VFMA(t1, w[3 * r + 1], VMUL(t0, w[3 * r])));\
    }                                                                                                   \
  } while (0)
  SCT_SLIDE1_ROW(-g->ph);
  for (int v = 0; v < NV; v++) c0[v] = p[0][v];
  SCT_SLIDE1_ROW(1 - g->ph);
  for (int v = 0; v < NV; v++) c0[v] = VADD(c0[v], p[1][v]), c1[v] = p[0][v];
  for (long y = 0; y < oh; y++) {
    SCT_SLIDE1_ROW(y - g->ph + 2);
    float *yr = yo + y * ow;
    const float *rr = res ? res + y * ow : NULL;
    /* One strip: a row's partial last vector is stored whole while inside the plane (its junk lanes land
     * on the next row, written afterwards); several: masked to the row (the next row's first strip is
     * already written). */
    const long left = strips ? ow : out_plane - y * ow;
    for (int v = 0; v < NV; v++) {
      const long ox = (v0 + v) * LANES, cnt = left - ox < LANES ? left - ox : LANES;
      const VEC a = FN(window_epi)(VADD(c0[v], p[2][v]), sc, bi, lo, hi, rr ? rr + ox : NULL, cnt);
      if (cnt == LANES) VSTORE(yr + ox, a);
      else VSTOREN(yr + ox, a, cnt);
      c0[v] = VADD(c1[v], p[1][v]), c1[v] = p[0][v];
    }
  }
#undef SCT_SLIDE1_ROW
}

#ifdef VPERMX2
/* Stride-2 3 × 3 depthwise conv whose outputs are at most (LANES − 1) / 2 wide (MobileNet's 14 → 7
 * layers; 8 → 4 or 10 → 5 at the lower input resolutions spatial pruning picks): two output rows share
 * one vector. Each tap row is one masked load per input row of the pair, and each tap one two-source
 * permute picking lanes 2x + q of the upper row and of the lower one. One row per vector used 7 of 16
 * lanes, with two loads and a deinterleave per tap row and output row: the 14 → 7 layers ran at 3–3.6×
 * onnxruntime's time. Index vectors and the row mask depend on the geometry only: made once per call. */
typedef struct {
  VIDX idx[3];
  VMASK row; /* lanes t with 0 ≤ t − pw < iw: one input row's valid columns from column −pw */
} FN(window_pairs_s2);

static inline int FN(window_make_pairs_s2)(FN(window_pairs_s2) *pp, const sct_dw_geometry *g) {
  if (g->sw != 2 || g->kh != 3 || g->kw != 3 || g->dw != 1 || 2 * g->ow + 1 > LANES) return 0;
  int idx[LANES];
  for (int q = 0; q < 3; q++) {
    for (long i = 0; i < LANES; i++)
      idx[i] = i < g->ow ? (int)(2 * i + q) : i < 2 * g->ow ? (int)(LANES + 2 * (i - g->ow) + q) : 0;
    pp->idx[q] = VIDX_LOAD(idx);
  }
  pp->row = VMASK_RANGE(-g->pw, g->iw);
  return 1;
}

static inline void FN(window_pairs_s2_plane)(const float *xp, const float *wc, float *yo, const sct_dw_geometry *g,
                                             const FN(window_pairs_s2) *pp, VEC sc, VEC bi, VEC lo, VEC hi,
                                             const float *res) {
  const long ow = g->ow, oh = g->oh, iw = g->iw, ih = g->ih, out_plane = oh * ow;
  const VEC zero = VZERO();
  const VIDX i0 = pp->idx[0], i1 = pp->idx[1], i2 = pp->idx[2];
  VEC w[9];
  for (int t = 0; t < 9; t++) w[t] = VSET1(wc[t]);
  for (long y = 0; y < oh; y += 2) {
    VEC part[3];
    for (int r = 0; r < 3; r++) {
      const long up = y * g->sh - g->ph + r * g->dh, down = up + g->sh; /* input rows of tap row r */
      const VEC a = (unsigned long)up < (unsigned long)ih ? VLOADMZ(xp + up * iw, -g->pw, pp->row) : zero;
      const VEC b = y + 1 < oh && (unsigned long)down < (unsigned long)ih ? VLOADMZ(xp + down * iw, -g->pw, pp->row)
                                                                          : zero;
      part[r] = VFMA(VPERMX2(a, i2, b), w[3 * r + 2], VFMA(VPERMX2(a, i1, b), w[3 * r + 1], VMUL(VPERMX2(a, i0, b), w[3 * r])));
    }
    const long o = y * ow, cnt = out_plane - o < 2 * ow ? out_plane - o : 2 * ow;
    const VEC v = FN(window_epi)(VADD(VADD(part[0], part[1]), part[2]), sc, bi, lo, hi, res ? res + o : NULL, cnt);
    /* Whole while inside the plane: the junk lanes land on rows the next pair writes. */
    if (o + LANES <= out_plane) VSTORE(yo + o, v);
    else VSTOREN(yo + o, v, cnt);
  }
}
#endif

/* 3 × 3 undilated-column depthwise conv with column stride 1: nine weights in registers, three row
 * chains summed at the end (nine dependent FMAs would be one 36-cycle chain), a pad row simply skipped. */
static inline void FN(window_direct_k3)(const float *xp, const float *wc, float *yo, const sct_dw_geometry *g,
                                        const FN(window_masks) *cm, VEC sc, VEC bi, VEC lo, VEC hi,
                                        const float *res) {
  const long ow = g->ow, oh = g->oh, iw = g->iw, ih = g->ih, rstep = g->dh * iw, out_plane = oh * ow;
  const VEC zero = VZERO();
  const VEC w0 = VSET1(wc[0]), w1 = VSET1(wc[1]), w2 = VSET1(wc[2]), w3 = VSET1(wc[3]), w4 = VSET1(wc[4]);
  const VEC w5 = VSET1(wc[5]), w6 = VSET1(wc[6]), w7 = VSET1(wc[7]), w8 = VSET1(wc[8]);
  /* Stride-1 undilated rows go in pairs where all four input rows they read are inside: the two middle
   * rows' taps are loaded once for both outputs (12 loads per vector pair instead of 18). Each output's
   * three tap rows are three chains, added at the end (one chain of nine: 2–4 % slower per plane). */
  const int pairs = g->sh == 1 && g->dh == 1;
  for (long y = 0; y < oh; y++) {
    const long base = y * g->sh - g->ph; /* input row of tap row 0 */
    if (pairs && y + 1 < oh && base >= 0 && base + 3 < ih) {
      const float *sa = xp + base * iw, *sb = sa + iw, *sc2 = sb + iw, *sd = sc2 + iw;
      float *yr = yo + y * ow;
      const float *rr = res ? res + y * ow : NULL;
      const long plane_left = out_plane - y * ow;
      for (long v = 0, ox = 0; ox < ow; v++, ox += LANES) {
        const long col = ox - g->pw;
        const int inside = cm->inside[v];
        const VMASK *m = cm->m[v];
#define SCT_DW_TAP(s, q) (inside ? VLOAD((s) + col + (q)) : VLOADMZ(s, col + (q), m[q]))
        VEC t0 = SCT_DW_TAP(sa, 0), t1 = SCT_DW_TAP(sa, 1), t2 = SCT_DW_TAP(sa, 2);
        VEC top = VFMA(t2, w2, VFMA(t1, w1, VMUL(t0, w0)));
        t0 = SCT_DW_TAP(sb, 0), t1 = SCT_DW_TAP(sb, 1), t2 = SCT_DW_TAP(sb, 2);
        VEC top1 = VFMA(t2, w5, VFMA(t1, w4, VMUL(t0, w3)));
        VEC bottom = VFMA(t2, w2, VFMA(t1, w1, VMUL(t0, w0)));
        t0 = SCT_DW_TAP(sc2, 0), t1 = SCT_DW_TAP(sc2, 1), t2 = SCT_DW_TAP(sc2, 2);
        VEC top2 = VFMA(t2, w8, VFMA(t1, w7, VMUL(t0, w6)));
        VEC bottom1 = VFMA(t2, w5, VFMA(t1, w4, VMUL(t0, w3)));
        t0 = SCT_DW_TAP(sd, 0), t1 = SCT_DW_TAP(sd, 1), t2 = SCT_DW_TAP(sd, 2);
        VEC bottom2 = VFMA(t2, w8, VFMA(t1, w7, VMUL(t0, w6)));
        top = VADD(VADD(top, top1), top2), bottom = VADD(VADD(bottom, bottom1), bottom2);
#undef SCT_DW_TAP
        FN(window_store_pair)(yr, rr, ow, ox, plane_left, top, bottom, sc, bi, lo, hi);
      }
      y++;
      continue;
    }
    const int r0 = (unsigned long)base < (unsigned long)ih, r1 = (unsigned long)(base + g->dh) < (unsigned long)ih;
    const int r2 = (unsigned long)(base + 2 * g->dh) < (unsigned long)ih;
    const float *s0 = xp + base * iw, *s1 = s0 + rstep, *s2r = s1 + rstep;
    float *yr = yo + y * ow;
    const float *rr = res ? res + y * ow : NULL;
    const long plane_left = out_plane - y * ow;
    for (long v = 0, ox = 0; ox < ow; v++, ox += LANES) {
      const long col = ox - g->pw, cnt = plane_left - ox < LANES ? plane_left - ox : LANES;
      const int inside = cm->inside[v];
      const VMASK *m = cm->m[v];
      VEC a;
      if (r0 && r1 && r2) {
        a = VADD(VADD(SCT_DW_ROW3(s0, w0, w1, w2), SCT_DW_ROW3(s1, w3, w4, w5)), SCT_DW_ROW3(s2r, w6, w7, w8));
      } else {
        a = zero;
        if (r0) a = SCT_DW_ROW3(s0, w0, w1, w2);
        if (r1) a = VADD(a, SCT_DW_ROW3(s1, w3, w4, w5));
        if (r2) a = VADD(a, SCT_DW_ROW3(s2r, w6, w7, w8));
      }
      a = FN(window_epi)(a, sc, bi, lo, hi, rr ? rr + ox : NULL, cnt);
      if (cnt == LANES) VSTORE(yr + ox, a);
      else VSTOREN(yr + ox, a, cnt);
    }
  }
}
#undef SCT_DW_ROW3

/* Any other stride-1-column window: depthwise conv (`wc` non-NULL) or max pool; `cm` NULL (rows wider
 * than the mask table): masks made per load. */
static inline void FN(window_direct_s1)(const float *xp, const float *wc, float *yo, const sct_dw_geometry *g,
                                        const FN(window_masks) *cm, VEC sc, VEC bi, VEC lo, VEC hi,
                                        const float *res) {
  const long kh = g->kh, kw = g->kw, ow = g->ow, oh = g->oh, iw = g->iw, ih = g->ih, dh = g->dh, dw = g->dw;
  const long out_plane = oh * ow;
  const int conv = wc != NULL;
  const VEC padv = VSET1(conv ? 0.0f : -__builtin_inff());
  for (long y = 0; y < oh; y++) {
    const long base = y * g->sh - g->ph; /* input row of tap row 0 */
    float *yr = yo + y * ow;
    const float *rr = res ? res + y * ow : NULL;
    const long plane_left = out_plane - y * ow;
    for (long v = 0, ox = 0; ox < ow; v++, ox += LANES) {
      const long col = ox - g->pw, cnt = plane_left - ox < LANES ? plane_left - ox : LANES;
      VEC a = conv ? VZERO() : padv;
      for (long r = 0; r < kh; r++) {
        const long row = base + r * dh;
        if ((unsigned long)row >= (unsigned long)ih) continue; /* a pad row: adds 0 / can't raise the max */
        const float *s = xp + row * iw;
        for (long q = 0; q < kw; q++) {
          const VEC t = cm ? VLOADM(s, col + q * dw, cm->m[v][q], padv) : VLOADR(s, col + q * dw, iw, padv);
          a = conv ? VFMA(t, VSET1(wc[r * kw + q]), a) : VMAX(a, t);
        }
      }
      if (conv) a = FN(window_epi)(a, sc, bi, lo, hi, rr ? rr + ox : NULL, cnt);
      if (cnt == LANES) VSTORE(yr + ox, a);
      else VSTOREN(yr + ox, a, cnt);
    }
  }
}

/* Small same-size planes (stride 1, oh = ih, ow = iw: MobileNet's 7 × 7 layers) as flat vectors. Output
 * o = oy · ow + ox then reads tap (r, q) at input o + (r·dh − ph)·iw + q·dw − pw — one offset per tap for
 * the whole plane — from a load masked to the lanes whose row and column stay inside the image. With 16
 * lanes a 7 × 7 plane is 4 vectors (49 of 64 lanes used) against 7 one-row vectors (7 of 16): 36 loads
 * and FMAs per plane instead of 63. Masks and offsets depend on the geometry only: made once per call. */
#define SCT_FLAT_VECS 4
#define SCT_FLAT_TAPS 9
typedef struct {
  VMASK m[SCT_FLAT_VECS][SCT_FLAT_TAPS];
  long off[SCT_FLAT_TAPS];
} FN(window_flat);

/* Fills `f` and returns 1 when the geometry suits the flat path and it saves a quarter of the vectors. */
static inline int FN(window_make_flat)(FN(window_flat) *f, const sct_dw_geometry *g) {
  const long taps = g->kh * g->kw, out_plane = g->oh * g->ow, nv = (out_plane + LANES - 1) / LANES;
  if (g->sh != 1 || g->sw != 1 || g->oh != g->ih || g->ow != g->iw || taps > SCT_FLAT_TAPS) return 0;
  if (nv > SCT_FLAT_VECS || LANES > 32 || nv * 4 > g->oh * ((g->ow + LANES - 1) / LANES) * 3) return 0;
  /* A tap's valid outputs, as bits of the flat plane (at most 4 · 32 of them): rows oy with the input row
   * oy + dy inside, in each the one run of columns with ox + dx inside. Made lane by lane (a division
   * each), the masks cost ~1 µs per call — as much as 30 planes of 7 × 7 — and a layer split into 8 calls
   * on 2 threads lost half its speedup to them. */
  const unsigned lane_bits = LANES >= 32 ? 0xFFFFFFFFu : (1u << LANES) - 1;
  for (long r = 0; r < g->kh; r++) {
    for (long q = 0; q < g->kw; q++) {
      const long t = r * g->kw + q, dy = r * g->dh - g->ph, dx = q * g->dw - g->pw;
      f->off[t] = dy * g->iw + dx;
      const long c0 = dx < 0 ? -dx : 0, c1 = g->iw - dx < g->ow ? g->iw - dx : g->ow;
      unsigned __int128 bits = 0;
      for (long oy = 0; oy < g->oh && c1 > c0; oy++) {
        if (oy + dy < 0 || oy + dy >= g->ih) continue;
        bits |= ((((unsigned __int128)1) << (c1 - c0)) - 1) << (oy * g->ow + c0);
      }
      for (long v = 0; v < SCT_FLAT_VECS; v++) f->m[v][t] = VMASK_BITS((unsigned)(bits >> (v * LANES)) & lane_bits);
    }
  }
  return 1;
}

/* NP (1 or 2, a constant at each call) consecutive planes of one geometry: plane q reads xp + q·in_plane
 * with weights wc + q·taps and scale/bias sc[q]/bi[q], and writes yo + q·out_plane. Two at once load each
 * tap's masks and offset once for both and run eight chains instead of four: 7 × 7 planes −12 %. */
static inline __attribute__((always_inline)) void FN(window_flat_planes)(const float *xp, long in_plane,
                                                                         const float *wc, float *yo,
                                                                         const sct_dw_geometry *g,
                                                                         const FN(window_flat) *f, const VEC *sc,
                                                                         const VEC *bi, VEC lo, VEC hi,
                                                                         const float *res, const int NP) {
  const long taps = g->kh * g->kw, out_plane = g->oh * g->ow;
  const VEC zero = VZERO();
  VEC acc[2][SCT_FLAT_VECS];
  for (int q = 0; q < NP; q++)
    for (int v = 0; v < SCT_FLAT_VECS; v++) acc[q][v] = zero;
  for (long t = 0; t < taps; t++) {
    const long off = f->off[t];
    /* Vectors past the plane have all-zero masks: their loads touch nothing and they are never stored. */
    for (int v = 0; v < SCT_FLAT_VECS; v++) {
      const VMASK m = f->m[v][t];
      for (int q = 0; q < NP; q++)
        acc[q][v] = VFMA(VLOADMZ(xp + q * in_plane, v * LANES + off, m), VSET1(wc[q * taps + t]), acc[q][v]);
    }
  }
  /* Constant bounds: indexing acc by a variable would keep it in memory (zeroed by memset per plane). */
  for (int q = 0; q < NP; q++) {
    for (int v = 0; v < SCT_FLAT_VECS; v++) {
      const long o = v * LANES;
      if (o >= out_plane) break;
      const long cnt = out_plane - o < LANES ? out_plane - o : LANES;
      const VEC a = FN(window_epi)(acc[q][v], sc[q], bi[q], lo, hi, res ? res + q * out_plane + o : NULL, cnt);
      if (cnt == LANES) VSTORE(yo + q * out_plane + o, a);
      else VSTOREN(yo + q * out_plane + o, a, cnt);
    }
  }
}

/* A sliding kernel over a whole plane: strips of at most SCT_SLIDE_VECS output vectors, each call with a
 * constant vector count (so its carried sums stay in registers). */
#define SCT_SLIDE_STRIPS(NAME)                                                                          \
  do {                                                                                                  \
    const long nv = (ow + LANES - 1) / LANES;                                                           \
    const int strips = nv > SCT_SLIDE_VECS;                                                             \
    for (long v0 = 0; v0 < nv; v0 += SCT_SLIDE_VECS) {                                                  \
      switch (nv - v0 < SCT_SLIDE_VECS ? nv - v0 : SCT_SLIDE_VECS) {                                    \
        case 1: FN(NAME)(xp, wc, yo, g, &cm, sc, bi, lo, hi, res, v0, 1, strips); break;                \
        case 2: FN(NAME)(xp, wc, yo, g, &cm, sc, bi, lo, hi, res, v0, 2, strips); break;                \
        case 3: FN(NAME)(xp, wc, yo, g, &cm, sc, bi, lo, hi, res, v0, 3, strips); break;                \
        default: FN(NAME)(xp, wc, yo, g, &cm, sc, bi, lo, hi, res, v0, 4, strips); break;               \
      }                                                                                                 \
    }                                                                                                   \
  } while (0)

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
  /* Stride-1 columns, and the stride-2 3 × 3 conv, read the input directly; only the other strided
   * windows are staged into phase planes. */
  const int direct = g->sw == 1;
  FN(window_masks) cm;
  const int have_masks = direct && FN(window_make_masks)(&cm, g);
  const int direct_k3 = have_masks && conv && g->kh == 3 && g->kw == 3 && g->dw == 1;
#ifdef WINDOW_SLIDE_S1_MAX_VECS
  const int slide1 = direct_k3 && g->sh == 1 && g->dh == 1 && (ow + LANES - 1) / LANES <= WINDOW_SLIDE_S1_MAX_VECS;
#else
  const int slide1 = 0;
#endif
  const int direct_k3s2 = conv && g->sw == 2 && g->kh == 3 && g->kw == 3 && g->dw == 1 &&
                          FN(window_make_masks_s2)(&cm, g);
  FN(window_flat) flat;
  const int flat_ok = conv && FN(window_make_flat)(&flat, g);
#ifdef VPERMX2
  FN(window_pairs_s2) pairs;
  const int pairs_s2 = conv && FN(window_make_pairs_s2)(&pairs, g);
#endif
  /* Lanes past a band's rows (junk columns, a short last band) read whatever an earlier plane staged
   * there; zeroing the buffer once keeps every such lane a finite number. */
  if (!direct && !direct_k3s2) memset(stage, 0, sizeof(float) * (size_t)(phases * S));
  const VEC lo = VSET1(conv ? e->lo : 0.0f), hi = VSET1(conv ? e->hi : 0.0f);
  const int k3 = taps == 9 && kw == 3 && g->dw == 1 && g->sw <= 2;
  for (long p = p_begin; p < p_end; p++) {
    const long c = channels > 0 ? p % channels : 0;
    const float *xp = x + p * in_plane;
    float *yo = y + p * out_plane;
    const float *res = conv && e->residual ? e->residual + p * out_plane : NULL;
    const float *wc = conv ? w + c * taps : NULL;
    const VEC sc = VSET1(conv && e->scale ? e->scale[c] : 1.0f), bi = VSET1(conv && e->bias ? e->bias[c] : 0.0f);
    if (flat_ok) {
      /* Planes in pairs while the next one is of the next channel (not past a batch item's last). */
      if (p + 1 < p_end && c + 1 < channels) {
        const VEC scs[2] = {sc, VSET1(e->scale ? e->scale[c + 1] : 1.0f)};
        const VEC bis[2] = {bi, VSET1(e->bias ? e->bias[c + 1] : 0.0f)};
        FN(window_flat_planes)(xp, in_plane, wc, yo, g, &flat, scs, bis, lo, hi, res, 2);
        p++;
      } else {
        FN(window_flat_planes)(xp, in_plane, wc, yo, g, &flat, &sc, &bi, lo, hi, res, 1);
      }
      continue;
    }
    if (slide1) {
      SCT_SLIDE_STRIPS(window_k3s1_slide);
      continue;
    }
    if (direct_k3) {
      FN(window_direct_k3)(xp, wc, yo, g, &cm, sc, bi, lo, hi, res);
      continue;
    }
#ifdef VPERMX2
    if (pairs_s2) {
      FN(window_pairs_s2_plane)(xp, wc, yo, g, &pairs, sc, bi, lo, hi, res);
      continue;
    }
#endif
    /* At most two strips: with more (AVX2, 224 → 112), the taps of each strip's rows came from L2 and
     * the rows of window_k3s2_rows ran 14 % faster. */
    if (direct_k3s2 && g->sh == 2 && g->dh == 1 && ow <= 2 * SCT_SLIDE_VECS * LANES) {
      SCT_SLIDE_STRIPS(window_k3s2_slide);
      continue;
    }
    if (direct_k3s2) {
      FN(window_direct_k3s2)(xp, wc, yo, g, &cm, sc, bi, lo, hi, res);
      continue;
    }
    if (direct) {
      FN(window_direct_s1)(xp, wc, yo, g, have_masks ? &cm : NULL, sc, bi, lo, hi, res);
      continue;
    }
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
#undef SCT_SLIDE_STRIPS

void FN(sct_dwconv2d_planes_f32)(const float *x, const float *w, float *y, const sct_dw_geometry *g,
                                 const sct_dw_planes_epilogue *e, long channels, long p_begin, long p_end) {
  FN(window_planes)(x, w, y, g, e, channels, p_begin, p_end);
}

void FN(sct_maxpool2d_planes_f32)(const float *x, float *y, const sct_dw_geometry *g, long p_begin, long p_end) {
  FN(window_planes)(x, NULL, y, g, NULL, 0, p_begin, p_end);
}
