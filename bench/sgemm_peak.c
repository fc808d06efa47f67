/* sgemm_peak.c — the machine's sgemm figure: OpenBLAS cblas_sgemm GFLOP/s on square float32 matrices
 * (the BLAS Secateur links), best of 10 after one warm-up call.
 * Built by mk/bench.mk with `gcc -O3 -march=native ... -lopenblas`.
 * Usage: sgemm_peak THREADS [N]  -> prints GFLOP/s. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  int n = argc > 2 ? atoi(argv[2]) : 1024;
  openblas_set_num_threads(threads);
  float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
  for (long i = 0; i < (long)n * n; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.2f; c[i] = 0; }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
  double best = 0;
  for (int rep = 0; rep < 10; rep++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    double g = 2.0 * n * (double)n * n / (now() - t0) * 1e-9;
    if (g > best) best = g;
  }
  printf("%.1f\n", best);
  int bad = c[0] != c[0];
  free(a); free(b); free(c);
  return bad;
}
