// A ping-pong between two processes over shared memory that polls the way via-net's adaptive mode
// does, with none of via-net in it: after each message the receiver spins for a budget, then marks
// itself asleep and blocks on an eventfd, which the sender writes only when it sees that mark.
// Bursts of messages separated by idle gaps show whether the host lets both ends stay awake.
//
//   spin-sleep <spin µs> <gap ms> <bursts> <messages per burst>
//
// Prints one JSON line: per burst, the mean one-way time (half the round trip) and how many times
// the client had to sleep. Run by benchmarks/host-limits.js.
#define _GNU_SOURCE
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  _Atomic uint64_t seq;   // the last message number delivered to this side
  _Atomic int sleeping;   // set before blocking, cleared by whoever rings the doorbell
  int doorbell;           // eventfd
} Side;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void deliver(Side* to, uint64_t seq) {
  atomic_store(&to->seq, seq);
  if (atomic_exchange(&to->sleeping, 0)) {
    uint64_t one = 1;
    if (write(to->doorbell, &one, sizeof one) != sizeof one) abort();
  }
}

// Waits for message `seq`: spins up to `spin_ns`, then sleeps. Returns how many times it slept.
static int await(Side* me, uint64_t seq, uint64_t spin_ns) {
  uint64_t start = now_ns();
  while (now_ns() - start < spin_ns) {
    if (atomic_load(&me->seq) >= seq) return 0;
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  int sleeps = 0;
  for (;;) {
    atomic_store(&me->sleeping, 1);
    if (atomic_load(&me->seq) >= seq) {  // arrived between the spin and the mark
      atomic_store(&me->sleeping, 0);
      return sleeps;
    }
    struct pollfd p = {me->doorbell, POLLIN, 0};
    poll(&p, 1, -1);
    uint64_t count;
    if (read(me->doorbell, &count, sizeof count) != sizeof count) abort();
    sleeps++;
    if (atomic_load(&me->seq) >= seq) return sleeps;
  }
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: spin-sleep <spin us> <gap ms> <bursts> <messages per burst>\n");
    return 2;
  }
  uint64_t spin_ns = strtoull(argv[1], NULL, 10) * 1000;
  int gap_ms = atoi(argv[2]), bursts = atoi(argv[3]), per_burst = atoi(argv[4]);
  Side* sides = mmap(NULL, 2 * sizeof(Side), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sides == MAP_FAILED) return 1;
  Side* client = &sides[0];
  Side* server = &sides[1];
  client->doorbell = eventfd(0, 0);
  server->doorbell = eventfd(0, 0);
  uint64_t total = (uint64_t)bursts * (uint64_t)per_burst;
  pid_t child = fork();
  if (child == 0) {  // the server: echo every message
    for (uint64_t seq = 1; seq <= total; seq++) {
      await(server, seq, spin_ns);
      deliver(client, seq);
    }
    _exit(0);
  }
  printf("{\"spinMicros\":%llu,\"gapMs\":%d,\"messagesPerBurst\":%d,\"bursts\":[", (unsigned long long)(spin_ns / 1000), gap_ms, per_burst);
  uint64_t seq = 0;
  for (int b = 0; b < bursts; b++) {
    int sleeps = 0;
    uint64_t t0 = now_ns();
    for (int i = 0; i < per_burst; i++) {
      deliver(server, ++seq);
      sleeps += await(client, seq, spin_ns);
    }
    double one_way_us = (double)(now_ns() - t0) / 1e3 / per_burst / 2;
    printf("%s{\"oneWayMicros\":%.2f,\"clientSleeps\":%d}", b ? "," : "", one_way_us, sleeps);
    usleep((useconds_t)gap_ms * 1000);
  }
  printf("]}\n");
  waitpid(child, NULL, 0);
  return 0;
}
