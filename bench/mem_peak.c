/* Memory read bandwidth of N threads (GB/s): each thread sums its own 64 MB buffer, well past any cache
 * share this VM gets, for ~60 ms; best of three passes. Printed as "<GB/s> <threads>".
 *
 * Why the bench measures it: at times the host's other tenants load memory hard enough that every engine's
 * memory-bound layers slow down for minutes (MobileNetV2 at 2 threads: 9.5–10.4 ms instead of 4.8–5.5)
 * while the FMA probe (fma_peak) reads its usual figure. This probe sees those phases. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BYTES (64L << 20)
#define PASSES 4

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static pthread_barrier_t barrier;
static volatile uint64_t sink;

static void *reader(void *arg) {
  uint64_t *buf = arg, s = 0;
  const long n = BYTES / sizeof(uint64_t);
  pthread_barrier_wait(&barrier);
  for (int pass = 0; pass < PASSES; pass++)
    for (long i = 0; i < n; i++) s += buf[i] ^ (uint64_t)pass;
  sink = s;
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 64) threads = 1;
  uint64_t *bufs[64];
  for (int t = 0; t < threads; t++) {
    bufs[t] = malloc(BYTES);
    if (!bufs[t]) return 1;
    memset(bufs[t], t + 1, BYTES);
  }
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    pthread_t tid[64];
    pthread_barrier_init(&barrier, NULL, threads + 1);
    for (int t = 0; t < threads; t++) pthread_create(&tid[t], NULL, reader, bufs[t]);
    double t0 = now();
    pthread_barrier_wait(&barrier);
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    double gbs = (double)PASSES * BYTES * threads / (now() - t0) / 1e9;
    if (gbs > best) best = gbs;
    pthread_barrier_destroy(&barrier);
  }
  printf("%.1f %d\n", best, threads);
  return 0;
}
