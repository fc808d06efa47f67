/* CKernels — float32 SIMD microkernels with runtime CPU dispatch (AVX-512 / AVX2+FMA / baseline).
 *
 * Each family has one entry point here; the implementation picks an ISA variant once per process from
 * cpuid (and the OS's saved-register support), so one binary runs on any x86-64. Variants are compiled
 * per function with __attribute__((target(...))), never with package-wide ISA flags.
 * Internal to Secateur (imported by Runtime only); not part of the public C API. */
#ifndef SECATEUR_CKERNELS_H
#define SECATEUR_CKERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The per-channel epilogue every conv microkernel applies while its tile is in registers:
 *   y = clamp(acc * scale + bias + residual, lo, hi)
 * residual may be NULL; lo = -INFINITY, hi = INFINITY for no clamp (Relu: lo = 0; Relu6/Clip: lo, hi). */
typedef struct {
  float scale, bias, lo, hi;
  const float *residual; /* same layout as the output plane, or NULL */
} sct_epilogue_f32;

/* One geometry of a 2-D depthwise convolution over one channel plane (NCHW, one input and one
 * output channel). */
typedef struct {
  long ih, iw, oh, ow;        /* input / output plane size */
  long kh, kw;                /* kernel */
  long sh, sw, dh, dw;        /* strides, dilations */
  long ph, pw;                /* leading pads (trailing pads are implied by oh, ow) */
} sct_dw_geometry;

/* Floats of padded input rows the depthwise kernel stages on its stack (32 KiB), and its tap limit.
 * Callers check sct_dwconv2d_supported() and fall back to another path when it returns 0. */
#define SCT_DW_MAX_TAPS 1024

int sct_dwconv2d_supported(const sct_dw_geometry *g);
#define SCT_DW_MAX_STAGE 8192

/* The epilogue of a multi-plane depthwise call: per-channel scale and bias (NULL for 1 / 0), an optional
 * residual laid out like the output (plane p at residual + p · oh · ow), clamp bounds as above. */
typedef struct {
  const float *scale, *bias, *residual;
  float lo, hi;
} sct_dw_planes_epilogue;

/* Depthwise conv of planes [p_begin, p_end): plane p reads x + p·ih·iw, writes y + p·oh·ow and is channel
 * c = p % channels, whose weights are w + c·kh·kw:
 *   y[oh][ow] = epilogue_c(Σ w[kh][kw] · x[oh·sh − ph + kh·dh][ow·sw − pw + kw·dw]), out-of-range input = 0.
 * Planes are independent, so callers split the plane range across threads. */
void sct_dwconv2d_planes_f32(const float *x, const float *w, float *y, const sct_dw_geometry *g,
                             const sct_dw_planes_epilogue *e, long channels, long p_begin, long p_end);

/* Max pooling of planes [p_begin, p_end) with the same geometry (padding reads as −∞; every window must
 * hold at least one input element, which ONNX's pad < kernel rule guarantees). Same staging limits. */
void sct_maxpool2d_planes_f32(const float *x, float *y, const sct_dw_geometry *g, long p_begin, long p_end);

/* y[i] = clamp(y[i] * scale + bias + residual[i], lo, hi) for i < n (the epilogue alone, after sgemm). */
void sct_epilogue_apply_f32(float *y, long n, const sct_epilogue_f32 *e);

/* In place on n values: g = clamp(alpha·y + beta, 0, 1), then y = g (HardSigmoid) or, with times_input,
 * y · g (HardSwish: alpha = 1/6, beta = 1/2). */
void sct_hard_gate_f32(float *y, long n, float alpha, float beta, int times_input);

/* The epilogue of one GEMM call: per-row (output channel) scale and bias, each NULL for 1 / 0; an
 * optional residual with row stride ldr; clamp bounds as in sct_epilogue_f32. */
typedef struct {
  const float *scale, *bias, *residual;
  long ldr;
  float lo, hi;
} sct_gemm_epilogue;

