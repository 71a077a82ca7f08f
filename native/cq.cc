#include "cq.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "clock.h"
#include "rendezvous.h"

namespace via {

// How often idle VIs give their slot memory back: VIA_NET_SHM_TRIM_MS (0 turns it off), default 1 s.
static uint64_t TrimIntervalMs() {
  const char* env = getenv("VIA_NET_SHM_TRIM_MS");
  if (!env || !*env) return 1000;
  return strtoull(env, nullptr, 10);
}

// Longest a single drive may keep the event loop while completions keep arriving.
constexpr uint64_t kMaxDriveNs = 1000000;
// How often a spinning drive asks whether libuv has file descriptors ready (one poll() call).
constexpr uint64_t kReadyCheckNs = 10000;

// True when libuv has other work: callbacks queued now (immediates, pending) or, checked at most
// every kReadyCheckNs, any ready fd in its epoll set (fs and DNS completions, sockets, timers'
// neighbours). Spinning past that point would delay everything else the process does.
static bool LoopHasWork(uv_loop_t* loop, uint64_t now, uint64_t* next_fd_check) {
  if (uv_backend_timeout(loop) == 0) return true;
  if (now < *next_fd_check) return false;
  *next_fd_check = now + kReadyCheckNs;
  pollfd p{uv_backend_fd(loop), POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

static inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

template <typename Handle>
static void CloseAndFree(Handle* handle) {
  uv_close(reinterpret_cast<uv_handle_t*>(handle), [](uv_handle_t* h) { delete reinterpret_cast<Handle*>(h); });
}

// ---------------------------------------------------------------------------------------------
// ViEntry

void ViEntry::Break(BreakReason reason) {
  if (closed) return;
  vi->MarkBroken(reason);
  if (!peer_notified && link) {
    peer_notified = true;
    std::shared_ptr<Link> l = link;  // a failed send kills the link, which lets go of us
    l->SendClose(peer_id, reason);
  }
  if (cq) cq->Kick(this);
}

void ViEntry::PeerGone(BreakReason reason) {
  if (peer_gone) return;
  peer_gone = true;
  peer_reason = reason;
  if (cq) cq->Kick(this);
}

void ViEntry::Close(bool quiet) {
  if (closed) return;
  closed = true;
  std::shared_ptr<ViEntry> keep = shared_from_this();
  if (cq) cq->RemoveVi(this);
  cq = nullptr;
  if (link) {
    std::shared_ptr<Link> l = link;  // a failed send kills the link, which lets go of us
    // A plain close reads at the peer as a hang-up (end of stream or reset, by what it took).
    if (!peer_notified) l->SendClose(peer_id, BreakReason::kPeerGone, quiet);
    peer_notified = true;
    l->EntryClosed(this);  // frees the ring now if the peer is done with it too
  }
}

// ---------------------------------------------------------------------------------------------
// CompletionQueueCore

CompletionQueueCore::CompletionQueueCore(uv_loop_t* loop, int32_t* meta, int batch, DispatchFn dispatch)
    : loop_(loop), meta_(meta), batch_(batch), dispatch_(std::move(dispatch)) {}

CompletionQueueCore::~CompletionQueueCore() { Close(); }

int CompletionQueueCore::Init() {
  doorbell_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (doorbell_fd_ < 0) return -errno;
  doorbell_poll_ = new uv_poll_t;
  int rc = uv_poll_init(loop_, doorbell_poll_, doorbell_fd_);
  if (rc != 0) {
    delete doorbell_poll_;
    doorbell_poll_ = nullptr;
    close(doorbell_fd_);
    doorbell_fd_ = -1;
    return rc;
  }
  doorbell_poll_->data = this;
  uv_poll_start(doorbell_poll_, UV_READABLE, OnDoorbell);
  idle_ = new uv_idle_t;
  uv_idle_init(loop_, idle_);
  idle_->data = this;
  UpdateRefs();
  uint64_t trim_ms = TrimIntervalMs();
  if (trim_ms > 0) {
    trim_ = new uv_timer_t;
    uv_timer_init(loop_, trim_);
    trim_->data = this;
    uv_timer_start(trim_, OnTrim, trim_ms, trim_ms);
    uv_unref(reinterpret_cast<uv_handle_t*>(trim_));  // housekeeping never keeps a process alive
  }
  return 0;
}

void CompletionQueueCore::OnTrim(uv_timer_t* handle) { static_cast<CompletionQueueCore*>(handle->data)->TrimIdle(); }

void CompletionQueueCore::TrimIdle() {
  // A VI that streamed has touched up to its whole ring; once it has been quiet for an interval
  // (and only then, so a busy stream never refaults pages), its free slots go back.
  for (auto& [id, e] : vis_) {
    if (!e->vi || e->reported) continue;
    uint32_t activity = e->vi->activity();
    if (activity != e->trim_mark) {
      e->trim_mark = activity;
      e->trimmed = false;
    } else if (!e->trimmed) {
      e->trimmed = true;
      stats.trimmed_bytes += e->vi->TrimPeerSlots() + e->vi->TrimOwnSlots();
    }
  }
  for (Link* link : links_) stats.trimmed_bytes += link->ReleaseFreeRings();
}

void CompletionQueueCore::SetArena(uint8_t* data, size_t size) {
  arena_ = data;
  arena_size_ = size;
  arena_pos_ = 0;
}

void CompletionQueueCore::SetPollMode(PollMode mode, uint32_t spin_micros) {
  mode_ = mode;
  spin_ns_ = uint64_t(spin_micros) * 1000;
  spin_cur_ns_ = spin_ns_;
  UpdateIdle();
}

uint32_t CompletionQueueCore::NewId() {
  // 2^32 connections later ids wrap; 0 stays unused, and an id still in use is skipped.
  do {
    ++next_id_;
  } while (next_id_ == 0 || vis_.count(next_id_));
  return next_id_;
}

void CompletionQueueCore::AddVi(const std::shared_ptr<ViEntry>& entry) {
  entry->cq = this;
  vis_[entry->id] = entry;
  ++live_vis_;
  RefChanged(+1);
  new_vi_ = true;
  Kick(entry.get());  // the peer may have published before we were watching
}

void CompletionQueueCore::RemoveVi(ViEntry* entry) {
  auto it = vis_.find(entry->id);
  if (it == vis_.end() || it->second.get() != entry) return;
  if (entry->refed) RefChanged(-1);
  if (!entry->reported) --live_vis_;
  vis_.erase(it);
  UpdateIdle();
}

void CompletionQueueCore::Reported(ViEntry* e) {
  e->reported = true;
  --live_vis_;
  UpdateIdle();
}

void CompletionQueueCore::Kick(ViEntry* entry) {
  if (closed_) return;
  if (!entry->queued) {
    entry->queued = true;
    ready_.push_back(entry->id);
  }
  Kick();
}

void CompletionQueueCore::RefChanged(int delta) {
  refs_ += delta;
  UpdateRefs();
}

void CompletionQueueCore::UpdateRefs() {
  if (closed_) return;
  auto apply = [this](uv_handle_t* h) {
    if (refs_ > 0)
      uv_ref(h);
    else
      uv_unref(h);
  };
  apply(reinterpret_cast<uv_handle_t*>(doorbell_poll_));
  apply(reinterpret_cast<uv_handle_t*>(idle_));
}

void CompletionQueueCore::UpdateIdle() {
  if (closed_) return;
  // Busy polling serves live VIs only: a broken one that its owner has not closed yet must not
  // keep a core spinning.
  bool want = kick_pending_ || (mode_ == PollMode::kBusy && HasLiveVis());
  if (want && !idle_running_) {
    uv_idle_start(idle_, OnIdle);
    idle_running_ = true;
  } else if (!want && idle_running_) {
    uv_idle_stop(idle_);
    idle_running_ = false;
  }
}

void CompletionQueueCore::Kick() {
  if (closed_) return;
  kick_pending_ = true;
  UpdateIdle();
}

void CompletionQueueCore::OnDoorbell(uv_poll_t* handle, int, int) {
  auto* self = static_cast<CompletionQueueCore*>(handle->data);
  uint64_t count;
  ssize_t ignored = read(self->doorbell_fd_, &count, sizeof count);  // reset the eventfd
  (void)ignored;
  self->stats.wakeups++;
  if (self->asleep_) self->AdaptSpin();
  self->Drive();
}

void CompletionQueueCore::OnIdle(uv_idle_t* handle) {
  auto* self = static_cast<CompletionQueueCore*>(handle->data);
  self->kick_pending_ = false;
  self->UpdateIdle();
  self->Drive();
}

// Halt-polling's rule (as KVM tunes halt_poll_ns): spin longer next time when a spin of the
// configured budget would have caught the message that woke us, less when it would not have.
// What counts is how long the peer took to answer, without either process's wake-up: the peer
// stores in our region header when it rang and how long its own wake-up took before it could
// answer. Counting wake-ups would leave a ping-pong whose two ends both fell asleep stuck there
// (each one's wait would include the other's wake-up, longer than the budget on a busy machine),
// while a server that thinks longer than the budget is still seen as thinking. So request/response
// with think time stops paying for a spin that never succeeds, and a ping-pong that fell asleep
// gets its budget back after a few doorbells. Implausible times (a peer's garbage) count as "now"
// and "no wake-up".
void CompletionQueueCore::AdaptSpin() {
  uint64_t now = MonotonicNs();
  Link::Rung rung{0, 0};
  for (Link* link : links_) {
    Link::Rung r = link->LastRung();
    if (r.at > rung.at) rung = r;
  }
  bool plausible = rung.at >= idle_since_ && rung.at <= now;
  uint64_t arrived = plausible ? rung.at : now;
  wake_latency_ns_ = now - arrived;  // reported to the peer with our next ring
  uint64_t waited = arrived - idle_since_;
  uint64_t peer_woke_in = plausible && rung.woke_in < waited ? rung.woke_in : 0;
  uint64_t answered_in = waited - peer_woke_in;
  if (mode_ != PollMode::kAdaptive) return;
  constexpr uint64_t kGrowFrom = 5000;  // the first step up from zero, in ns
  if (answered_in <= spin_ns_) {
    spin_cur_ns_ = spin_cur_ns_ == 0 ? std::min(spin_ns_, kGrowFrom) : std::min(spin_ns_, spin_cur_ns_ * 2);
  } else {
    spin_cur_ns_ = spin_cur_ns_ < 2 * kGrowFrom ? 0 : spin_cur_ns_ / 2;
  }
}

void CompletionQueueCore::SetAllSleeping(bool sleeping) {
  for (Link* link : links_) link->SetSleeping(sleeping);
}

bool CompletionQueueCore::ArenaFull() const { return meta_ && (meta_[1] & kFlagArenaFull); }

bool CompletionQueueCore::AnyReady() const {
  if (!ready_.empty()) return true;
  for (Link* link : links_)
    if (link->HasHints()) return true;
  return false;
}

// The reason reported for a peer that hung up without a BREAK (its process exited, crashed or
// was killed, or it closed the VI): end of stream if it had taken everything we sent, as a
// kernel socket closed with nothing unread sends FIN; a reset otherwise.
static BreakReason HangUpReason(const ViEntry& e) {
  if (e.peer_reason != BreakReason::kPeerGone) return e.peer_reason;
  return e.vi->PeerTookAll() ? BreakReason::kPeerExited : BreakReason::kPeerGone;
}

bool CompletionQueueCore::HarvestVi(ViEntry* e, int* n, int* flags) {
  ShmVi* vi = e->vi.get();
  // Copies one completion into the arena and records it; false when the arena is full.
  auto record = [&](uint32_t length, uint32_t imm, const uint8_t* data) {
    if (arena_pos_ + length > arena_size_) {
      *flags |= kFlagArenaFull;  // JS hands us a fresh arena and we continue on the next turn
      return false;
    }
    if (length) std::memcpy(arena_ + arena_pos_, data, length);
    int32_t* rec = meta_ + kMetaHeader + *n * kMetaFields;
    rec[0] = int32_t(e->id);
    rec[1] = kKindRecv;
    rec[2] = int32_t(length);
    rec[3] = int32_t(imm);
    rec[4] = int32_t(arena_pos_);
    // Packed back to back, unaligned: a VI's consecutive payloads then form one contiguous
    // range, which JS delivers as one Buffer view without copying.
    arena_pos_ += length;
    vi->Consume(length);
    ++*n;
    return true;
  };
  bool ring_empty = false;
  while (!vi->broken()) {
    if (*n >= batch_) return false;
    uint32_t length, imm;
    const uint8_t* data;
    int r = vi->Peek(&length, &imm, &data);
    if (r == 0) {
      // A peer that died while combining small writes in place: those bytes were accepted,
      // so they are delivered, last (consuming the slot leaves nothing more to peek).
      if (e->peer_gone && e->peer_reason == BreakReason::kPeerGone && vi->PeekStaged(&length, &imm, &data) == 1 &&
          !record(length, imm, data))
        return false;
      ring_empty = true;
      break;
    }
    if (r < 0) {
      e->Break(BreakReason::kCorrupt);
      break;
    }
    if (!record(length, imm, data)) return false;
  }
  if (vi->broken() || (e->peer_gone && ring_empty)) {
    if (*n >= batch_) return false;
    BreakReason reason = vi->broken() ? vi->reason() : HangUpReason(*e);
    int32_t* rec = meta_ + kMetaHeader + *n * kMetaFields;
    rec[0] = int32_t(e->id);
    rec[1] = kKindError;
    rec[2] = int32_t(reason);
    // Whether the break was found here (1) or reported by the peer (0).
    rec[3] = vi->broken() ? 1 : 0;
    rec[4] = 0;
    ++*n;
    Reported(e);
  }
  return true;
}

int CompletionQueueCore::Harvest() {
  if (!meta_ || batch_ <= 0) return 0;
  int n = 0;
  int flags = 0;
  // The hints say which VIs the peers published to since the last look.
  std::vector<uint32_t> hinted;
  for (Link* link : links_) link->DrainHints(&hinted);
  for (uint32_t id : hinted) {
    ViEntry* e = Find(id);
    if (e && !e->queued) {
      e->queued = true;
      ready_.push_back(id);
    }
  }
  while (!ready_.empty()) {
    ViEntry* e = Find(ready_.front());
    if (!e || e->reported || !e->vi) {
      if (e) e->queued = false;
      ready_.pop_front();
      continue;
    }
    // A VI the batch could not finish stays first in line for the next harvest.
    if (!HarvestVi(e, &n, &flags)) break;
    e->queued = false;
    ready_.pop_front();
  }
  meta_[0] = n;
  meta_[1] = flags;
  stats.completions += uint64_t(n);
  return n;
}

CompletionQueueCore::WaitState CompletionQueueCore::Inspect() const {
  WaitState w{in_dispatch_, kick_pending_, idle_running_, false, int(mode_), 0, 0};
  if (doorbell_fd_ >= 0) {
    pollfd p{doorbell_fd_, POLLIN, 0};
    w.doorbell_readable = poll(&p, 1, 0) > 0;
  }
  for (const auto& [id, e] : vis_) {
    if (!e->vi || e->reported) continue;
    if (e->vi->MaybeReady()) w.ready_vis++;
    if (e->vi->Snap().own_sleeping) w.sleeping_vis++;
  }
  return w;
}

int CompletionQueueCore::PollOnce(bool force) {
  // Forced from inside a dispatch only when the process is exiting (the dispatch that was
  // running never resumes), so overwriting the batch it was reading is harmless.
  if (closed_ || (in_dispatch_ && !force)) return 0;
  return Harvest();
}

void CompletionQueueCore::Dispatch(int count) {
  in_dispatch_ = true;
  stats.dispatches++;
  dispatch_(count);
  in_dispatch_ = false;
}

void CompletionQueueCore::Drive() {
  if (closed_ || in_dispatch_) return;
  asleep_ = false;  // awake, whatever woke us: only a doorbell's wait tunes the spin
  // While we poll, peers need not ring us.
  SetAllSleeping(false);
  uint64_t budget = mode_ == PollMode::kEvent ? 0 : mode_ == PollMode::kAdaptive ? spin_cur_ns_ : spin_ns_;
  uint64_t last_activity = MonotonicNs();
  // Adaptive mode spins only after real traffic: a drive that finds nothing (a spurious
  // doorbell, a kick) goes back to sleep at once instead of holding the loop. A new connection
  // counts as traffic: the acceptor's first message usually comes within the connector's
  // wake-up, and the connector, which has just sent its first bytes, expects the answer.
  bool active = mode_ == PollMode::kBusy || new_vi_;
  new_vi_ = false;
  const uint64_t drive_start = last_activity;
  uint64_t next_fd_check = last_activity;
  for (;;) {
    int n = Harvest();
    // A full arena with nothing harvested must still reach JS, which swaps in a fresh arena.
    if (n > 0 || ArenaFull()) {
      Dispatch(n);
      if (closed_) return;
      last_activity = MonotonicNs();
      active = true;
      // A steady stream must not starve the rest of the process (timers, IPC, other sockets):
      // after kMaxDriveNs, or as soon as libuv has other work ready, give the loop a turn and
      // come back through the idle handle. Peers keep seeing us awake, so they do not ring.
      if (last_activity - drive_start >= kMaxDriveNs ||
          (mode_ != PollMode::kBusy && LoopHasWork(loop_, last_activity, &next_fd_check))) {
        Kick();
        return;
      }
      continue;
    }
    // With no VI open, nothing a spin can see is coming: a new connection arrives on a link's
    // socket, which wakes libuv (a churning server would otherwise spin after every close).
    if (!active || budget == 0 || !HasLiveVis() || MonotonicNs() - last_activity >= budget) break;
    // Spinning must never hold back the rest of the event loop: stop as soon as libuv has other
    // work. Busy mode runs from an idle handle (which keeps libuv "busy" by itself), so it keeps
    // its own per-turn budget and returns to the loop every turn anyway.
    if (mode_ != PollMode::kBusy && LoopHasWork(loop_, MonotonicNs(), &next_fd_check)) break;
    CpuRelax();
  }
  // What the spin since the last completion cost (it found nothing, or we would still be here).
  if (active && budget != 0) stats.spin_ns += MonotonicNs() - last_activity;
  if (mode_ == PollMode::kBusy && HasLiveVis()) return;  // the idle handle brings us back next turn
  // Go to sleep without losing a wake-up: mark asleep, fence, re-check, and only then return to
  // libuv, which blocks on the doorbell eventfd.
  SetAllSleeping(true);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (AnyReady()) {
    // Something arrived (or broke) between the last harvest and the flags: never sleep with work
    // pending. Come back on the next loop turn; the flags stay set, which costs at most an extra
    // doorbell.
    Kick();
    return;
  }
  stats.sleeps++;
  asleep_ = true;
  idle_since_ = last_activity;
  wake_latency_ns_ = 0;  // whatever we answer after this sleep, we answer awake
}

void CompletionQueueCore::Close() {
  if (closed_) return;
  // Close every VI first: each releases its fds and mappings.
  std::vector<std::shared_ptr<ViEntry>> vis;
  for (auto& [id, e] : vis_) vis.push_back(e);
  for (auto& e : vis) e->Close();
  vis_.clear();
  ready_.clear();
  closed_ = true;
  if (doorbell_poll_) {
    uv_poll_stop(doorbell_poll_);
    CloseAndFree(doorbell_poll_);
    doorbell_poll_ = nullptr;
  }
  if (idle_) {
    uv_idle_stop(idle_);
    CloseAndFree(idle_);
    idle_ = nullptr;
  }
  if (trim_) {
    uv_timer_stop(trim_);
    CloseAndFree(trim_);
    trim_ = nullptr;
  }
  if (doorbell_fd_ >= 0) close(doorbell_fd_);
  doorbell_fd_ = -1;
}

}  // namespace via
