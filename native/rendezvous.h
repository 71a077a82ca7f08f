// Rendezvous and the link wire format: the "kernel agent" of the VIA emulator.
//
// A process that listens on shm binds one SOCK_SEQPACKET Unix socket, its *process socket*
// `p-<pid>-<start time>`, in a per-user, per-network-namespace directory (the TypeScript side
// creates and checks the directory). Each listener's entry (`tcp-<port>`, `h-<hash>`) is a
// symlink to that socket. The first connection between two processes connects to the process
// socket and sets up a *link* (native/link.h): HELLO and REPLY carry each side's region memfd and
// doorbell eventfd (SCM_RIGHTS) and are checked with SO_PEERCRED. The socket then stays open for
// the life of the link: every later connection between the two processes, in either direction,
// is an OPEN / ACCEPT (or REJECT) exchange on it, a CLOSE tells why a VI ended, and its hang-up
// is how a dead peer process is noticed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace via {

constexpr uint32_t kWireMagic = 0x5649414e;  // "VIAN"
constexpr uint16_t kWireVersion = 4;  // 4: RegionHeader.rung
constexpr uint32_t kMaxPayload = 1024;
constexpr size_t kMaxEntryName = 96;

enum class WireType : uint16_t {
  kHello = 1,   // connector -> process socket: region memfd + doorbell
  kReply = 2,   // the answer: status, and on success the acceptor's region memfd + doorbell
  kOpen = 3,    // a new VI: the entry name, the opener's VI id, its ring, a payload
  kAccept = 4,  // the listener took it: the acceptor's VI id and ring, a payload
  kReject = 5,  // the listener refused it (status)
  kClose = 6,   // the sender will never write into the receiver's ring `id` again (reason)
  kBye = 7,     // the link is idle on our side: close it unless you are using it
};

struct WireMessage {
  uint32_t magic;
  uint16_t type;
  uint16_t version;
  int32_t status;  // REPLY, REJECT: 0 = accepted, else a positive errno (EACCES, ECONNREFUSED)
  uint32_t depth;  // OPEN, ACCEPT: the sender's receive ring layout
  uint32_t slot_size;
  uint32_t reason;   // CLOSE: a BreakReason
  uint32_t id;       // OPEN: the opener's VI id; ACCEPT, REJECT: the same, echoed; CLOSE: the receiver's VI id
  uint32_t peer_id;  // ACCEPT: the acceptor's VI id
  uint32_t payload_length;
  uint64_t offset;  // OPEN, ACCEPT: the ring's head block in the sender's region; HELLO, REPLY: region size
  uint64_t slots;   // OPEN, ACCEPT: the ring's slot area in the sender's region
  uint64_t netns;   // HELLO: the connector's network namespace inode
  char name[kMaxEntryName];  // OPEN: the listener's entry name, NUL-terminated
  uint8_t payload[kMaxPayload];
};

// Listening socket at `path`. A stale socket file (nobody accepts on it) is replaced.
// Returns the fd or -errno (-EADDRINUSE when a live socket holds the path).
int ListenAt(const std::string& path);
// Non-blocking connect. Returns the fd, or -errno (-ENOENT no entry, -ECONNREFUSED stale/refused).
int ConnectTo(const std::string& path);

// Points the entry at `entry_path` to `target` (a process socket's file name in the same
// directory). An entry whose target no longer accepts (its process died) is replaced. Returns 0,
// or -EADDRINUSE when a live process holds the entry.
int RegisterEntry(const std::string& entry_path, const std::string& target);
// The process socket an entry points to (its file name). -ENOENT when there is no entry,
// -ECONNREFUSED when it is not a via-net entry.
int ResolveEntry(const std::string& entry_path, std::string* target);
// The directory and the file name of a path.
std::string DirOf(const std::string& path);
std::string BaseOf(const std::string& path);
// The name of this process's socket, `p-<pid>-<start time>`: unique across pid reuse.
std::string ProcessSocketName(pid_t pid);
// True unless the process socket `name` certainly belongs to a process that is gone (its pid is
// free, or names a process started at another time).
bool SocketOwnerAlive(const std::string& name);


// Sends one message with up to 2 fds. Returns 0 or -errno.
int SendWire(int fd, const WireMessage& msg, const int* fds, int nfds);
// Sends `count` messages without fds in one system call. Returns how many went out (the rest
// did not fit in the socket), or -errno when none did.
int SendWires(int fd, const WireMessage* msgs, int count);
// Receives one message and up to `max_fds` fds (any extra fds are closed). Returns the number of
// bytes received (0 on orderly hang-up) or -errno; the message is validated (magic, version,
// size) by the caller through ValidWire.
ssize_t RecvWire(int fd, WireMessage* msg, int* fds, int max_fds, int* nfds);
bool ValidWire(const WireMessage& msg, ssize_t size, WireType expected);
// A well-formed message of any type (magic, version, sizes, a NUL-terminated name).
bool ValidWireAny(const WireMessage& msg, ssize_t size);
// A message of `type`, everything else zero.
WireMessage NewWire(WireType type);
void CloseFds(int* fds, int nfds);

// Credentials of the process at the other end of a connected Unix socket.
bool PeerCredentials(int fd, pid_t* pid, uid_t* uid, gid_t* gid);
// True if fd is an eventfd (the only kind of doorbell we are willing to write to); also makes it
// non-blocking so a hostile peer cannot make our doorbell writes block.
bool CheckDoorbellFd(int fd);
// Inode of this process's network namespace: the key that keeps shm inside one namespace.
uint64_t NetnsInode();
// The connector claims a network namespace in HELLO; where /proc lets us, check it for real.
bool SameNetns(pid_t pid, uint64_t claimed);

}  // namespace via
