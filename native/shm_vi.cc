#include "shm_vi.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace via {

ShmVi::ShmVi(const MappedSegment& own, const MappedSegment& peer, int peer_doorbell_fd)
    : own_(own), peer_(peer), peer_doorbell_fd_(peer_doorbell_fd), posted_(own.layout.depth) {}

ShmVi::~ShmVi() {
  UnmapSegment(&own_);
  UnmapSegment(&peer_);
  if (peer_doorbell_fd_ >= 0) close(peer_doorbell_fd_);
}

bool ShmVi::PostRecv(uint32_t count) {
  if (count > own_.layout.depth - posted_outstanding()) return false;
  posted_ += count;
  own_.header()->desc_tail.value.store(posted_, std::memory_order_release);
  return true;
}

bool ShmVi::MaybeReady() const {
  return own_.header()->comp_tail.value.load(std::memory_order_relaxed) != consumed_;
}

int ShmVi::Peek(uint32_t* length, uint32_t* imm, const uint8_t** data) {
  uint32_t tail = own_.header()->comp_tail.value.load(std::memory_order_acquire);
  uint32_t ready = tail - consumed_;
  if (ready == 0) return 0;
  // The peer may complete only descriptors we posted: anything else is garbage.
  if (ready > posted_outstanding()) return -1;
  uint32_t index = consumed_ % own_.layout.depth;
  // Read the entry exactly once into private memory: the peer may rewrite it under us.
  const volatile CompletionEntry* entry = &own_.completions()[index];
  uint32_t len = entry->length;
  uint32_t value = entry->imm;
  if (len > own_.layout.slot_size) return -1;
  *length = len;
  *imm = value;
  *data = own_.slot(index);
  return 1;
}

void ShmVi::SetSleeping(bool sleeping) {
  own_.header()->sleeping.value.store(sleeping ? 1 : 0, std::memory_order_seq_cst);
}

void ShmVi::MarkTaken(uint32_t bytes) {
  taken_ += bytes;
  own_.header()->taken.value.store(taken_, std::memory_order_release);
}

int ShmVi::PeekStaged(uint32_t* length, uint32_t* imm, const uint8_t** data) {
  const SegmentHeader* h = own_.header();
  uint32_t marker = h->staged.value.load(std::memory_order_acquire);
  uint32_t tail = h->comp_tail.value.load(std::memory_order_acquire);
  // Only the descriptor right behind everything published and consumed, and only one we posted.
  if (marker != consumed_ + 1 || tail != consumed_ || posted_outstanding() == 0) return 0;
  uint32_t index = consumed_ % own_.layout.depth;
  const volatile CompletionEntry* entry = &own_.completions()[index];
  uint32_t len = entry->length;
  uint32_t value = entry->imm;
  if (len == 0 || len > own_.layout.slot_size) return 0;
  *length = len;
  *imm = value;
  *data = own_.slot(index);
  return 1;
}

bool ShmVi::HoldsUnread() const {
  if (received_bytes_ != taken_) return true;
  uint32_t tail = own_.header()->comp_tail.value.load(std::memory_order_acquire);
  uint32_t ready = tail - consumed_;
  // Garbage (more completions than we posted) is for Peek to report; it holds nothing readable.
  if (ready > posted_outstanding()) return false;
  // Completions not consumed yet: acknowledgements carry no payload and are not unread data.
  for (uint32_t i = 0; i < ready; ++i) {
    const volatile CompletionEntry* entry = &own_.completions()[(consumed_ + i) % own_.layout.depth];
    if (entry->length != 0) return true;
  }
  return false;
}

bool ShmVi::PeerTookAll() const {
  return peer_.header()->taken.value.load(std::memory_order_acquire) == sent_bytes_;
}

SendStatus ShmVi::ClaimDescriptor() {
  uint32_t available = peer_.header()->desc_tail.value.load(std::memory_order_acquire) - sent_;
  if (available > peer_.layout.depth) {
    MarkBroken(BreakReason::kCorrupt);
    return kSendCorrupt;
  }
  if (available == 0) {
    // VIA's pre-posting constraint: a message with no receive descriptor breaks the VI.
    MarkBroken(BreakReason::kNoDescriptor);
    return kSendNoDescriptor;
  }
  return kSendOk;
}

