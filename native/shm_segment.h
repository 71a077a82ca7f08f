// The shared-memory segment of one VI direction: what a receiver exposes to its peer.
//
// Each side of a VI creates one segment (a sealed memfd) holding its receive side, and maps the
// peer's segment read-write. The peer acts as the emulated NIC: it copies a payload straight into
// one of our pre-posted receive slots, writes a completion entry, then publishes comp_tail.
//
// Everything in a segment is UNTRUSTED once the peer has mapped it. The layout parameters
// (depth, slot size) are fixed at the handshake and kept in private memory; the header copies
// are informational only. Every counter read from shared memory is validated against private
// state before it is used to index anything.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace via {

constexpr uint32_t kSegmentMagic = 0x56494153;  // "VIAS"
constexpr uint32_t kSegmentVersion = 2;
constexpr uint32_t kMaxDepth = 4096;
constexpr uint32_t kMinSlotSize = 64;
constexpr uint32_t kMaxSlotSize = 1u << 20;
constexpr uint32_t kDefaultMaxTransferSize = 32 * 1024;
constexpr size_t kPage = 4096;

static_assert(std::atomic<uint32_t>::is_always_lock_free, "shared counters must be lock-free");

// One counter per cache line, so the two writers (receiver, sender) never share a line.
struct alignas(64) SharedCounter {
  std::atomic<uint32_t> value;
  char pad[64 - sizeof(std::atomic<uint32_t>)];
};

struct SegmentHeader {
  uint32_t magic;
  uint32_t version;
  uint32_t depth;      // informational copy; the handshake value is authoritative
  uint32_t slot_size;  // informational copy
  char pad[48];
  SharedCounter desc_tail;  // written by the owner: receive descriptors posted so far (mod 2^32)
  SharedCounter comp_tail;  // written by the peer: receive completions written so far (mod 2^32)
  SharedCounter sleeping;   // owner sets 1 before it blocks; the peer clears it when it rings
  // Written by the owner: payload bytes (mod 2^32) of received completions its application has
  // taken. When the owner's process dies, the peer compares it with what it sent: equal means
  // nothing was left unread, so the death reads as end of stream; otherwise as a reset, exactly
  // as a kernel socket closed with or without unread data sends FIN or RST.
  SharedCounter taken;
  // Written by the peer: n + 1 while it is filling descriptor n's slot without having published
  // it yet (small writes being combined in place). If the peer dies then, the owner still
  // delivers that slot, so combining never loses bytes that write() had accepted.
  SharedCounter staged;
};

// A receive completion, written by the sender into slot (n % depth) of the completion ring.
struct CompletionEntry {
  uint32_t length;
  uint32_t imm;
};

inline size_t RoundUpPage(size_t n) { return (n + kPage - 1) & ~(kPage - 1); }

// Offsets inside a segment. Descriptor n always uses ring entry and slot (n % depth): receive
// descriptors complete in FIFO order, so the slot is implied and never read from shared memory.
struct SegmentLayout {
  uint32_t depth = 0;
  uint32_t slot_size = 0;

  size_t comp_offset() const { return RoundUpPage(sizeof(SegmentHeader)); }
  size_t slots_offset() const { return comp_offset() + RoundUpPage(size_t(depth) * sizeof(CompletionEntry)); }
  size_t total_size() const { return slots_offset() + size_t(depth) * slot_size; }

  static bool Valid(uint32_t depth, uint32_t slot_size) {
    return depth >= 1 && depth <= kMaxDepth && slot_size >= kMinSlotSize && slot_size <= kMaxSlotSize &&
           slot_size % 64 == 0;
  }
};

// A mapped segment: ours (we are its receiver) or the peer's (we are its sender).
struct MappedSegment {
  SegmentLayout layout;
  uint8_t* base = nullptr;
  size_t size = 0;

  SegmentHeader* header() const { return reinterpret_cast<SegmentHeader*>(base); }
  CompletionEntry* completions() const { return reinterpret_cast<CompletionEntry*>(base + layout.comp_offset()); }
  uint8_t* slot(uint32_t index) const { return base + layout.slots_offset() + size_t(index) * layout.slot_size; }
};

// Creates a sealed memfd of the right size, maps it, and writes the header with all `depth`
// receive descriptors already posted. Returns the fd (>= 0)
// or -errno. The memfd is sealed against shrinking so that the peer (or we) can never make the
// other side's mapping fault with SIGBUS.
int CreateSegment(const SegmentLayout& layout, MappedSegment* out);

// Maps a peer's segment after checking it is a memfd, sealed against shrinking, and large enough
// for the layout the peer announced. Returns 0 or -errno (EBADMSG for a segment that fails checks).
int MapPeerSegment(int fd, const SegmentLayout& layout, MappedSegment* out);

void UnmapSegment(MappedSegment* seg);

}  // namespace via
