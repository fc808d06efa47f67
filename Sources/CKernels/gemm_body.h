/* The float32 GEMM microkernel family, written once and compiled per ISA (included by kernels_*.c after
 * kernels_body.h, which provides VEC, LANES and the V* vocabulary). Needs GEMM_MR (rows per tile) and,
 * for the partial last vector of a row, VLOADN(p, n) / VSTOREN(p, v, n) (first n lanes); GEMM_NR (columns
 * per panel, 2 or 3 vectors), GEMM_PANEL_FLOATS / GEMM_JG (panel staging) and GEMM_MC (rows per weight block);
 * optionally GEMM_MRV, a vector of GEMM_MRV_LANES ≥ GEMM_MR lanes whose first GEMM_MR MRV_LOAD fills (the
 * others zero: MRV_LOAD reads no further) (MRV_LOAD / _STORE / _SET1 / _FMA / _ADD / _ZERO), for narrow
 * column remainders (gemm_cols).
 *
 *   y[m][j] = clamp(scale[m] · Σ_k w[m][k] · x[k][j] + bias[m] + residual[m][j], lo, hi)
 *
 * w is prepacked as ⌈M/MR⌉ panels of K × MR (zero rows past M), so one tile's weights are read as
 * consecutive broadcasts; x is read in place (row stride ldx: an NCHW activation or an im2col buffer). */

/* The outer product of one k step: NV vectors of x at xr times the first R of the MR weights at wk,
 * into acc (shared by the GEMM's tiles and the stem kernel's, which find xr and wk per tap). MASKED (a
 * constant): the last vector loads only its `tail` valid lanes — x read in place ends there. */
#define GEMM_OUTER(NV, R, xr_, wk_, MASKED)                                                             \
  do {                                                                                                  \
    const float *xr = (xr_), *wk = (wk_);                                                               \
    VEC xv[NV];                                                                                         \
    for (int v = 0; v < NV; v++)                                                                        \
      xv[v] = (MASKED) && v == NV - 1 ? VLOADN(xr + v * LANES, tail) : VLOAD(xr + v * LANES);           \
    for (int r = 0; r < R; r++) {                                                                       \
      VEC wv = VSET1(wk[r]);                                                                            \
      for (int v = 0; v < NV; v++) acc[r][v] = VFMA(wv, xv[v], acc[r][v]);                              \
    }                                                                                                   \
  } while (0)

/* One k step of a tile: row kk of its x (a staged panel, or x in place: row stride xs). */
#define GEMM_STEP(NV, R, kk, MASKED) GEMM_OUTER(NV, R, xp + (kk) * xs, wp + (kk) * GEMM_MR, MASKED)

/* The end of an R-row tile: its `rows` valid rows of acc (NV vectors each, `tail` valid lanes in the
 * last) to y, raw partial sums unless `last`, else through the epilogue (scale, bias, residual, clamp). */
#define GEMM_TILE_STORE(NV, R)                                                                          \
  do {                                                                                                  \
    if (rows == R && tail == LANES) {                                                                   \
      /* A whole tile: constant bounds, every loop unrolled in full, so acc stays in registers. Left    \
       * rolled (clang does so once the epilogue is in the body), acc[r] had a variable index and the   \
       * whole tile lived in memory, zeroed by a memset call per tile: GEMMs with k = 16–32 ran 15–25 % \
       * slower (hot caches, Zen 4 and AVX2 alike). */                                                  \
      if (!last) {                                                                                      \
        for (int r = 0; r < R; r++)                                                                     \
          for (int v = 0; v < NV; v++) VSTORE(y + r * ldy + v * LANES, acc[r][v]);                      \
        break;                                                                                          \
      }                                                                                                 \
      const VEC l = VSET1(lo), h = VSET1(hi);                                                           \
      _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {                                             \
        const VEC s = VSET1(scale ? scale[r] : 1.0f), b = VSET1(bias ? bias[r] : 0.0f);                 \
        for (int v = 0; v < NV; v++) {                                                                  \
          VEC a = VFMA(acc[r][v], s, b);                                                                \
          if (res) a = VADD(a, VLOAD(res + r * ldr + v * LANES));                                       \
          VSTORE(y + r * ldy + v * LANES, VMIN(VMAX(a, l), h));                                         \
        }                                                                                               \
      }                                                                                                 \
      break;                                                                                            \
    }                                                                                                   \
    /* A partial tile: the loops below index by a variable row, so they read a copy of acc — indexing   \
     * acc itself would keep the whole tile in memory (and zero it by memset) in every call. */         \
    VEC part[R][NV];                                                                                    \
    for (int r = 0; r < R; r++)                                                                         \
      for (int v = 0; v < NV; v++) part[r][v] = acc[r][v];                                              \
    for (int r = 0; r < rows; r++) {                                                                    \
      float *yr = y + r * ldy;                                                                          \
      if (!last) {                                                                                      \
        for (int v = 0; v < NV; v++) {                                                                  \
          if (v < NV - 1 || tail == LANES) VSTORE(yr + v * LANES, part[r][v]);                          \
          else VSTOREN(yr + v * LANES, part[r][v], tail);                                               \
        }                                                                                               \
        continue;                                                                                       \
      }                                                                                                 \
      VEC s = VSET1(scale ? scale[r] : 1.0f), b = VSET1(bias ? bias[r] : 0.0f);                         \
      VEC l = VSET1(lo), h = VSET1(hi);                                                                 \
      const float *rr = res ? res + r * ldr : 0;                                                        \
      for (int v = 0; v < NV; v++) {                                                                    \
        long cnt = v == NV - 1 ? tail : LANES;                                                          \
        VEC a = VFMA(part[r][v], s, b);                                                                 \
        if (rr) a = VADD(a, cnt == LANES ? VLOAD(rr + v * LANES) : VLOADN(rr + v * LANES, cnt));        \
        a = VMIN(VMAX(a, l), h);                                                                        \
        if (cnt == LANES) VSTORE(yr + v * LANES, a); else VSTOREN(yr + v * LANES, a, cnt);              \
      }                                                                                                 \
    }                                                                                                   \
  } while (0)

