/* Where the thread pool's threads run: the current CPU, keeping a sleeping worker off the caller's, and
 * timing a read of lines another core wrote (ThreadPool+Placement.swift: one die or two).
 *
 * Why: on a VM whose idle vCPU the host has descheduled, the guest kernel treats that vCPU as busy
 * ("preempted") and wakes a sleeping worker onto the *waker's* CPU instead — the very CPU the caller is
 * computing on. The worker then waits behind the caller for a time slice: on this 2-vCPU host, after a
 * 100 ms idle gap, 57 of 67 wake-ups landed on the caller's CPU, each took ~3.5 ms, and MobileNetV2 on
 * 2 threads ran at its 1-thread time. A worker that leaves the caller's CPU out of its affinity while it
 * sleeps is woken on another CPU. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "CKernels.h"

int sct_current_cpu(void) { return sched_getcpu(); }

int sct_thread_sleep_away_from(int cpu) {
  cpu_set_t allowed;
  if (cpu < 0 || cpu >= CPU_SETSIZE) return 0;
  if (pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0) return 0;
  if (!CPU_ISSET(cpu, &allowed) || CPU_COUNT(&allowed) < 2) return 0;
  CPU_CLR(cpu, &allowed);
  return pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed) == 0;
}

void sct_thread_allow_cpu(int cpu) {
  cpu_set_t allowed;
  if (cpu < 0 || cpu >= CPU_SETSIZE) return;
  if (pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0) return;
  CPU_SET(cpu, &allowed);
  pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed);
}

long long sct_time_read_ns(const void *p, long bytes) {
  struct timespec a, b;
  const unsigned long long *w = p;
  unsigned long long s = 0;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i + 8 <= bytes / 8; i += 8) s += w[i] + w[i + 1] + w[i + 2] + w[i + 3] + w[i + 4] + w[i + 5] + w[i + 6] + w[i + 7];
  clock_gettime(CLOCK_MONOTONIC, &b);
  __asm__ volatile("" : : "r"(s)); /* the sum is not needed, only the reads */
  return (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
}
