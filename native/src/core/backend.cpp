#include "backend.h"

#include <map>

#include "bounds.h"
#include "cuda_device.h"
#include "error.h"

namespace vs {

Backend::Backend(std::string kind, std::vector<std::unique_ptr<Device>> devices,
                 bool fault_injection)
    : kind_(std::move(kind)), devices_(std::move(devices)), fault_injection_(fault_injection) {}

std::unique_ptr<Backend> Backend::mock(const std::vector<MockDeviceConfig>& configs,
                                       const HostDigestConfig& digest) {
  if (configs.empty()) {
    throw Error(Code::InvalidArgument, "a mock backend needs at least one device", "devices");
  }
  std::vector<std::unique_ptr<Device>> devices;
  for (const auto& config : configs) devices.push_back(make_mock_device(config, digest));
  return std::make_unique<Backend>("mock", std::move(devices), true);
}

std::unique_ptr<Backend> Backend::cuda(bool allow_fault_injection) {
  return std::make_unique<Backend>("cuda", make_cuda_devices(), allow_fault_injection);
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
  // The handle is gone now; a pinned allocation's memory goes when its last digest finishes.
  std::shared_ptr<Allocation> allocation = table_.remove(handle, "handle");
  // No pin and no other owner: release now, so a failing cudaFree reaches the caller.
  if (allocation.use_count() == 1) allocation->memory->release();
}

template <typename Copy>
void Backend::guarded_write(uint64_t handle, uint64_t offset, uint64_t length,
                            const char* operation, Copy&& copy) {
  auto allocation = table_.find(handle, "handle");
  check_range(offset, length, allocation->bytes);
  if (length == 0) return;
  // Registered for the duration of the copy, so a digest on another thread cannot pin an
  // overlapping range halfway through it.
  const RangeLocks::Ticket ticket = allocation->locks.begin_write(offset, length, operation);
  struct Release {
    RangeLocks& locks;
    RangeLocks::Ticket ticket;
    ~Release() { locks.release(ticket); }
  } release{allocation->locks, ticket};
  copy(*allocation->memory);
}

void Backend::write(uint64_t handle, uint64_t offset, const uint8_t* data, uint64_t length) {
  guarded_write(handle, offset, length, "write",
                [&](DeviceMemory& memory) { memory.write(offset, data, length); });
}

void Backend::read(uint64_t handle, uint64_t offset, uint8_t* out, uint64_t length) const {
  auto allocation = table_.find(handle, "handle");
  check_range(offset, length, allocation->bytes);
  if (length > 0) allocation->memory->read(offset, out, length);
}

uint64_t Backend::size_of(uint64_t handle) const { return table_.find(handle, "handle")->bytes; }

PointerAttributes Backend::attributes(uint64_t handle) const {
  return table_.find(handle, "handle")->memory->attributes();
}

void Backend::corrupt(uint64_t handle, uint64_t offset, uint8_t mask) {
  if (!fault_injection_) {
    // Checked first, so a cuda backend without the option never even looks the handle up.
    throw Error(Code::Unsupported,
                "corrupt() is fault injection: the " + kind_ +
                    " backend allows it only when opened with allowFaultInjection: true; device "
                    "memory is otherwise never modified behind the caller's back",
                "allowFaultInjection");
  }
  guarded_write(handle, offset, 1, "corrupt", [&](DeviceMemory& memory) {
    uint8_t byte = 0;
    memory.read(offset, &byte, 1);
    byte ^= mask;
    memory.write(offset, &byte, 1);
  });
}

void Backend::fail_next_allocation(int64_t device) { device_at(device).fail_next_allocation(); }

float Backend::bench_write(uint64_t handle, uint64_t offset, const uint8_t* data, uint64_t length,
                           CopySource source) {
  float ms = 0;
  guarded_write(handle, offset, length, "write", [&](DeviceMemory& memory) {
    ms = memory.timed_write(offset, data, length, source);
  });
  return ms;
}

float Backend::bench_device_copy(uint64_t handle) const {
  auto allocation = table_.find(handle, "handle");
  return allocation->memory->timed_device_copy(0, allocation->bytes);
}

Backend::WriteLease Backend::lease_write(uint64_t handle, uint64_t offset, uint64_t length) {
  auto allocation = table_.find(handle, "handle");
  check_range(offset, length, allocation->bytes);
  return WriteLease(std::move(allocation), offset, length);
}

Backend::WriteLease::WriteLease(std::shared_ptr<Allocation> allocation, uint64_t offset,
                                uint64_t length)
    // An empty write touches nothing, so it registers nothing (as a synchronous write).
    : RangeHold(allocation, offset, length,
                length == 0 ? 0 : allocation->locks.begin_write(offset, length, "writeAsync")) {}

void Backend::WriteLease::copy_from(const uint8_t* data) const {
  if (length_ > 0) allocation_->memory->write_staged(offset_, data, length_);
}

Backend::Pin Backend::pin(uint64_t handle) { return pin(handle, 0, std::nullopt); }

Backend::Pin Backend::pin(uint64_t handle, uint64_t offset, std::optional<uint64_t> length) {
  auto allocation = table_.find(handle, "handle");
  // offset <= bytes first, so the default length (to the end) cannot wrap.
  check_range(offset, 0, allocation->bytes);
  const uint64_t n = length.value_or(allocation->bytes - offset);
  check_range(offset, n, allocation->bytes);
  return Pin(std::move(allocation), offset, n);
}

Backend::RangeHold::RangeHold(std::shared_ptr<Allocation> allocation, uint64_t offset,
                              uint64_t length, RangeLocks::Ticket ticket)
    : allocation_(std::move(allocation)), offset_(offset), length_(length), ticket_(ticket) {}

Backend::RangeHold::RangeHold(RangeHold&& other) noexcept
    : allocation_(std::move(other.allocation_)),
      offset_(other.offset_),
      length_(other.length_),
      ticket_(other.ticket_) {
  other.ticket_ = 0;
}

Backend::RangeHold::~RangeHold() {
  if (allocation_ && ticket_ != 0) allocation_->locks.release(ticket_);
}

Backend::Pin::Pin(std::shared_ptr<Allocation> allocation, uint64_t offset, uint64_t length)
    : RangeHold(allocation, offset, length, allocation->locks.pin(offset, length)) {}

Digest Backend::Pin::tree_digest(uint64_t leaf_size) const {
  check_leaf_size(leaf_size);
  check_digest_offset(offset_, leaf_size);
  return allocation_->memory->tree_digest(offset_, length_, leaf_size);
}

float Backend::Pin::timed_tree_digest(uint64_t leaf_size, Digest* root) const {
  check_leaf_size(leaf_size);
  check_digest_offset(offset_, leaf_size);
  return allocation_->memory->timed_tree_digest(offset_, length_, leaf_size, root);
}

Backend::PinSet Backend::pin_many(const std::vector<DigestRequest>& requests) {
  PinSet set;
  set.pins_.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const DigestRequest& request = requests[i];
    try {
      check_leaf_size(request.leaf_size);
      check_digest_offset(request.offset, request.leaf_size);
      set.pins_.push_back(pin(request.handle, request.offset, request.length));
      set.leaf_sizes_.push_back(request.leaf_size);
    } catch (const Error& e) {
      if (e.code() == Code::Cuda) throw;
      const std::string item = "items[" + std::to_string(i) + "]";
      throw Error(e.code(), item + ": " + e.what(),
                  e.argument().empty() ? item : item + "." + e.argument());
    }
  }
  return set;
}

