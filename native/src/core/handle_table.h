// Opaque handles for allocations. JavaScript only ever sees these 53-bit random integers (exact
// in a JS number), never a pointer. Freed handles are remembered (a bounded history), so a stale
// handle is reported as USE_AFTER_FREE rather than "unknown", and a handle is never reused while
// it is remembered.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "device.h"
#include "range_locks.h"

namespace vs {

struct Allocation {
  int device = 0;
  uint64_t bytes = 0;
  std::unique_ptr<DeviceMemory> memory;
  // Byte ranges that digests in flight read (writes overlapping them are refused) and writes in
  // progress. Freeing a pinned allocation removes the handle at once; the memory goes when the
  // last digest lets go of its shared_ptr.
  RangeLocks locks;
};

class HandleTable {
 public:
  // How many freed handles are remembered for USE_AFTER_FREE reports.
  static constexpr size_t kFreedHistory = 1 << 16;
  static constexpr uint64_t kHandleMask = (uint64_t(1) << 53) - 1;

  HandleTable();
  uint64_t insert(std::shared_ptr<Allocation> allocation);
  // Throws USE_AFTER_FREE or INVALID_HANDLE, naming `argument`.
  std::shared_ptr<Allocation> find(uint64_t handle, const char* argument) const;
  // Removes the handle and returns what it held; same errors as find().
  std::shared_ptr<Allocation> remove(uint64_t handle, const char* argument);
  size_t live_count() const;

 private:
  [[noreturn]] void throw_missing(uint64_t handle, const char* argument) const;
  mutable std::mutex mutex_;
  std::mt19937_64 rng_;
  std::unordered_map<uint64_t, std::shared_ptr<Allocation>> live_;
  std::unordered_set<uint64_t> freed_;
  std::deque<uint64_t> freed_order_;
};

}  // namespace vs
