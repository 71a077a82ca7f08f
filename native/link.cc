#include "link.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "cq.h"

namespace via {

// Stops and frees a timer of the link, if it has one.
static void CloseTimer(uv_timer_t** timer) {
  if (!*timer) return;
  uv_timer_stop(*timer);
  uv_close(reinterpret_cast<uv_handle_t*>(*timer), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  *timer = nullptr;
}

// How long an idle link waits for a new connection before it closes: VIA_NET_LINK_LINGER_MS,
// default 1 s (a churning client reconnects well within it and pays for no new link).
uint64_t Link::linger_ms_ = [] {
  const char* env = getenv("VIA_NET_LINK_LINGER_MS");
  return env && *env ? strtoull(env, nullptr, 10) : uint64_t(1000);
}();

size_t RingAllocator::BlockClass(size_t size) {
  size_t cls = 512;
  while (cls < size) cls <<= 1;
  return cls;
}

size_t RingAllocator::AllocatePages(size_t size) {
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    size_t offset = it->second.back().offset;
    it->second.pop_back();
    return offset;
  }
  if (size > end_ - next_) return 0;
  size_t offset = next_;
  next_ += size;
  return offset;
}

bool RingAllocator::Allocate(const SegmentLayout& layout, RingPlace* place) {
  size_t head = layout.head_size();
  if (head >= kPage) {
    place->head = AllocatePages(RoundUpPage(head));
  } else {
    size_t cls = BlockClass(head);
    std::vector<size_t>& blocks = blocks_[cls];
    if (blocks.empty()) {
      // A fresh page of blocks of this class.
      size_t page = AllocatePages(kPage);
      if (page == 0) return false;
      for (size_t b = kPage - cls; b > 0; b -= cls) blocks.push_back(page + b);
      blocks.push_back(page);
    }
    place->head = blocks.back();
    blocks.pop_back();
  }
  if (place->head == 0) return false;
  place->slots = AllocatePages(layout.slots_size());
  if (place->slots == 0) {
    if (head >= kPage) free_[RoundUpPage(head)].push_back({place->head, false});
    else blocks_[BlockClass(head)].push_back(place->head);
    return false;
  }
  return true;
}

void RingAllocator::Free(const RingPlace& place, const SegmentLayout& layout) {
  size_t head = layout.head_size();
  if (head >= kPage) {
    free_[RoundUpPage(head)].push_back({place.head, false});
  } else {
    blocks_[BlockClass(head)].push_back(place.head);
  }
  free_[layout.slots_size()].push_back({place.slots, false});
}

size_t RingAllocator::Release(const MappedRegion& region) {
  size_t bytes = 0;
  for (auto& [size, areas] : free_) {
    for (FreePages& area : areas) {
      if (area.released) continue;
      ReleasePages(region, area.offset, size);
      area.released = true;
      bytes += size;
    }
  }
  return bytes;
}

Link::Link(uv_loop_t* loop, CompletionQueueCore* cq, LinkHost* host, int fd, const MappedRegion& own, std::string key)
    : loop_(loop), cq_(cq), host_(host), fd_(fd), own_(own), key_(std::move(key)), state_(State::kHandshaking) {
  rings_.Reset(kRegionHeaderSize, own_.size);
  port_.own_region = own_.header();
  port_.wake_latency_ns = cq_->wake_latency_slot();
}

Link::~Link() {
  // Normally dead by now (Die closed the handles); never leave libuv a pointer to freed memory.
  if (poll_) {
    poll_->data = nullptr;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }
  CloseTimer(&linger_);
  CloseTimer(&quiet_close_timer_);
  // Every VI of the link holds it, so nobody can touch the regions or the doorbell any more.
  UnmapRegion(&own_);
  UnmapRegion(&peer_region_);
  if (port_.peer_doorbell_fd >= 0) close(port_.peer_doorbell_fd);
  if (fd_ >= 0) close(fd_);
}

std::shared_ptr<Link> Link::Connecting(uv_loop_t* loop, CompletionQueueCore* cq, LinkHost* host, int fd,
                                       const MappedRegion& own, std::string key) {
  std::shared_ptr<Link> link(new Link(loop, cq, host, fd, own, std::move(key)));
  link->StartPolling();
  return link;
}

std::shared_ptr<Link> Link::Accepted(uv_loop_t* loop, CompletionQueueCore* cq, LinkHost* host, int fd,
                                     const MappedRegion& own, const MappedRegion& peer, int peer_doorbell,
                                     const Peer& who, std::string key) {
  std::shared_ptr<Link> link(new Link(loop, cq, host, fd, own, std::move(key)));
  link->peer_region_ = peer;
  link->port_.peer_region = peer.header();
  link->port_.peer_doorbell_fd = peer_doorbell;
  link->peer_ = who;
  link->state_ = State::kUp;
  cq->AddLink(link.get());
  link->StartPolling();
  return link;
}

void Link::StartPolling() {
  poll_ = new uv_poll_t;
  if (uv_poll_init(loop_, poll_, fd_) != 0) {
    delete poll_;
    poll_ = nullptr;
    return;
  }
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE | UV_DISCONNECT, OnReadable);
  // Watching the link alone must not keep the process alive: the CQ's own ref does that.
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  // The peer may have sent more than the handshake already (an OPEN right behind HELLO).
  if (state_ == State::kUp) cq_->Kick();
}

