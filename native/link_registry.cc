#include "link_registry.h"

#include "clock.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cq.h"

namespace via {

// Each side's region is sparse: this is address space, not memory. 32 GiB holds about 26,000
// rings of the default layout (38 slots of 32 KB).
constexpr size_t kDefaultRegionSize = size_t(32) << 30;
constexpr size_t kMaxRegionSize = size_t(256) << 30;

size_t LinkRegistry::RegionSize() {
  static const size_t size = [] {
    const char* env = getenv("VIA_NET_SHM_REGION_MB");
    unsigned long long mb = env ? strtoull(env, nullptr, 10) : 0;
    if (mb < 1 || mb > (kMaxRegionSize >> 20)) return kDefaultRegionSize;
    return size_t(mb) << 20;
  }();
  return size;
}

struct LinkRegistry::Pending {
  LinkRegistry* owner;
  int fd;
  uv_poll_t poll;
};

LinkRegistry::LinkRegistry(uv_loop_t* loop, CompletionQueueCore* cq) : loop_(loop), cq_(cq) {}

LinkRegistry::~LinkRegistry() { Close(); }

void LinkRegistry::UnlinkFiles() {
  for (const std::string& entry : entries_) {
    std::string target;
    if (ResolveEntry(entry, &target) == 0 && target == socket_name_) unlink(entry.c_str());
  }
  if (fd_ >= 0) unlink(socket_path_.c_str());
}

void LinkRegistry::Close() {
  for (const std::string& entry : entries_) unlink(entry.c_str());
  entries_.clear();
  listeners_.clear();
  CloseProcessSocket();
  links_.clear();
  // Links still polling hold a pointer to themselves in libuv: end them properly.
  std::set<std::shared_ptr<Link>> alive;
  alive.swap(alive_);
  for (const auto& link : alive) link->Shutdown();
}

bool LinkRegistry::AllowsLink(uid_t uid) const {
  if (uid == geteuid()) return true;
  for (const auto& [name, listener] : listeners_)
    if (listener->Allows(uid)) return true;
  return false;
}

int LinkRegistry::Listen(const std::string& entry_path, EntryListener* listener) {
  std::string name = BaseOf(entry_path);
  if (name.empty() || name.size() >= kMaxEntryName) return -ENAMETOOLONG;
  if (listeners_.count(name)) return -EADDRINUSE;
  std::string dir = DirOf(entry_path);
  // A socket left lingering by closed listeners may move to another directory; a used one may not.
  if (fd_ >= 0 && DirOf(socket_path_) != dir && listeners_.empty()) CloseProcessSocket();
  if (fd_ >= 0 && DirOf(socket_path_) != dir) return -EINVAL;  // one rendezvous directory per process
  if (fd_ < 0) {
    int rc = BindProcessSocket(dir);
    if (rc != 0) return rc;
  }
  StopIdleClose();
  int rc = RegisterEntry(entry_path, socket_name_);
  if (rc != 0) {
    if (listeners_.empty()) CloseProcessSocketWhenIdle();
    return rc;
  }
  listeners_[name] = listener;
  entries_.insert(entry_path);
  return 0;
}

void LinkRegistry::Unlisten(const std::string& entry_path, EntryListener* listener) {
  auto it = listeners_.find(BaseOf(entry_path));
  if (it == listeners_.end() || it->second != listener) return;
  listeners_.erase(it);
  // Only our own entry: a later process may have replaced it already.
  std::string target;
  if (ResolveEntry(entry_path, &target) == 0 && target == socket_name_) unlink(entry_path.c_str());
  entries_.erase(entry_path);
  if (listeners_.empty()) CloseProcessSocketWhenIdle();
}

void LinkRegistry::CloseProcessSocketWhenIdle() {
  if (fd_ < 0) return;
  uint64_t linger = Link::linger_ms();
  if (linger == 0) return CloseProcessSocket();
  if (!idle_close_) {
    idle_close_ = new uv_timer_t;
    uv_timer_init(loop_, idle_close_);
    idle_close_->data = this;
    // Waiting to close must not keep the process alive.
    uv_unref(reinterpret_cast<uv_handle_t*>(idle_close_));
  }
  uv_timer_start(
      idle_close_,
      [](uv_timer_t* t) {
        auto* self = static_cast<LinkRegistry*>(t->data);
        if (self->listeners_.empty()) self->CloseProcessSocket();
      },
      linger, 0);
}

void LinkRegistry::StopIdleClose() {
  if (idle_close_) uv_timer_stop(idle_close_);
}

// What processes killed without a chance to clean up left in the directory: their process
// sockets, and entries pointing to them. Only files whose owner is certainly dead are removed.
// Housekeeping only (a connect judges a stale entry by itself, a listen replaces one), so a
// process sweeps at its first bind and then at most every kSweepIntervalNs.
constexpr uint64_t kSweepIntervalNs = 10ull * 1000 * 1000 * 1000;
static void SweepStale(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) names.push_back(e->d_name);
  closedir(d);
  for (const std::string& name : names) {
    std::string path = dir + "/" + name;
    std::string target;
    if (name.compare(0, 2, "p-") == 0) {
      if (!SocketOwnerAlive(name)) unlink(path.c_str());
    } else if (ResolveEntry(path, &target) == 0 && !SocketOwnerAlive(target)) {
      unlink(path.c_str());
    }
  }
}

