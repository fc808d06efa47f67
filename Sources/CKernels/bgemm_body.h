/* The B-panel GEMM, written once over the vector vocabulary (included by each kernels_*.c):
 * y = alpha · A · B (+ y) for ONNX Gemm and MatMul with a constant B, prepacked once per session as
 * ⌈n / LANES⌉ column panels of k × LANES (zero columns past n). Rows of A go four at a time, each k one
 * panel load and four broadcast FMAs (the broadcast folds into the FMA's memory operand): at 768 × 768 it
 * ran at 102–116 GFLOP/s from 4 to 128 rows, ahead of OpenBLAS sgemm on the unpacked B (76–100).
 *
 * Why not sgemm / sgemv on B as stored: a batch-1 classifier is a matrix–vector product bound by reading
 * B (5 MB on MobileNetV2, 8 MB on ResNet-50), and the panels make that read one sequential stream. Cache-
 * cold on Zen 4, MobileNetV2's 1000 × 1280 took 220–260 µs this way against 350–400 µs through
 * OpenBLAS's sgemv on the row-major weight (which also beats repacking for sgemm on every call). */

long FN(sct_bgemm_panel)(void) { return LANES; }

/* B′[kk][j] = b[kk·rs + j·cs] for kk < k, j < n (so a transposed B is rs = 1, cs = its row length). */
void FN(sct_bgemm_pack_f32)(long k, long n, const float *b, long rs, long cs, float *packed) {
  for (long j0 = 0; j0 < n; j0 += LANES)
    for (long kk = 0; kk < k; kk++)
      for (long c = 0; c < LANES; c++) *packed++ = j0 + c < n ? b[kk * rs + (j0 + c) * cs] : 0.0f;
}

/* Stores alpha · acc (+ the old y when accumulating) to the `cols` valid columns at yr. */
static inline void FN(bgemm_store)(float *yr, VEC acc, long cols, float alpha, int accumulate) {
  VEC v = VMUL(acc, VSET1(alpha));
  if (cols == LANES) {
    if (accumulate) v = VADD(v, VLOAD(yr));
    VSTORE(yr, v);
  } else {
    if (accumulate) v = VADD(v, VLOADN(yr, cols));
    VSTOREN(yr, v, cols);
  }
}

/* Rows [0, m) of A (element (i, kk) at a[i·ars + kk·acs]) × columns [n_begin, n_end) of B (n_begin a
 * multiple of LANES) into y (row stride ldy). Each panel (k × LANES floats, 80 KB for k = 1280) is read
 * from memory once and stays in L2 while every group of rows runs over it. */
void FN(sct_bgemm_f32)(long m, long n_begin, long n_end, long k, const float *a, long ars, long acs,
                       const float *packed, float *y, long ldy, float alpha, int accumulate) {
  for (long j0 = n_begin; j0 < n_end; j0 += LANES) {
    const float *p = packed + j0 * k;
    const long cols = n_end - j0 < LANES ? n_end - j0 : LANES;
    long i = 0;
    /* Four rows: one panel load per k feeds four FMAs. */
    for (; i + 4 <= m; i += 4) {
      VEC acc[4] = {VZERO(), VZERO(), VZERO(), VZERO()};
      const float *ar = a + i * ars;
      for (long kk = 0; kk < k; kk++) {
        const VEC w = VLOAD(p + kk * LANES);
        for (int r = 0; r < 4; r++) acc[r] = VFMA(VSET1(ar[r * ars + kk * acs]), w, acc[r]);
      }
      for (int r = 0; r < 4; r++) FN(bgemm_store)(y + (i + r) * ldy + j0, acc[r], cols, alpha, accumulate);
    }
    /* A single row (the batch-1 case): k split over four chains, so the FMAs do not wait on each other's
     * latency while the panel streams in. */
    for (; i < m; i++) {
      VEC acc[4] = {VZERO(), VZERO(), VZERO(), VZERO()};
      const float *ar = a + i * ars;
      long kk = 0;
      for (; kk + 4 <= k; kk += 4) {
        /* The step that enters a 4 KiB page asks for the first lines two pages ahead (into L2): the
         * hardware prefetchers stop at page boundaries and restart on a demand miss in each new page, a
         * memory latency per 4 KiB of a cache-cold panel stream. MobileNetV2's and ResNet-50's
         * classifiers with the caches evicted: 23.7 -> 29.1 and 23.8 -> 27.1 GB/s of B (medians of 10
         * alternated runs), warm ±0. */
        if (((unsigned long)(p + kk * LANES) & 4095) < 4 * LANES * sizeof(float))
          for (int u = 0; u < 4; u++) __builtin_prefetch((const char *)(p + kk * LANES) + 8192 + 64 * u, 0, 2);
        for (int u = 0; u < 4; u++) acc[u] = VFMA(VSET1(ar[(kk + u) * acs]), VLOAD(p + (kk + u) * LANES), acc[u]);
      }
      for (; kk < k; kk++) acc[0] = VFMA(VSET1(ar[kk * acs]), VLOAD(p + kk * LANES), acc[0]);
      FN(bgemm_store)(y + i * ldy + j0, VADD(VADD(acc[0], acc[1]), VADD(acc[2], acc[3])), cols, alpha, accumulate);
    }
  }
}