void Link::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Link*>(handle->data);
  if (!self) return;
  std::shared_ptr<Link> keep = self->shared_from_this();  // handlers may drop the last reference
  if (status < 0) {
    self->Die(BreakReason::kPeerGone);
    return;
  }
  if ((events & UV_WRITABLE) && self->state_ != State::kDead) self->Flush();
  // Read even when the hang-up came with it: CLOSE messages say why VIs ended.
  if (events & UV_READABLE) self->Receive();
  if (self->state_ != State::kDead && (events & UV_DISCONNECT)) self->Die(BreakReason::kPeerGone);
}

void Link::Receive() {
  while (state_ != State::kDead) {
    WireMessage msg;
    int fds[2] = {-1, -1};
    int nfds = 0;
    ssize_t n = RecvWire(fd_, &msg, fds, 2, &nfds);
    if (n == -EAGAIN) return;
    if (n == 0 || n == -ECONNRESET) {
      Die(BreakReason::kPeerGone);
      return;
    }
    if (n < 0 || !ValidWireAny(msg, n)) {
      CloseFds(fds, nfds);
      Die(BreakReason::kCorrupt);
      return;
    }
    Handle(msg, fds, nfds);
  }
}

void Link::Handle(const WireMessage& msg, int* fds, int nfds) {
  auto type = static_cast<WireType>(msg.type);
  if (type == WireType::kReply && state_ == State::kHandshaking) {
    OnReply(msg, fds, nfds);
    return;
  }
  CloseFds(fds, nfds);  // only REPLY carries fds
  if (state_ != State::kUp) {
    Die(BreakReason::kCorrupt);
    return;
  }
  switch (type) {
    case WireType::kOpen:
      closing_ = false;  // the peer still uses the link: our BYE is moot
      if (linger_ && !pending_die_) uv_timer_stop(linger_);
      ++incoming_;
      host_->OnOpen(shared_from_this(), msg);
      return;
    case WireType::kAccept: OnAccept(msg); return;
    case WireType::kReject: OnReject(msg); return;
    case WireType::kClose: OnClose(msg); return;
    case WireType::kBye:
      if (entries_.empty() && opens_.empty() && incoming_ == 0) Shutdown();
      return;
    default: Die(BreakReason::kCorrupt); return;
  }
}

