/* Winograd F(2×2, 3×3) for 3×3, stride-1, undilated convolutions (ResNet's every 3×3 but the
 * downsampling ones), written once and compiled per ISA (included by kernels_*.c after gemm_body.h;
 * needs VDEINT2 / VINT2 besides the V* vocabulary).
 *
 * Each 2×2 output tile comes from a 4×4 input patch d: V = Bᵀ d B (input transform), U = G g Gᵀ per
 * (out, in) channel pair (weight transform, once per session), then for each of the 16 positions ξ one
 * GEMM M[ξ] = U[ξ] · V[ξ] over channels (sct_gemm_f32 on prepacked U, done by the caller), and
 * Y = Aᵀ M A (output transform) with the conv epilogue. 16 multiplies per output pair of channels and
 * tile instead of 36: 2.25× fewer MACs; B and A hold only 0 and ±1, so the transforms are additions and
 * the error stays at the level of direct convolution (G's ½ is exact in binary).
 *
 * Transforms run as vectors over tile columns tx: input rows are staged split into even / odd columns
 * (tile tx starts at padded column 2·tx, so its four columns are even[tx], odd[tx], even[tx+1],
 * odd[tx+1] — unit-stride loads), and the two output columns of a tile are interleaved back on store. */

/* V[ξ][c][t] for channels [c_begin, c_end) and tile rows [ty_begin, ty_end); t counts tiles from the
 * band's first (row-major, tw per row); v_stride = floats between consecutive ξ (channels × band tiles),
 * v_ld = floats between channels. */
void FN(sct_wino23_input_f32)(const float *x, const sct_wino_geometry *g, long c_begin, long c_end,
                              long ty_begin, long ty_end, float *v, long v_stride, long v_ld) {
  const long tw = (g->ow + 1) / 2, len = tw + 1 + LANES;
  float buf[8 * (SCT_WINO_MAX_TW + 1 + SCT_DW_SLACK)] __attribute__((aligned(64)));
  /* The four input rows of a tile row, staged by the depthwise kernel's phase staging (sw = 2): even
   * padded columns in the first plane, odd in the second. */
  const sct_dw_geometry sg = {g->ih, g->iw, 0, 0, 3, 3, 1, 2, 1, 1, g->ph, g->pw};
  const sct_dw_plan pl = {len, 4, 4 * len};
  float *ev[4], *od[4];
  for (long r = 0; r < 4; r++) {
    ev[r] = buf + r * len;
    od[r] = buf + 4 * len + r * len;
  }
  for (long c = c_begin; c < c_end; c++) {
    const float *xc = x + c * g->ih * g->iw;
    for (long ty = ty_begin; ty < ty_end; ty++) {
      FN(window_stage)(buf, xc, &sg, &pl, 2 * ty, 4, 0.0f);
      float *vt = v + c * v_ld + (ty - ty_begin) * tw;
      for (long tx = 0; tx < tw; tx += LANES) {
        VEC e[4][4];
        for (long r = 0; r < 4; r++) { /* row transform: e_j = Σ_k Bᵀ[j][k] d_k */
          VEC d0 = VLOAD(ev[r] + tx), d1 = VLOAD(od[r] + tx), d2 = VLOAD(ev[r] + tx + 1), d3 = VLOAD(od[r] + tx + 1);
          e[r][0] = VSUB(d0, d2);
          e[r][1] = VADD(d1, d2);
          e[r][2] = VSUB(d2, d1);
          e[r][3] = VSUB(d1, d3);
        }
        long left = tw - tx;
        for (long j = 0; j < 4; j++) { /* column transform, stored at ξ = i·4 + j */
          VEC col[4] = {VSUB(e[0][j], e[2][j]), VADD(e[1][j], e[2][j]), VSUB(e[2][j], e[1][j]), VSUB(e[1][j], e[3][j])};
          for (long i = 0; i < 4; i++) {
            float *dst = vt + (i * 4 + j) * v_stride + tx;
            if (left >= LANES) VSTORE(dst, col[i]);
            else VSTOREN(dst, col[i], left);
          }
        }
      }
    }
  }
}

/* Y for output channels [m_begin, m_end) and tile rows [ty_begin, ty_end) from M[ξ][m][t] (m_stride
 * floats between ξ, m_ld between channels, t from the band's first tile), with the epilogue: per-channel
 * scale / bias (NULL for 1 / 0), a residual shaped like y (its channel stride in e->ldr), clamp. */
