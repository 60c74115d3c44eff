#include "mock_device.h"

#include <cstdlib>
#include <cstring>
#include <random>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "error.h"
#include "vramseal/uuid.h"

namespace vs {
namespace {

// Capacity accounting shared by a device and its live memories, so that memory released after
// its device object is gone (e.g. a digest worker holding the last reference) still balances.
struct Pool {
  std::string name;
  uint64_t total_bytes;
  std::atomic<uint64_t> used{0};
  std::atomic<bool> fail_next{false};
};

Error allocation_failure(const Pool& pool, uint64_t bytes, const std::string& why) {
  return Error::cuda("cudaErrorMemoryAllocation", "mock.cudaMalloc",
                     "mock device '" + pool.name + "' cannot allocate " + std::to_string(bytes) +
                         " bytes: " + why);
}

// Host memory for a mock allocation: zeroed (deterministic) and committed lazily by the OS, as
// calloc would. Large allocations are mapped directly and advised to use transparent huge pages:
// the first write of a fresh 256 MiB allocation then takes 128 page faults instead of 65,536,
// which otherwise cost as much as hashing the bytes (measured in vram-manager's seal benchmark).
// A real GPU's memory has no such cost, so the mock should not invent it.
constexpr uint64_t kMappedThreshold = uint64_t(2) << 20;

uint8_t* allocate_host(uint64_t bytes) {
#if defined(__linux__)
  if (bytes >= kMappedThreshold) {
    void* memory = mmap(nullptr, static_cast<size_t>(bytes), PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return nullptr;
    madvise(memory, static_cast<size_t>(bytes), MADV_HUGEPAGE);  // advice only: may be ignored
    return static_cast<uint8_t*>(memory);
  }
#endif
  return static_cast<uint8_t*>(std::calloc(static_cast<size_t>(bytes), 1));
}

void release_host(uint8_t* memory, uint64_t bytes) {
#if defined(__linux__)
  if (bytes >= kMappedThreshold) {
    munmap(memory, static_cast<size_t>(bytes));
    return;
  }
#endif
  std::free(memory);
}

class MockMemory final : public DeviceMemory {
 public:
  MockMemory(std::shared_ptr<Pool> pool, uint8_t* bytes, uint64_t size,
             const HostDigestConfig& digest)
      : pool_(std::move(pool)), bytes_(bytes), size_(size), digest_(digest) {}
  ~MockMemory() override {
    release_host(bytes_, size_);
    pool_->used -= size_;
  }
  void write(uint64_t offset, const uint8_t* src, uint64_t length) override {
    std::memcpy(bytes_ + offset, src, length);
  }
  void read(uint64_t offset, uint8_t* dst, uint64_t length) const override {
    std::memcpy(dst, bytes_ + offset, length);
  }
  Digest tree_digest(uint64_t offset, uint64_t length, uint64_t leaf_size) const override {
    return vs::tree_digest(bytes_ + offset, length, leaf_size, digest_.hasher, digest_.threads);
  }
  std::vector<Digest> tree_digest_many(const std::vector<DigestRange>& ranges) const override {
    std::vector<HostRange> host;
    host.reserve(ranges.size());
    for (const DigestRange& range : ranges) {
      const auto* memory = dynamic_cast<const MockMemory*>(range.memory);
      if (memory == nullptr) {
        throw Error(Code::InvalidArgument, "a batched digest mixes devices of different kinds");
      }
      host.push_back({memory->bytes_ + range.offset, range.length, range.leaf_size});
    }
    return vs::tree_digest_many(host, digest_.hasher, digest_.threads);
  }
  // Host memory, reachable through a host pointer: honest, and refused by a VRAM-only policy.
  PointerAttributes attributes() const override { return {MemoryType::Host, true}; }

 private:
  std::shared_ptr<Pool> pool_;
  uint8_t* bytes_;
  uint64_t size_;
  HostDigestConfig digest_;
};

// 16 random bytes in the "MOCK-" uuid form: made once per device when its backend is created, so
// it is stable for the backend's life and differs between backends (as two GPUs' uuids do).
std::string random_mock_uuid() {
  std::random_device entropy;
  uint8_t bytes[16];
  for (int i = 0; i < 16; i += 4) {
    const uint32_t word = entropy();
    for (int j = 0; j < 4; ++j) bytes[i + j] = static_cast<uint8_t>(word >> (8 * j));
  }
  return format_uuid("MOCK", bytes);
}

class MockDevice final : public Device {
 public:
  MockDevice(const MockDeviceConfig& config, const HostDigestConfig& digest)
      : pool_(std::make_shared<Pool>()), digest_(digest), uuid_(random_mock_uuid()) {
    pool_->name = config.name;
    pool_->total_bytes = config.total_bytes;
  }

  DeviceInfo info() const override {
    DeviceInfo info;
    info.name = pool_->name;
    info.uuid = uuid_;
    info.total_bytes = pool_->total_bytes;
    info.pageable_memory_access = false;
    return info;
  }

  MemInfo mem_info() const override {
    return MemInfo{pool_->total_bytes - pool_->used.load(), pool_->total_bytes};
  }

  std::unique_ptr<DeviceMemory> allocate(uint64_t bytes) override {
    if (pool_->fail_next.exchange(false)) {
      throw allocation_failure(*pool_, bytes, "failure injected by injectAllocationFailure()");
    }
    // Reserve capacity first (compare-and-swap), so concurrent allocations never overcommit.
    uint64_t used = pool_->used.load();
    do {
      if (bytes > pool_->total_bytes - used) {
        throw allocation_failure(*pool_, bytes,
                                 std::to_string(pool_->total_bytes - used) + " of " +
                                     std::to_string(pool_->total_bytes) + " bytes are free");
      }
    } while (!pool_->used.compare_exchange_weak(used, used + bytes));
    uint8_t* memory = allocate_host(bytes);
    if (memory == nullptr) {
      pool_->used -= bytes;
      throw allocation_failure(*pool_, bytes, "the host is out of memory");
    }
    return std::make_unique<MockMemory>(pool_, memory, bytes, digest_);
  }

  void fail_next_allocation() override { pool_->fail_next = true; }

 private:
  std::shared_ptr<Pool> pool_;
  HostDigestConfig digest_;
  std::string uuid_;
};

}  // namespace

std::unique_ptr<Device> make_mock_device(const MockDeviceConfig& config,
                                         const HostDigestConfig& digest) {
  if (config.total_bytes == 0) {
    throw Error(Code::InvalidArgument,
                "mock device '" + config.name + "' needs totalBytes > 0", "totalBytes");
  }
  return std::make_unique<MockDevice>(config, digest);
}

}  // namespace vs
