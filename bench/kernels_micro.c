/* kernels_micro.c — the CKernels microkernels alone, on the layer shapes of ResNet-50 and MobileNetV2.
 * Built by mk/bench.mk (`make bench-kernels`) straight from Sources/CKernels, so a kernel change can be
 * judged without building the runtime. Times are per-thread CPU time (CLOCK_THREAD_CPUTIME_ID), best of
 * 20 calls on warm data: on a shared VM, wall time of a 1 ms call swings 2×, CPU time far less — still,
 * compare variants by alternating runs, not one run against a number from another day.
 * SECATEUR_ISA=avx2|baseline selects the variant, as for the runtime.
 * `gemm-cold` runs the GEMM sets as a model meets them: before each call a 64 MB sweep evicts the caches,
 * then x is read once (it was just written by the layer before), so weights and y come from memory; median
 * of 21 calls (a cold call's time varies more than a warm one's).
 * `bgemm` times the B-panel GEMM on the batch-1 classifiers (warm, and cold as `gemm-cold`), in GB/s of B read.
 * Usage: kernels_micro [gemm|gemm-cold|conv|dw|bgemm]  -> one line per shape (all families, or the one named). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "CKernels.h"

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* (m, n, k, times per inference): 1×1 convs and the Winograd batched GEMMs (n = 96-tile bands). */
static const long resnet50_gemm[][4] = {
    {64, 3136, 64, 1},   {64, 3136, 256, 2},  {256, 3136, 64, 4},  {128, 3136, 256, 1}, {128, 784, 512, 3},
    {512, 784, 128, 4},  {256, 784, 512, 1},  {256, 196, 1024, 5}, {1024, 196, 256, 6}, {512, 196, 1024, 1},
    {512, 49, 2048, 2},  {2048, 49, 512, 3},  {64, 96, 64, 128},   {128, 96, 128, 64},  {256, 96, 256, 48},
    {512, 96, 512, 16}};
static const long mobilenet_v2_gemm[][4] = {
    {16, 12544, 32, 1}, {96, 12544, 16, 1}, {24, 3136, 96, 1},  {144, 3136, 24, 2}, {24, 3136, 144, 1},
    {32, 784, 144, 1},  {192, 784, 32, 3},  {32, 784, 192, 2},  {64, 196, 192, 1},  {384, 196, 64, 4},
    {64, 196, 384, 3},  {96, 196, 384, 1},  {576, 196, 96, 3},  {96, 196, 576, 2},  {160, 49, 576, 1},
    {960, 49, 160, 3},  {160, 49, 960, 2},  {320, 49, 960, 1},  {1280, 49, 320, 1}};
/* (C in, M out, H, kernel, stride, pad): convs through the implicit-im2col GEMM. */
static const long implicit_convs[][6] = {{3, 32, 224, 3, 2, 1},   {3, 16, 224, 3, 2, 1},  {3, 64, 224, 7, 2, 3},
                                         {3, 24, 224, 3, 1, 1},   {128, 128, 56, 3, 2, 1},
                                         {256, 256, 28, 3, 2, 1}, {512, 512, 14, 3, 2, 1}};
/* (channels, H, stride): MobileNetV2's 3×3 depthwise layers. */
static const long depthwise[][3] = {{32, 112, 1}, {96, 112, 2}, {144, 56, 1}, {144, 56, 2}, {192, 28, 1},
                                    {192, 28, 2}, {384, 14, 1}, {576, 14, 1}, {576, 14, 2}, {960, 7, 1}};

/* (rows of A, n, k): batch-1 classifiers (MobileNetV2, ResNet-50) and a small batch. */
static const long classifiers[][3] = {{1, 1000, 1280}, {1, 1000, 2048}, {4, 1000, 1280}};

static void implicit_set(void);
static void depthwise_set(void);
static void bgemm_set(void);

