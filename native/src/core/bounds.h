// Overflow-safe range checks: every copy is checked here before any byte moves.
#pragma once

#include <cstdint>
#include <string>

#include "error.h"

namespace vs {

// True when [offset, offset + length) lies inside [0, size). Written as two comparisons that
// cannot wrap: `offset + length` itself could overflow for hostile 64-bit inputs.
inline bool range_fits(uint64_t offset, uint64_t length, uint64_t size) {
  return length <= size && offset <= size - length;
}

inline void check_range(uint64_t offset, uint64_t length, uint64_t size) {
  if (!range_fits(offset, length, size)) {
    throw Error(Code::OutOfBounds,
                "offset " + std::to_string(offset) + " + length " + std::to_string(length) +
                    " is outside the allocation of " + std::to_string(size) +
                    " bytes; keep offset + length <= bytes",
                "offset");
  }
}

}  // namespace vs
