/* fma_peak.c — the machine's FP32 FMA ceiling in GFLOP/s, measured, not looked up.
 * Built by mk/bench.mk with `gcc -O3 -march=native`, so it uses the widest FMA the machine has
 * (AVX-512, else AVX2+FMA, else SSE mul+add). Each thread runs 12 independent FMA chains (enough to
 * cover latency × throughput on Zen 3/4 and recent Intel); the figure is the best of 15 short timings.
 * Usage: fma_peak THREADS  -> prints GFLOP/s summed over THREADS threads. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SET1 _mm512_set1_ps
#elif defined(__FMA__)
typedef __m256 vec;
#define LANES 8
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SET1 _mm256_set1_ps
#else
typedef __m128 vec;
#define LANES 4
#define FMA(a, b, c) _mm_add_ps(_mm_mul_ps(a, b), c)
#define SET1 _mm_set1_ps
#endif

#define CHAINS 12 /* independent accumulators in worker() */
static const long ITERS = 2000000; /* ~8 ms per repetition at 100 GFLOP/s: short, so best-of-15 catches quiet slices on a shared machine */

static void *worker(void *arg) {
  vec a = SET1(0.999999f), b = SET1(1e-7f);
  vec c0 = SET1(0), c1 = SET1(1), c2 = SET1(2), c3 = SET1(3), c4 = SET1(4), c5 = SET1(5);
  vec c6 = SET1(6), c7 = SET1(7), c8 = SET1(8), c9 = SET1(9), c10 = SET1(10), c11 = SET1(11);
  for (long it = 0; it < ITERS; it++) {
    c0 = FMA(c0, a, b); c1 = FMA(c1, a, b); c2 = FMA(c2, a, b); c3 = FMA(c3, a, b);
    c4 = FMA(c4, a, b); c5 = FMA(c5, a, b); c6 = FMA(c6, a, b); c7 = FMA(c7, a, b);
    c8 = FMA(c8, a, b); c9 = FMA(c9, a, b); c10 = FMA(c10, a, b); c11 = FMA(c11, a, b);
    /* Keeps the chains live in registers (no folding across iterations, no spills). */
    __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5));
    __asm__ volatile("" : "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11));
  }
  vec sum = c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11;
  *(float *)arg = sum[0];
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256) threads = 1;
  pthread_t tid[256];
  float sink[256];
  double best = 0;
  for (int rep = 0; rep < 15; rep++) {
    double t0 = now();
    for (int t = 0; t < threads; t++) pthread_create(&tid[t], NULL, worker, &sink[t]);
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    double dt = now() - t0;
    double gflops = 2.0 * LANES * CHAINS * (double)ITERS * threads / dt * 1e-9;
    if (gflops > best) best = gflops;
  }
  printf("%.1f %d\n", best, LANES);
  return sink[0] == 12345.0f;
}
