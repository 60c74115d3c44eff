#include "backend.h"

#include "bounds.h"
#include "cuda_device.h"
#include "error.h"

namespace vs {

Backend::Backend(std::string kind, std::vector<std::unique_ptr<Device>> devices)
    : kind_(std::move(kind)), devices_(std::move(devices)) {}

std::unique_ptr<Backend> Backend::mock(const std::vector<MockDeviceConfig>& configs,
                                       const HostDigestConfig& digest) {
  if (configs.empty()) {
    throw Error(Code::InvalidArgument, "a mock backend needs at least one device", "devices");
  }
  std::vector<std::unique_ptr<Device>> devices;
  for (const auto& config : configs) devices.push_back(make_mock_device(config, digest));
  return std::make_unique<Backend>("mock", std::move(devices));
}

std::unique_ptr<Backend> Backend::cuda() {
  return std::make_unique<Backend>("cuda", make_cuda_devices());
}

Device& Backend::device_at(int64_t device) const {
  if (device < 0 || device >= device_count()) {
    throw Error(Code::InvalidDevice,
                "device " + std::to_string(device) + " does not exist; this " + kind_ +
                    " backend has devices 0.." + std::to_string(device_count() - 1),
                "device");
  }
  return *devices_[static_cast<size_t>(device)];
}

DeviceInfo Backend::device_info(int64_t device) const { return device_at(device).info(); }

MemInfo Backend::mem_info(int64_t device) const { return device_at(device).mem_info(); }

uint64_t Backend::allocate(int64_t device, uint64_t bytes) {
  Device& target = device_at(device);
  if (bytes == 0 || bytes > kMaxAllocationBytes) {
    throw Error(Code::InvalidArgument,
                "bytes must be an integer between 1 and 2^53 - 1, got " + std::to_string(bytes),
                "bytes");
  }
  auto allocation = std::make_shared<Allocation>();
  allocation->device = static_cast<int>(device);
  allocation->bytes = bytes;
  allocation->memory = target.allocate(bytes);
  return table_.insert(std::move(allocation));
}

void Backend::free(uint64_t handle) {
  // The handle is gone now; a pinned allocation's memory goes when its digest finishes.
  std::shared_ptr<Allocation> allocation = table_.remove(handle, "handle");
  // Unpinned and no other owner: release now, so a failing cudaFree reaches the caller.
  if (allocation->pins.load() == 0 && allocation.use_count() == 1) allocation->memory->release();
}

std::shared_ptr<Allocation> Backend::writable(uint64_t handle, const char* operation) const {
  auto allocation = table_.find(handle, "handle");
  if (allocation->pins.load() > 0) {
    throw Error(Code::AllocationBusy,
                std::string(operation) +
                    " refused: a treeDigest() is reading this allocation; await it first",
                "handle");
  }
  return allocation;
}

void Backend::write(uint64_t handle, uint64_t offset, const uint8_t* data, uint64_t length) {
  auto allocation = writable(handle, "write");
  check_range(offset, length, allocation->bytes);
  if (length > 0) allocation->memory->write(offset, data, length);
}

void Backend::read(uint64_t handle, uint64_t offset, uint8_t* out, uint64_t length) const {
  auto allocation = table_.find(handle, "handle");
  check_range(offset, length, allocation->bytes);
  if (length > 0) allocation->memory->read(offset, out, length);
}

uint64_t Backend::size_of(uint64_t handle) const { return table_.find(handle, "handle")->bytes; }

MemoryType Backend::memory_type(uint64_t handle) const {
  return table_.find(handle, "handle")->memory->memory_type();
}

void Backend::corrupt(uint64_t handle, uint64_t offset, uint8_t mask) {
  auto allocation = writable(handle, "corrupt");
  check_range(offset, 1, allocation->bytes);
  allocation->memory->xor_byte(offset, mask);
}

void Backend::fail_next_allocation(int64_t device) { device_at(device).fail_next_allocation(); }

Backend::Pin Backend::pin(uint64_t handle) { return Pin(table_.find(handle, "handle")); }

Backend::Pin::Pin(std::shared_ptr<Allocation> allocation) : allocation_(std::move(allocation)) {
  ++allocation_->pins;
}

Backend::Pin::~Pin() {
  if (allocation_) --allocation_->pins;
}

Digest Backend::Pin::tree_digest(uint64_t leaf_size) const {
  return allocation_->memory->tree_digest(leaf_size);
}

}  // namespace vs
