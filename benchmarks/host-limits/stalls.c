// How often this host takes a CPU away from a thread that never sleeps: one thread pinned to each
// CPU reads the clock in a loop and records every gap between two reads of at least 20 µs. On
// bare metal such gaps are rare (interrupts, a few µs each); on a busy virtual machine the
// hypervisor and the guest kernel take many. Any protocol that spins (via-net's adaptive and busy
// modes) loses its peer for the length of a gap.
//
//   stalls <seconds>
//
// Prints one JSON line with, per CPU: gaps of >= 20 µs and >= 100 µs, the longest, the time lost.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int cpu;
  uint64_t until;
  uint64_t gaps20, gaps100, longest_ns, lost_ns;
} Probe;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void* run(void* arg) {
  Probe* p = arg;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(p->cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  uint64_t last = now_ns();
  while (last < p->until) {
    uint64_t t = now_ns();
    uint64_t gap = t - last;
    if (gap >= 20000) {
      p->gaps20++;
      p->lost_ns += gap;
      if (gap >= 100000) p->gaps100++;
      if (gap > p->longest_ns) p->longest_ns = gap;
    }
    last = t;
  }
  return NULL;
}

int main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2;
  int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 1) cpus = 1;
  Probe* probes = calloc((size_t)cpus, sizeof(Probe));
  pthread_t* threads = calloc((size_t)cpus, sizeof(pthread_t));
  uint64_t until = now_ns() + (uint64_t)(seconds * 1e9);
  for (int i = 0; i < cpus; i++) {
    probes[i].cpu = i;
    probes[i].until = until;
    pthread_create(&threads[i], NULL, run, &probes[i]);
  }
  for (int i = 0; i < cpus; i++) pthread_join(threads[i], NULL);
  printf("{\"seconds\":%g,\"cpus\":[", seconds);
  for (int i = 0; i < cpus; i++) {
    Probe* p = &probes[i];
    printf("%s{\"cpu\":%d,\"gaps20us\":%llu,\"gaps100us\":%llu,\"longestMicros\":%.1f,\"lostPercent\":%.2f}", i ? "," : "",
           p->cpu, (unsigned long long)p->gaps20, (unsigned long long)p->gaps100, p->longest_ns / 1e3,
           100.0 * (double)p->lost_ns / (seconds * 1e9));
  }
  printf("]}\n");
  return 0;
}
