// A device in host memory: configured name and capacity, the same handle table and checks as
// CUDA above it, and fault injection (bit flips, a failing next allocation) for tests. It is
// honest about what it is: its memory type is Host, never Device.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "device.h"

namespace vs {

struct MockDeviceConfig {
  std::string name;
  uint64_t total_bytes = 0;
};

// How the mock digests: which SHA-256 and how many threads.
struct HostDigestConfig {
  Hasher hasher;
  unsigned threads;
};

std::unique_ptr<Device> make_mock_device(const MockDeviceConfig& config,
                                         const HostDigestConfig& digest);

}  // namespace vs
