// A completion queue: gathers the receive and error completions of many shm VIs so one poll
// serves every connection of the process, and decides how the process waits for them.
//
// Waiting, by the poll mode (docs/ARCHITECTURE.md, "The shm provider"):
//  - event:    sleep in libuv (uv_poll on the CQ's eventfd) until a peer rings the doorbell;
//  - adaptive: after activity keep polling for a short budget, then sleep;
//  - busy:     poll for a budget every loop turn and never sleep while VIs are open.
// Sleeping marks every VI "asleep" in shared memory, fences, and re-checks the rings before
// returning to libuv, so a peer that published just before it saw the flag is never missed.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <deque>
#include <memory>
#include <set>
#include <unordered_map>
#include <string>
#include <vector>

#include "link.h"
#include "shm_vi.h"

namespace via {

class CompletionQueueCore;

// Completion records written into the JS-visible Int32Array, kMetaFields ints each after a
// 2-int header (count, flags). Kinds and fields are part of the JS binding contract.
constexpr int kMetaHeader = 2;
constexpr int kMetaFields = 5;  // vi id, kind, length (or reason), imm, arena offset
constexpr int kKindRecv = 1;
constexpr int kKindError = 2;
constexpr int kFlagArenaFull = 1;

enum class PollMode : int { kEvent = 0, kAdaptive = 1, kBusy = 2 };

// One VI as the completion queue sees it. Shared between the CQ, its link, the JS wrapper; the
// ring goes back to the link's allocator once both sides are done with it.
struct ViEntry : std::enable_shared_from_this<ViEntry> {
  uint32_t id = 0;       // ours: names our ring on the link and the VI in JavaScript
  uint32_t peer_id = 0;  // the peer's id for the same VI (what CLOSE and hints name there)
  std::unique_ptr<ShmVi> vi;
  std::shared_ptr<Link> link;
  RingPlace ring;  // our receive ring in our region
  CompletionQueueCore* cq = nullptr;
  bool peer_gone = false;    // the peer sent CLOSE, or its process (the link) went away
  bool peer_closed = false;  // the peer will never write into our ring again: it may be freed
  BreakReason peer_reason = BreakReason::kPeerGone;
  bool reported = false;        // the error completion has been delivered
  bool peer_notified = false;   // CLOSE sent to the peer
  bool closed = false;
  bool refed = true;
  bool queued = false;  // in the CQ's ready list
  uint32_t trim_mark = 0;  // sends + receives at the last trim tick
  bool trimmed = true;     // no traffic since the free slots were last given back

  // Breaks the VI locally and tells the peer why (it gets an error completion too).
  void Break(BreakReason reason);
  // `quiet`: the owner finished the close handshake with the peer (see Link::SendClose).
  void Close(bool quiet = false);
  // The peer is gone (CLOSE or link death): deliver what is left, then the error.
  void PeerGone(BreakReason reason);
};

class CompletionQueueCore {
 public:
  using DispatchFn = std::function<void(int count)>;

  CompletionQueueCore(uv_loop_t* loop, int32_t* meta, int batch, DispatchFn dispatch);
  ~CompletionQueueCore();
  int Init();  // creates the eventfd and libuv handles; 0 or -errno

  int doorbell_fd() const { return doorbell_fd_; }
  void SetArena(uint8_t* data, size_t size);
  void SetMeta(int32_t* meta, int batch) { meta_ = meta; batch_ = batch; }
  void SetPollMode(PollMode mode, uint32_t spin_micros);
  PollMode mode() const { return mode_; }

