// libFuzzer target: the shm VI data path (ShmVi::Peek / Consume / PostRecv / Send) against two
// segments whose peer-writable parts are driven by the fuzz input, exactly as a hostile peer
// process could write them. Built with clang -fsanitize=fuzzer,address,undefined (see
// test/fuzz.test.js); any out-of-bounds access, or a completion handed out that lies outside our
// own slots, is a finding.
//
// Input: 2 bytes of layout (depth, slot size), then a sequence of operations, one byte of opcode
// followed by its operands. The segments are plain heap buffers of the exact size, so AddressSanitizer
// redzones catch any access past them. The two region headers (the link's sleep flags and hint
// rings) are plain heap objects too, scribbled like the rings.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../shm_vi.h"

namespace {

struct Input {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t u8() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | u8();
    return v;
  }
};

via::MappedSegment MakeSegment(uint32_t depth, uint32_t slot_size) {
  via::MappedSegment seg;
  seg.layout.depth = depth;
  seg.layout.slot_size = slot_size;
  // Head block and slot area apart, each exactly its size, as a region lays them out.
  seg.base = static_cast<uint8_t*>(std::calloc(1, seg.layout.head_size()));
  seg.slots = static_cast<uint8_t*>(std::calloc(1, size_t(depth) * slot_size));
  auto* h = seg.header();
  h->magic = via::kSegmentMagic;
  h->version = via::kSegmentVersion;
  h->depth = depth;
  h->slot_size = slot_size;
  h->desc_tail.value.store(depth);  // all descriptors posted at creation, as InitRing does
  return seg;
}

// A hostile write into a region header the peer can reach.
void HostileRegionWrite(via::RegionHeader* r, Input& in) {
  uint8_t what = in.u8();
  uint32_t value = in.u32();
  switch (what % 5) {
    case 0: r->sleeping.value.store(value); break;
    case 1: r->hint_tail.value.store(value); break;
    case 2: r->hint_head.value.store(value); break;
    case 3: r->hint_overflow.value.store(value); break;
    default: r->hints[value % via::kHintSlots].store(in.u32()); break;
  }
}

// A hostile write into a segment's peer-visible fields.
void HostileWrite(const via::MappedSegment& seg, Input& in) {
  uint8_t what = in.u8();
  uint32_t value = in.u32();
  auto* h = seg.header();
  switch (what % 6) {
    case 0: h->desc_tail.value.store(value); break;
    case 1: h->comp_tail.value.store(value); break;
    case 2: h->taken.value.store(value); break;
    case 3: seg.completions()[value % seg.layout.depth].length = in.u32(); break;
    case 4: h->staged.value.store(value); break;
    default: seg.completions()[value % seg.layout.depth].imm = in.u32(); break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in{data, size};
  uint32_t depth = 1 + in.u8() % 64;
  uint32_t slot_size = 64 * (1 + in.u8() % 16);
  via::MappedSegment own = MakeSegment(depth, slot_size);
  via::MappedSegment peer = MakeSegment(depth, slot_size);
  uint8_t* own_begin = own.slots;
  uint8_t* own_end = own.slots + size_t(depth) * slot_size;
  static uint8_t payload[64 * 16];
  auto* own_region = static_cast<via::RegionHeader*>(std::calloc(1, sizeof(via::RegionHeader)));
  auto* peer_region = static_cast<via::RegionHeader*>(std::calloc(1, sizeof(via::RegionHeader)));
  via::LinkPort port;
  port.own_region = own_region;
  port.peer_region = peer_region;
  port.peer_doorbell_fd = -1;  // no doorbell: a ring writes to fd -1 and fails harmlessly
  {
    via::ShmVi vi(own, peer, &port, 1);
    for (int ops = 0; !in.empty() && ops < 4096; ++ops) {
      switch (in.u8() % 8) {
        case 0:
          HostileWrite(own, in);  // the peer scribbles on our receive side
          break;
        case 1:
          HostileWrite(peer, in);  // the peer scribbles on its own segment, which we send into
          break;
        case 2: {
          uint32_t length = 0, imm = 0;
          const uint8_t* slot = nullptr;
          int r = vi.Peek(&length, &imm, &slot);
          if (r == 1) {
            // What we hand to JavaScript must lie inside our own slots.
            if (slot < own_begin || slot + length > own_end || length > slot_size) __builtin_trap();
            volatile uint8_t sink = 0;
            for (uint32_t i = 0; i < length; ++i) sink ^= slot[i];
            (void)sink;
            vi.Consume(length);
            (void)vi.HoldsUnread();
            (void)vi.PeerTookAll();
          } else if (r < 0) {
            vi.MarkBroken(via::BreakReason::kCorrupt);
          }
          break;
        }
        case 3:
          vi.PostRecv(in.u8() % (depth + 2));
          break;
        case 4: {
          uint32_t length = in.u32() % (sizeof payload + 2);
          vi.Send(payload, length > sizeof payload ? sizeof payload : length, in.u32());
          break;
        }
        case 5:
          HostileRegionWrite(peer_region, in);  // the peer scribbles on its link header
          break;
        case 6: {
          uint32_t length = in.u32() % (sizeof payload + 2);
          if (vi.Stage(payload, length > sizeof payload ? sizeof payload : length, in.u32()) == via::kSendOk &&
              (in.u8() & 1))
            vi.PublishStaged(in.u32());
          break;
        }
        default:
          // Heap memory refuses MADV_REMOVE; what matters is the range arithmetic on garbage.
          (void)vi.TrimPeerSlots();
          (void)vi.TrimOwnSlots();
          break;
      }
    }
  }
  std::free(own.base);
  std::free(own.slots);
  std::free(peer.base);
  std::free(peer.slots);
  std::free(own_region);
  std::free(peer_region);
  return 0;
}