void Link::OnReply(const WireMessage& msg, int* fds, int nfds) {
  int err = 0;
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  if (msg.status != 0) {
    err = msg.status > 0 && msg.status < 4096 ? msg.status : ECONNREFUSED;
  } else if (nfds != 2 || !PeerCredentials(fd_, &pid, &uid, &gid)) {
    err = EBADMSG;
  } else if (!CheckDoorbellFd(fds[1])) {
    err = EBADMSG;
  } else if (int rc = MapPeerRegion(fds[0], msg.offset, &peer_region_); rc != 0) {
    err = -rc;
  } else {
    port_.peer_doorbell_fd = dup(fds[1]);
    if (port_.peer_doorbell_fd < 0) err = errno;
  }
  CloseFds(fds, nfds);
  if (err != 0) {
    // Every open waiting on this link fails with the listener's answer.
    std::map<uint32_t, PendingOpen> opens;
    opens.swap(opens_);
    Shutdown();
    for (auto& [id, open] : opens)
      if (open.callback) open.callback(err, nullptr, nullptr);
    return;
  }
  port_.peer_region = peer_region_.header();
  peer_ = Peer{pid, uid, gid};
  state_ = State::kUp;
  cq_->AddLink(this);
  std::vector<uint32_t> refused;
  for (auto& [id, open] : opens_) {
    if (uid == geteuid() || open.allowed.count(uid)) {
      SendOpen(open);  // queued, never fails synchronously
    } else {
      refused.push_back(id);
    }
  }
  for (uint32_t id : refused) {
    auto it = opens_.find(id);
    if (it == opens_.end()) continue;
    OpenCallback cb = std::move(it->second.callback);
    rings_.Free(it->second.place, it->second.layout);
    opens_.erase(it);
    if (cb) cb(EACCES, nullptr, nullptr);
  }
  MaybeLinger();
}

int64_t Link::Open(const std::string& name, const SegmentLayout& layout, const uint8_t* payload,
                   uint32_t payload_length, std::set<uid_t> allowed, OpenCallback callback) {
  if (state_ == State::kDead) return -ECONNREFUSED;
  if (state_ == State::kUp && peer_.uid != geteuid() && !allowed.count(peer_.uid)) return -EACCES;
  RingPlace place;
  if (!rings_.Allocate(layout, &place)) return -ENOSPC;  // the region is full: fail as a refused connect would
  InitRing(own_, place, layout);
  uint32_t id = cq_->NewId();
  PendingOpen& open = opens_[id];
  open.id = id;
  open.name = name;
  open.layout = layout;
  open.place = place;
  open.payload.assign(payload, payload + payload_length);
  open.allowed = std::move(allowed);
  open.callback = std::move(callback);
  if (linger_ && !pending_die_) uv_timer_stop(linger_);
  UpdateRef();
  if (state_ == State::kUp) SendOpen(open);
  return id;
}

void Link::SendOpen(PendingOpen& open) {
  WireMessage msg = NewWire(WireType::kOpen);
  msg.id = open.id;
  msg.depth = open.layout.depth;
  msg.slot_size = open.layout.slot_size;
  msg.offset = open.place.head;
  msg.slots = open.place.slots;
  std::strncpy(msg.name, open.name.c_str(), sizeof msg.name - 1);
  msg.payload_length = static_cast<uint32_t>(open.payload.size());
  if (!open.payload.empty()) std::memcpy(msg.payload, open.payload.data(), open.payload.size());
  open.sent = true;
  Send(msg);
}

void Link::CancelOpen(int64_t token) {
  auto it = opens_.find(static_cast<uint32_t>(token));
  if (it == opens_.end()) return;
  it->second.callback = nullptr;
  if (!it->second.sent) {
    rings_.Free(it->second.place, it->second.layout);
    opens_.erase(it);
    MaybeLinger();
  }
  // Sent: the answer will come; an ACCEPT is then closed at once (OnAccept).
}

std::shared_ptr<ViEntry> Link::NewEntry(uint32_t id, const RingPlace& place, const SegmentLayout& layout,
                                        const MappedSegment& peer_ring, uint32_t peer_id) {
  auto entry = std::make_shared<ViEntry>();
  entry->id = id;
  entry->peer_id = peer_id;
  MappedSegment own_ring;
  own_ring.layout = layout;
  own_ring.base = own_.base + place.head;
  own_ring.slots = own_.base + place.slots;
  entry->vi = std::make_unique<ShmVi>(own_ring, peer_ring, &port_, peer_id);
  entry->link = shared_from_this();
  entry->ring = place;
  entries_[id] = entry;
  cq_->AddVi(entry);
  return entry;
}

