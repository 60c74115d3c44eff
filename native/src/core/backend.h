// A backend: its devices plus one handle table, and every safety rule in one place:
// device indices checked, sizes checked, every copy bounds-checked before any byte moves,
// handles validated (double free and use after free are errors), pinned allocations protected.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "device.h"
#include "handle_table.h"
#include "mock_device.h"

namespace vs {

class Backend {
 public:
  // The largest allocation the API accepts: 2^53 - 1, the largest exact integer in JavaScript.
  static constexpr uint64_t kMaxAllocationBytes = (uint64_t(1) << 53) - 1;

  Backend(std::string kind, std::vector<std::unique_ptr<Device>> devices);

  static std::unique_ptr<Backend> mock(const std::vector<MockDeviceConfig>& devices,
                                       const HostDigestConfig& digest);
  // Throws Error(Code::Cuda) when no CUDA device answers.
  static std::unique_ptr<Backend> cuda();

  const std::string& kind() const { return kind_; }
  int device_count() const { return static_cast<int>(devices_.size()); }
  DeviceInfo device_info(int64_t device) const;
  MemInfo mem_info(int64_t device) const;

  uint64_t allocate(int64_t device, uint64_t bytes);
  void free(uint64_t handle);
  void write(uint64_t handle, uint64_t offset, const uint8_t* data, uint64_t length);
  void read(uint64_t handle, uint64_t offset, uint8_t* out, uint64_t length) const;
  uint64_t size_of(uint64_t handle) const;
  MemoryType memory_type(uint64_t handle) const;
  void corrupt(uint64_t handle, uint64_t offset, uint8_t mask);
  void fail_next_allocation(int64_t device);
  size_t live_allocations() const { return table_.live_count(); }

  // Keeps an allocation alive and unwritable while a digest reads it (possibly on a worker
  // thread); released by the destructor. Move-only.
  class Pin {
   public:
    explicit Pin(std::shared_ptr<Allocation> allocation);
    Pin(Pin&& other) noexcept = default;
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    Pin& operator=(Pin&&) = delete;
    ~Pin();
    Digest tree_digest(uint64_t leaf_size) const;

   private:
    std::shared_ptr<Allocation> allocation_;
  };
  Pin pin(uint64_t handle);

 private:
  Device& device_at(int64_t device) const;
  std::shared_ptr<Allocation> writable(uint64_t handle, const char* operation) const;

  std::string kind_;
  std::vector<std::unique_ptr<Device>> devices_;
  HandleTable table_;
};

}  // namespace vs
