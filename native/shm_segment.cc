#include "shm_segment.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

namespace via {

static int MemfdCreate(const char* name) {
  return static_cast<int>(syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
}

int CreateSegment(const SegmentLayout& layout, MappedSegment* out) {
  if (!SegmentLayout::Valid(layout.depth, layout.slot_size)) return -EINVAL;
  int fd = MemfdCreate("via-net-vi");
  if (fd < 0) return -errno;
  size_t size = layout.total_size();
  if (ftruncate(fd, static_cast<off_t>(size)) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    int err = errno;
    close(fd);
    return -err;
  }
  out->layout = layout;
  out->base = static_cast<uint8_t*>(base);
  out->size = size;
  SegmentHeader* h = new (base) SegmentHeader();
  h->magic = kSegmentMagic;
  h->version = kSegmentVersion;
  h->depth = layout.depth;
  h->slot_size = layout.slot_size;
  // VIA requires receive descriptors to be posted before the connection is established:
  // every slot starts posted, so the peer may send as soon as it has mapped us.
  h->desc_tail.value.store(layout.depth, std::memory_order_relaxed);
  h->comp_tail.value.store(0, std::memory_order_relaxed);
  // Start "asleep": until our completion queue has looked at this VI once, the peer rings us.
  h->sleeping.value.store(1, std::memory_order_release);
  return fd;
}

int MapPeerSegment(int fd, const SegmentLayout& layout, MappedSegment* out) {
  if (!SegmentLayout::Valid(layout.depth, layout.slot_size)) return -EBADMSG;
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  if (!S_ISREG(st.st_mode)) return -EBADMSG;
  int seals = fcntl(fd, F_GET_SEALS);
  // Without F_SEAL_SHRINK the peer could truncate the file under our mapping (SIGBUS on access).
  if (seals < 0 || !(seals & F_SEAL_SHRINK)) return -EBADMSG;
  size_t size = layout.total_size();
  if (static_cast<uint64_t>(st.st_size) < size) return -EBADMSG;
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return -errno;
  out->layout = layout;
  out->base = static_cast<uint8_t*>(base);
  out->size = size;
  return 0;
}

void UnmapSegment(MappedSegment* seg) {
  if (seg->base) munmap(seg->base, seg->size);
  seg->base = nullptr;
  seg->size = 0;
}

}  // namespace via