void Link::OnAccept(const WireMessage& msg) {
  auto it = opens_.find(msg.id);
  if (it == opens_.end() || !it->second.sent) {
    Die(BreakReason::kCorrupt);  // an answer to nothing we asked
    return;
  }
  PendingOpen open = std::move(it->second);
  opens_.erase(it);
  MappedSegment peer_ring;
  if (!PeerRing(peer_region_, RingPlace{msg.offset, msg.slots}, SegmentLayout{msg.depth, msg.slot_size}, &peer_ring)) {
    // A ring outside the peer's region: refuse it, as if the VI broke at once.
    WireMessage close = NewWire(WireType::kClose);
    close.id = msg.peer_id;
    close.reason = static_cast<uint32_t>(BreakReason::kCorrupt);
    Send(close);
    rings_.Free(open.place, open.layout);
    if (open.callback) open.callback(EBADMSG, nullptr, nullptr);
    MaybeLinger();
    return;
  }
  std::shared_ptr<ViEntry> entry = NewEntry(open.id, open.place, open.layout, peer_ring, msg.peer_id);
  UpdateRef();
  if (!open.callback) {
    entry->Close();  // cancelled while the OPEN was on its way
    return;
  }
  open.callback(0, entry, &msg);
}

void Link::OnReject(const WireMessage& msg) {
  auto it = opens_.find(msg.id);
  if (it == opens_.end() || !it->second.sent) {
    Die(BreakReason::kCorrupt);
    return;
  }
  PendingOpen open = std::move(it->second);
  opens_.erase(it);
  // The peer never writes into a ring it refused.
  rings_.Free(open.place, open.layout);
  int status = msg.status > 0 && msg.status < 4096 ? msg.status : ECONNREFUSED;
  if (open.callback) open.callback(status, nullptr, nullptr);
  MaybeLinger();
}

std::shared_ptr<ViEntry> Link::Accept(const WireMessage& open, const SegmentLayout& layout, const uint8_t* payload,
                                      uint32_t payload_length, int* err) {
  --incoming_;
  MappedSegment peer_ring;
  RingPlace place;
  if (state_ != State::kUp) {
    *err = ECONNRESET;
  } else if (!PeerRing(peer_region_, RingPlace{open.offset, open.slots}, SegmentLayout{open.depth, open.slot_size}, &peer_ring)) {
    *err = EBADMSG;  // the opener announced a ring outside its region
  } else if (!rings_.Allocate(layout, &place)) {
    *err = ENOSPC;
  } else {
    *err = 0;
  }
  if (*err != 0) {
    if (state_ == State::kUp) {
      WireMessage reject = NewWire(WireType::kReject);
      reject.id = open.id;
      reject.status = *err;
      Send(reject);
    }
    MaybeLinger();
    return nullptr;
  }
  InitRing(own_, place, layout);
  std::shared_ptr<ViEntry> entry = NewEntry(cq_->NewId(), place, layout, peer_ring, open.id);
  WireMessage reply = NewWire(WireType::kAccept);
  reply.id = open.id;
  reply.peer_id = entry->id;
  reply.depth = layout.depth;
  reply.slot_size = layout.slot_size;
  reply.offset = place.head;
  reply.slots = place.slots;
  reply.payload_length = payload_length;
  if (payload_length) std::memcpy(reply.payload, payload, payload_length);
  Send(reply);
  return entry;
}

void Link::Reject(const WireMessage& open, int status) {
  --incoming_;
  if (state_ == State::kUp) {
    WireMessage reject = NewWire(WireType::kReject);
    reject.id = open.id;
    reject.status = status;
    Send(reject);
  }
  MaybeLinger();
}

void Link::SendClose(uint32_t peer_id, BreakReason reason, bool quiet) {
  if (state_ != State::kUp) return;
  WireMessage msg = NewWire(WireType::kClose);
  msg.id = peer_id;
  msg.reason = static_cast<uint32_t>(reason);
  if (!quiet) {
    Send(msg);
    return;
  }
  quiet_closes_.push_back(msg);
  if (quiet_closes_.size() >= kMaxQuietCloses) {
    SendWithQuietCloses(nullptr);
    return;
  }
  if (!quiet_close_timer_) {
    quiet_close_timer_ = new uv_timer_t;
    uv_timer_init(loop_, quiet_close_timer_);
    quiet_close_timer_->data = this;
    // Only frees rings in the peer: never a reason to keep this process alive.
    uv_unref(reinterpret_cast<uv_handle_t*>(quiet_close_timer_));
  }
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(quiet_close_timer_)))
    uv_timer_start(quiet_close_timer_, OnQuietCloseTimer, kQuietCloseMs, 0);
}

