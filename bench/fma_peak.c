/* fma_peak.c — the machine's FP32 FMA ceiling in GFLOP/s, measured, not looked up.
 * Built by mk/bench.mk with `gcc -O3 -march=native`, so it uses the widest FMA the machine has
 * (AVX-512, else AVX2+FMA, else SSE mul+add). Each thread runs 12 independent FMA chains (enough to
 * cover latency × throughput on Zen 3/4 and recent Intel); the figure is the best of `reps` timings.
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

#define CHAINS 12
static const long ITERS = 20000000;

static void *worker(void *arg) {
  vec acc[CHAINS];
  vec a = SET1(0.999999f), b = SET1(1e-7f);
  for (int i = 0; i < CHAINS; i++) acc[i] = SET1((float)i);
  for (long it = 0; it < ITERS; it++) {
    for (int i = 0; i < CHAINS; i++) acc[i] = FMA(acc[i], a, b);
    __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]), "+x"(acc[3]));
  }
  float s = 0;
  for (int i = 0; i < CHAINS; i++) s += ((float *)&acc[i])[0];
  *(float *)arg = s;
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
  for (int rep = 0; rep < 3; rep++) {
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
