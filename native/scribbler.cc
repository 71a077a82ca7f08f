#include "scribbler.h"

namespace via {

static uint32_t NextRandom(uint32_t* state) {
  // xorshift32: deterministic garbage.
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x ? x : 0x9e3779b9u;
  return *state;
}

// Adversarial values first (wrap-around, huge, off-by-one), then random ones.
static uint32_t EvilValue(uint32_t* state) {
  static const uint32_t kEvil[] = {0xffffffffu, 0x80000000u, 0x7fffffffu, 1, 0, 0xdeadbeefu};
  uint32_t pick = NextRandom(state);
  return (pick & 1) ? kEvil[pick % 6] : NextRandom(state);
}

void ScribbleRing(const MappedSegment& ring, uint32_t seed) {
  uint32_t state = seed ? seed : 1;
  SegmentHeader* h = ring.header();
  uint32_t value = EvilValue(&state);
  switch (NextRandom(&state) % 6) {
    case 0: h->desc_tail.value.store(value); break;
    case 1: h->comp_tail.value.store(value); break;
    case 2: h->taken.value.store(value); break;
    case 3: h->staged.value.store(value); break;
    default: {
      for (uint32_t i = 0; i < ring.layout.depth; ++i) {
        volatile CompletionEntry* e = &ring.completions()[i];
        e->length = EvilValue(&state);
        e->imm = NextRandom(&state);
      }
      h->magic = NextRandom(&state);
      h->depth = NextRandom(&state);
      h->slot_size = NextRandom(&state);
    }
  }
}

void ScribbleRegion(const MappedRegion& region, uint32_t seed) {
  uint32_t state = seed ? seed : 1;
  RegionHeader* h = region.header();
  switch (NextRandom(&state) % 5) {
    case 0: h->sleeping.value.store(EvilValue(&state)); break;
    case 1: h->hint_tail.value.store(EvilValue(&state)); break;
    case 2: h->hint_head.value.store(EvilValue(&state)); break;
    case 3: h->hint_overflow.value.store(EvilValue(&state)); break;
    default:
      for (uint32_t i = 0; i < kHintSlots; ++i) h->hints[i].store(EvilValue(&state));
      h->hint_tail.value.store(EvilValue(&state));
      h->magic = NextRandom(&state);
      h->size = NextRandom(&state);
  }
}

}  // namespace via
