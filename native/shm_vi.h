// The data path of one shm VI: posting receive descriptors, sending into the peer's pre-posted
// slots, and reading our own receive completions. No system call happens here unless the peer
// process has said it is about to sleep (then one eventfd write rings its doorbell).
//
// This file knows nothing of libuv or N-API, so the rules of the data path can be read alone.
#pragma once

#include <cstdint>

#include "shm_segment.h"

namespace via {

// Why a VI broke. Sent to the peer over the setup socket, so the values are part of the wire format.
enum class BreakReason : uint32_t {
  kNone = 0,
  kPeerGone = 1,         // the peer closed the VI or its process died
  kNoDescriptor = 2,     // a send found no receive descriptor posted (pre-posting constraint)
  kCorrupt = 3,          // a counter or entry in shared memory failed validation
  kLocalClose = 4,       // we closed it
  // Never on the wire (a BREAK carries 1..4): reported locally when the peer's process went away
  // without a BREAK and had taken everything we sent, so its death reads as end of stream.
  kPeerExited = 5,
};

// Status of a send, as returned to JavaScript (0 = completed, the bytes are in the peer's slot).
enum SendStatus : int {
  kSendOk = 0,
  kSendBroken = -1,        // the VI was already broken
  kSendNoDescriptor = -2,  // pre-posting violation: the VI is now broken on both sides
  kSendCorrupt = -3,       // the peer's shared counters are invalid: the VI is now broken
  kSendTooLong = -4,       // longer than the peer's slot size: rejected, the VI stays usable
};

// What the VIs of one link share: both region headers (sleep flags and hint rings) and the peer
// process's doorbell. Owned by the link, which outlives its VIs.
struct LinkPort {
  RegionHeader* own_region = nullptr;   // the peer pushes hints here and reads our sleep flag
  RegionHeader* peer_region = nullptr;  // we push hints there and read the peer's sleep flag
  int peer_doorbell_fd = -1;
  uint32_t hints_sent = 0;  // private: hints we pushed into the peer's ring
  // The completion queue's last wake-up latency, reported to the peer with the next ring (and
  // cleared then: a second ring answers nothing we slept through). Owned by the queue.
  uint64_t* wake_latency_ns = nullptr;
  // Tells the peer that ring `peer_id` has a new completion, so it harvests that ring only.
  void Hint(uint32_t peer_id);
  // Rings the peer's doorbell if it said it is going to sleep. Call after a fence.
  void RingIfSleeping();
};

class ShmVi {
 public:
  // `peer_id` names our ring at the peer (what we push as a hint). Nothing is owned: the link
  // keeps the regions mapped and the doorbell open.
  ShmVi(const MappedSegment& own, const MappedSegment& peer, LinkPort* port, uint32_t peer_id);
  ShmVi(const ShmVi&) = delete;
  ShmVi& operator=(const ShmVi&) = delete;

  // Receive side (our segment).
  uint32_t recv_depth() const { return own_.layout.depth; }
  uint32_t recv_slot_size() const { return own_.layout.slot_size; }
  uint32_t posted_outstanding() const { return posted_ - consumed_; }
  // Posts `count` more receive descriptors. Returns false if that would exceed the depth.
  bool PostRecv(uint32_t count);
  // True if the peer has published at least one completion we have not consumed. Reads one
  // shared counter, validates nothing: a cheap readiness probe for polling loops.
  bool MaybeReady() const;
  // Reads the next completion. Returns 1 and fills length/imm/data, 0 if none, or -1 if shared
  // memory failed validation (the caller must break the VI). `data` stays valid until Consume().
  int Peek(uint32_t* length, uint32_t* imm, const uint8_t** data);
  // Done with the completion Peek returned; `length` is its payload, counted as received.
  void Consume(uint32_t length) {
    ++consumed_;
    received_bytes_ += length;
  }
  // True while payload has arrived that our application has not taken (MarkTaken): what a
  // kernel socket holds as unread data, so closing now resets the peer as close(2) would.
  bool HoldsUnread() const;
  // Our application has taken `bytes` more received payload bytes (SegmentHeader::taken).
  void MarkTaken(uint32_t bytes);
  // After the peer died: the slot it was still filling (SegmentHeader::staged), if there is one
  // right behind everything it published. Returns 1 and fills the fields, or 0. Garbage reads as
  // "none": the peer could only have sent those bytes anyway.
  int PeekStaged(uint32_t* length, uint32_t* imm, const uint8_t** data);

