/* Direct convolution for few input channels — the stem, where RGB comes in — written once and compiled
 * per ISA (included by kernels_*.c after gemm_body.h, whose packed weights, tile store and GEMM_MR /
 * GEMM_NR it shares).
 *
 * Through the implicit-im2col GEMM a 3-channel stem spends most of its time gathering: 27 panel rows per
 * output position, each a stride-2 copy, against 27 · M multiply-adds — with M = 16 (a pruned
 * MobileNetV2) the gather was half the layer. Here each input row a band of outputs reads is split once
 * into its column phases (stride 2: even and odd columns), and a tap (c, r, q) of an output vector is a
 * plain unaligned load from phase q mod sw at offset ⌊q / sw⌋: the tile streams taps straight from these
 * L1-resident rows, register-blocked over MR output channels × NV vectors like the GEMM's tile. */

/* Output columns per pass: the phase rows of a pass (c · kh · sw of them) stay well inside L1. */
#define SCT_STEM_CHUNK 128
/* Output rows per pass (as many as the phase buffer holds): each weight block then writes SCT_STEM_BAND
 * consecutive rows of its MR output planes before the next block starts, instead of one row of every
 * plane in turn — longer runs of each plane's lines for the write streams. MobileNetV1 and V2 stems,
 * alternating runs in one process: 7–10 % faster. */
#define SCT_STEM_BAND 4
/* How many output rows ahead the input rows are prefetched (stem_prefetch_input): 2–6 did as well. */
#define SCT_STEM_PREFETCH_ROWS 4

/* Phase rows of one pass, each `pitch` floats: phase p, element i = input column (ox0 + i)·sw + p − pw
 * of row `row`, zero outside [0, iw). col0 = ox0 · sw − pw. */
static inline void FN(stem_phase_rows)(float *d, long pitch, const float *row, long iw, long sw, long col0) {
  const VEC zero = VZERO();
  if (sw == 1) {
    for (long i = 0; i < pitch; i += LANES) VSTORE(d + i, VLOADR(row, col0 + i, iw, zero));
    return;
  }
  for (long i = 0; i < pitch; i += LANES) {
    const VEC lo = VLOADR(row, col0 + 2 * i, iw, zero), hi = VLOADR(row, col0 + 2 * i + LANES, iw, zero);
    VEC even, odd;
    VDEINT2R(lo, hi, even, odd);
    VSTORE(d + i, even);
    VSTORE(d + pitch + i, odd);
  }
}

/* Asks for the input rows output row `oh` reads first (the kh − sh rows before them were read by the
 * output rows above), columns [ox0, ox0 + cols) of the output, into L2 (prefetcht1). Issued
 * SCT_STEM_PREFETCH_ROWS output rows ahead, while the rows in between compute. The input is three
 * streams of one or two rows per output row; with few output channels there is too little work per
 * input line for the hardware prefetchers to hide a read from L3 or memory. With the input flushed:
 * 17 output channels 0.196 -> 0.157 ms, 32 channels 0.306 -> 0.274; everything evicted (as after
 * other engines' runs): 0.246 -> 0.17 and 0.331 -> 0.289; warm ±0. Into L1 (prefetcht0) it gained
 * half as much, and the 32-channel stem lost. */
static inline void FN(stem_prefetch_input)(const float *x, const sct_conv_geometry *g, long oh, long oh_end,
                                           long ox0, long cols) {
  if (oh >= oh_end) return; /* past the task's rows: another task's, or none */
  const long first = ox0 * g->sw - g->pw < 0 ? 0 : ox0 * g->sw - g->pw;
  const long last = (ox0 + cols) * g->sw + g->kw - g->pw < g->iw ? (ox0 + cols) * g->sw + g->kw - g->pw : g->iw;
  for (long c = 0; c < g->c; c++) {
    for (long r = g->kh > g->sh ? g->kh - g->sh : 0; r < g->kh; r++) {
      const long ih = oh * g->sh - g->ph + r * g->dh;
      if (ih < 0 || ih >= g->ih) continue;
      const float *row = x + (c * g->ih + ih) * g->iw;
      for (long i = first; i < last; i += 64 / (long)sizeof(float)) __builtin_prefetch(row + i, 0, 2);
    }
  }
}

