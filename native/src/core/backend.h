// A backend: its devices plus one handle table, and every safety rule in one place:
// device indices checked, sizes checked, every copy bounds-checked before any byte moves,
// handles validated (double free and use after free are errors), pinned byte ranges protected.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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

  // `fault_injection`: corrupt() is allowed (always on the mock; on cuda only when asked for).
  Backend(std::string kind, std::vector<std::unique_ptr<Device>> devices, bool fault_injection);

  static std::unique_ptr<Backend> mock(const std::vector<MockDeviceConfig>& devices,
                                       const HostDigestConfig& digest);
  // Throws Error(Code::Cuda) when no CUDA device answers. `allow_fault_injection` enables
  // corrupt() on device memory (tamper tests on a GPU); without it corrupt() is UNSUPPORTED.
  static std::unique_ptr<Backend> cuda(bool allow_fault_injection = false);

  const std::string& kind() const { return kind_; }
  bool fault_injection() const { return fault_injection_; }
  int device_count() const { return static_cast<int>(devices_.size()); }
  DeviceInfo device_info(int64_t device) const;
  MemInfo mem_info(int64_t device) const;

  uint64_t allocate(int64_t device, uint64_t bytes);
  void free(uint64_t handle);
  void write(uint64_t handle, uint64_t offset, const uint8_t* data, uint64_t length);
  void read(uint64_t handle, uint64_t offset, uint8_t* out, uint64_t length) const;
  uint64_t size_of(uint64_t handle) const;
  PointerAttributes attributes(uint64_t handle) const;
  // Fault injection: XOR one byte with `mask`, by copying it out, XORing and copying it back
  // (the same read/write path on every device). UNSUPPORTED unless fault_injection().
  void corrupt(uint64_t handle, uint64_t offset, uint8_t mask);
  void fail_next_allocation(int64_t device);
  size_t live_allocations() const { return table_.live_count(); }

  // An allocation kept alive, with one byte range of it registered in its RangeLocks, until
  // destroyed: the part a Pin and a WriteLease share. Move-only; a moved-from hold releases
  // nothing.
  class RangeHold {
   public:
    RangeHold(RangeHold&& other) noexcept;
    RangeHold(const RangeHold&) = delete;
    RangeHold& operator=(const RangeHold&) = delete;
    RangeHold& operator=(RangeHold&&) = delete;
    ~RangeHold();
    uint64_t offset() const { return offset_; }
    uint64_t length() const { return length_; }

   protected:
    // `ticket` is the registration of [offset, offset + length) in allocation->locks (0: none).
    RangeHold(std::shared_ptr<Allocation> allocation, uint64_t offset, uint64_t length,
              RangeLocks::Ticket ticket);
    std::shared_ptr<Allocation> allocation_;
    uint64_t offset_;
    uint64_t length_;

   private:
    RangeLocks::Ticket ticket_;
  };

  // Keeps an allocation alive, and the byte range [offset, offset + length) of it unwritable,
  // while a digest reads that range (possibly on a worker thread). Writes outside the range go
  // ahead.
  class Pin : public RangeHold {
   public:
    Pin(std::shared_ptr<Allocation> allocation, uint64_t offset, uint64_t length);
    // sha256-tree-v1 root of the pinned range as a tree of its own. Checks the leaf size and
    // that the range starts on a leaf boundary (INVALID_ARGUMENT).
    Digest tree_digest(uint64_t leaf_size) const;
    // The same, timed on the device (bench:gpu; UNSUPPORTED on the mock): milliseconds.
    float timed_tree_digest(uint64_t leaf_size, Digest* root) const;
    // What is pinned, for a batch of digests.
    int device() const { return allocation_->device; }
    DigestRange range(uint64_t leaf_size) const {
      return {allocation_->memory.get(), offset_, length_, leaf_size};
    }
  };

  // One digest of a batch: the range [offset, offset + length) (to the end when `length` is
  // empty) of `handle`, with leaves of `leaf_size`.
  struct DigestRequest {
    uint64_t handle;
    uint64_t leaf_size;
    uint64_t offset;
    std::optional<uint64_t> length;
  };

  // The pinned ranges of a batch of digests (pin_many), computed together by tree_digests(): one
  // batch of device work per device on cuda, one pool of host threads on the mock. Move-only.
  class PinSet {
   public:
    // The roots in request order. May run on a worker thread.
    std::vector<Digest> tree_digests() const;
    // The same, timed on the device (bench:gpu; UNSUPPORTED on the mock): milliseconds, summed
    // over the devices in the batch.
    float timed_tree_digests(std::vector<Digest>* roots) const;
    size_t size() const { return pins_.size(); }

   private:
    friend class Backend;
    // Calls batch(members, ranges) once per device: the request indices and their ranges.
    template <typename Batch>
    void per_device(Batch&& batch) const;
    std::vector<Pin> pins_;
    std::vector<uint64_t> leaf_sizes_;
  };
  // Checks and pins every request as pin() and Pin::tree_digest() check a single one; the first
  // refusal is thrown (pins taken before it are released), naming the request: its message
  // starts "items[i]: " and its argument is "items[i].<argument>".
  PinSet pin_many(const std::vector<DigestRequest>& requests);

  // Keeps an allocation alive, and [offset, offset + length) of it registered as being written,
  // while a worker thread copies into that range (writeAsync): a digest of an overlapping range
  // is refused meanwhile, and free() cannot release the memory under the copy.
  class WriteLease : public RangeHold {
   public:
    WriteLease(std::shared_ptr<Allocation> allocation, uint64_t offset, uint64_t length);
    // Copies `length` bytes from `data` to the leased range through the device's staging path
    // (cuda: the ring of pinned buffers). May run on any thread.
    void copy_from(const uint8_t* data) const;
  };
  // Checks the range (OUT_OF_BOUNDS) and registers the write (ALLOCATION_BUSY when a digest has
  // pinned an overlapping range), on the calling thread, before any copy is queued.
  WriteLease lease_write(uint64_t handle, uint64_t offset, uint64_t length);

  // bench:gpu hooks, in device milliseconds (CUDA events; UNSUPPORTED on the mock), with the
  // same checks as the operations they time: a write of `data` into [offset, offset + length)
  // from pageable memory (write()'s path) or from a pinned copy of it (the reference), and a
  // device-to-device copy of the whole allocation into scratch memory (the HBM reference).
  float bench_write(uint64_t handle, uint64_t offset, const uint8_t* data, uint64_t length,
                    CopySource source);
  float bench_device_copy(uint64_t handle) const;

  // Pins the whole allocation.
  Pin pin(uint64_t handle);
  // Pins [offset, offset + length) (to the end when `length` is empty). OUT_OF_BOUNDS when it does
  // not fit, ALLOCATION_BUSY when a write to an overlapping range is in progress on another thread.
  Pin pin(uint64_t handle, uint64_t offset, std::optional<uint64_t> length);

 private:
  Device& device_at(int64_t device) const;
  // Runs `copy` while [offset, offset + length) is registered as being written: refused with
  // ALLOCATION_BUSY when a digest has pinned an overlapping range.
  template <typename Copy>
  void guarded_write(uint64_t handle, uint64_t offset, uint64_t length, const char* operation,
                     Copy&& copy);

  std::string kind_;
  std::vector<std::unique_ptr<Device>> devices_;
  bool fault_injection_;
  HandleTable table_;
};

}  // namespace vs
