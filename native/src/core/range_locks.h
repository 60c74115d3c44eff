// Which byte ranges of one allocation are being digested (pinned) or written right now.
//
// A digest reads its range on a worker thread, so no write may change those bytes until it ends;
// writes elsewhere in the allocation go ahead. The rule, under one mutex so that callers on
// several threads are safe:
//   - a write (or corrupt) whose range overlaps a pinned range is refused: ALLOCATION_BUSY;
//   - a pin whose range overlaps a write still in progress is refused: ALLOCATION_BUSY (only
//     reachable when the core is called from several threads; the addon writes synchronously
//     on the JS thread, so there a write is never in progress when a digest is queued);
//   - pins may overlap pins, and writes may overlap writes (as before: the caller's business).
// Empty ranges overlap nothing, and ranges that only touch do not overlap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace vs {

class RangeLocks {
 public:
  using Ticket = uint64_t;

  // Registers a digest's read of [offset, offset + length); the caller has checked the range.
  Ticket pin(uint64_t offset, uint64_t length);
  // Registers a write of [offset, offset + length) by `operation` ("write", "corrupt").
  Ticket begin_write(uint64_t offset, uint64_t length, const char* operation);
  // Ends a pin or a write. Unknown tickets are ignored.
  void release(Ticket ticket) noexcept;

  size_t pinned_count() const;
  size_t writing_count() const;

 private:
  enum class Kind { Pin, Write };
  struct Entry {
    Ticket ticket;
    Kind kind;
    uint64_t offset;
    uint64_t length;
  };
  Ticket add(Kind kind, uint64_t offset, uint64_t length, const char* operation);
  size_t count(Kind kind) const;

  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  Ticket next_ = 1;
};

// "[offset, offset + length)" for messages (offsets only, never addresses).
std::string describe_range(uint64_t offset, uint64_t length);

}  // namespace vs