void FN(sct_wino23_output_f32)(const float *mt, long m_stride, long m_ld, const sct_wino_geometry *g,
                               long m_begin, long m_end, long ty_begin, long ty_end, float *y,
                               const sct_gemm_epilogue *e) {
  const long tw = (g->ow + 1) / 2, ow = g->ow, oh = g->oh, plane = oh * ow;
  for (long m = m_begin; m < m_end; m++) {
    const VEC sc = VSET1(e->scale ? e->scale[m] : 1.0f), bi = VSET1(e->bias ? e->bias[m] : 0.0f);
    const VEC lo = VSET1(e->lo), hi = VSET1(e->hi);
    float *ym = y + m * plane;
    const float *rm = e->residual ? e->residual + m * e->ldr : NULL;
    for (long ty = ty_begin; ty < ty_end; ty++) {
      const float *src = mt + m * m_ld + (ty - ty_begin) * tw;
      for (long tx = 0; tx < tw; tx += LANES) {
        VEC s0[4], s1[4];
        for (long i = 0; i < 4; i++) { /* row transform with Aᵀ = [[1 1 1 0], [0 1 −1 −1]] */
          VEC m0 = VLOAD(src + (i * 4 + 0) * m_stride + tx), m1 = VLOAD(src + (i * 4 + 1) * m_stride + tx);
          VEC m2 = VLOAD(src + (i * 4 + 2) * m_stride + tx), m3 = VLOAD(src + (i * 4 + 3) * m_stride + tx);
          s0[i] = VADD(VADD(m0, m1), m2);
          s1[i] = VSUB(VSUB(m1, m2), m3);
        }
        VEC out[2][2] = {{VADD(VADD(s0[0], s0[1]), s0[2]), VADD(VADD(s1[0], s1[1]), s1[2])},
                         {VSUB(VSUB(s0[1], s0[2]), s0[3]), VSUB(VSUB(s1[1], s1[2]), s1[3])}};
        long cols = ow - 2 * tx; /* valid output columns from 2·tx on */
        if (cols > 2 * LANES) cols = 2 * LANES;
        for (long a = 0; a < 2; a++) {
          long row = 2 * ty + a;
          if (row >= oh) break;
          VEC ev = VFMA(out[a][0], sc, bi), od = VFMA(out[a][1], sc, bi);
          float *yr = ym + row * ow + 2 * tx;
          if (rm) {
            const float *rr = rm + row * ow + 2 * tx;
            VEC re, ro;
            if (cols == 2 * LANES) {
              VDEINT2(rr, re, ro);
            } else {
              float tmp[2 * SCT_DW_SLACK] __attribute__((aligned(64)));
              for (long k = 0; k < cols; k++) tmp[k] = rr[k];
              for (long k = cols; k < 2 * LANES; k++) tmp[k] = 0.0f;
              VDEINT2(tmp, re, ro);
            }
            ev = VADD(ev, re);
            od = VADD(od, ro);
          }
          ev = VMIN(VMAX(ev, lo), hi);
          od = VMIN(VMAX(od, lo), hi);
          if (cols == 2 * LANES) {
            VINT2(yr, ev, od);
          } else {
            float tmp[2 * SCT_DW_SLACK] __attribute__((aligned(64)));
            VINT2(tmp, ev, od);
            for (long k = 0; k < cols; k++) yr[k] = tmp[k];
          }
        }
      }
    }
  }
}

/* U[ξ] for every ξ, each prepacked for sct_gemm_f32 as an M × C matrix; w is M × C × 3 × 3, u is
 * 16 · M · C floats of scratch. */
void FN(sct_wino23_weights_f32)(const float *w, long m, long c, float *u, float *packed) {
  const long stride = (m + GEMM_MR - 1) / GEMM_MR * GEMM_MR * c;
  for (long mi = 0; mi < m; mi++) {
    for (long ci = 0; ci < c; ci++) {
      const float *g3 = w + (mi * c + ci) * 9;
      double t[4][3]; /* G g, G = [[1 0 0], [½ ½ ½], [½ −½ ½], [0 0 1]] */
      for (long k = 0; k < 3; k++) {
        double g0 = g3[k], g1 = g3[3 + k], g2 = g3[6 + k];
        t[0][k] = g0;
        t[1][k] = 0.5 * (g0 + g1 + g2);
        t[2][k] = 0.5 * (g0 - g1 + g2);
        t[3][k] = g2;
      }
      for (long i = 0; i < 4; i++) { /* (G g) Gᵀ */
        double r[4] = {t[i][0], 0.5 * (t[i][0] + t[i][1] + t[i][2]), 0.5 * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
        for (long j = 0; j < 4; j++) u[((i * 4 + j) * m + mi) * c + ci] = (float)r[j];
      }
    }
  }
  for (long xi = 0; xi < 16; xi++) FN(sct_gemm_pack_f32)(m, c, u + xi * m * c, packed + xi * stride);
}
