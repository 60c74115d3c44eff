// Device memory operations behind a plain C++ header.
//
// native/ includes only this header, so the same C++ compiles with or without nvcc: with CUDA the
// definitions come from src/cuda_api.cu and src/tree_digest.cu, without it from
// src/cuda_api_stub.cpp, whose every call reports that the addon was built without CUDA.
// Device pointers stay on the C++ side; the addon hands JavaScript opaque handles only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace vs {
namespace cuda {

// The outcome of one CUDA call: `name` is the cudaError_t name (e.g. "cudaErrorMemoryAllocation"),
// `operation` the CUDA API that failed, `message` cudaGetErrorString plus where it happened.
struct Status {
  int code = 0;
  std::string name;
  std::string operation;
  std::string message;
  bool ok() const { return code == 0; }
};

enum class MemoryType { Unregistered, Host, Device, Managed };

// What cudaPointerGetAttributes says about an allocation: its memory type, and whether the
// memory can also be reached through a host pointer (attr.hostPointer != nullptr). Memory from
// cudaMalloc is Device with no host pointer; anything else fails a VRAM-only policy.
struct PointerAttributes {
  MemoryType type = MemoryType::Unregistered;
  bool host_pointer = false;
};

// What deviceInfo(i) reports. The cuda device fills it from cudaGetDeviceProperties, the mock
// from its configuration: one struct, so the two cannot drift apart.
struct DeviceProperties {
  std::string name;
  // nvidia-smi's form, from cudaDeviceProp.uuid: "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
  // (lowercase hex). The mock's is random per backend and starts with "MOCK-" (see uuid.h).
  std::string uuid;
  uint64_t total_bytes = 0;
  int compute_major = 0;
  int compute_minor = 0;
  bool integrated = false;
  bool managed_memory = false;
  bool unified_addressing = false;
  // cudaDeviceProp.pageableMemoryAccess: the device can read pageable host memory directly
  // (HMM / ATS systems). False on the mock.
  bool pageable_memory_access = false;
  int multiprocessor_count = 0;
};

// True when this build linked the CUDA runtime (nvcc was found at configure time).
bool built_with_cuda();
// cudaRuntimeGetVersion of the statically linked runtime (e.g. 13000 for 13.0).
Status runtime_version(int* version);
// cudaDriverGetVersion: 0 when no driver is installed.
Status driver_version(int* version);

// cudaGetDeviceCount: the "does a GPU answer" probe. Without a driver this returns
// cudaErrorInsufficientDriver, which is how a machine without a GPU is recognised.
Status device_count(int* count);
Status device_properties(int device, DeviceProperties* out);
Status mem_get_info(int device, uint64_t* free_bytes, uint64_t* total_bytes);
Status malloc_device(int device, uint64_t bytes, void** out);
Status free_device(int device, void* ptr);
Status copy_host_to_device(int device, void* dst, const void* src, uint64_t bytes);
// The same copy through the device's ring of pinned staging buffers (staging_ring.h): chunks of
// kStagingSlotBytes are copied by the host into a pinned buffer while the DMA of the previous ones
// runs (cudaMemcpyAsync on a stream of the ring's own), kStagingSlots buffers per device,
// allocated on first use and kept for the process's life. One staged copy per device at a time
// (a mutex); copies below one slot go through copy_host_to_device. Pinned memory is staging only:
// the bytes end in `dst`, device memory. Returns when every byte has landed.
constexpr uint64_t kStagingSlotBytes = uint64_t(8) << 20;
constexpr unsigned kStagingSlots = 4;
Status copy_host_to_device_staged(int device, void* dst, const void* src, uint64_t bytes);
Status copy_device_to_host(int device, void* dst, const void* src, uint64_t bytes);
// cudaPointerGetAttributes: the residency proof (type must be Device, with no host pointer).
Status pointer_attributes(int device, const void* ptr, PointerAttributes* out);
// sha256-tree-v1 root of `bytes` bytes of device memory at `ptr`, computed on the device. `ptr`
// may point into an allocation (a range digest passes base + offset): the staged kernel needs
// 16-byte aligned data and a leaf size that is a multiple of 64, and anything else takes the
// generic per-leaf kernel, so every pointer and size gives the right root.
Status tree_digest(int device, const void* ptr, uint64_t bytes, uint64_t leaf_size,
                   uint8_t root[32]);

// One range of a batched digest: `bytes` bytes of device memory at `ptr`, leaves of `leaf_size`.
struct DigestJob {
  const void* ptr;
  uint64_t bytes;
  uint64_t leaf_size;
};
// sha256-tree-v1 roots of `count` ranges of one device's memory, each a tree of its own, into
// roots[32 * i]: one launch per step for the whole batch (leaf hashes, then each level of every
// tree, then the roots gathered into one copy back). Empty ranges are SHA-256("") without device
// work. Every leaf_size must be >= 1 (native/ checks).
Status tree_digest_many(int device, const DigestJob* jobs, uint32_t count, uint8_t* roots);

// ---- bench:gpu support (device time, never used on the production path) ----------------------
// The device time of `body` in milliseconds: two CUDA events recorded on the legacy default
// stream around it, then synchronised. Every operation above runs on that stream and has finished
// when it returns (it ends with a synchronous cudaMemcpy), so the events bracket all of its work.
Status time_device(int device, const std::function<Status()>& body, float* ms);
// The physical references bench:gpu compares with, each in device time:
// cudaMemcpy of `bytes` from pinned host memory to `dst` (`src` is first copied into a
// cudaMallocHost buffer, untimed; the buffer is freed afterwards), and a device-to-device
// cudaMemcpy of `bytes` from `src` into a scratch cudaMalloc buffer (an HBM read + write).
Status bench_copy_from_pinned(int device, void* dst, const void* src, uint64_t bytes, float* ms);
Status bench_copy_device_to_device(int device, const void* src, uint64_t bytes, float* ms);

}  // namespace cuda
}  // namespace vs