/* Rows per weight panel of the GEMM microkernel this process uses (8 with AVX-512, 6 with AVX2, 4 baseline). */
long sct_gemm_mr(void);
/* Floats a packed m × k weight takes: ⌈m / MR⌉ · MR · k. */
long sct_gemm_packed_count(long m, long k);
/* Packs row-major w (m × k) into ⌈m/MR⌉ panels of k × MR, zero-filling rows past m (done once per session). */
void sct_gemm_pack_f32(long m, long k, const float *w, float *packed);
/* y[i][j] = epilogue(Σ_k w[i][k] · x[k][j]) for rows i in [m_begin, m_end) and columns j in [0, n);
 * m_begin must be a multiple of sct_gemm_mr(). x has row stride ldx, y row stride ldy; packed is the
 * whole packed weight. Any m, n, k ≥ 1 run on the vector path (partial vectors masked). */
void sct_gemm_f32(long m_begin, long m_end, long n, long k, const float *packed, const float *x, long ldx,
                  float *y, long ldy, const sct_gemm_epilogue *e);

/* The B-panel GEMM (Gemm and MatMul with a constant B, any number of rows of A). Columns per panel of
 * the packed B (16 with AVX-512, 8 with AVX2, 1 baseline; the runtime hands one-column panels — B′
 * transposed — to OpenBLAS instead of the scalar sct_bgemm_f32). */
long sct_bgemm_panel(void);
/* Floats a packed k × n B takes: ⌈n / panel⌉ · panel · k. */
long sct_bgemm_packed_count(long k, long n);
/* Packs B′ (k × n, element (kk, j) at b[kk·rs + j·cs]) into column panels of k × panel, zero past n. */
void sct_bgemm_pack_f32(long k, long n, const float *b, long rs, long cs, float *packed);
/* y[i][j] = alpha · Σ_kk A[i][kk] · B′[kk][j] (+ y[i][j] when accumulate) for i < m and j in
 * [n_begin, n_end), n_begin a multiple of sct_bgemm_panel(); A[i][kk] at a[i·ars + kk·acs], y row stride ldy. */
void sct_bgemm_f32(long m, long n_begin, long n_end, long k, const float *a, long ars, long acs,
                   const float *packed, float *y, long ldy, float alpha, int accumulate);

/* A 2-D convolution (one group) as GEMM over its implicit im2col matrix: the GEMM gathers image values
 * straight into its panels, so no im2col buffer is written and read back. */
typedef struct {
  long c;                 /* input channels of the group (x holds c planes of ih × iw) */
  long ih, iw, oh, ow;    /* input / output plane size */
  long kh, kw, sh, sw, dh, dw, ph, pw;
} sct_conv_geometry;
/* y[i][j] = epilogue(Σ_k w[i][k] · im2col(x)[k][j]) for rows i in [m_begin, m_end) (m_begin a multiple of
 * sct_gemm_mr()) and output positions j in [j_begin, j_end); packed is the whole packed m × (c·kh·kw)
 * weight; y (and e->residual) have row stride ldy. */
void sct_conv_gemm_f32(long m_begin, long m_end, long j_begin, long j_end, const float *packed, const float *x,
                       const sct_conv_geometry *g, float *y, long ldy, const sct_gemm_epilogue *e);

/* A strided 1 × 1 conv's input without pads, subsampled: dst[ch][oy · ow + ox] = x[ch][oy · sh][ox · sw] for
 * channels [c_begin, c_end) (dst holds c planes of oh × ow); the GEMM then reads it as a pointwise conv's. */
void sct_conv_subsample_f32(const float *x, const sct_conv_geometry *g, long c_begin, long c_end, float *dst);

/* Direct convolution for few input channels (the stem, see stem_body.h): limits of its stack buffers. */
#define SCT_STEM_MAX_ROWS 48 /* c · kh · sw input phase rows per pass */
#define SCT_STEM_MAX_K 256   /* c · kh · kw taps */
/* 1 when sct_conv_direct_f32 takes geometry g (and wins over the GEMM: c ≤ 4 input channels, column
 * stride 1 or 2, undilated columns), else 0. */