static float *filled(long n, int mod) {
  float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  if (!p) exit(1);
  for (long i = 0; i < n; i++) p[i] = (float)(i % mod) * 0.1f;
  return p;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Evicts the caches (a sweep over 64 MB), then reads x back in as the layer that wrote it would leave it. */
static void cache_cold(const float *x, long count) {
  static unsigned char *sweep;
  const long bytes = 64l << 20;
  if (!sweep && !(sweep = calloc((size_t)bytes, 1))) exit(1);
  for (long i = 0; i < bytes; i += 64) sweep[i]++;
  volatile float sink = 0;
  for (long i = 0; i < count; i += 16) sink += x[i];
}

static void gemm_set(const char *name, const long (*s)[4], int count, int cold) {
  double total = 0, flops = 0;
  printf("%s GEMMs%s (m n k: GFLOP/s)\n", name, cold ? ", caches evicted, x read back" : "");
  for (int i = 0; i < count; i++) {
    long m = s[i][0], n = s[i][1], k = s[i][2];
    float *w = filled(m * k, 7), *x = filled(k * n, 5), *y = filled(m * n, 3);
    float *p = filled(sct_gemm_packed_count(m, k), 2);
    sct_gemm_pack_f32(m, k, w, p);
    sct_gemm_epilogue e = {0, 0, 0, 0, -INFINITY, INFINITY};
    enum { COLD_CALLS = 21 };
    double best = 1e9, times[COLD_CALLS];
    for (int r = 0; r < (cold ? COLD_CALLS : 20); r++) {
      if (cold) cache_cold(x, k * n);
      double t = cpu_now();
      sct_gemm_f32(0, m, n, k, p, x, n, y, n, &e);
      t = cpu_now() - t;
      if (cold) times[r] = t;
      if (t < best) best = t;
    }
    if (cold) {
      qsort(times, COLD_CALLS, sizeof times[0], cmp_double);
      best = times[COLD_CALLS / 2];
    }
    printf("  %5ld %5ld %5ld: %6.1f\n", m, n, k, 2.0 * m * n * k / best * 1e-9);
    total += best * s[i][3];
    flops += 2.0 * m * n * k * s[i][3];
    free(w), free(x), free(y), free(p);
  }
  printf("  total %.2f ms, %.1f GFLOP/s\n", total * 1e3, flops / total * 1e-9);
}

int main(int argc, char **argv) {
  const char *only = argc > 1 ? argv[1] : "";
  const int all = only[0] == 0;
  printf("ISA variant: %s\n", sct_ckernels_isa() == 2 ? "AVX-512" : sct_ckernels_isa() == 1 ? "AVX2+FMA" : "baseline");
  const int cold = !strcmp(only, "gemm-cold");
  if (all || cold || !strcmp(only, "gemm")) {
    gemm_set("ResNet-50", resnet50_gemm, sizeof resnet50_gemm / sizeof resnet50_gemm[0], cold);
    gemm_set("MobileNetV2", mobilenet_v2_gemm, sizeof mobilenet_v2_gemm / sizeof mobilenet_v2_gemm[0], cold);
  }
  if (all || !strcmp(only, "conv")) implicit_set();
  if (all || !strcmp(only, "dw")) depthwise_set();
  if (all || !strcmp(only, "bgemm")) bgemm_set();
  return 0;
}

static void bgemm_set(void) {
  printf("B-panel GEMM (rows n k: warm ms, GB/s of B; cold median ms, GB/s)\n");
  for (unsigned i = 0; i < sizeof classifiers / sizeof classifiers[0]; i++) {
    const long m = classifiers[i][0], n = classifiers[i][1], k = classifiers[i][2];
    float *a = filled(m * k, 7), *b = filled(n * k, 5), *y = filled(m * n, 3);
    float *p = filled(sct_bgemm_packed_count(k, n), 2);
    sct_bgemm_pack_f32(k, n, b, 1, k, p); /* B stored n × k, as a transB classifier keeps it */
    const double bytes = 4.0 * (double)sct_bgemm_packed_count(k, n);
    double best = 1e9, cold[21];
    for (int r = 0; r < 20; r++) {
      double t = cpu_now();
      sct_bgemm_f32(m, 0, n, k, a, k, 1, p, y, n, 1.0f, 0);
      t = cpu_now() - t;
      if (t < best) best = t;
    }
    for (int r = 0; r < 21; r++) {
      cache_cold(a, m * k);
      double t = cpu_now();
      sct_bgemm_f32(m, 0, n, k, a, k, 1, p, y, n, 1.0f, 0);
      cold[r] = cpu_now() - t;
    }
    qsort(cold, 21, sizeof cold[0], cmp_double);
    printf("  %4ld %5ld %5ld: %7.3f ms %6.1f   cold %7.3f ms %6.1f\n", m, n, k, best * 1e3, bytes / best * 1e-9,
           cold[10] * 1e3, bytes / cold[10] * 1e-9);
    free(a), free(b), free(y), free(p);
  }
}

static void implicit_set(void) {

  printf("implicit-im2col convs (C M H kernel stride: ms, GFLOP/s; stems also direct, and its max |diff|)\n");
  for (unsigned i = 0; i < sizeof implicit_convs / sizeof implicit_convs[0]; i++) {
    const long *c = implicit_convs[i];
    long C = c[0], M = c[1], H = c[2], K = c[3], S = c[4], P = c[5];
    long OH = (H + 2 * P - K) / S + 1, k = C * K * K, n = OH * OH;
    float *x = filled(C * H * H, 7), *w = filled(M * k, 5), *y = filled(M * n, 3);
    float *p = filled(sct_gemm_packed_count(M, k), 2);
    sct_gemm_pack_f32(M, k, w, p);
    sct_conv_geometry g = {C, H, H, OH, OH, K, K, S, S, 1, 1, P, P};
    sct_gemm_epilogue e = {0, 0, 0, 0, -INFINITY, INFINITY};
    double best = 1e9;
    for (int r = 0; r < 20; r++) {
      double t = cpu_now();
      sct_conv_gemm_f32(0, M, 0, n, p, x, &g, y, n, &e);
      t = cpu_now() - t;
      if (t < best) best = t;
    }
    printf("  %4ld %4ld %4ld %ldx%ld s%ld: %7.3f ms %6.1f", C, M, H, K, K, S, best * 1e3, 2.0 * M * n * k / best * 1e-9);
    if (sct_conv_direct_supported(&g)) {
      float *yd = filled(M * n, 3);
      best = 1e9;
      for (int r = 0; r < 20; r++) {
        double t = cpu_now();
        sct_conv_direct_f32(0, M, 0, OH, p, x, &g, yd, n, &e);
        t = cpu_now() - t;
        if (t < best) best = t;
      }
      double diff = 0;
      for (long j = 0; j < M * n; j++) diff = fmax(diff, fabs((double)yd[j] - y[j]));
      printf("   direct %7.3f ms %6.1f  |diff| %.1e", best * 1e3, 2.0 * M * n * k / best * 1e-9, diff);
      free(yd);
    }
    printf("\n");
    free(x), free(w), free(y), free(p);
  }
}

static void depthwise_set(void) {
  printf("depthwise 3x3 + ReLU6 (C H stride: ms, ns per plane)\n");
  double dw_total = 0;
  for (unsigned i = 0; i < sizeof depthwise / sizeof depthwise[0]; i++) {
    long C = depthwise[i][0], H = depthwise[i][1], S = depthwise[i][2], OH = (H + 2 - 3) / S + 1;
    float *x = filled(C * H * H, 7), *y = filled(C * OH * OH, 3), *w = filled(C * 9, 5), *sc = filled(C, 1), *bi = filled(C, 3);
    sct_dw_geometry g = {H, H, OH, OH, 3, 3, S, S, 1, 1, 1, 1};
    sct_dw_planes_epilogue e = {sc, bi, 0, 0.0f, 6.0f};
    double best = 1e9;
    for (int r = 0; r < 200; r++) {
      double t = cpu_now();
      sct_dwconv2d_planes_f32(x, w, y, &g, &e, C, 0, C);
      t = cpu_now() - t;
      if (t < best) best = t;
    }
    printf("  %4ld %4ld s%ld: %7.3f ms %7.1f\n", C, H, S, best * 1e3, best * 1e9 / C);
    dw_total += best;
    free(x), free(y), free(w), free(sc), free(bi);
  }
  printf("  total %.3f ms (each layer once)\n", dw_total * 1e3);
}
