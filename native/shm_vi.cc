#include "shm_vi.h"

#include "clock.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

namespace via {

void LinkPort::Hint(uint32_t peer_id) {
  RegionHeader* h = peer_region;
  // The head is the peer's and untrusted: garbage only makes us report an overflow, after which
  // the peer scans every ring of the link. A hint is never needed for correctness, only for speed.
  uint32_t used = hints_sent - h->hint_head.value.load(std::memory_order_acquire);
  if (used >= kHintSlots) {
    h->hint_overflow.value.store(1, std::memory_order_release);
    return;
  }
  h->hints[hints_sent % kHintSlots].store(peer_id, std::memory_order_relaxed);
  ++hints_sent;
  h->hint_tail.value.store(hints_sent, std::memory_order_release);
}

void LinkPort::RingIfSleeping() {
  RegionHeader* h = peer_region;
  if (h->sleeping.value.load(std::memory_order_relaxed) != 0 &&
      h->sleeping.value.exchange(0, std::memory_order_acq_rel) != 0) {
    uint64_t woke_in = 0;
    if (wake_latency_ns) std::swap(woke_in, *wake_latency_ns);
    h->rung.woke_in.store(woke_in, std::memory_order_relaxed);
    h->rung.at.store(MonotonicNs(), std::memory_order_relaxed);
    uint64_t one = 1;
    // Non-blocking eventfd (checked at the handshake): EAGAIN only if the counter is saturated,
    // which still leaves the peer readable, so the wake-up is not lost.
    ssize_t ignored = write(peer_doorbell_fd, &one, sizeof one);
    (void)ignored;
  }
}

ShmVi::ShmVi(const MappedSegment& own, const MappedSegment& peer, LinkPort* port, uint32_t peer_id)
    : own_(own), peer_(peer), port_(port), peer_id_(peer_id), posted_(own.layout.depth) {}

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

// Gives back the whole pages inside slots [first, first + count) of `ring` (no wrap-around).
static size_t TrimSlots(const MappedSegment& ring, uint32_t first, uint32_t count) {
  if (count == 0) return 0;
  uintptr_t begin = reinterpret_cast<uintptr_t>(ring.slot(first));
  uintptr_t end = begin + size_t(count) * ring.layout.slot_size;
  begin = (begin + kPage - 1) & ~uintptr_t(kPage - 1);
  end &= ~uintptr_t(kPage - 1);
  if (end <= begin) return 0;
  // MADV_REMOVE frees the memfd's pages for both processes; the next write there gets a zero page.
  return madvise(reinterpret_cast<void*>(begin), end - begin, MADV_REMOVE) == 0 ? end - begin : 0;
}

size_t ShmVi::TrimPeerSlots() {
  if (broken()) return 0;
  uint32_t depth = peer_.layout.depth;
  uint32_t available = peer_.header()->desc_tail.value.load(std::memory_order_acquire) - sent_;
  // Garbage posts only the peer's own ring at risk, but there is nothing sensible to trim then.
  if (available > depth) return 0;
  // The slot being filled by combining is ours to keep.
  uint32_t first = sent_ + (staging_ ? 1 : 0);
  uint32_t count = staging_ ? (available > 0 ? available - 1 : 0) : available;
  uint32_t start = first % depth;
  uint32_t head = count < depth - start ? count : depth - start;
  return TrimSlots(peer_, start, head) + TrimSlots(peer_, 0, count - head);
}

size_t ShmVi::TrimOwnSlots() {
  uint32_t depth = own_.layout.depth;
  // Descriptors [posted_, consumed_ + depth) are not posted yet: their slots' last use is consumed.
  uint32_t count = depth - posted_outstanding();
  uint32_t start = posted_ % depth;
  uint32_t head = count < depth - start ? count : depth - start;
  return TrimSlots(own_, start, head) + TrimSlots(own_, 0, count - head);
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

void ShmVi::Publish(uint32_t length, uint32_t imm, bool wake) {
  SegmentHeader* h = peer_.header();
  volatile CompletionEntry* entry = &peer_.completions()[sent_ % peer_.layout.depth];
  entry->length = length;
  entry->imm = imm;
  ++sent_;
  sent_bytes_ += length;
  h->comp_tail.value.store(sent_, std::memory_order_release);
  port_->Hint(peer_id_);
  // Publish, fence, then look at the peer's sleeping flag (the receiver does: mark asleep, fence,
  // re-check the queue). One of the two always sees the other's store, so no wake-up is lost.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  // Not ringing leaves the peer's sleeping flag set: our next send, on any VI, rings it.
  if (wake) port_->RingIfSleeping();
}

SendStatus ShmVi::Send(const uint8_t* data, uint32_t length, uint32_t imm, bool wake) {
  if (broken()) return kSendBroken;
  if (length > peer_.layout.slot_size) return kSendTooLong;
  if (staging_) PublishStaged(staged_imm_);
  SendStatus status = ClaimDescriptor();
  if (status != kSendOk) return status;
  if (length) std::memcpy(peer_.slot(sent_ % peer_.layout.depth), data, length);
  Publish(length, imm, wake);
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
          port_->own_region->sleeping.value.load(),
          p->comp_tail.value.load(),
          p->desc_tail.value.load(),
          port_->peer_region->sleeping.value.load()};
}

}  // namespace via