  uv_loop_t* loop() const { return loop_; }
  uint32_t NewId();
  void AddVi(const std::shared_ptr<ViEntry>& entry);
  void RemoveVi(ViEntry* entry);
  // Links whose sleep flags and hint rings this queue serves.
  void AddLink(Link* link) { links_.insert(link); }
  void RemoveLink(Link* link) { links_.erase(link); }
  size_t link_count() const { return links_.size(); }
  // Schedules a look at one VI (it has work the hints may not show: a break, a hang-up).
  void Kick(ViEntry* entry);
  void RefChanged(int delta);
  // Manual, non-blocking poll into the meta array (no JS callback). Returns the count.
  // `force` also polls from inside a dispatch: only for a process that is exiting.
  int PollOnce(bool force);
  // Schedules a drive on the next loop turn (new VI, local break, peer hang-up).
  void Kick();
  void Close();
  bool closed() const { return closed_; }
  size_t vi_count() const { return vis_.size(); }
  // A VI by id, or null.
  ViEntry* Find(uint32_t id) const {
    auto it = vis_.find(id);
    return it == vis_.end() ? nullptr : it->second.get();
  }

  // Diagnostics for stall reports: what the queue is waiting for right now.
  struct WaitState {
    bool in_dispatch, kick_pending, idle_running, doorbell_readable;
    int mode;
    uint32_t ready_vis, sleeping_vis;
  };
  WaitState Inspect() const;

  struct Stats {
    uint64_t wakeups = 0;      // doorbell (eventfd) wake-ups
    uint64_t sleeps = 0;       // times the queue went to sleep
    uint64_t completions = 0;  // completions delivered
    uint64_t dispatches = 0;   // JS dispatch calls
    uint64_t trimmed_bytes = 0;  // slot memory given back by idle trims
    uint64_t spin_ns = 0;        // time spent polling with nothing found (adaptive and busy)
  } stats;

  // The adaptive spin budget right now, in ns (at most the configured one).
  uint64_t spin_budget_ns() const { return spin_cur_ns_; }
  // Where links find our last wake-up latency to report with their next ring (LinkPort).
  uint64_t* wake_latency_slot() { return &wake_latency_ns_; }

 private:
  static void OnDoorbell(uv_poll_t* handle, int status, int events);
  static void OnIdle(uv_idle_t* handle);
  static void OnTrim(uv_timer_t* handle);
  // Gives back the slot memory of every VI that sent nothing for a whole trim interval.
  void TrimIdle();
  void Drive();
  int Harvest();
  // Harvests one VI into the batch; false when the batch or the arena filled up first.
  bool HarvestVi(ViEntry* e, int* n, int* flags);
  bool AnyReady() const;
  void Reported(ViEntry* e);
  bool ArenaFull() const;
  void SetAllSleeping(bool sleeping);
  // Adaptive mode: a doorbell ended a sleep; tune the spin budget by when the peer rang.
  void AdaptSpin();
  void Dispatch(int count);
  void UpdateRefs();
  void UpdateIdle();
  bool HasLiveVis() const { return live_vis_ > 0; }

  uv_loop_t* loop_;
  int32_t* meta_;
  int batch_;
  DispatchFn dispatch_;
  int doorbell_fd_ = -1;
  uv_poll_t* doorbell_poll_ = nullptr;
  uv_idle_t* idle_ = nullptr;
  uv_timer_t* trim_ = nullptr;
  bool idle_running_ = false;
  bool kick_pending_ = false;
  bool new_vi_ = false;            // a VI was added since the last drive: traffic is due
  uint8_t* arena_ = nullptr;
  size_t arena_size_ = 0;
  size_t arena_pos_ = 0;
  PollMode mode_ = PollMode::kAdaptive;
  uint64_t spin_ns_ = 50000;      // the configured budget: the most adaptive mode spins
  uint64_t spin_cur_ns_ = 50000;  // what it spins now (AdaptSpin)
  bool asleep_ = false;           // the queue went to sleep, and nothing has driven it since
  uint64_t idle_since_ = 0;       // the last activity before that sleep (where its spin began)
  uint64_t wake_latency_ns_ = 0;  // our last doorbell wake-up: ring to wake (LinkPort reports it)
  std::unordered_map<uint32_t, std::shared_ptr<ViEntry>> vis_;
  std::set<Link*> links_;
  std::deque<uint32_t> ready_;  // VIs to harvest, in order (ids; a closed one is skipped)
  size_t live_vis_ = 0;         // VIs whose error has not been reported
  uint32_t next_id_ = 1;
  int refs_ = 0;
  bool in_dispatch_ = false;
  bool closed_ = false;
};

}  // namespace via
