// Device UUIDs in nvidia-smi's form: a prefix, then 16 bytes as lowercase hex grouped 8-4-4-4-12,
// e.g. "GPU-5a1c0a4e-2f1b-3c6d-8e9f-0a1b2c3d4e5f". Plain C++ (no CUDA types), so the cuda device
// (prefix "GPU", bytes from cudaDeviceProp.uuid) and the mock (prefix "MOCK", random bytes) share
// one formatter, and the host tests check it.
#pragma once

#include <cstdint>
#include <string>

namespace vs {

inline std::string format_uuid(const char* prefix, const uint8_t bytes[16]) {
  static const char digits[] = "0123456789abcdef";
  std::string out(prefix);
  for (int i = 0; i < 16; ++i) {
    if (i == 0 || i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

}  // namespace vs
