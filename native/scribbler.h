// Test hook (the scribbler): writes garbage over the peer-visible parts of shared memory, exactly
// as a hostile or crashed peer process could. Used only by the fault tests, through
// Vi.scribble(); kept apart from the data path so production code never calls it.
#pragma once

#include <cstdint>

#include "shm_segment.h"

namespace via {

// Garbage over one ring: its counters, its completion entries and its informational header.
void ScribbleRing(const MappedSegment& ring, uint32_t seed);
// Garbage over a region header: the link's sleep flag and hint ring, shared by every ring of the
// link. What it may break is that link only.
void ScribbleRegion(const MappedRegion& region, uint32_t seed);

}  // namespace via
