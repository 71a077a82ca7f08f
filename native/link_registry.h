// The links of one completion queue (one per process, or per worker thread), and the process
// socket through which peers set new links up.
//
//  - Connecting: an entry (`tcp-8080`) points to its server's process socket (`p-<pid>-<start>`).
//    A live link to that process is reused; otherwise a new one is set up (one connect, one
//    HELLO with our region and doorbell). The VI itself is then an OPEN on the link.
//  - Listening: the first listener of the process binds its process socket; each listener's
//    entry points to it. A HELLO is checked (SO_PEERCRED uid, network namespace, the fds it
//    carries) before a link is built; each OPEN is routed to the listener of its entry name,
//    which checks the uid again against its own allowed list.
//
// Nothing here knows N-API: listeners are reached through EntryListener.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "link.h"

namespace via {

class CompletionQueueCore;

class EntryListener {
 public:
  virtual ~EntryListener() = default;
  virtual bool Allows(uid_t uid) const = 0;
  // An OPEN for this listener's entry; answer with link->Accept or link->Reject.
  virtual void OnOpen(const std::shared_ptr<Link>& link, const WireMessage& open) = 0;
};

class LinkRegistry : public LinkHost {
 public:
  LinkRegistry(uv_loop_t* loop, CompletionQueueCore* cq);
  ~LinkRegistry() override;

  // Registers `listener` under the entry at `entry_path` (binding the process socket first if
  // needed). Returns 0 or -errno (-EADDRINUSE when a live process holds the entry).
  int Listen(const std::string& entry_path, EntryListener* listener);
  void Unlisten(const std::string& entry_path, EntryListener* listener);

  // Opens a VI to the listener of the entry at `entry_path`. Returns -errno when the attempt
  // cannot start (-ENOENT: no entry; -ECONNREFUSED: a stale entry), else a token for Cancel.
  int64_t Open(const std::string& entry_path, const SegmentLayout& layout, const uint8_t* payload,
               uint32_t payload_length, const std::set<uid_t>& allowed, OpenCallback callback,
               std::shared_ptr<Link>* link);

  // What is at a rendezvous entry: nothing a listener could answer from; a live process's entry
  // (a live link to its process says so at once, otherwise its liveness is checked,
  // SocketOwnerAlive in rendezvous.h); or something else, not ours to judge (a cluster's marker,
  // which the TypeScript side reads, or a file that is not an entry: the connect reports it).
  enum class EntryState { kNone = 0, kProcess = 1, kOther = 2 };
  EntryState ProbeEntry(const std::string& entry_path) const;
  // Could a listener answer at this entry?
  bool EntryLive(const std::string& entry_path) const { return ProbeEntry(entry_path) != EntryState::kNone; }

  void OnOpen(const std::shared_ptr<Link>& link, const WireMessage& open) override;
  void OnLinkGone(Link* link) override;

  // Every link, for diagnostics.
  template <typename Fn>
  void ForEachLink(Fn fn) const {
    for (const auto& link : alive_) fn(*link);
  }
  size_t link_count() const { return alive_.size(); }
  void Close();
  // Removes our rendezvous files (entries and the process socket) and nothing else: for the
  // environment's teardown at exit, when nothing else may run.
  void UnlinkFiles();

  static size_t RegionSize();

 private:
  struct Pending;
  int BindProcessSocket(const std::string& dir);
  void CloseProcessSocket();
  void CloseProcessSocketWhenIdle();
  void StopIdleClose();
  static void OnAcceptable(uv_poll_t* handle, int status, int events);
  static void OnHello(uv_poll_t* handle, int status, int events);
  void DropPending(Pending* p, bool close_fd);
  void Refuse(int fd, int status);
  bool RefuseWithReserve();
  void BackOff();
  // Builds a link from a checked HELLO; returns 0 or a positive errno to refuse with.
  int AcceptLink(int fd, const WireMessage& hello, int* fds, const Link::Peer& who);
  bool AllowsLink(uid_t uid) const;

  uv_loop_t* loop_;
  CompletionQueueCore* cq_;
  // Every link until it dies (its socket is polled with a pointer to it), and the newest usable
  // one per peer process, by the peer's process socket name, for our own connects.
  std::set<std::shared_ptr<Link>> alive_;
  std::unordered_map<std::string, std::shared_ptr<Link>> links_;
  std::map<std::string, EntryListener*> listeners_;               // by entry name
  std::set<std::string> entries_;                                 // our entries' paths
  std::set<Pending*> pending_;
  std::string socket_path_;  // our process socket, while anything listens
  std::string socket_name_;
  int fd_ = -1;
  int reserve_fd_ = -1;  // given up when accept() meets EMFILE, so connectors get an answer
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* backoff_ = nullptr;
  // Closes the process socket once no listener has used it for a link linger: a process that
  // closes a server and listens again (tests, restarts) keeps its socket instead of binding anew.
  uv_timer_t* idle_close_ = nullptr;
  uint64_t last_sweep_ns_ = 0;  // when the directory was last swept of dead processes' files
};

}  // namespace via
