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

namespace via {

static int MemfdCreate(const char* name) {
  return static_cast<int>(syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
}

int CreateRegion(size_t size, MappedRegion* out) {
  if (size < kRegionHeaderSize + kPage || size % kPage != 0) return -EINVAL;
  int fd = MemfdCreate("via-net-link");
  if (fd < 0) return -errno;
  // A memfd is sparse: ftruncate reserves nothing, pages are allocated when first touched.
  if (ftruncate(fd, static_cast<off_t>(size)) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (base == MAP_FAILED) {
    int err = errno;
    close(fd);
    return -err;
  }
  out->base = static_cast<uint8_t*>(base);
  out->size = size;
  RegionHeader* h = new (base) RegionHeader();
  h->magic = kRegionMagic;
  h->version = kRegionVersion;
  h->size = size;
  // Start "asleep": until our completion queue has looked at the link once, the peer rings us.
  h->sleeping.value.store(1, std::memory_order_release);
  return fd;
}

int MapPeerRegion(int fd, size_t size, MappedRegion* out) {
  if (size < kRegionHeaderSize + kPage || size % kPage != 0) return -EBADMSG;
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  if (!S_ISREG(st.st_mode)) return -EBADMSG;
  int seals = fcntl(fd, F_GET_SEALS);
  // Without F_SEAL_SHRINK the peer could truncate the file under our mapping (SIGBUS on access).
  if (seals < 0 || !(seals & F_SEAL_SHRINK)) return -EBADMSG;
  if (static_cast<uint64_t>(st.st_size) < size) return -EBADMSG;
  void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
  if (base == MAP_FAILED) return -errno;
  out->base = static_cast<uint8_t*>(base);
  out->size = size;
  return 0;
}

void UnmapRegion(MappedRegion* region) {
  if (region->base) munmap(region->base, region->size);
  region->base = nullptr;
  region->size = 0;
}

MappedSegment InitRing(const MappedRegion& own, const RingPlace& place, const SegmentLayout& layout) {
  MappedSegment ring;
  ring.layout = layout;
  ring.base = own.base + place.head;
  ring.slots = own.base + place.slots;
  SegmentHeader* h = new (ring.base) SegmentHeader();
  h->magic = kSegmentMagic;
  h->version = kSegmentVersion;
  h->depth = layout.depth;
  h->slot_size = layout.slot_size;
  // VIA requires receive descriptors to be posted before the connection is established:
  // every slot starts posted, so the peer may send as soon as it knows the ring.
  h->desc_tail.value.store(layout.depth, std::memory_order_release);
  return ring;
}

// True if [offset, offset + size) lies in the part of `region` after its header.
static bool Inside(const MappedRegion& region, uint64_t offset, uint64_t size) {
  return offset >= kRegionHeaderSize && offset <= region.size && size <= region.size - offset;
}

bool PeerRing(const MappedRegion& peer, const RingPlace& place, const SegmentLayout& layout, MappedSegment* out) {
  if (!SegmentLayout::Valid(layout.depth, layout.slot_size)) return false;
  if (place.head % 64 != 0 || !Inside(peer, place.head, layout.head_size())) return false;
  if (place.slots % kPage != 0 || !Inside(peer, place.slots, layout.slots_size())) return false;
  out->layout = layout;
  out->base = peer.base + place.head;
  out->slots = peer.base + place.slots;
  return true;
}

void ReleasePages(const MappedRegion& own, size_t offset, size_t size) {
  // MADV_REMOVE frees the memfd's pages (for both mappings); what was there now reads as zero.
  madvise(own.base + offset, RoundUpPage(size), MADV_REMOVE);
}

}  // namespace via
