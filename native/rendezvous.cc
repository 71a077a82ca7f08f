#include "rendezvous.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace via {

static bool FillAddress(const std::string& path, sockaddr_un* addr) {
  if (path.empty() || path.size() >= sizeof(addr->sun_path)) return false;
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

static int NewSocket() {
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

int ConnectTo(const std::string& path) {
  sockaddr_un addr;
  if (!FillAddress(path, &addr)) return -ENAMETOOLONG;
  int fd = NewSocket();
  if (fd < 0) return fd;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(fd);
    // A full backlog on a Unix socket answers EAGAIN: for us that is a refusal (fall back to TCP).
    return err == EAGAIN ? -ECONNREFUSED : -err;
  }
  return fd;
}

int ListenAt(const std::string& path) {
  sockaddr_un addr;
  if (!FillAddress(path, &addr)) return -ENAMETOOLONG;
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = NewSocket();
    if (fd < 0) return fd;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      chmod(path.c_str(), 0600);
      if (listen(fd, 511) != 0) {
        int err = errno;
        close(fd);
        unlink(path.c_str());
        return -err;
      }
      return fd;
    }
    int err = errno;
    close(fd);
    if (err != EADDRINUSE || attempt > 0) return -err;
    // The name exists. If nobody accepts on it, its owner died: the entry is stale, replace it.
    int probe = ConnectTo(path);
    if (probe >= 0) {
      close(probe);
      return -EADDRINUSE;
    }
    if (probe != -ECONNREFUSED) return probe;
    unlink(path.c_str());
  }
  return -EADDRINUSE;
}

int SendWire(int fd, const WireMessage& msg, const int* fds, int nfds) {
  size_t size = offsetof(WireMessage, payload) + msg.payload_length;
  iovec iov{const_cast<WireMessage*>(&msg), size};
  msghdr hdr{};
  hdr.msg_iov = &iov;
  hdr.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 2)];
  if (nfds > 0) {
    if (nfds > 2) return -EINVAL;
    std::memset(control, 0, sizeof control);
    hdr.msg_control = control;
    hdr.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&hdr);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &hdr, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  return static_cast<size_t>(n) == size ? 0 : -EIO;
}

