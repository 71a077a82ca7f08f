// Registered memory of the verbs provider: fixed pools of slots (receive buffers, send copies),
// and the registration cache for large user buffers. As section 4.1 of Kim, Kim, Jung: "Building a
// High Performance Communication Layer over VIA on Linux Clusters" (SOVIA) observes, registering
// costs far more than copying a small message, so small sends are copied into a pool slot and only
// large buffers are registered, once, and kept registered while they are reused.
#pragma once

#include <infiniband/verbs.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>

namespace via {
namespace verbs {

// `count` slots of `slot_size` bytes in one page-aligned, registered allocation.
class SlotPool {
 public:
  SlotPool() = default;
  ~SlotPool() { Release(); }
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;

  int Create(ibv_pd* pd, uint32_t count, uint32_t slot_size, int access);  // 0 or -errno
  void Release();
  bool ready() const { return mr_ != nullptr; }
  uint32_t count() const { return count_; }
  uint32_t slot_size() const { return slot_size_; }
  uint8_t* slot(uint32_t i) const { return base_ + size_t(i) * slot_size_; }
  uint32_t lkey() const { return mr_->lkey; }

 private:
  uint8_t* base_ = nullptr;
  ibv_mr* mr_ = nullptr;
  uint32_t count_ = 0;
  uint32_t slot_size_ = 0;
};

// Keeps user buffers registered across sends. An entry is keyed by the exact range of the
// buffer's backing store, pins it (the owner's `release` drops the JS reference that keeps the
// memory alive), and is evicted least-recently-used once the cache holds more than `max_bytes`,
// but never while a send from it is in flight.
class RegistrationCache {
 public:
  struct Entry {
    uint8_t* base = nullptr;
    size_t length = 0;
    ibv_mr* mr = nullptr;
    uint32_t inflight = 0;
    std::function<void()> release;
  };

  explicit RegistrationCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  ~RegistrationCache() { Clear(); }

  // The entry covering [base, base+length), moved to the front; nullptr if none.
  Entry* Find(uint8_t* base, size_t length);
  // Registers a new entry (evicting idle ones beyond the budget). nullptr on failure.
  Entry* Add(ibv_pd* pd, uint8_t* base, size_t length, std::function<void()> release);
  void Clear();
  size_t bytes() const { return bytes_; }
  size_t entries() const { return entries_.size(); }

 private:
  void Evict();
  std::list<Entry> entries_;  // most recently used first
  size_t bytes_ = 0;
  size_t max_bytes_;
};

}  // namespace verbs
}  // namespace via