  // Send side (the peer's segment).
  uint32_t send_slot_size() const { return peer_.layout.slot_size; }
  // Publishes a staged send first, so sends stay in order. `wake` false: never ring the peer's
  // doorbell for this one (its last packet, which the peer may find on its next wake-up).
  SendStatus Send(const uint8_t* data, uint32_t length, uint32_t imm, bool wake = true);
  // Combining in place: appends `length` bytes to the slot of the next send without publishing
  // it (the peer sees it only if we die before publishing). `imm` is what the packet carries
  // then. kSendTooLong when the slot has no room left: publish and stage again.
  SendStatus Stage(const uint8_t* data, uint32_t length, uint32_t imm);
  // Publishes the staged send with the final `imm`. No-op when nothing is staged.
  void PublishStaged(uint32_t imm);
  uint32_t staged_length() const { return staging_ ? staged_length_ : 0; }
  bool staging() const { return staging_; }
  // True when the peer has taken every payload byte we published to it (read after its death).
  bool PeerTookAll() const;
  // Memory that follows use: gives back the pages of the peer's slots that no completion uses,
  // the descriptors it posted that we have not sent into yet. Only we write those slots and the
  // peer reads a slot only after we publish it, so nobody touches them while they go. Returns
  // the bytes given back.
  size_t TrimPeerSlots();
  // The receiver's half of the same: the pages of our slots that are consumed and not posted
  // again. The peer may not write there until we post them, and we have copied them out.
  size_t TrimOwnSlots();
  // What the two trims depend on, summed (each part only grows): sends, receives, our posts and
  // the peer's. A trim decides a VI is idle when this has not moved for an interval, so
  // descriptors either side posts after a trim (a reader that paused, then took its data) get a
  // trim of their own. The peer's counter is untrusted: garbage only makes us trim again.
  uint32_t activity() const {
    return sent_ + consumed_ + posted_ + peer_.header()->desc_tail.value.load(std::memory_order_relaxed);
  }

  bool broken() const { return reason_ != BreakReason::kNone; }
  BreakReason reason() const { return reason_; }
  void MarkBroken(BreakReason reason) {
    if (reason_ == BreakReason::kNone) reason_ = reason;
  }

  // Diagnostics: our private counters next to what shared memory says (read, not validated).
  struct Snapshot {
    uint32_t posted, consumed, sent;
    uint32_t own_comp_tail, own_desc_tail, own_sleeping;
    uint32_t peer_comp_tail, peer_desc_tail, peer_sleeping;
  };
  Snapshot Snap() const;

  const MappedSegment& own_ring() const { return own_; }
  const MappedSegment& peer_ring() const { return peer_; }

 private:
  MappedSegment own_;
  MappedSegment peer_;
  LinkPort* port_;
  uint32_t peer_id_;
  // Private counters: the only source of truth for indexing. Shared copies are checked against them.
  uint32_t posted_;        // receive descriptors we posted (all of them at creation)
  uint32_t consumed_ = 0;  // receive completions we consumed
  uint32_t sent_ = 0;      // sends we wrote into the peer's segment
  uint32_t sent_bytes_ = 0;  // their payload bytes (mod 2^32), compared with the peer's `taken`
  uint32_t taken_ = 0;       // our own `taken`, mirrored into our header
  uint32_t received_bytes_ = 0;  // payload bytes of the completions we consumed (mod 2^32)
  bool staging_ = false;     // slot sent_ % depth is being filled (a descriptor is claimed)
  uint32_t staged_length_ = 0;
  uint32_t staged_imm_ = 0;

  // Checks the peer has a receive descriptor for send number sent_ (breaking the VI if not).
  SendStatus ClaimDescriptor();
  // Writes the completion entry of send sent_, publishes it and rings the peer if it sleeps
  // (and `wake`).
  void Publish(uint32_t length, uint32_t imm, bool wake = true);
  BreakReason reason_ = BreakReason::kNone;
};

}  // namespace via