template <typename Batch>
void Backend::PinSet::per_device(Batch&& batch) const {
  // One batch per device: each device's ranges go to the first of its memories, which digests
  // them all (a memory's batch takes ranges of any memory of the same device).
  std::map<int, std::vector<size_t>> by_device;
  for (size_t i = 0; i < pins_.size(); ++i) by_device[pins_[i].device()].push_back(i);
  for (const auto& entry : by_device) {
    const std::vector<size_t>& members = entry.second;
    std::vector<DigestRange> ranges;
    ranges.reserve(members.size());
    for (size_t i : members) ranges.push_back(pins_[i].range(leaf_sizes_[i]));
    batch(members, ranges);
  }
}

std::vector<Digest> Backend::PinSet::tree_digests() const {
  std::vector<Digest> roots(pins_.size());
  per_device([&](const std::vector<size_t>& members, const std::vector<DigestRange>& ranges) {
    const std::vector<Digest> found = ranges.front().memory->tree_digest_many(ranges);
    for (size_t k = 0; k < members.size(); ++k) roots[members[k]] = found[k];
  });
  return roots;
}

float Backend::PinSet::timed_tree_digests(std::vector<Digest>* roots) const {
  roots->assign(pins_.size(), Digest{});
  float ms = 0;
  per_device([&](const std::vector<size_t>& members, const std::vector<DigestRange>& ranges) {
    std::vector<Digest> found;
    ms += ranges.front().memory->timed_tree_digest_many(ranges, &found);
    for (size_t k = 0; k < members.size(); ++k) (*roots)[members[k]] = found[k];
  });
  return ms;
}

}  // namespace vs
