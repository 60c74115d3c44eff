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

// True when the half-open byte ranges [a, a + a_length) and [b, b + b_length) share a byte.
// Empty ranges share nothing; ranges that only touch (one ends where the other starts) do not
// overlap. No sum is formed, so it cannot wrap for any 64-bit inputs.
inline bool ranges_overlap(uint64_t a, uint64_t a_length, uint64_t b, uint64_t b_length) {
  if (a_length == 0 || b_length == 0) return false;
  return a <= b ? b - a < a_length : a - b < b_length;
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