void ShmVi::Publish(uint32_t length, uint32_t imm) {
  SegmentHeader* h = peer_.header();
  volatile CompletionEntry* entry = &peer_.completions()[sent_ % peer_.layout.depth];
  entry->length = length;
  entry->imm = imm;
  ++sent_;
  sent_bytes_ += length;
  h->comp_tail.value.store(sent_, std::memory_order_release);
  // Publish, fence, then look at the peer's sleeping flag (the receiver does: mark asleep, fence,
  // re-check the queue). One of the two always sees the other's store, so no wake-up is lost.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (h->sleeping.value.load(std::memory_order_relaxed) != 0 &&
      h->sleeping.value.exchange(0, std::memory_order_acq_rel) != 0) {
    uint64_t one = 1;
    // Non-blocking eventfd (checked at the handshake): EAGAIN only if the counter is saturated,
    // which still leaves the peer readable, so the wake-up is not lost.
    ssize_t ignored = write(peer_doorbell_fd_, &one, sizeof one);
    (void)ignored;
  }
}

SendStatus ShmVi::Send(const uint8_t* data, uint32_t length, uint32_t imm) {
  if (broken()) return kSendBroken;
  if (length > peer_.layout.slot_size) return kSendTooLong;
  if (staging_) PublishStaged(staged_imm_);
  SendStatus status = ClaimDescriptor();
  if (status != kSendOk) return status;
  if (length) std::memcpy(peer_.slot(sent_ % peer_.layout.depth), data, length);
  Publish(length, imm);
  return kSendOk;
}

SendStatus ShmVi::Stage(const uint8_t* data, uint32_t length, uint32_t imm) {
  if (broken()) return kSendBroken;
  if (!staging_) {
    SendStatus status = ClaimDescriptor();
    if (status != kSendOk) return status;
    staging_ = true;
    staged_length_ = 0;
  }
  if (length > peer_.layout.slot_size - staged_length_) return kSendTooLong;
  uint32_t index = sent_ % peer_.layout.depth;
  if (length) std::memcpy(peer_.slot(index) + staged_length_, data, length);
  staged_length_ += length;
  staged_imm_ = imm;
  // The bytes before the entry, the entry before the marker: a peer that finds us dead reads
  // the marker, then an entry that covers only bytes already written.
  std::atomic_thread_fence(std::memory_order_release);
  volatile CompletionEntry* entry = &peer_.completions()[index];
  entry->length = staged_length_;
  entry->imm = imm;
  peer_.header()->staged.value.store(sent_ + 1, std::memory_order_release);
  return kSendOk;
}

void ShmVi::PublishStaged(uint32_t imm) {
  if (!staging_ || broken()) return;
  staging_ = false;
  // The marker stays at sent_ + 1, which Publish makes equal to comp_tail: no longer "staged".
  Publish(staged_length_, imm);
}

ShmVi::Snapshot ShmVi::Snap() const {
  const SegmentHeader* o = own_.header();
  const SegmentHeader* p = peer_.header();
  return {posted_,
          consumed_,
          sent_,
          o->comp_tail.value.load(),
          o->desc_tail.value.load(),
          o->sleeping.value.load(),
          p->comp_tail.value.load(),
          p->desc_tail.value.load(),
          p->sleeping.value.load()};
}

static uint32_t NextRandom(uint32_t* state) {
  // xorshift32: deterministic garbage for the scribbler.
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x ? x : 0x9e3779b9u;
  return *state;
}

static void Scribble(const MappedSegment& seg, uint32_t seed) {
  uint32_t state = seed ? seed : 1;
  SegmentHeader* h = seg.header();
  // Adversarial values first (wrap-around, huge, off-by-one), then random ones.
  static const uint32_t kEvil[] = {0xffffffffu, 0x80000000u, 0x7fffffffu, 1, 0, 0xdeadbeefu};
  uint32_t pick = NextRandom(&state);
  uint32_t value = (pick & 1) ? kEvil[pick % 6] : NextRandom(&state);
  switch (pick % 7) {
    case 0: h->desc_tail.value.store(value); break;
    case 1: h->comp_tail.value.store(value); break;
    case 2: h->sleeping.value.store(value); break;
    case 3: h->taken.value.store(value); break;
    case 4: h->staged.value.store(value); break;
    default: {
      uint32_t n = seg.layout.depth;
      for (uint32_t i = 0; i < n; ++i) {
        volatile CompletionEntry* e = &seg.completions()[i];
        e->length = (NextRandom(&state) & 1) ? kEvil[NextRandom(&state) % 6] : NextRandom(&state);
        e->imm = NextRandom(&state);
      }
      h->magic = NextRandom(&state);
      h->depth = NextRandom(&state);
      h->slot_size = NextRandom(&state);
    }
  }
}

void ShmVi::ScribbleOwnSegment(uint32_t seed) { Scribble(own_, seed); }
void ShmVi::ScribblePeerSegment(uint32_t seed) { Scribble(peer_, seed); }

}  // namespace via
