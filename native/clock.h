#pragma once
// The one clock both processes of a link read: CLOCK_MONOTONIC is system-wide, so a time one
// process stores in shared memory means the same to the other.
#include <time.h>

#include <cstdint>

namespace via {

inline uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

}  // namespace via