/* One R × (NV·LANES) tile (R = MR, or 3·MR / 4, MR / 2 or MR / 4 for a short last row block) over kc rows of x at
 * xp, row stride xs (a staged panel, zero-padded past n, or x in place); `n` valid columns
 * (> (NV−1)·LANES), read only up to n by the MASKED variants; `rows` valid rows (≤ R). `first`: start
 * from zero, else add to y; `last`: apply the epilogue, else store the raw partial sums. pf (or null): weights to prefetch, one
 * line per two k; pfy (or null): rows of y to prefetch for writing, one line per k; pfx (or null): the
 * next panel of x read in place, all kc rows of it, one row per k (gemm_sweep says why for each).
 * x and y are prefetched into L2 (prefetcht1), not L1: 1 × 1 layers alone with x flushed or every
 * cache evicted ran 9–25 % faster than with prefetcht0 (MobileNetV2's 112² 32 -> 16: 0.36 -> 0.29 ms
 * evicted; 56² 144 -> 24: 0.35 -> 0.28), warm ±0. Weights stay at prefetcht0 (T1 there: ±0). */
#define GEMM_TILE(NV, R, MASKED, NAME)                                                                  \
  static inline void FN(NAME)(long kc, const float *wp, const float *pf, float *pfy, const float *pfx,  \
                                       const float *xp, long xs, float *y, long ldy, long n, long rows, \
                                       int first, int last, const float *scale, const float *bias,      \
                                       const float *res, long ldr, float lo, float hi) {                \
    VEC acc[R][NV];                                                                                     \
    long tail = n - (NV - 1) * LANES;                                                                   \
    for (int r = 0; r < R; r++)                                                                         \
      for (int v = 0; v < NV; v++)                                                                      \
        acc[r][v] = (first || r >= rows) ? VZERO()                                                      \
                    : (v < NV - 1 || tail == LANES) ? VLOAD(y + r * ldy + v * LANES)                    \
                                                    : VLOADN(y + r * ldy + v * LANES, tail);            \
    long kk = 0;                                                                                        \
    /* Prefetching tiles get loops of their own: a test inside the main loop cost AVX2 (16 registers)   \
     * 10–20 % of its GEMM time. A tile prefetching x (in place, AVX-512 only) does it on every k and  \
     * the other prefetches along with it; else y's on the first R · NV k, then the weights'. */        \
    if (pfx) {                                                                                          \
      for (; kk < kc; kk++) {                                                                           \
        for (int v = 0; v < GEMM_NR / LANES; v++) __builtin_prefetch(pfx + kk * xs + v * LANES, 0, 2);   \
        if (pfy && kk < R * NV) __builtin_prefetch(pfy + (kk / NV) * ldy + (kk % NV) * LANES, 1, 2);    \
        if (pf && !(kk & 1)) __builtin_prefetch(pf + kk * GEMM_MR);                                     \
        GEMM_STEP(NV, R, kk, MASKED);                                                                   \
      }                                                                                                 \
    }                                                                                                   \
    if (pfy) {                                                                                          \
      const long kp = kc < R * NV ? kc : R * NV;                                                        \
      for (; kk < kp; kk++) {                                                                           \
        __builtin_prefetch(pfy + (kk / NV) * ldy + (kk % NV) * LANES, 1, 2);                            \
        GEMM_STEP(NV, R, kk, MASKED);                                                                   \
      }                                                                                                 \
    }                                                                                                   \
    if (pf) {                                                                                           \
      for (; kk + 2 <= kc; kk += 2) {                                                                   \
        __builtin_prefetch(pf + kk * GEMM_MR);                                                          \
        GEMM_STEP(NV, R, kk, MASKED);                                                                   \
        GEMM_STEP(NV, R, kk + 1, MASKED);                                                               \
      }                                                                                                 \
    }                                                                                                   \
    for (; kk < kc; kk++) GEMM_STEP(NV, R, kk, MASKED);                                                 \
    GEMM_TILE_STORE(NV, R);                                                                             \
  }
