// Shared memory of the shm provider: one *region* per side of a link, and *rings* inside it.
//
// A link joins two processes (native/link.h). Each side creates one region (a sealed memfd,
// sparse: only pages that are touched use memory) and maps the peer's region read-write. Every
// connection (VI) between the two processes gets one receive ring in each side's region: the
// peer acts as the emulated NIC, copying a payload straight into one of our pre-posted receive
// slots, writing a completion entry, then publishing comp_tail and a hint (below).
//
// Region layout:   [RegionHeader, one page][pages of ring heads][slot areas]... (allocated as used)
// Ring layout:     a head block [SegmentHeader + completion entries], 64-byte aligned and packed
//                  several to a page (an idle connection costs a fraction of a page), and a
//                  page-aligned slot area [depth x slot_size] whose pages are touched only as used
//
// Everything in a region is UNTRUSTED once the peer has mapped it. Ring positions and layouts are
// fixed when the connection opens and kept in private memory; every counter read from shared
// memory is validated against private state before it is used to index anything.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace via {

constexpr uint32_t kSegmentMagic = 0x56494153;  // "VIAS": a ring
constexpr uint32_t kSegmentVersion = 3;
constexpr uint32_t kRegionMagic = 0x5649414c;  // "VIAL": a link region
constexpr uint32_t kRegionVersion = 1;
constexpr uint32_t kMaxDepth = 4096;
constexpr uint32_t kMinSlotSize = 64;
constexpr uint32_t kMaxSlotSize = 1u << 20;
constexpr uint32_t kDefaultMaxTransferSize = 32 * 1024;
constexpr size_t kPage = 4096;
// Ring ids pushed by the sender so the receiver harvests only the rings that have work, instead
// of scanning every connection of the link on every wake-up.
constexpr uint32_t kHintSlots = 512;

static_assert(std::atomic<uint32_t>::is_always_lock_free, "shared counters must be lock-free");
static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared times must be lock-free");

// One counter per cache line, so the two writers (receiver, sender) never share a line.
struct alignas(64) SharedCounter {
  std::atomic<uint32_t> value;
  char pad[64 - sizeof(std::atomic<uint32_t>)];
};

// The head of a region: what the two processes of a link share about all its rings.
struct RegionHeader {
  uint32_t magic;
  uint32_t version;
  uint64_t size;  // informational copy; the handshake value is authoritative
  char pad[48];
  // The owner sets 1 before it blocks in the event loop; the peer clears it when it rings the
  // owner's doorbell. One flag for every ring of the link: a process sleeps or polls as a whole.
  SharedCounter sleeping;
  // Written by the peer when it rings our doorbell: its MonotonicNs() then (`at`), and how long
  // its own wake-up took before it could answer (`woke_in`, 0 if it was awake). Lets us tell how
  // long the peer spent on the message itself, counting neither its wake-up nor ours (adaptive
  // polling's tuning). Untrusted: wrong values only mistune our spinning for this peer's traffic.
  struct alignas(64) {
    std::atomic<uint64_t> at;
    std::atomic<uint64_t> woke_in;
  } rung;
  SharedCounter hint_tail;      // written by the peer: hints pushed (mod 2^32)
  SharedCounter hint_head;      // written by the owner: hints consumed
  SharedCounter hint_overflow;  // set by the peer when the hint ring was full: scan every ring
  std::atomic<uint32_t> hints[kHintSlots];  // ring ids (the owner's VI ids), written by the peer
};
static_assert(sizeof(RegionHeader) <= kPage, "the region header fits one page");
constexpr size_t kRegionHeaderSize = kPage;

// The head of one ring.
struct SegmentHeader {
  uint32_t magic;
  uint32_t version;
  uint32_t depth;      // informational copy; the handshake value is authoritative
  uint32_t slot_size;  // informational copy
  char pad[48];
  SharedCounter desc_tail;  // written by the owner: receive descriptors posted so far (mod 2^32)
  SharedCounter comp_tail;  // written by the peer: receive completions written so far (mod 2^32)
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

// The two parts of a ring. Descriptor n always uses completion entry and slot (n % depth):
// receive descriptors complete in FIFO order, so the slot is implied, never read from shared memory.
struct SegmentLayout {
  uint32_t depth = 0;
  uint32_t slot_size = 0;

  size_t comp_offset() const { return sizeof(SegmentHeader); }
  // The head block: header and completion entries.
  size_t head_size() const { return (comp_offset() + size_t(depth) * sizeof(CompletionEntry) + 63) & ~size_t(63); }
  // The slot area, in whole pages.
  size_t slots_size() const { return RoundUpPage(size_t(depth) * slot_size); }

  static bool Valid(uint32_t depth, uint32_t slot_size) {
    return depth >= 1 && depth <= kMaxDepth && slot_size >= kMinSlotSize && slot_size <= kMaxSlotSize &&
           slot_size % 64 == 0;
  }
};

// Where a ring lies in its region: the offsets of its head block and of its slot area.
struct RingPlace {
  uint64_t head = 0;
  uint64_t slots = 0;
};

// A view of one ring: ours (we are its receiver) or the peer's (we are its sender). It owns
// nothing; the link that holds both regions keeps the memory mapped.
struct MappedSegment {
  SegmentLayout layout;
  uint8_t* base = nullptr;   // the head block
  uint8_t* slots = nullptr;  // the slot area

  SegmentHeader* header() const { return reinterpret_cast<SegmentHeader*>(base); }
  CompletionEntry* completions() const { return reinterpret_cast<CompletionEntry*>(base + layout.comp_offset()); }
  uint8_t* slot(uint32_t index) const { return slots + size_t(index) * layout.slot_size; }
};

// One side's region, mapped.
struct MappedRegion {
  uint8_t* base = nullptr;
  size_t size = 0;
  RegionHeader* header() const { return reinterpret_cast<RegionHeader*>(base); }
};

// Creates a sealed, sparse memfd of `size` bytes, maps it and writes its header. Returns the fd
// (>= 0; the caller sends it to the peer, then closes it: the mapping stays) or -errno. The
// memfd is sealed against shrinking so the peer can never make our mapping fault with SIGBUS.
int CreateRegion(size_t size, MappedRegion* out);
// Maps a peer's region after checking it is a memfd sealed against shrinking and at least `size`
// bytes long. Returns 0 or -errno (EBADMSG for a region that fails the checks).
int MapPeerRegion(int fd, size_t size, MappedRegion* out);
void UnmapRegion(MappedRegion* region);

// Writes a fresh ring header at `place` of our own region, with all `depth` receive descriptors
// posted. The header is rewritten whole; slots and completion entries may hold an earlier ring's
// bytes, which nothing reads before the peer publishes over them.
MappedSegment InitRing(const MappedRegion& own, const RingPlace& place, const SegmentLayout& layout);
// A view of the ring the peer announced at `place`; false if either part does not lie inside the
// peer's region, is misaligned, or the layout is invalid. Nothing is read from the ring here.
bool PeerRing(const MappedRegion& peer, const RingPlace& place, const SegmentLayout& layout, MappedSegment* out);
// Gives pages of our region back to the kernel (they read as zero afterwards). Only for memory
// the peer can no longer write into.
void ReleasePages(const MappedRegion& own, size_t offset, size_t size);

}  // namespace via
