// A link: everything two processes share for their shm connections, set up once.
//
// The first connection between two processes sets up the link (native/rendezvous.h): one Unix
// socket, one region per side and the two doorbells. Every later connection between them, in
// either direction, is an OPEN and an ACCEPT on the link's socket plus a ring allocated in each
// region: no new fd, memfd or mapping (the model of SMC-D's link groups). A link goes away when
// its last connection has closed and it stayed idle for a short linger, and at once when the peer
// process dies (its socket hangs up; every VI of the link then sees the peer gone).
//
// Trust: the peer process is one trust domain. Whatever it writes into shared memory or sends on
// the socket can break this link's connections, never another link's, and never make us read or
// write outside our mappings.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "rendezvous.h"
#include "shm_segment.h"
#include "shm_vi.h"

namespace via {

class CompletionQueueCore;
class Link;
struct ViEntry;

// What a link hands to the layer above it (the addon): requests from the peer, and its own end.
class LinkHost {
 public:
  virtual ~LinkHost() = default;
  // The peer asks for a VI on the entry `open.name`. Answer now or later with Link::Accept or
  // Link::Reject (an unanswered request is rejected when the link goes away).
  virtual void OnOpen(const std::shared_ptr<Link>& link, const WireMessage& open) = 0;
  // The link is dead (closed, or its peer went away): forget it.
  virtual void OnLinkGone(Link* link) = 0;
};

// The answer to Link::Open: 0 and the new VI (and the acceptor's payload), or a positive errno.
using OpenCallback = std::function<void(int err, const std::shared_ptr<ViEntry>& entry, const WireMessage* accept)>;

// Hands out the rings of our region: head blocks packed several to a page (size classes of
// 512 B to 4 KB), and page-aligned slot areas. Freed places are reused (same size, most recently
// freed first, so a churning client keeps reusing warm pages). Freed slot areas keep their pages
// until Release, which the idle trim calls: giving pages back costs the kernel TLB shootdowns on
// every core, so it never happens on the connect or close path. Head blocks are only reused.
class RingAllocator {
 public:
  void Reset(size_t begin, size_t end) {
    next_ = begin;
    end_ = end;
  }
  // False when the region is full.
  bool Allocate(const SegmentLayout& layout, RingPlace* place);
  void Free(const RingPlace& place, const SegmentLayout& layout);
  // Gives back the pages of every slot area that is free and still holds them. Returns the bytes.
  size_t Release(const MappedRegion& region);

 private:
  struct FreePages {
    size_t offset;
    bool released;  // its pages are back with the kernel (they read as zero)
  };
  size_t AllocatePages(size_t size);
  static size_t BlockClass(size_t size);
  size_t next_ = 0;
  size_t end_ = 0;
  std::map<size_t, std::vector<FreePages>> free_;     // by size, in pages
  std::map<size_t, std::vector<size_t>> blocks_;      // free head blocks, by size class
};

class Link : public std::enable_shared_from_this<Link> {
 public:
  struct Peer {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
  };

  // The connector's side: `fd` is connected to the peer's process socket and HELLO (with our
  // region) has been sent. Opens wait until the peer's REPLY.
  static std::shared_ptr<Link> Connecting(uv_loop_t* loop, CompletionQueueCore* cq, LinkHost* host, int fd,
                                          const MappedRegion& own, std::string key);
  // The acceptor's side, after it checked HELLO and sent REPLY.
  static std::shared_ptr<Link> Accepted(uv_loop_t* loop, CompletionQueueCore* cq, LinkHost* host, int fd,
                                        const MappedRegion& own, const MappedRegion& peer, int peer_doorbell,
                                        const Peer& who, std::string key);
  ~Link();

  // Asks the peer for a VI on its entry `name`. Returns a token for CancelOpen, or -errno when the
  // request cannot even start (then `callback` never runs); otherwise `callback` runs once, from
  // the event loop, unless cancelled first. `allowed`: uids besides ours we accept as the listener.
  int64_t Open(const std::string& name, const SegmentLayout& layout, const uint8_t* payload, uint32_t payload_length,
                std::set<uid_t> allowed, OpenCallback callback);
  // Abandons an Open: if the peer accepts anyway, that VI is closed at once.
  void CancelOpen(int64_t token);
  // Answers the peer's OPEN. Returns the VI, or null with *err set (a positive errno).
  std::shared_ptr<ViEntry> Accept(const WireMessage& open, const SegmentLayout& layout, const uint8_t* payload,
                                  uint32_t payload_length, int* err);
  void Reject(const WireMessage& open, int status);

