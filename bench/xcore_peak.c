/* How fast one core reads 256 KB another core has just written (GB/s): the cost of a layer's hand-over
 * between two threads. Two threads on two CPUs of the affinity mask take turns: the second writes the
 * buffer, then the first reads it, timed; median of 100 rounds. Printed as "<GB/s>".
 *
 * Why the bench measures it: this VM's two vCPUs sit on one AMD CCD at times (65–75 GB/s here: the lines
 * come from the shared L3), on two CCDs at others (23–26 GB/s: across the fabric), and now and then on
 * one core (over 100: the lines are in its own L2). The FMA probe reads the same in the first two, yet
 * 2-thread runs differ by tens of percent between them, for every engine. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BYTES (256L << 10)
#define ROUNDS 100

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t *buf;
static atomic_int turn; /* 1: the writer's turn, 2: the reader's, 3: stop */
static volatile uint64_t sink;

static void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static int cpus[2] = {-1, -1};

static void *writer(void *arg) {
  (void)arg;
  pin(cpus[1]);
  for (uint64_t r = 1;; r++) {
    int t;
    while ((t = atomic_load(&turn)) == 2) {
    }
    if (t == 3) return NULL;
    for (long i = 0; i < BYTES / 8; i++) buf[i] = r + (uint64_t)i;
    atomic_store(&turn, 2);
  }
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(void) {
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) {
    for (int c = 0, k = 0; c < CPU_SETSIZE && k < 2; c++)
      if (CPU_ISSET(c, &mask)) cpus[k++] = c;
  }
  if (cpus[1] < 0) { /* one CPU: nothing to hand over */
    printf("0\n");
    return 0;
  }
  buf = aligned_alloc(64, BYTES);
  if (!buf) return 1;
  memset(buf, 0, BYTES);
  pin(cpus[0]);
  atomic_store(&turn, 1);
  pthread_t tid;
  pthread_create(&tid, NULL, writer, NULL);
  double t[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    while (atomic_load(&turn) != 2) {
    }
    const double t0 = now();
    uint64_t s = 0;
    for (long i = 0; i < BYTES / 8; i += 8) s += buf[i] + buf[i + 1] + buf[i + 2] + buf[i + 3] + buf[i + 4] + buf[i + 5] + buf[i + 6] + buf[i + 7];
    t[r] = now() - t0;
    sink = s;
    atomic_store(&turn, r + 1 < ROUNDS ? 1 : 3);
  }
  pthread_join(tid, NULL);
  qsort(t, ROUNDS, sizeof t[0], cmp);
  printf("%.1f\n", BYTES / t[ROUNDS / 2] * 1e-9);
  return 0;
}
