// Connection setup for shm VIs: the "kernel agent" of the VIA emulator.
//
// A listener is a SOCK_SEQPACKET Unix socket in a per-user, per-network-namespace directory
// (the TypeScript side creates and checks the directory). The connector sends HELLO with its
// segment memfd and doorbell eventfd (SCM_RIGHTS); the listener checks SO_PEERCRED, answers with
// REPLY and its own fds. The socket then stays open for the VI's lifetime: its hang-up is how a
// dead peer is noticed, and BREAK messages carry the reason a VI broke.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace via {

constexpr uint32_t kWireMagic = 0x5649414e;  // "VIAN"
constexpr uint16_t kWireVersion = 1;
constexpr uint32_t kMaxPayload = 1024;

enum class WireType : uint16_t { kHello = 1, kReply = 2, kBreak = 3 };

struct WireMessage {
  uint32_t magic;
  uint16_t type;
  uint16_t version;
  int32_t status;  // REPLY: 0 = accepted, else a positive errno (EACCES, ECONNREFUSED)
  uint32_t depth;  // the sender's receive depth (its segment layout)
  uint32_t slot_size;
  uint32_t reason;  // BREAK: a BreakReason
  uint32_t payload_length;
  uint64_t netns;  // HELLO: the connector's network namespace inode
  uint8_t payload[kMaxPayload];
};

// Listening socket at `path`. A stale entry (a socket file nobody accepts on) is replaced.
// Returns the fd or -errno (-EADDRINUSE when a live listener holds the path).
int ListenAt(const std::string& path);
// Non-blocking connect. Returns the fd, or -errno (-ENOENT no entry, -ECONNREFUSED stale/refused).
int ConnectTo(const std::string& path);

// Sends one message with up to 2 fds. Returns 0 or -errno.
int SendWire(int fd, const WireMessage& msg, const int* fds, int nfds);
// Receives one message and up to `max_fds` fds (any extra fds are closed). Returns the number of
// bytes received (0 on orderly hang-up) or -errno; the message is validated (magic, version,
// size) by the caller through ValidWire.
ssize_t RecvWire(int fd, WireMessage* msg, int* fds, int max_fds, int* nfds);
bool ValidWire(const WireMessage& msg, ssize_t size, WireType expected);
void CloseFds(int* fds, int nfds);

// Credentials of the process at the other end of a connected Unix socket.
bool PeerCredentials(int fd, pid_t* pid, uid_t* uid, gid_t* gid);
// True if fd is an eventfd (the only kind of doorbell we are willing to write to); also makes it
// non-blocking so a hostile peer cannot make our doorbell writes block.
bool CheckDoorbellFd(int fd);
// Inode of this process's network namespace: the key that keeps shm inside one namespace.
uint64_t NetnsInode();

}  // namespace via