/* Full tiles of 1–3 vectors, and three-quarter-, half- and quarter-height ones for a last row block of
 * at most 3·MR / 4, MR / 2 or MR / 4 rows: pruned widths leave one in most layers (m = 17: 8 + 8 + 1;
 * m = 13: 8 + 5), and a full tile computes MR rows whatever `rows` is. With MR = 8, a last block of 5 or 6
 * rows computed 8: m = 13 took as long as m = 16 (13 × 3136 × 73, hot, Zen 4: 0.072–0.074 ms against
 * 0.072; m = 12: 0.056). Each also in a variant (suffix m) for a last panel ending inside a vector, read
 * in place. */
#define GEMM_TILES(MASKED, SUF)                                                                         \
  GEMM_TILE(1, GEMM_MR, MASKED, gemm_tile1##SUF)                                                        \
  GEMM_TILE(2, GEMM_MR, MASKED, gemm_tile2##SUF)                                                        \
  GEMM_TILE(3, GEMM_MR, MASKED, gemm_tile3##SUF)                                                        \
  GEMM_TILE(1, GEMM_MR * 3 / 4, MASKED, gemm_threeq1##SUF)                                              \
  GEMM_TILE(2, GEMM_MR * 3 / 4, MASKED, gemm_threeq2##SUF)                                              \
  GEMM_TILE(3, GEMM_MR * 3 / 4, MASKED, gemm_threeq3##SUF)                                              \
  GEMM_TILE(1, GEMM_MR / 2, MASKED, gemm_half1##SUF)                                                    \
  GEMM_TILE(2, GEMM_MR / 2, MASKED, gemm_half2##SUF)                                                    \
  GEMM_TILE(3, GEMM_MR / 2, MASKED, gemm_half3##SUF)                                                    \
  GEMM_TILE(1, GEMM_MR / 4, MASKED, gemm_quarter1##SUF)                                                 \
  GEMM_TILE(2, GEMM_MR / 4, MASKED, gemm_quarter2##SUF)                                                 \
  GEMM_TILE(3, GEMM_MR / 4, MASKED, gemm_quarter3##SUF)
GEMM_TILES(0, )
GEMM_TILES(1, m)
#undef GEMM_TILES

#ifdef GEMM_MRV
/* The last few columns of a row block (n = 49 = 48 + 1: every 7 × 7 layer) turned around: the MR rows
 * are the vector (GEMM_MRV: one packed weight load per k) and each column a broadcast of x.
 * Through the 16-lane tile, one column cost MR full FMAs per k for one useful lane each — 16 columns'
 * work for 1, a quarter of a 7 × 7 layer's time. k is split over independent accumulators (one chain
 * per column would wait on FMA latency every k). `cols` ≤ 4, read at row stride xs; columns past `cols`
 * (past the row's end when x is read in place) repeat column 0, and their sums are not stored. */
static inline void FN(gemm_cols)(long kc, const float *wp, const float *pf, const float *xp, long xs, float *y,
                                 long ldy, long cols, long rows, int first, int last, const float *scale,
                                 const float *bias, const float *res, long ldr, float lo, float hi) {
  MRV acc[4][4];
  for (int c = 0; c < 4; c++)
    for (int u = 0; u < 4; u++) acc[c][u] = MRV_ZERO();
  const long c1 = cols > 1, c2 = cols > 2 ? 2 : 0, c3 = cols > 3 ? 3 : 0;
  long kk = 0;
  if (cols == 1) {
    for (; kk + 4 <= kc; kk += 4) {
      if (pf) __builtin_prefetch(pf + kk * GEMM_MR), __builtin_prefetch(pf + kk * GEMM_MR + 16);
      for (int u = 0; u < 4; u++)
        acc[0][u] = MRV_FMA(MRV_LOAD(wp + (kk + u) * GEMM_MR), MRV_SET1(xp[(kk + u) * xs]), acc[0][u]);
    }
  } else {
    for (; kk + 2 <= kc; kk += 2) {
      if (pf) __builtin_prefetch(pf + kk * GEMM_MR);
      for (int u = 0; u < 2; u++) {
        const MRV w = MRV_LOAD(wp + (kk + u) * GEMM_MR);
        const float *xr = xp + (kk + u) * xs;
        acc[0][u] = MRV_FMA(w, MRV_SET1(xr[0]), acc[0][u]);
        acc[1][u] = MRV_FMA(w, MRV_SET1(xr[c1]), acc[1][u]);
        acc[2][u] = MRV_FMA(w, MRV_SET1(xr[c2]), acc[2][u]);
        acc[3][u] = MRV_FMA(w, MRV_SET1(xr[c3]), acc[3][u]);
      }
    }
  }
  for (; kk < kc; kk++) {
    const MRV w = MRV_LOAD(wp + kk * GEMM_MR);
    const float *xr = xp + kk * xs;
    acc[0][3] = MRV_FMA(w, MRV_SET1(xr[0]), acc[0][3]);
    acc[1][3] = MRV_FMA(w, MRV_SET1(xr[c1]), acc[1][3]);
    acc[2][3] = MRV_FMA(w, MRV_SET1(xr[c2]), acc[2][3]);
    acc[3][3] = MRV_FMA(w, MRV_SET1(xr[c3]), acc[3][3]);
  }
  /* Summed with constant indices: indexing acc by the variable column would keep it in memory. */
  float sum[4][GEMM_MRV_LANES];
  for (int c = 0; c < 4; c++) MRV_STORE(sum[c], MRV_ADD(MRV_ADD(acc[c][0], acc[c][1]), MRV_ADD(acc[c][2], acc[c][3])));
  for (long c = 0; c < cols; c++) {
    for (long r = 0; r < rows; r++) {
      float v = sum[c][r] + (first ? 0.0f : y[r * ldy + c]);
      if (last) {
        v = v * (scale ? scale[r] : 1.0f) + (bias ? bias[r] : 0.0f) + (res ? res[r * ldr + c] : 0.0f);
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
      }
      y[r * ldy + c] = v;
    }
  }
}
#endif

long FN(sct_gemm_mr)(void) { return GEMM_MR; }

void FN(sct_gemm_pack_f32)(long m, long k, const float *w, float *packed) {
  for (long m0 = 0; m0 < m; m0 += GEMM_MR)
    for (long kk = 0; kk < k; kk++)
      for (long r = 0; r < GEMM_MR; r++)
        *packed++ = m0 + r < m ? w[(m0 + r) * k + kk] : 0.0f;
}

/* One k-block of a group of panels of x (panel t at panel + t·ps, rows xs apart: staged panels, or x
 * `in_place` with ps = NR, xs = ldx; columns j0 + t·NR …) through every weight block of rows
 * [m_begin, m_end): the tiles, with the epilogue on the last k-block. */
#ifndef GEMM_NARROW_MAX_K
#define GEMM_NARROW_MAX_K 2048
#endif
static inline void FN(gemm_sweep)(long m_begin, long m_end, long n, long k, long k0, long kc, long j0, long tn,
                                  const float *panel, long ps, long xs, int in_place, const float *packed,
                                  float *y, long ldy, const sct_gemm_epilogue *e) {
  int first = k0 == 0, last = k0 + kc == k;
#ifdef GEMM_MRV
  /* The last 1–4 columns (gemm_cols), copied once per sweep into rows of 4 floats: every weight block
   * reads them again, and at the panel's row stride each k of each block touched a line of its own
   * (kernels_micro gemm, Zen 4, min of 6 alternated runs: n = 49 layers 6.5–9 % faster, n = 196 2 %,
   * on the AVX-512 and the AVX2 variants; MobileNetV1 −2 % at 1 and 2 threads). A single column is
   * copied contiguously (n = 49: 1.5 % of the layer's time over rows of 4). */
  float narrow[GEMM_NARROW_MAX_K * 4] __attribute__((aligned(64)));
  const long jn = j0 + (tn - 1) * GEMM_NR, ncols = n - jn < GEMM_NR ? n - jn : GEMM_NR;
  const int staged_narrow = ncols <= 4 && kc <= GEMM_NARROW_MAX_K;
  const long nxs = ncols == 1 ? 1 : 4;
  if (staged_narrow) {
    const float *src = panel + (tn - 1) * ps;
    if (ncols == 1)
      for (long kk = 0; kk < kc; kk++) narrow[kk] = src[kk * xs];
    else
      for (long kk = 0; kk < kc; kk++)
        for (long c = 0; c < 4; c++) narrow[kk * 4 + c] = src[kk * xs + (c < ncols ? c : 0)];
  }
#endif
  for (long mc0 = m_begin; mc0 < m_end; mc0 += GEMM_MC) {
    long mc1 = m_end - mc0 < GEMM_MC ? m_end : mc0 + GEMM_MC;
    for (long t = 0; t < tn; t++) {
      long j = j0 + t * GEMM_NR, cols = n - j < GEMM_NR ? n - j : GEMM_NR;
      const float *p = panel + t * ps;
      /* Staged panels are zero-padded: only x read in place needs its partial last vector masked. */
      const int masked = in_place && cols % LANES != 0;
      for (long m0 = mc0; m0 < mc1; m0 += GEMM_MR) {
        long rows = m_end - m0 < GEMM_MR ? m_end - m0 : GEMM_MR;
        const float *wp = packed + m0 * k + k0 * GEMM_MR;
        const float *sc = e->scale ? e->scale + m0 : 0, *bi = e->bias ? e->bias + m0 : 0;
        const float *res = e->residual ? e->residual + m0 * e->ldr + j : 0;
        float *yt = y + m0 * ldy + j;
        /* Prefetches while this tile computes: the next weight block, on the first panel only so it has
         * the whole group's time to arrive; on the first k-block, the rows of y the next row block writes
         * at these columns, written but not yet cached. Cache-flushed calls on Zen 4 (x warm, as after
         * the layer that wrote it): n = 49 layers, whose weights are past L2, −15–20 %; the MobileNet and
         * ResNet-50 GEMM sets −9 % with both the AVX-512 and the AVX2 kernels; unchanged with warm caches.
         * The last row block prefetches for the first one at the next group's columns: left out, one row
         * block in every group met y cold (MobileNetV1's 112² 1 × 1 layer, m = 64: one in eight; with y
         * cache-flushed 2–7 % slower). */
        const float *pf = t == 0 && m0 + GEMM_MR < m_end ? wp + k * GEMM_MR : 0;
        float *pfy = !first                    ? 0
                     : m0 + GEMM_MR < m_end    ? yt + GEMM_MR * ldy
                     : j + tn * GEMM_NR < n    ? y + m_begin * ldy + j + tn * GEMM_NR
                                               : 0;
#ifdef GEMM_MRV
        if (cols <= 4) {
          if (staged_narrow)
            FN(gemm_cols)(kc, wp, pf, narrow, nxs, yt, ldy, cols, rows, first, last, sc, bi, res, e->ldr, e->lo, e->hi);
          else
            FN(gemm_cols)(kc, wp, pf, p, xs, yt, ldy, cols, rows, first, last, sc, bi, res, e->ldr, e->lo, e->hi);
          continue;
        }
#endif
        /* x read in place comes from wherever the layer before left it (L3, or memory): the first row
         * block's tiles, which meet it first, prefetch the next panel's kc rows while they compute. Its k
         * rows are k streams a panel wide, which the hardware prefetchers did not keep up with: MobileNetV2's
         * 112² 32 → 16 layer 0.17–0.20 → 0.143 ms in the model; MobileNetV1 −2.4 %, MobileNetV2 −1.5 %,
         * ResNet-50 −1.4 % (alternated runs). Prefetching the next group instead, a row block's share of
         * it per tile, missed rows past m and gained ±1 %. */
        const float *pfx = in_place && m0 == m_begin && j + GEMM_NR < n ? p + ps : 0;
#define GEMM_CALL(NAME) FN(NAME)(kc, wp, pf, pfy, pfx, p, xs, yt, ldy, cols, rows, first, last, sc, bi, res, e->ldr, e->lo, e->hi)
/* The tile for this block's rows and columns: quarter, half or three-quarter height for a short last row block, as many
 * vectors as the columns need; SUF m picks the variants that load a partial last vector masked. */
#define GEMM_CALLS(SUF)                                                                                 \
  do {                                                                                                  \
    if (rows <= GEMM_MR / 4) {                                                                          \
      if (GEMM_NR > 2 * LANES && cols > 2 * LANES) GEMM_CALL(gemm_quarter3##SUF);                       \
      else if (cols > LANES) GEMM_CALL(gemm_quarter2##SUF);                                             \
      else GEMM_CALL(gemm_quarter1##SUF);                                                               \
    } else if (rows <= GEMM_MR / 2) {                                                                   \
      if (GEMM_NR > 2 * LANES && cols > 2 * LANES) GEMM_CALL(gemm_half3##SUF);                          \
      else if (cols > LANES) GEMM_CALL(gemm_half2##SUF);                                                \
      else GEMM_CALL(gemm_half1##SUF);                                                                  \
    } else if (rows <= GEMM_MR * 3 / 4) {                                                               \
      if (GEMM_NR > 2 * LANES && cols > 2 * LANES) GEMM_CALL(gemm_threeq3##SUF);                        \
      else if (cols > LANES) GEMM_CALL(gemm_threeq2##SUF);                                              \
      else GEMM_CALL(gemm_threeq1##SUF);                                                                \
    } else if (GEMM_NR > 2 * LANES && cols > 2 * LANES) {                                               \
      GEMM_CALL(gemm_tile3##SUF);                                                                       \
    } else if (cols > LANES) {                                                                          \
      GEMM_CALL(gemm_tile2##SUF);                                                                       \
    } else {                                                                                            \
      GEMM_CALL(gemm_tile1##SUF);                                                                       \
    }                                                                                                   \
  } while (0)
        if (masked) GEMM_CALLS(m);
        else GEMM_CALLS();
#undef GEMM_CALLS
#undef GEMM_CALL
      }
    }
  }
}

/* The blocking of x for `tiles` panels of depth k: *jg panels share one pass of the weights, taking k in
 * blocks of *kc rows. As many panels as fit the staging buffer with all of k (up to GEMM_JG), else fewer
 * and longer blocks: every k-block makes each tile reload and store its partial sums, and a fixed group
 * of 4 cut k = 512 into 7 blocks of 80 (1 panel per pass takes it in 2). Blocks are multiples of 8 rows
 * and of even length (k = 340: 2 × 176, not 336 + 4). kernels_micro gemm, alternating rounds on Zen 4:
 * ResNet-50 set 86–98 → 91–103 GFLOP/s, MobileNetV2 77–91 → 82–95 (AVX2 variant 67–78 → 70–81). */
static inline void FN(gemm_blocking)(long tiles, long k, long *jg, long *kc) {
  long g = GEMM_PANEL_FLOATS / ((k + 7) / 8 * 8 * GEMM_NR);
  g = g < 1 ? 1 : g > GEMM_JG ? GEMM_JG : g;
  *jg = tiles < g ? tiles : g;
  long kcmax = GEMM_PANEL_FLOATS / (*jg * GEMM_NR) / 8 * 8, blocks = (k + kcmax - 1) / kcmax;
  *kc = ((k + blocks - 1) / blocks + 7) / 8 * 8;
}

/* Rows [m_begin, m_end) (m_begin a multiple of MR) × columns [0, n).
 * Implementation note: two ways to feed the tiles x.
 * - Staged (every ISA; with GEMM_INPLACE_MIN_K, only below it): x is copied into a stack buffer of up to
 *   GEMM_JG panels (kc rows × NR columns each, zero-padded) before the tiles read it, and one MR × kc
 *   weight block then serves every panel of the group (gemm_blocking). Long k is cut into k-blocks, each
 *   making every tile store and reload its partial sums.
 * - In place (GEMM_INPLACE_MIN_K ≤ k, or at most GEMM_INPLACE_MAX_M rows): tiles read rows of x where
 *   they lie (row stride ldx), the last partial panel through masked loads, all of k in one pass: no
 *   copy, no partial sums. On Zen 4 with the 16-lane tile, alternating `secateur bench --profile` runs
 *   with and without it in the model: ResNet-50 −7 % (its 1 × 1 layers 5–15 % faster), MobileNetV1 and
 *   V2 −3 % (pointwise layers with k ≥ 96: 5–17 %). Below k ≈ 48 it lost where many weight blocks share
 *   a staged panel (MobileNetV2's 112² expand, m = 96, k = 16: +10 %), and the 6 × 16 AVX2 tile lost
 *   everywhere (+10–15 %), so the AVX2 and baseline variants do not define it.
 * Within a group, GEMM_MC rows of weights (an L2-sized block) sweep each panel while it sits in L1, BLIS
 * style; GEMM_MC = GEMM_MR gives the weight-stationary order (one MR block over every panel) instead. */
void FN(sct_gemm_f32)(long m_begin, long m_end, long n, long k, const float *packed, const float *x, long ldx,
                      float *y, long ldy, const sct_gemm_epilogue *e) {
  long tiles = (n + GEMM_NR - 1) / GEMM_NR;
#ifdef GEMM_INPLACE_MIN_K
  if (k >= GEMM_INPLACE_MIN_K || m_end - m_begin <= GEMM_INPLACE_MAX_M) {
    /* Tiles read x in place, all of k at once; groups of panels sized so a group's columns of x stay in
     * L2 while every weight block sweeps them. */
    long jg = GEMM_INPLACE_BYTES / (k * GEMM_NR * (long)sizeof(float));
    jg = jg < 1 ? 1 : jg;
    /* Every group streams the weights again: when they are the larger operand (past GEMM_INPLACE_BYTES)
     * and all of x fits GEMM_INPLACE_ALL_BYTES, one group, so they stream once. MobileNetV1's 14 × 14 and
     * 7 × 7 layers (1–4 MB of weights), alternating runs in one process: 2 % and 6 % faster. */
    if ((m_end - m_begin) * k * (long)sizeof(float) > GEMM_INPLACE_BYTES &&
        tiles * k * GEMM_NR * (long)sizeof(float) <= GEMM_INPLACE_ALL_BYTES)
      jg = tiles;
    for (long t0 = 0; t0 < tiles; t0 += jg) {
      long tn = tiles - t0 < jg ? tiles - t0 : jg;
      FN(gemm_sweep)(m_begin, m_end, n, k, 0, k, t0 * GEMM_NR, tn, x + t0 * GEMM_NR, GEMM_NR, ldx, 1, packed, y, ldy, e);
    }
    return;
  }
#endif
  float panel[GEMM_PANEL_FLOATS] __attribute__((aligned(64)));
  long jg, kcmax;
  FN(gemm_blocking)(tiles, k, &jg, &kcmax);
  for (long t0 = 0; t0 < tiles; t0 += jg) {
    long tn = tiles - t0 < jg ? tiles - t0 : jg;
    for (long k0 = 0; k0 < k; k0 += kcmax) {
      long kc = k - k0 < kcmax ? k - k0 : kcmax;
      for (long t = 0; t < tn; t++) {
        long j = (t0 + t) * GEMM_NR, cols = n - j < GEMM_NR ? n - j : GEMM_NR;
        float *p = panel + t * kc * GEMM_NR;
        /* Vector copies (a per-row memcpy here cost 5 % of ResNet-50 in calls alone). */
        for (long kk = 0; kk < kc; kk++) {
          const float *src = x + (k0 + kk) * ldx + j;
          float *dst = p + kk * GEMM_NR;
          for (long c = 0; c < GEMM_NR; c += LANES) {
            long left = cols - c;
            VSTORE(dst + c, left >= LANES ? VLOAD(src + c) : left > 0 ? VLOADN(src + c, left) : VZERO());
          }
        }
      }
      FN(gemm_sweep)(m_begin, m_end, n, k, k0, kc, t0 * GEMM_NR, tn, panel, kc * GEMM_NR, GEMM_NR, 0, packed, y, ldy, e);
    }
  }
}

/* Columns c0, c0 + 2, … (n of them) of a row of iw floats into d, zero outside [0, iw) (loads masked to the
 * row handle both edges); with d_odd, columns c0 + 1, c0 + 3, … into it too, from the same loads. Always
 * inlined: called out of line, the subsample ran 2.5 % slower. */
static inline __attribute__((always_inline)) void FN(row_stride2)(const float *row, long c0, long iw, long n,
                                                                  float *d, float *d_odd) {
  const VEC zero = VZERO();
  for (long i = 0; i < n; i += LANES) {
    const VEC lo = VLOADR(row, c0 + 2 * i, iw, zero), hi = VLOADR(row, c0 + 2 * i + LANES, iw, zero);
    VEC even, odd;
    VDEINT2R(lo, hi, even, odd);
    if (i + LANES <= n) {
      VSTORE(d + i, even);
      if (d_odd) VSTORE(d_odd + i, odd);
    } else {
      VSTOREN(d + i, even, n - i);
      if (d_odd) VSTOREN(d_odd + i, odd, n - i);
    }
  }
}

/* One panel's k rows [k0, k0 + kc) of the implicit im2col matrix: row kk = (channel, r, q) in weight order,
 * column j = output position (oh, ow); the value is x[ch][oh·sh − ph + r·dh][ow·sw − pw + q·dw] or 0
 * outside the image. The panel's columns are split once into runs within one output row, and (ch, r, q)
 * advance incrementally, so each (k row, run) costs one bounds computation and a unit- or sw-strided
 * copy: no division or branch per element. */
static inline void FN(conv_pack_panel)(const float *x, const sct_conv_geometry *g, long k0, long kc, long j,
                                       long cols, float *p) {
  long run_oh[GEMM_NR], run_ow[GEMM_NR], run_c[GEMM_NR], run_len[GEMM_NR], runs = 0;
  for (long c = 0; c < cols; runs++) {
    const long pos = j + c, ow0 = pos % g->ow;
    run_oh[runs] = pos / g->ow;
    run_ow[runs] = ow0;
    run_c[runs] = c;
    run_len[runs] = g->ow - ow0 < cols - c ? g->ow - ow0 : cols - c;
    c += run_len[runs];
  }
  const long kvol = g->kh * g->kw, sw = g->sw, plane = g->ih * g->iw;
  long ch = k0 / kvol, r = (k0 / g->kw) % g->kh, q = k0 % g->kw;
  for (long kk = 0; kk < kc;) {
    const float *xc = x + ch * plane;
    float *dst = p + kk * GEMM_NR;
    const long off = q * g->dw - g->pw;
    /* Stride 2, taps one column apart: tap q + 1 reads the odd columns of the very loads whose even
     * columns tap q takes, so both k rows come from one deinterleave (a third of a 3 × 3 gather's loads). */
    const int pair = sw == 2 && g->dw == 1 && q + 1 < g->kw && kk + 1 < kc;
    float *dst2 = dst + GEMM_NR;
    for (long u = 0; u < runs; u++) {
      const long ih = run_oh[u] * g->sh - g->ph + r * g->dh, run = run_len[u], ow0 = run_ow[u];
      float *d = dst + run_c[u], *d2 = dst2 + run_c[u];
      if (ih < 0 || ih >= g->ih) {
        for (long i = 0; i < run; i++) d[i] = 0.0f;
        if (pair)
          for (long i = 0; i < run; i++) d2[i] = 0.0f;
        continue;
      }
      /* Position ow0 + i reads column (ow0 + i)·sw + off of the row, zero outside [0, iw): loads masked to
       * the row (VLOADR) handle both edges, so a run is whole vectors plus one masked store. */
      const float *row = xc + ih * g->iw;
      const long c0 = ow0 * sw + off, iw = g->iw;
      const VEC zero = VZERO();
      if (sw == 1) {
        for (long i = 0; i < run; i += LANES) {
          const VEC v = VLOADR(row, c0 + i, iw, zero);
          if (i + LANES <= run) VSTORE(d + i, v);
          else VSTOREN(d + i, v, run - i);
        }
      } else if (sw == 2) {
        FN(row_stride2)(row, c0, iw, run, d, pair ? d2 : 0);
      } else {
        for (long i = 0; i < run; i++) {
          const long col = c0 + i * sw;
          d[i] = col >= 0 && col < iw ? row[col] : 0.0f;
        }
      }
    }
    for (long rows = pair ? 2 : 1, t = 0; t < rows; t++)
      for (long c = cols; c < GEMM_NR; c++) dst[t * GEMM_NR + c] = 0.0f;
    for (long t = pair ? 2 : 1; t > 0; t--, kk++) {
      if (++q == g->kw) {
        q = 0;
        if (++r == g->kh) { r = 0; ch++; }
      }
    }
  }
}

/* A strided 1 × 1 conv's input (no pads: every position lies inside x) subsampled into dense rows, channels
 * [c_begin, c_end) of dst[ch][oy · ow + ox] = x[ch][oy · sh][ox · sw], so the GEMM reads it in place like a
 * pointwise conv's instead of gathering it into panels for every block of output channels. */
void FN(sct_conv_subsample_f32)(const float *x, const sct_conv_geometry *g, long c_begin, long c_end, float *dst) {
  const long plane = g->ih * g->iw, os = g->oh * g->ow, ow = g->ow, iw = g->iw, sw = g->sw;
  for (long ch = c_begin; ch < c_end; ch++) {
    for (long oy = 0; oy < g->oh; oy++) {
      const float *row = x + ch * plane + oy * g->sh * iw;
      float *d = dst + ch * os + oy * ow;
      if (sw == 2) {
        FN(row_stride2)(row, 0, iw, ow, d, 0);
      } else {
        for (long i = 0; i < ow; i++) d[i] = row[i * sw];
      }
    }
  }
}

/* A convolution as GEMM over the implicit im2col matrix (no im2col buffer): rows [m_begin, m_end) of the
 * output channels × output positions [j_begin, j_end) of y (row stride ldy = oh·ow), k = channels·kh·kw.
 * The im2col values are gathered straight into the GEMM's panels, which it packs anyway. */
void FN(sct_conv_gemm_f32)(long m_begin, long m_end, long j_begin, long j_end, const float *packed,
                           const float *x, const sct_conv_geometry *g, float *y, long ldy,
                           const sct_gemm_epilogue *e) {
  float panel[GEMM_PANEL_FLOATS] __attribute__((aligned(64)));
  const long k = g->c * g->kh * g->kw, n = j_end;
  long tiles = (j_end - j_begin + GEMM_NR - 1) / GEMM_NR;
  long jg, kcmax;
  FN(gemm_blocking)(tiles, k, &jg, &kcmax);
  for (long t0 = 0; t0 < tiles; t0 += jg) {
    long tn = tiles - t0 < jg ? tiles - t0 : jg;
    const long j0 = j_begin + t0 * GEMM_NR;
    for (long k0 = 0; k0 < k; k0 += kcmax) {
      long kc = k - k0 < kcmax ? k - k0 : kcmax;
      for (long t = 0; t < tn; t++) {
        long j = j0 + t * GEMM_NR, cols = n - j < GEMM_NR ? n - j : GEMM_NR;
        FN(conv_pack_panel)(x, g, k0, kc, j, cols, panel + t * kc * GEMM_NR);
      }
      FN(gemm_sweep)(m_begin, m_end, n, k, k0, kc, j0, tn, panel, kc * GEMM_NR, GEMM_NR, 0, packed, y, ldy, e);
    }
  }
}