/* One R × (NV·LANES) output tile of one output row (R = MR, or 3·MR / 4, MR / 2 or MR / 4 for a short last row
 * block): Σ over the `ntaps` taps (x at xs + tap_x[t], the packed weight row tap_k[t]) then the epilogue;
 * `n` valid columns (> (NV−1)·LANES), `rows` valid rows (≤ R); pfy: the same rows and columns of the
 * next output row, to prefetch for writing, one line per tap. */
#define STEM_TILE(NV, R, NAME)                                                                          \
  static inline void FN(NAME)(const float *wp, const float *xs, const long *tap_x,                      \
                                       const long *tap_k, long ntaps, float *pfy, float *y, long ldy,   \
                                       long n, long rows, const float *scale, const float *bias,        \
                                       const float *res, long ldr, float lo, float hi) {                \
    VEC acc[R][NV];                                                                                     \
    const long tail = n - (NV - 1) * LANES;                                                             \
    const int last = 1;                                                                                 \
    for (int r = 0; r < R; r++)                                                                         \
      for (int v = 0; v < NV; v++) acc[r][v] = VZERO();                                                 \
    long t = 0;                                                                                         \
    for (const long tp = ntaps < rows * NV ? ntaps : rows * NV; t < tp; t++) {                          \
      __builtin_prefetch(pfy + (t / NV) * ldy + (t % NV) * LANES, 1);                                   \
      GEMM_OUTER(NV, R, xs + tap_x[t], wp + tap_k[t] * GEMM_MR, 0);                                     \
    }                                                                                                   \
    for (; t < ntaps; t++) GEMM_OUTER(NV, R, xs + tap_x[t], wp + tap_k[t] * GEMM_MR, 0);                \
    GEMM_TILE_STORE(NV, R);                                                                             \
  }
STEM_TILE(1, GEMM_MR, stem_tile1)
STEM_TILE(2, GEMM_MR, stem_tile2)
STEM_TILE(3, GEMM_MR, stem_tile3)
STEM_TILE(1, GEMM_MR * 3 / 4, stem_threeq1)
STEM_TILE(2, GEMM_MR * 3 / 4, stem_threeq2)
STEM_TILE(3, GEMM_MR * 3 / 4, stem_threeq3)
STEM_TILE(1, GEMM_MR / 2, stem_half1)
STEM_TILE(2, GEMM_MR / 2, stem_half2)
STEM_TILE(3, GEMM_MR / 2, stem_half3)
STEM_TILE(1, GEMM_MR / 4, stem_quarter1)
STEM_TILE(2, GEMM_MR / 4, stem_quarter2)
STEM_TILE(3, GEMM_MR / 4, stem_quarter3)

/* Output rows [oh_begin, oh_end) × channels [m_begin, m_end) (m_begin a multiple of GEMM_MR) of a conv
 * sct_conv_direct_supported accepts; packed as for sct_conv_gemm_f32, y and e->residual with row stride
 * ldy (output position oh · ow + ox). */