int sct_conv_direct_supported(const sct_conv_geometry *g);
/* The convolution of sct_conv_gemm_f32, computed directly, for output rows [oh_begin, oh_end) and
 * channels [m_begin, m_end) (m_begin a multiple of sct_gemm_mr()); same packed weights, y and residual
 * layout (output position oh · ow + ox, row stride ldy). */
void sct_conv_direct_f32(long m_begin, long m_end, long oh_begin, long oh_end, const float *packed,
                         const float *x, const sct_conv_geometry *g, float *y, long ldy, const sct_gemm_epilogue *e);

/* Winograd F(2×2, 3×3) for 3×3 stride-1 undilated convs (see winograd_body.h). One plane geometry: */
typedef struct {
  long ih, iw, oh, ow; /* input / output plane size */
  long ph, pw;         /* leading pads */
} sct_wino_geometry;
/* Widest output the transforms stage on the stack (tile columns = ⌈ow / 2⌉). */
#define SCT_WINO_MAX_TW 1024
/* 1 when this path takes the geometry (3×3 window inside the padded input, ow ≤ 2·SCT_WINO_MAX_TW). */
int sct_wino23_supported(const sct_wino_geometry *g);
/* Floats the 16 prepacked transformed weights of an m × c conv take (16 · sct_gemm_packed_count(m, c)). */
long sct_wino23_weights_count(long m, long c);
/* Transforms and prepacks w (m × c × 3 × 3) into `packed`; ξ's matrix starts at ξ · packed_count(m, c);
 * u is scratch of 16 · m · c floats. */
void sct_wino23_weights_f32(const float *w, long m, long c, float *u, float *packed);
/* Input transform of channels [c_begin, c_end), tile rows [ty_begin, ty_end) of x (c planes ih × iw):
 * v[ξ · v_stride + c · v_ld + t], t = tile index from the band's first (⌈ow / 2⌉ tiles per tile row). */
void sct_wino23_input_f32(const float *x, const sct_wino_geometry *g, long c_begin, long c_end,
                          long ty_begin, long ty_end, float *v, long v_stride, long v_ld);
/* Output transform plus epilogue of channels [m_begin, m_end), tile rows [ty_begin, ty_end), from
 * mt[ξ · m_stride + m · m_ld + t] into y (m planes oh × ow); e->residual (or NULL) has channel stride e->ldr.
 * Reads up to 2 · 16 floats past the last tile of each row of mt (junk lanes, never stored). */
void sct_wino23_output_f32(const float *mt, long m_stride, long m_ld, const sct_wino_geometry *g, long m_begin,
                           long m_end, long ty_begin, long ty_end, float *y, const sct_gemm_epilogue *e);

/* One spin-wait step: the x86 `pause` hint (yields the core's pipeline to a sibling thread and saves
 * power while the thread pool's workers wait for the next parallel region). */
static inline void sct_cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Thread placement for the thread pool (thread_placement.c). `sct_current_cpu` is the calling thread's
 * CPU (-1 if unknown). `sct_thread_sleep_away_from(cpu)` takes `cpu` out of the calling thread's
 * affinity (only if it keeps at least one other CPU) and returns 1 if it did; `sct_thread_allow_cpu`
 * puts it back. */
int sct_current_cpu(void);
int sct_thread_sleep_away_from(int cpu);
void sct_thread_allow_cpu(int cpu);
/* Nanoseconds the calling thread takes to read `bytes` (a multiple of 64) at p: the thread pool times a
 * worker reading lines the caller has just written, to tell whether the two share a die. */
long long sct_time_read_ns(const void *p, long bytes);

/* The ISA the dispatcher chose: 2 = AVX-512F, 1 = AVX2+FMA, 0 = baseline (capped by the environment
 * variable SECATEUR_ISA=avx2|baseline, for tests). */
int sct_ckernels_isa(void);

#ifdef __cplusplus
}
#endif

#endif