void Link::OnQuietCloseTimer(uv_timer_t* t) {
  auto* self = static_cast<Link*>(t->data);
  std::shared_ptr<Link> keep = self->shared_from_this();
  self->SendWithQuietCloses(nullptr);
}

void Link::SendWithQuietCloses(const WireMessage* msg) {
  std::vector<WireMessage> batch;
  batch.swap(quiet_closes_);
  if (quiet_close_timer_) uv_timer_stop(quiet_close_timer_);
  if (msg) batch.push_back(*msg);
  if (fd_ < 0 || state_ == State::kDead || batch.empty()) return;
  size_t sent = 0;
  if (outbox_.empty()) {
    int rc = SendWires(fd_, batch.data(), static_cast<int>(batch.size()));
    if (rc != -EAGAIN && rc < 0) return;  // the peer is gone: the read side will say so
    sent = rc < 0 ? 0 : static_cast<size_t>(rc);
  }
  for (size_t i = sent; i < batch.size(); ++i) Send(batch[i]);
}

void Link::OnClose(const WireMessage& msg) {
  auto it = entries_.find(msg.id);
  if (it == entries_.end()) return;  // already freed (both sides closed at once)
  std::shared_ptr<ViEntry> entry = it->second;
  entry->peer_closed = true;
  BreakReason reason =
      msg.reason >= 1 && msg.reason <= 4 ? static_cast<BreakReason>(msg.reason) : BreakReason::kCorrupt;
  if (entry->closed) {
    FreeRing(entry.get());
  } else {
    entry->PeerGone(reason);
  }
}

void Link::EntryClosed(ViEntry* entry) {
  if (entry->peer_closed || state_ == State::kDead) FreeRing(entry);
}

void Link::FreeRing(ViEntry* entry) {
  auto it = entries_.find(entry->id);
  if (it == entries_.end()) return;
  std::shared_ptr<ViEntry> keep = it->second;
  entries_.erase(it);
  if (state_ != State::kDead) rings_.Free(entry->ring, entry->vi->own_ring().layout);
  entry->link.reset();  // the last VI of a dead link unmaps it here
  MaybeLinger();
}

void Link::DrainHints(std::vector<uint32_t>* ready) {
  if (state_ != State::kUp) return;
  RegionHeader* h = own_.header();
  uint32_t tail = h->hint_tail.value.load(std::memory_order_acquire);
  uint32_t count = tail - hint_head_;
  bool scan = h->hint_overflow.value.load(std::memory_order_relaxed) != 0 &&
              h->hint_overflow.value.exchange(0, std::memory_order_acq_rel) != 0;
  if (count > kHintSlots) {
    scan = true;  // garbage: the peer can only slow its own link down with it
  } else {
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t id = h->hints[(hint_head_ + i) % kHintSlots].load(std::memory_order_relaxed);
      // Only ids of this link count: a peer cannot make us look at another link's VIs.
      if (entries_.count(id)) ready->push_back(id);
    }
  }
  hint_head_ = tail;
  h->hint_head.value.store(tail, std::memory_order_release);
  if (scan)
    for (auto& [id, entry] : entries_) ready->push_back(id);
}

bool Link::HasHints() const {
  if (state_ != State::kUp) return false;
  const RegionHeader* h = own_.header();
  return h->hint_tail.value.load(std::memory_order_acquire) != hint_head_ ||
         h->hint_overflow.value.load(std::memory_order_relaxed) != 0;
}

Link::Rung Link::LastRung() const {
  if (state_ != State::kUp) return Rung{0, 0};
  const RegionHeader* h = own_.header();
  return Rung{h->rung.at.load(std::memory_order_relaxed), h->rung.woke_in.load(std::memory_order_relaxed)};
}

void Link::SetSleeping(bool sleeping) {
  if (state_ == State::kUp) own_.header()->sleeping.value.store(sleeping ? 1 : 0, std::memory_order_seq_cst);
}