int LinkRegistry::BindProcessSocket(const std::string& dir) {
  uint64_t now = MonotonicNs();
  if (last_sweep_ns_ == 0 || now - last_sweep_ns_ >= kSweepIntervalNs) {
    SweepStale(dir);
    last_sweep_ns_ = now;
  }
  socket_name_ = ProcessSocketName(getpid());
  socket_path_ = dir + "/" + socket_name_;
  int fd = ListenAt(socket_path_);
  if (fd < 0) return fd;
  fd_ = fd;
  reserve_fd_ = open("/", O_RDONLY | O_CLOEXEC);  // see RefuseWithReserve
  poll_ = new uv_poll_t;
  uv_poll_init(loop_, poll_, fd_);
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, OnAcceptable);
  // Listening alone must not keep the process alive: each listener's own handle does that.
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  return 0;
}

void LinkRegistry::CloseProcessSocket() {
  if (idle_close_) {
    uv_timer_stop(idle_close_);
    uv_close(reinterpret_cast<uv_handle_t*>(idle_close_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    idle_close_ = nullptr;
  }
  if (fd_ < 0) return;
  for (Pending* p : std::set<Pending*>(pending_)) DropPending(p, true);
  if (poll_) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  if (backoff_) {
    uv_timer_stop(backoff_);
    uv_close(reinterpret_cast<uv_handle_t*>(backoff_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
    backoff_ = nullptr;
  }
  close(fd_);
  fd_ = -1;
  if (reserve_fd_ >= 0) close(reserve_fd_);
  reserve_fd_ = -1;
  unlink(socket_path_.c_str());
}

void LinkRegistry::OnAcceptable(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<LinkRegistry*>(handle->data);
  if (status < 0) return;
  for (int i = 0; i < 64 && self->fd_ >= 0; ++i) {
    int fd = accept4(self->fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if ((errno == EMFILE || errno == ENFILE) && !self->RefuseWithReserve()) {
        // Not even the reserve fd: leave the connector waiting rather than spin on readiness.
        self->BackOff();
      }
      return;
    }
    auto* p = new Pending{self, fd, {}};
    uv_poll_init(self->loop_, &p->poll, fd);
    p->poll.data = p;
    uv_unref(reinterpret_cast<uv_handle_t*>(&p->poll));
    uv_poll_start(&p->poll, UV_READABLE | UV_DISCONNECT, OnHello);
    self->pending_.insert(p);
    // The connector sends HELLO right after connect(), so it is usually queued already: read it
    // now rather than one event-loop turn later (EAGAIN leaves the poll to wait for it).
    OnHello(&p->poll, 0, UV_READABLE);
  }
}

// Out of fds, as libuv does for a TCP listener: give up the reserve fd, accept every waiting
// connector with it and answer EMFILE (its TCP fallback then meets the kernel's own answer),
// then take the reserve back. False if the reserve is gone too.
bool LinkRegistry::RefuseWithReserve() {
  if (reserve_fd_ < 0) return false;
  close(reserve_fd_);
  reserve_fd_ = -1;
  for (;;) {
    int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;
    Refuse(fd, EMFILE);
  }
  reserve_fd_ = open("/", O_RDONLY | O_CLOEXEC);
  return true;
}

void LinkRegistry::BackOff() {
  uv_poll_stop(poll_);
  if (!backoff_) {
    backoff_ = new uv_timer_t;
    uv_timer_init(loop_, backoff_);
    backoff_->data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(backoff_));
  }
  uv_timer_start(
      backoff_,
      [](uv_timer_t* t) {
        auto* self = static_cast<LinkRegistry*>(t->data);
        if (self->poll_) uv_poll_start(self->poll_, UV_READABLE, OnAcceptable);
      },
      50, 0);
}

void LinkRegistry::Refuse(int fd, int status) {
  WireMessage reply = NewWire(WireType::kReply);
  reply.status = status;
  SendWire(fd, reply, nullptr, 0);
  close(fd);
}

void LinkRegistry::DropPending(Pending* p, bool close_fd) {
  pending_.erase(p);
  uv_poll_stop(&p->poll);
  if (close_fd) {
    int fd = p->fd;
    p->fd = -1;
    close(fd);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&p->poll), [](uv_handle_t* h) { delete static_cast<Pending*>(h->data); });
}

void LinkRegistry::OnHello(uv_poll_t* handle, int status, int events) {
  auto* p = static_cast<Pending*>(handle->data);
  LinkRegistry* self = p->owner;
  if (status < 0 || (events & UV_DISCONNECT && !(events & UV_READABLE))) {
    self->DropPending(p, true);
    return;
  }
  WireMessage hello;
  int fds[2] = {-1, -1};
  int nfds = 0;
  ssize_t n = RecvWire(p->fd, &hello, fds, 2, &nfds);
  if (n == -EAGAIN) return;
  int fd = p->fd;
  // The poll on this fd must be closed before the link starts its own (one watcher per fd).
  self->DropPending(p, false);
  Link::Peer who;
  int err = 0;
  // Checked once HELLO has been read: refusing earlier would close the socket with the HELLO
  // unread, and the connector would see ECONNRESET instead of our answer.
  if (!PeerCredentials(fd, &who.pid, &who.uid, &who.gid) || !self->AllowsLink(who.uid)) {
    err = EACCES;
  } else if (n <= 0 || !ValidWire(hello, n, WireType::kHello) || nfds != 2) {
    err = EBADMSG;
  } else if (!SameNetns(who.pid, hello.netns)) {
    err = ECONNREFUSED;
  } else {
    err = self->AcceptLink(fd, hello, fds, who);
  }
  CloseFds(fds, nfds);
  if (err != 0) self->Refuse(fd, err);
}

int LinkRegistry::AcceptLink(int fd, const WireMessage& hello, int* fds, const Link::Peer& who) {
  if (!CheckDoorbellFd(fds[1]) || hello.offset > kMaxRegionSize) return EBADMSG;
  MappedRegion peer, own;
  int rc = MapPeerRegion(fds[0], hello.offset, &peer);
  if (rc != 0) return -rc;
  int own_fd = CreateRegion(RegionSize(), &own);
  int doorbell = own_fd >= 0 ? dup(fds[1]) : -1;
  if (own_fd < 0 || doorbell < 0) {
    int err = own_fd < 0 ? -own_fd : errno;
    UnmapRegion(&peer);
    UnmapRegion(&own);
    if (own_fd >= 0) close(own_fd);
    return err;
  }
  WireMessage reply = NewWire(WireType::kReply);
  reply.offset = own.size;
  int out[2] = {own_fd, cq_->doorbell_fd()};
  rc = SendWire(fd, reply, out, 2);
  close(own_fd);  // the mapping stays
  if (rc != 0) {
    UnmapRegion(&peer);
    UnmapRegion(&own);
    close(doorbell);
    close(fd);
    return 0;  // nobody left to answer
  }
  std::string key = ProcessSocketName(who.pid);
  auto link = Link::Accepted(loop_, cq_, this, fd, own, peer, doorbell, who, key);
  // A link the peer set up replaces an older one under the same key for our own connects; the
  // old one lives on for its VIs.
  alive_.insert(link);
  links_[key] = link;
  return 0;
}

LinkRegistry::EntryState LinkRegistry::ProbeEntry(const std::string& entry_path) const {
  std::string target;
  int rc = ResolveEntry(entry_path, &target);
  if (rc == -ENOENT) return EntryState::kNone;
  if (rc != 0) return EntryState::kOther;  // not ours to judge: the connect attempt reports it
  auto it = links_.find(target);
  if (it != links_.end() && it->second->usable()) return EntryState::kProcess;
  return SocketOwnerAlive(target) ? EntryState::kProcess : EntryState::kNone;
}

void LinkRegistry::OnOpen(const std::shared_ptr<Link>& link, const WireMessage& open) {
  auto it = listeners_.find(open.name);
  if (it == listeners_.end()) {
    link->Reject(open, ECONNREFUSED);
  } else if (!it->second->Allows(link->peer().uid)) {
    link->Reject(open, EACCES);
  } else {
    it->second->OnOpen(link, open);
  }
}

void LinkRegistry::OnLinkGone(Link* link) {
  auto it = links_.find(link->key());
  if (it != links_.end() && it->second.get() == link) links_.erase(it);
  for (auto a = alive_.begin(); a != alive_.end(); ++a) {
    if (a->get() == link) {
      alive_.erase(a);
      break;
    }
  }
}

int64_t LinkRegistry::Open(const std::string& entry_path, const SegmentLayout& layout, const uint8_t* payload,
                           uint32_t payload_length, const std::set<uid_t>& allowed, OpenCallback callback,
                           std::shared_ptr<Link>* out) {
  std::string target;
  int rc = ResolveEntry(entry_path, &target);
  if (rc != 0) return rc;
  std::shared_ptr<Link> link;
  auto it = links_.find(target);
  if (it != links_.end() && it->second->usable()) {
    link = it->second;
  } else {
    int fd = ConnectTo(DirOf(entry_path) + "/" + target);
    // The entry's process socket is gone: its owner died, the entry is stale.
    if (fd < 0) return fd == -ENOENT ? -ECONNREFUSED : fd;
    MappedRegion own;
    int own_fd = CreateRegion(RegionSize(), &own);
    if (own_fd < 0) {
      close(fd);
      return own_fd;
    }
    WireMessage hello = NewWire(WireType::kHello);
    hello.netns = NetnsInode();
    hello.offset = own.size;
    int fds[2] = {own_fd, cq_->doorbell_fd()};
    rc = SendWire(fd, hello, fds, 2);
    close(own_fd);
    if (rc != 0) {
      close(fd);
      UnmapRegion(&own);
      return rc == -EAGAIN ? -ECONNREFUSED : rc;
    }
    link = Link::Connecting(loop_, cq_, this, fd, own, target);
    alive_.insert(link);
    links_[target] = link;
  }
  int64_t token = link->Open(BaseOf(entry_path), layout, payload, payload_length, allowed, std::move(callback));
  if (token >= 0) *out = link;
  return token;
}

}  // namespace via
