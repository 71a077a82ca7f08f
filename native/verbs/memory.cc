#include "memory.h"

#include <cerrno>
#include <cstdlib>

namespace via {
namespace verbs {

int SlotPool::Create(ibv_pd* pd, uint32_t count, uint32_t slot_size, int access) {
  Release();
  size_t bytes = size_t(count) * slot_size;
  void* mem = nullptr;
  if (bytes == 0 || posix_memalign(&mem, 4096, bytes) != 0) return -ENOMEM;
  ibv_mr* mr = ibv_reg_mr(pd, mem, bytes, access);
  if (mr == nullptr) {
    int err = errno ? errno : ENOMEM;
    free(mem);
    return -err;
  }
  base_ = static_cast<uint8_t*>(mem);
  mr_ = mr;
  count_ = count;
  slot_size_ = slot_size;
  return 0;
}

void SlotPool::Release() {
  if (mr_) ibv_dereg_mr(mr_);
  free(base_);
  mr_ = nullptr;
  base_ = nullptr;
  count_ = 0;
}

RegistrationCache::Entry* RegistrationCache::Find(uint8_t* base, size_t length) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (base >= it->base && base + length <= it->base + it->length) {
      entries_.splice(entries_.begin(), entries_, it);
      return &entries_.front();
    }
  }
  return nullptr;
}

RegistrationCache::Entry* RegistrationCache::Add(ibv_pd* pd, uint8_t* base, size_t length,
                                                 std::function<void()> release) {
  ibv_mr* mr = ibv_reg_mr(pd, base, length, IBV_ACCESS_LOCAL_WRITE);
  if (mr == nullptr) {
    release();
    return nullptr;
  }
  entries_.push_front(Entry{base, length, mr, 0, std::move(release)});
  bytes_ += length;
  Evict();
  return &entries_.front();
}

void RegistrationCache::Evict() {
  // Walk from the least recently used end; the newest entry (front) always stays.
  auto it = entries_.end();
  while (bytes_ > max_bytes_ && it != entries_.begin()) {
    --it;
    if (it == entries_.begin()) break;
    if (it->inflight != 0) continue;
    ibv_dereg_mr(it->mr);
    bytes_ -= it->length;
    auto release = std::move(it->release);
    it = entries_.erase(it);
    if (release) release();
  }
}

void RegistrationCache::Clear() {
  for (auto& e : entries_) {
    ibv_dereg_mr(e.mr);
    if (e.release) e.release();
  }
  entries_.clear();
  bytes_ = 0;
}

}  // namespace verbs
}  // namespace via