void Link::Send(const WireMessage& msg) {
  if (fd_ < 0 || state_ == State::kDead) return;
  if (!quiet_closes_.empty()) {
    SendWithQuietCloses(&msg);  // CLOSEs first, in one system call with `msg`
    return;
  }
  // Messages go out in order: behind anything already waiting for the socket to drain.
  if (outbox_.empty()) {
    int rc = SendWire(fd_, msg, nullptr, 0);
    if (rc == 0) return;
    // A peer process that went away shows up on the read side too; the message is moot.
    if (rc != -EAGAIN) return;
  }
  // The peer reads its link less fast than we open or close connections: wait for the socket
  // to drain. A peer that never reads would make this grow without end, so past a bound (far
  // more than one process's connections in flight) it counts as a broken link.
  if (outbox_.size() >= kMaxOutbox) {
    pending_die_ = true;
    StartTimer(0);  // not from here: the caller may be walking the link's state
    return;
  }
  outbox_.push_back(msg);
  WatchWritable(true);
}

void Link::WatchWritable(bool on) {
  if (!poll_) return;
  uv_poll_start(poll_, UV_READABLE | UV_DISCONNECT | (on ? UV_WRITABLE : 0), OnReadable);
}

void Link::Flush() {
  while (!outbox_.empty()) {
    int rc = SendWire(fd_, outbox_.front(), nullptr, 0);
    if (rc == -EAGAIN) return;
    outbox_.pop_front();  // sent, or the peer is gone (the read side will say so)
  }
  WatchWritable(false);
}

void Link::Die(BreakReason reason) {
  if (state_ == State::kDead) return;
  std::shared_ptr<Link> keep = shared_from_this();
  state_ = State::kDead;
  cq_->RemoveLink(this);
  if (poll_) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  CloseTimer(&linger_);
  CloseTimer(&quiet_close_timer_);
  quiet_closes_.clear();
  // The fd stays open until the link is freed, so its number is not reused under a late poll.
  shutdown(fd_, SHUT_RDWR);
  host_->OnLinkGone(this);
  std::map<uint32_t, PendingOpen> opens;
  opens.swap(opens_);
  for (auto& [id, open] : opens)
    if (open.callback) open.callback(ECONNREFUSED, nullptr, nullptr);
  // Copy: freeing a closed VI's ring edits the map.
  std::vector<std::shared_ptr<ViEntry>> entries;
  for (auto& [id, entry] : entries_) entries.push_back(entry);
  for (auto& entry : entries) {
    if (entry->closed) {
      FreeRing(entry.get());
    } else {
      entry->PeerGone(reason);
    }
  }
}

void Link::Shutdown() { Die(BreakReason::kPeerGone); }


void Link::UpdateRef() {
  // A connect in progress keeps the process alive, as a connecting TCP socket does; otherwise
  // the link alone must not (the VIs' completion queue and the listeners decide).
  if (!poll_) return;
  if (opens_.empty())
    uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  else
    uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
}

void Link::MaybeLinger() {
  UpdateRef();
  if (state_ != State::kUp || closing_ || !entries_.empty() || !opens_.empty() || incoming_ > 0) return;
  StartTimer(linger_ms_);
}

void Link::StartTimer(uint64_t ms) {
  if (state_ == State::kDead) return;
  if (!linger_) {
    linger_ = new uv_timer_t;
    uv_timer_init(loop_, linger_);
    linger_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(linger_));
  }
  uv_timer_start(linger_, OnTimer, ms, 0);
}

void Link::OnTimer(uv_timer_t* t) {
  auto* self = static_cast<Link*>(t->data);
  std::shared_ptr<Link> keep = self->shared_from_this();
  if (self->pending_die_) {
    self->Die(BreakReason::kCorrupt);
    return;
  }
  if (self->state_ != State::kUp || !self->entries_.empty() || !self->opens_.empty() || self->incoming_ > 0) return;
  // Idle for the whole linger: tell the peer, and take no new connections on it. The peer
  // closes the socket unless it is using the link (then its OPEN revives it here).
  self->closing_ = true;
  self->Send(NewWire(WireType::kBye));
}

}  // namespace via
