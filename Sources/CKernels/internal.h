/* Per-ISA variants behind the dispatchers in dispatch.c. */
#ifndef SECATEUR_CKERNELS_INTERNAL_H
#define SECATEUR_CKERNELS_INTERNAL_H
#include "CKernels.h"

#define SCT_DECLARE_VARIANTS(isa)                                                                       \
  void sct_dwconv2d_f32_##isa(const float *x, const float *w, float *y, const sct_dw_geometry *g,      \
                              const sct_epilogue_f32 *e, long row_begin, long row_end);                \
  void sct_epilogue_apply_f32_##isa(float *y, long n, const sct_epilogue_f32 *e);                      \
  void sct_maxpool2d_f32_##isa(const float *x, float *y, const sct_dw_geometry *g, long row_begin,       \
                               long row_end);                                                           \
  long sct_gemm_mr_##isa(void);                                                                         \
  void sct_gemm_pack_f32_##isa(long m, long k, const float *w, float *packed);                          \
  void sct_gemm_f32_##isa(long m_begin, long m_end, long n, long k, const float *packed, const float *x, \
                          long ldx, float *y, long ldy, const sct_gemm_epilogue *e);

SCT_DECLARE_VARIANTS(avx512)
SCT_DECLARE_VARIANTS(avx2)
SCT_DECLARE_VARIANTS(scalar)
#endif