void FN(sct_conv_direct_f32)(long m_begin, long m_end, long oh_begin, long oh_end, const float *packed,
                             const float *x, const sct_conv_geometry *g, float *y, long ldy,
                             const sct_gemm_epilogue *e) {
  float phases[2 * SCT_STEM_MAX_ROWS * (SCT_STEM_CHUNK + 2 * 16)] __attribute__((aligned(64)));
  long tap_x[SCT_STEM_BAND][SCT_STEM_MAX_K], tap_k[SCT_STEM_BAND][SCT_STEM_MAX_K], ntaps[SCT_STEM_BAND];
  const long sw = g->sw, ow = g->ow, k = g->c * g->kh * g->kw, plane = g->ih * g->iw;
  const long chunks = (ow + SCT_STEM_CHUNK - 1) / SCT_STEM_CHUNK;
  const long vmax = GEMM_NR / LANES; /* widest tile, in vectors */
  for (long ch = 0; ch < chunks; ch++) {
    const long ox0 = ow * ch / chunks, cols = ow * (ch + 1) / chunks - ox0;
    const long vecs = (cols + LANES - 1) / LANES;
    /* Every tile reads whole vectors from phase offset ⌊(kw − 1) / sw⌋ at most: one vector of slack. */
    const long pitch = (vecs + 1 + ((g->kw - 1) / sw) / LANES) * LANES;
    const long row_floats = g->c * g->kh * sw * pitch;
    long band = (long)(sizeof phases / sizeof phases[0]) / row_floats;
    band = band > SCT_STEM_BAND ? SCT_STEM_BAND : band < 1 ? 1 : band;
    for (long oh0 = oh_begin; oh0 < oh_end; oh0 += band) {
      const long rows_in_band = oh_end - oh0 < band ? oh_end - oh0 : band;
      for (long b = 0; b < rows_in_band; b++) {
        const long oh = oh0 + b;
        long nt = 0, rows_used = 0;
        FN(stem_prefetch_input)(x, g, oh + SCT_STEM_PREFETCH_ROWS, oh_end, ox0, cols);
        for (long c = 0; c < g->c; c++) {
          for (long r = 0; r < g->kh; r++) {
            const long ih = oh * g->sh - g->ph + r * g->dh;
            if (ih < 0 || ih >= g->ih) continue; /* a pad row adds nothing */
            float *d = phases + b * row_floats + rows_used * pitch;
            FN(stem_phase_rows)(d, pitch, x + c * plane + ih * g->iw, g->iw, sw, ox0 * sw - g->pw);
            for (long q = 0; q < g->kw; q++) {
              tap_x[b][nt] = (rows_used + q % sw) * pitch + q / sw;
              tap_k[b][nt++] = (c * g->kh + r) * g->kw + q;
            }
            rows_used += sw;
          }
        }
        ntaps[b] = nt;
      }
      for (long m0 = m_begin; m0 < m_end; m0 += GEMM_MR) {
        const long rows = m_end - m0 < GEMM_MR ? m_end - m0 : GEMM_MR;
        const float *wp = packed + m0 * k;
        const float *sc = e->scale ? e->scale + m0 : 0, *bi = e->bias ? e->bias + m0 : 0;
        for (long b = 0; b < rows_in_band; b++) {
          const long j = (oh0 + b) * ow + ox0;
          for (long v0 = 0; v0 < vecs;) {
            /* Widest tiles first, but never a lone 1-vector tile after them when two 2-vector ones fit. */
            long nv = vecs - v0 < vmax ? vecs - v0 : vmax;
            if (vmax == 3 && vecs - v0 == 4) nv = 2;
            const long c0 = v0 * LANES, n = (v0 + nv) * LANES < cols ? nv * LANES : cols - c0;
            float *yt = y + m0 * ldy + j + c0;
            /* The lines this tile's rows write in the next output row, prefetched for writing while it
             * computes: the output is the layer's largest stream, written to lines not yet cached.
             * MobileNet stems with y cache-flushed: −5–8 % (unchanged warm). Two rows or a band ahead
             * gained less. The task's last row prefetches its own lines, not the next task's. */
            float *pfy = oh0 + b + 1 < oh_end ? yt + ow : yt;
            const float *res = e->residual ? e->residual + m0 * e->ldr + j + c0 : 0;
            const float *xs = phases + b * row_floats + c0;
#define STEM_CALL(NAME) FN(NAME)(wp, xs, tap_x[b], tap_k[b], ntaps[b], pfy, yt, ldy, n, rows, sc, bi, res, e->ldr, e->lo, e->hi)
            if (rows <= GEMM_MR / 4) {
              if (nv == 3) STEM_CALL(stem_quarter3);
              else if (nv == 2) STEM_CALL(stem_quarter2);
              else STEM_CALL(stem_quarter1);
            } else if (rows <= GEMM_MR / 2) {
              if (nv == 3) STEM_CALL(stem_half3);
              else if (nv == 2) STEM_CALL(stem_half2);
              else STEM_CALL(stem_half1);
            } else if (rows <= GEMM_MR * 3 / 4) {
              if (nv == 3) STEM_CALL(stem_threeq3);
              else if (nv == 2) STEM_CALL(stem_threeq2);
              else STEM_CALL(stem_threeq1);
            } else if (nv == 3) {
              STEM_CALL(stem_tile3);
            } else if (nv == 2) {
              STEM_CALL(stem_tile2);
            } else {
              STEM_CALL(stem_tile1);
            }
#undef STEM_CALL
            v0 += nv;
          }
        }
      }
    }
  }
}