int SendWires(int fd, const WireMessage* msgs, int count) {
  std::vector<iovec> iovs(count);
  std::vector<mmsghdr> hdrs(count);
  for (int i = 0; i < count; ++i) {
    iovs[i] = iovec{const_cast<WireMessage*>(&msgs[i]), offsetof(WireMessage, payload) + msgs[i].payload_length};
    hdrs[i] = mmsghdr{};
    hdrs[i].msg_hdr.msg_iov = &iovs[i];
    hdrs[i].msg_hdr.msg_iovlen = 1;
  }
  int n;
  do {
    n = sendmmsg(fd, hdrs.data(), static_cast<unsigned>(count), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

void CloseFds(int* fds, int nfds) {
  for (int i = 0; i < nfds; ++i) {
    if (fds[i] >= 0) close(fds[i]);
    fds[i] = -1;
  }
}

ssize_t RecvWire(int fd, WireMessage* msg, int* fds, int max_fds, int* nfds) {
  *nfds = 0;
  std::memset(msg, 0, sizeof *msg);
  iovec iov{msg, sizeof *msg};
  msghdr hdr{};
  hdr.msg_iov = &iov;
  hdr.msg_iovlen = 1;
  // Room for more fds than we accept, so that extra ones arrive and get closed, not leaked.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)];
  hdr.msg_control = control;
  hdr.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(fd, &hdr, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&hdr); cmsg; cmsg = CMSG_NXTHDR(&hdr, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    int count = static_cast<int>((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    for (int i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
      if (*nfds < max_fds) {
        fds[(*nfds)++] = received;
      } else {
        close(received);
      }
    }
  }
  if (hdr.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
    CloseFds(fds, *nfds);
    *nfds = 0;
    return -EBADMSG;
  }
  return n;
}

bool ValidWireAny(const WireMessage& msg, ssize_t size) {
  if (size < static_cast<ssize_t>(offsetof(WireMessage, payload))) return false;
  if (msg.magic != kWireMagic || msg.version != kWireVersion) return false;
  if (msg.payload_length > kMaxPayload) return false;
  if (memchr(msg.name, 0, sizeof msg.name) == nullptr) return false;
  return static_cast<size_t>(size) == offsetof(WireMessage, payload) + msg.payload_length;
}

bool ValidWire(const WireMessage& msg, ssize_t size, WireType expected) {
  return ValidWireAny(msg, size) && msg.type == static_cast<uint16_t>(expected);
}

WireMessage NewWire(WireType type) {
  WireMessage msg;
  std::memset(&msg, 0, sizeof msg);
  msg.magic = kWireMagic;
  msg.version = kWireVersion;
  msg.type = static_cast<uint16_t>(type);
  return msg;
}

// Start time of a process (clock ticks since boot, field 22 of /proc/<pid>/stat), or 0.
static uint64_t ProcessStartTime(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const char* p = strrchr(buf, ')');
  if (!p) return 0;
  int field = 2;
  for (++p; *p && field < 22; ++p) {
    if (*p == ' ') ++field;
  }
  return field == 22 ? strtoull(p, nullptr, 10) : 0;
}

std::string ProcessSocketName(pid_t pid) {
  return "p-" + std::to_string(pid) + "-" + std::to_string(ProcessStartTime(pid));
}

bool SocketOwnerAlive(const std::string& name) {
  pid_t pid = static_cast<pid_t>(strtol(name.c_str() + 2, nullptr, 10));
  if (pid <= 0) return true;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  // Alive, or not ours to signal (EPERM): the pid may since name another process.
  return ProcessSocketName(pid) == name;
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string BaseOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

static bool ValidTarget(const std::string& target) {
  if (target.size() < 5 || target.size() >= kMaxEntryName || target.compare(0, 2, "p-") != 0) return false;
  for (size_t i = 2; i < target.size(); ++i)
    if (!(isdigit(static_cast<unsigned char>(target[i])) || target[i] == '-')) return false;
  return true;
}

int ResolveEntry(const std::string& entry_path, std::string* target) {
  char buf[kMaxEntryName + 1];
  ssize_t n = readlink(entry_path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -ECONNREFUSED;
  buf[n] = '\0';
  if (!ValidTarget(buf)) return -ECONNREFUSED;
  *target = buf;
  return 0;
}

int RegisterEntry(const std::string& entry_path, const std::string& target) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (symlink(target.c_str(), entry_path.c_str()) == 0) return 0;
    if (errno != EEXIST || attempt > 0) return -errno;
    // The entry exists. If its process socket still accepts, a live process holds it; otherwise
    // its owner died (or it is an older kind of entry nobody serves): replace it.
    std::string current;
    std::string probe_path = ResolveEntry(entry_path, &current) == 0 ? DirOf(entry_path) + "/" + current : entry_path;
    if (current != target) {
      int probe = ConnectTo(probe_path);
      if (probe >= 0) {
        close(probe);
        return -EADDRINUSE;
      }
      if (probe != -ECONNREFUSED && probe != -ENOENT) return probe;
    } else {
      return -EADDRINUSE;  // our own process already serves this entry
    }
    unlink(entry_path.c_str());
  }
  return -EADDRINUSE;
}

bool PeerCredentials(int fd, pid_t* pid, uid_t* uid, gid_t* gid) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  *pid = cred.pid;
  *uid = cred.uid;
  *gid = cred.gid;
  return true;
}

bool CheckDoorbellFd(int fd) {
  char link[64];
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = readlink(proc.c_str(), link, sizeof link - 1);
  if (n <= 0) return false;
  link[n] = '\0';
  if (std::strcmp(link, "anon_inode:[eventfd]") != 0) return false;
  int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

uint64_t NetnsInode() {
  // Read once (procfs costs ~8 us a call). A thread could setns() into another namespace, but
  // a Node process whose event-loop thread changes namespace while sockets are open is not a
  // case we support; the listener re-checks the connector's /proc/<pid>/ns/net anyway.
  static const uint64_t inode = [] {
    struct stat st;
    return stat("/proc/self/ns/net", &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
  }();
  return inode;
}

bool SameNetns(pid_t pid, uint64_t claimed) {
  uint64_t ours = NetnsInode();
  if (claimed != ours) return false;
  struct stat st;
  std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
  if (stat(path.c_str(), &st) != 0) return true;  // another pid namespace: trust the hello
  return static_cast<uint64_t>(st.st_ino) == ours;
}

}  // namespace via
