#include "handle_table.h"

#include <string>

#include "error.h"

namespace vs {

HandleTable::HandleTable() : rng_(std::random_device{}()) {}

uint64_t HandleTable::insert(std::shared_ptr<Allocation> allocation) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t handle = 0;
  // Random, so handles do not leak allocation order and a guessed or stale one is unlikely to
  // hit a live allocation; never 0, never one in use or remembered as freed.
  do {
    handle = rng_() & kHandleMask;
  } while (handle == 0 || live_.count(handle) != 0 || freed_.count(handle) != 0);
  live_.emplace(handle, std::move(allocation));
  return handle;
}

void HandleTable::throw_missing(uint64_t handle, const char* argument) const {
  if (freed_.count(handle) != 0) {
    throw Error(Code::UseAfterFree,
                std::string(argument) +
                    " refers to an allocation that was already freed; allocate a new one",
                argument);
  }
  throw Error(Code::InvalidHandle,
              std::string(argument) + " is not a live allocation handle of this backend",
              argument);
}

std::shared_ptr<Allocation> HandleTable::find(uint64_t handle, const char* argument) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(handle);
  if (it == live_.end()) throw_missing(handle, argument);
  return it->second;
}

std::shared_ptr<Allocation> HandleTable::remove(uint64_t handle, const char* argument) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(handle);
  if (it == live_.end()) throw_missing(handle, argument);
  std::shared_ptr<Allocation> allocation = std::move(it->second);
  live_.erase(it);
  freed_.insert(handle);
  freed_order_.push_back(handle);
  if (freed_order_.size() > kFreedHistory) {
    freed_.erase(freed_order_.front());
    freed_order_.pop_front();
  }
  return allocation;
}

size_t HandleTable::live_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_.size();
}

}  // namespace vs
