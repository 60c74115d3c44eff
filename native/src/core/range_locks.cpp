#include "range_locks.h"

#include <algorithm>

#include "bounds.h"
#include "error.h"

namespace vs {

std::string describe_range(uint64_t offset, uint64_t length) {
  return "[" + std::to_string(offset) + ", " + std::to_string(offset + length) + ")";
}

RangeLocks::Ticket RangeLocks::pin(uint64_t offset, uint64_t length) {
  return add(Kind::Pin, offset, length, "treeDigest");
}

RangeLocks::Ticket RangeLocks::begin_write(uint64_t offset, uint64_t length,
                                           const char* operation) {
  return add(Kind::Write, offset, length, operation);
}

RangeLocks::Ticket RangeLocks::add(Kind kind, uint64_t offset, uint64_t length,
                                   const char* operation) {
  std::lock_guard<std::mutex> lock(mutex_);
  // A pin conflicts with writes in progress, a write with pins; same kinds never conflict.
  const Kind conflicting = kind == Kind::Pin ? Kind::Write : Kind::Pin;
  for (const Entry& e : entries_) {
    if (e.kind != conflicting || !ranges_overlap(offset, length, e.offset, e.length)) continue;
    if (kind == Kind::Write) {
      throw Error(Code::AllocationBusy,
                  std::string(operation) + " of bytes " + describe_range(offset, length) +
                      " refused: a treeDigest() is reading bytes " +
                      describe_range(e.offset, e.length) +
                      " of this allocation; await it first, or write outside that range",
                  "handle");
    }
    throw Error(Code::AllocationBusy,
                "treeDigest of bytes " + describe_range(offset, length) +
                    " refused: a write to bytes " + describe_range(e.offset, e.length) +
                    " of this allocation is in progress on another thread; retry after it",
                "handle");
  }
  const Ticket ticket = next_++;
  entries_.push_back({ticket, kind, offset, length});
  return ticket;
}

void RangeLocks::release(Ticket ticket) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.ticket == ticket; });
  if (it != entries_.end()) entries_.erase(it);
}

size_t RangeLocks::count(Kind kind) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(),
                                           [&](const Entry& e) { return e.kind == kind; }));
}

size_t RangeLocks::pinned_count() const { return count(Kind::Pin); }
size_t RangeLocks::writing_count() const { return count(Kind::Write); }

}  // namespace vs
