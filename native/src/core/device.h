// What a backend's device offers. Two implementations: MockDevice (host memory, fault injection)
// and CudaDevice (cuda/ API). The handle table and every bounds check sit above this interface,
// in Backend, so both devices get exactly the same safety rules.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "error.h"
#include "tree_digest.h"
#include "vramseal/cuda_api.h"

namespace vs {

using MemoryType = cuda::MemoryType;
using PointerAttributes = cuda::PointerAttributes;

// What deviceInfo(i) reports: the same fields cudaGetDeviceProperties gives (the mock fills them
// from its configuration), so the two devices cannot drift apart.
using DeviceInfo = cuda::DeviceProperties;

struct MemInfo {
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
};

// How a timed copy into device memory goes (bench:gpu): from the caller's pageable memory, as
// write() does; through the staging ring, as writeAsync does; or from a pinned copy of the same
// bytes made beforehand (the physical reference).
enum class CopySource { Pageable, Staged, Pinned };

class DeviceMemory;

// One range of a batched digest: [offset, offset + length) of `memory`, leaves of `leaf_size`.
struct DigestRange {
  const DeviceMemory* memory;
  uint64_t offset;
  uint64_t length;
  uint64_t leaf_size;
};

// One allocation's memory. Callers (Backend) have already checked every range.
class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;
  virtual void write(uint64_t offset, const uint8_t* src, uint64_t length) = 0;
  // The same copy through the device's staging path, for copies off the JS thread (writeAsync):
  // the ring of pinned buffers on cuda (cuda::copy_host_to_device_staged), write() elsewhere.
  virtual void write_staged(uint64_t offset, const uint8_t* src, uint64_t length) {
    write(offset, src, length);
  }
  virtual void read(uint64_t offset, uint8_t* dst, uint64_t length) const = 0;
  // sha256-tree-v1 root of bytes [offset, offset + length), as a tree of its own. May run on a
  // worker thread.
  virtual Digest tree_digest(uint64_t offset, uint64_t length, uint64_t leaf_size) const = 0;
  // The roots of several ranges, each a tree of its own, of memories on this memory's device
  // (made by the same Device): one batch of device work on cuda, one pool of host threads on the
  // mock; by default one digest after another. May run on a worker thread.
  virtual std::vector<Digest> tree_digest_many(const std::vector<DigestRange>& ranges) const {
    std::vector<Digest> roots;
    roots.reserve(ranges.size());
    for (const DigestRange& r : ranges) {
      roots.push_back(r.memory->tree_digest(r.offset, r.length, r.leaf_size));
    }
    return roots;
  }
  // cudaPointerGetAttributes of the allocation (the mock reports host memory with a host pointer).
  virtual PointerAttributes attributes() const = 0;
  // Frees the memory now and reports failure (cudaFree can fail); the destructor frees whatever
  // was not released, silently, since destructors cannot throw.
  virtual void release() {}

  // bench:gpu hooks: an operation above, or its physical reference, timed on the device with CUDA
  // events, in milliseconds. The mock has no device clock: UNSUPPORTED.
  virtual float timed_tree_digest(uint64_t, uint64_t, uint64_t, Digest*) const {
    throw no_device_clock();
  }
  virtual float timed_write(uint64_t, const uint8_t*, uint64_t, CopySource) {
    throw no_device_clock();
  }
  // A device-to-device copy of [offset, offset + length) into scratch memory.
  virtual float timed_device_copy(uint64_t, uint64_t) const { throw no_device_clock(); }
  // tree_digest_many, timed.
  virtual float timed_tree_digest_many(const std::vector<DigestRange>&,
                                       std::vector<Digest>*) const {
    throw no_device_clock();
  }

 protected:
  static Error no_device_clock() {
    return Error(Code::Unsupported,
                 "device-time measurements (bench:gpu) need the cuda backend; the mock has no "
                 "device clock");
  }
};

class Device {
 public:
  virtual ~Device() = default;
  virtual DeviceInfo info() const = 0;
  virtual MemInfo mem_info() const = 0;
  // `bytes` is > 0. Failure (out of memory included) throws Error with Code::Cuda.
  virtual std::unique_ptr<DeviceMemory> allocate(uint64_t bytes) = 0;
  // Fault injection: the next allocate() fails as cudaMalloc would. Only the mock supports it.
  virtual void fail_next_allocation() = 0;
};

}  // namespace vs