  // From the VIs of this link. `quiet`: the VI ended with the close handshake finished, so the
  // peer expects nothing from it and only needs to learn, eventually, that its ring is free. Such
  // a CLOSE waits (at most kQuietCloseMs) to ride with the next control message: a churning pair
  // of processes then wakes each other once per connect, not once more per close.
  void SendClose(uint32_t peer_id, BreakReason reason, bool quiet = false);
  void EntryClosed(ViEntry* entry);

  // From the completion queue: the ids of our VIs the peer says have work (all of them after an
  // overflow or garbage), and the sleep flag the peer reads before ringing us.
  void DrainHints(std::vector<uint32_t>* ready);
  // From the idle trim: the pages of rings freed since the last trim go back to the kernel.
  size_t ReleaseFreeRings() { return state_ == State::kDead ? 0 : rings_.Release(own_); }
  bool HasHints() const;
  // When the peer last rang our doorbell and how long its own wake-up took before (untrusted).
  struct Rung {
    uint64_t at, woke_in;
  };
  Rung LastRung() const;
  void SetSleeping(bool sleeping);

  bool usable() const { return state_ != State::kDead && !closing_; }
  bool up() const { return state_ == State::kUp; }
  const Peer& peer() const { return peer_; }
  const std::string& key() const { return key_; }
  size_t vi_count() const { return entries_.size(); }
  const MappedRegion& own_region() const { return own_; }
  const MappedRegion& peer_region() const { return peer_region_; }

  // Closes the link now: its VIs see the peer gone.
  void Shutdown();

 // How long an idle link (and a process socket no listener uses any more) waits before it closes.
  static uint64_t linger_ms() { return linger_ms_; }

 private:
  enum class State { kHandshaking, kUp, kDead };
  struct PendingOpen {
    uint32_t id;
    std::string name;
    SegmentLayout layout;
    RingPlace place;
    std::vector<uint8_t> payload;
    std::set<uid_t> allowed;
    OpenCallback callback;  // empty once cancelled
    bool sent = false;
  };

  Link(uv_loop_t* loop, CompletionQueueCore* cq, LinkHost* host, int fd, const MappedRegion& own, std::string key);
  void StartPolling();
  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Receive();
  void Handle(const WireMessage& msg, int* fds, int nfds);
  void OnReply(const WireMessage& msg, int* fds, int nfds);
  void OnAccept(const WireMessage& msg);
  void OnReject(const WireMessage& msg);
  void OnClose(const WireMessage& msg);
  void SendOpen(PendingOpen& open);
  std::shared_ptr<ViEntry> NewEntry(uint32_t id, const RingPlace& place, const SegmentLayout& layout,
                                    const MappedSegment& peer_ring, uint32_t peer_id);
  void FreeRing(ViEntry* entry);
  // Sends a control message, or queues it until the socket drains. Never fails synchronously,
  // so callers iterating over the link's state are never cut short by a dying link.
  void Send(const WireMessage& msg);
  // Sends the waiting quiet CLOSEs (and `msg`, if given) in one system call.
  void SendWithQuietCloses(const WireMessage* msg);
  static void OnQuietCloseTimer(uv_timer_t* timer);
  void Flush();
  void WatchWritable(bool on);
  // The peer is gone or broke the protocol: every VI sees its peer gone (`reason`), every open fails.
  void Die(BreakReason reason);
  void MaybeLinger();
  void StartTimer(uint64_t ms);
  static void OnTimer(uv_timer_t* timer);
  void UpdateRef();

  uv_loop_t* loop_;
  CompletionQueueCore* cq_;
  LinkHost* host_;
  int fd_;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* linger_ = nullptr;
  uv_timer_t* quiet_close_timer_ = nullptr;
  std::vector<WireMessage> quiet_closes_;  // CLOSEs of finished VIs, not sent yet
  MappedRegion own_;
  MappedRegion peer_region_;
  LinkPort port_;
  Peer peer_;
  std::string key_;
  State state_;
  bool closing_ = false;  // we sent BYE: no new connections from our side
  uint32_t hint_head_ = 0;
  RingAllocator rings_;
  // Our VIs with a ring in our region, until the peer can no longer write into it.
  std::unordered_map<uint32_t, std::shared_ptr<ViEntry>> entries_;
  std::map<uint32_t, PendingOpen> opens_;  // by our VI id
  int incoming_ = 0;                       // OPENs handed to the host, not answered yet
  std::deque<WireMessage> outbox_;         // control messages waiting for the socket to drain
  bool pending_die_ = false;               // the outbox overflowed: the link breaks on its next event
  static constexpr size_t kMaxOutbox = 1 << 16;
  static constexpr uint64_t kQuietCloseMs = 20;
  static constexpr size_t kMaxQuietCloses = 64;  // one sendmmsg's worth
  static uint64_t linger_ms_;
};

}  // namespace via
