/* Per-ISA variants behind the dispatchers in dispatch.c. */
#ifndef SECATEUR_CKERNELS_INTERNAL_H
#define SECATEUR_CKERNELS_INTERNAL_H
#include "CKernels.h"

/* Outputs one depthwise / max-pool band covers at most, and the slack every staged plane (and the
 * Winograd row buffers) carry past their end so the widest vector (16 lanes) may run over (junk lanes). */
#define SCT_DW_MAX_OUT 4096
#define SCT_DW_SLACK 16

/* How window_body.h stages one geometry: phase-plane row pitch, output rows per band, floats per phase
 * plane (rows of the band + the rows its taps reach below it, one spare row, slack). */
typedef struct {
  long pitch, rows, plane;
} sct_dw_plan;

/* Fills `pl` and returns 1 when the geometry fits the staging buffers (SCT_DW_MAX_STAGE floats of
 * phase planes; bands of at most SCT_DW_MAX_OUT outputs, so the rows a band writes stay cache-resident
 * while its epilogue runs) with at least one output row per band; else 0.
 * Every product is bounded before it is formed (the geometry comes from the model). */
static inline int sct_dw_make_plan(const sct_dw_geometry *g, sct_dw_plan *pl) {
  if (g->kh < 1 || g->kw < 1 || g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1 || g->ow < 1 || g->oh < 1) return 0;
  if (g->ih < 0 || g->iw < 0 || g->ph < 0 || g->pw < 0) return 0;
  if (g->kh > SCT_DW_MAX_TAPS || g->kw > SCT_DW_MAX_TAPS || g->kh * g->kw > SCT_DW_MAX_TAPS) return 0;
  if (g->sh > SCT_DW_MAX_STAGE || g->sw > SCT_DW_MAX_STAGE || g->dh > SCT_DW_MAX_STAGE || g->dw > SCT_DW_MAX_STAGE) return 0;
  if (g->ow > SCT_DW_MAX_OUT) return 0;
  long phases = g->sh * g->sw;
  if (phases > SCT_DW_MAX_STAGE) return 0;
  long need = (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1; /* padded columns the windows read */
  long pitch = (need + g->sw - 1) / g->sw;
  long extra = ((g->kh - 1) * g->dh) / g->sh;
  long per_phase = SCT_DW_MAX_STAGE / phases - pitch - 2 * SCT_DW_SLACK;
  if (per_phase < pitch) return 0;
  long rows = per_phase / pitch - extra;
  if (rows > SCT_DW_MAX_OUT / pitch) rows = SCT_DW_MAX_OUT / pitch;
  if (rows > g->oh) rows = g->oh;
  if (rows < 1) return 0;
  pl->pitch = pitch;
  pl->rows = rows;
  pl->plane = (rows + extra) * pitch + pitch + 2 * SCT_DW_SLACK;
  return 1;
}

#define SCT_DECLARE_VARIANTS(isa)                                                                       \
  void sct_dwconv2d_planes_f32_##isa(const float *x, const float *w, float *y, const sct_dw_geometry *g, \
                                     const sct_dw_planes_epilogue *e, long channels, long p_begin,       \
                                     long p_end);                                                        \
  void sct_epilogue_apply_f32_##isa(float *y, long n, const sct_epilogue_f32 *e);                      \
  void sct_hard_gate_f32_##isa(float *y, long n, float alpha, float beta, int times_input);             \
  void sct_maxpool2d_planes_f32_##isa(const float *x, float *y, const sct_dw_geometry *g, long p_begin,  \
                                      long p_end);                                                       \
  long sct_gemm_mr_##isa(void);                                                                         \
  void sct_gemm_pack_f32_##isa(long m, long k, const float *w, float *packed);                          \
  void sct_gemm_f32_##isa(long m_begin, long m_end, long n, long k, const float *packed, const float *x, \
                          long ldx, float *y, long ldy, const sct_gemm_epilogue *e);                \
  long sct_bgemm_panel_##isa(void);                                                                     \
  void sct_bgemm_pack_f32_##isa(long k, long n, const float *b, long rs, long cs, float *packed);        \
  void sct_bgemm_f32_##isa(long m, long n_begin, long n_end, long k, const float *a, long ars, long acs, \
                           const float *packed, float *y, long ldy, float alpha, int accumulate);       \
  void sct_conv_gemm_f32_##isa(long m_begin, long m_end, long j_begin, long j_end, const float *packed,   \
                               const float *x, const sct_conv_geometry *g, float *y, long ldy,          \
                               const sct_gemm_epilogue *e);                                              \
  void sct_conv_subsample_f32_##isa(const float *x, const sct_conv_geometry *g, long c_begin, long c_end,    \
                                    float *dst);                                                         \
  void sct_conv_direct_f32_##isa(long m_begin, long m_end, long oh_begin, long oh_end, const float *packed, \
                                 const float *x, const sct_conv_geometry *g, float *y, long ldy,        \
                                 const sct_gemm_epilogue *e);                                            \
  void sct_wino23_weights_f32_##isa(const float *w, long m, long c, float *u, float *packed);                     \
  void sct_wino23_input_f32_##isa(const float *x, const sct_wino_geometry *g, long c_begin, long c_end,  \
                                  long ty_begin, long ty_end, float *v, long v_stride, long v_ld);       \
  void sct_wino23_output_f32_##isa(const float *mt, long m_stride, long m_ld, const sct_wino_geometry *g, \
                                   long m_begin, long m_end, long ty_begin, long ty_end, float *y,       \
                                   const sct_gemm_epilogue *e);

SCT_DECLARE_VARIANTS(avx512)
SCT_DECLARE_VARIANTS(avx2)
SCT_DECLARE_VARIANTS(scalar)
#endif
