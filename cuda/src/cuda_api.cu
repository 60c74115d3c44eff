// Device memory operations of the cuda backend (see include/vramseal/cuda_api.h).
// Every call goes through VS_CUDA_CHECK; every operation first selects its device, because the
// current device is per host thread and the addon calls from the JS thread and worker threads.
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "check.cuh"
#include "vramseal/staging_ring.h"
#include "vramseal/uuid.h"

namespace vs {
namespace cuda {

bool built_with_cuda() { return true; }

Status runtime_version(int* version) {
  *version = 0;
  VS_CUDA_CHECK("cudaRuntimeGetVersion", cudaRuntimeGetVersion(version));
  return {};
}

Status driver_version(int* version) {
  *version = 0;
  VS_CUDA_CHECK("cudaDriverGetVersion", cudaDriverGetVersion(version));
  return {};
}

Status device_count(int* count) {
  *count = 0;
  VS_CUDA_CHECK("cudaGetDeviceCount", cudaGetDeviceCount(count));
  return {};
}

Status device_properties(int device, DeviceProperties* out) {
  cudaDeviceProp p{};
  VS_CUDA_CHECK("cudaGetDeviceProperties", cudaGetDeviceProperties(&p, device));
  out->name = p.name;
  out->uuid = format_uuid("GPU", reinterpret_cast<const uint8_t*>(p.uuid.bytes));
  out->total_bytes = p.totalGlobalMem;
  out->compute_major = p.major;
  out->compute_minor = p.minor;
  out->integrated = p.integrated != 0;
  out->managed_memory = p.managedMemory != 0;
  out->unified_addressing = p.unifiedAddressing != 0;
  out->pageable_memory_access = p.pageableMemoryAccess != 0;
  out->multiprocessor_count = p.multiProcessorCount;
  return {};
}

Status mem_get_info(int device, uint64_t* free_bytes, uint64_t* total_bytes) {
  size_t f = 0, t = 0;
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  VS_CUDA_CHECK("cudaMemGetInfo", cudaMemGetInfo(&f, &t));
  *free_bytes = f;
  *total_bytes = t;
  return {};
}

Status malloc_device(int device, uint64_t bytes, void** out) {
  *out = nullptr;
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  VS_CUDA_CHECK("cudaMalloc", cudaMalloc(out, bytes));
  return {};
}

Status free_device(int device, void* ptr) {
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  VS_CUDA_CHECK("cudaFree", cudaFree(ptr));
  return {};
}

Status copy_host_to_device(int device, void* dst, const void* src, uint64_t bytes) {
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  VS_CUDA_CHECK("cudaMemcpy", cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
  return {};
}

namespace {

// One device's staging ring: pinned buffers, one event per buffer, a stream. Made on first use
// and kept (pinned host memory is slow to allocate: reusing it is the point).
struct StagingRing {
  std::mutex mutex;  // one staged copy at a time per device
  bool ready = false;
  cudaStream_t stream = nullptr;
  cudaEvent_t events[kStagingSlots] = {};
  void* buffers[kStagingSlots] = {};

  // Frees what a failed setup made, so the next copy tries again from scratch.
  void reset() {
    for (unsigned i = 0; i < kStagingSlots; ++i) {
      if (buffers[i] != nullptr) cudaFreeHost(buffers[i]);
      if (events[i] != nullptr) cudaEventDestroy(events[i]);
      buffers[i] = nullptr;
      events[i] = nullptr;
    }
    if (stream != nullptr) cudaStreamDestroy(stream);
    stream = nullptr;
    ready = false;
  }

  Status setup() {
    if (ready) return {};
    const Status made = [&]() -> Status {
      VS_CUDA_CHECK("cudaStreamCreateWithFlags",
                    cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
      for (unsigned i = 0; i < kStagingSlots; ++i) {
        VS_CUDA_CHECK("cudaEventCreateWithFlags",
                      cudaEventCreateWithFlags(&events[i], cudaEventDisableTiming));
        VS_CUDA_CHECK("cudaMallocHost", cudaMallocHost(&buffers[i], kStagingSlotBytes));
      }
      return {};
    }();
    if (!made.ok()) {
      reset();
      return made;
    }
    ready = true;
    return {};
  }
};

StagingRing& staging_ring(int device) {
  static std::mutex rings_mutex;
  static std::map<int, std::unique_ptr<StagingRing>> rings;
  std::lock_guard<std::mutex> lock(rings_mutex);
  std::unique_ptr<StagingRing>& ring = rings[device];
  if (!ring) ring = std::make_unique<StagingRing>();
  return *ring;
}

// The ring's operations for staging::run.
struct StagingOps {
  StagingRing& ring;
  uint8_t* dst;
  const uint8_t* src;

  Status fill(unsigned slot, uint64_t offset, uint64_t length) {
    std::memcpy(ring.buffers[slot], src + offset, length);
    return {};
  }
  Status launch(unsigned slot, uint64_t offset, uint64_t length) {
    VS_CUDA_CHECK("cudaMemcpyAsync", cudaMemcpyAsync(dst + offset, ring.buffers[slot], length,
                                                     cudaMemcpyHostToDevice, ring.stream));
    const cudaError_t recorded = cudaEventRecord(ring.events[slot], ring.stream);
    if (recorded != cudaSuccess) {
      // The copy is queued but has no event to wait for: wait for the whole stream instead,
      // so the buffer is not reused under the DMA engine.
      cudaStreamSynchronize(ring.stream);
      return make_status(recorded, "cudaEventRecord", __FILE__, __LINE__);
    }
    return {};
  }
  Status wait(unsigned slot) {
    VS_CUDA_CHECK("cudaEventSynchronize", cudaEventSynchronize(ring.events[slot]));
    return {};
  }
};

}  // namespace

Status copy_host_to_device_staged(int device, void* dst, const void* src, uint64_t bytes) {
  if (bytes < kStagingSlotBytes) return copy_host_to_device(device, dst, src, bytes);
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  StagingRing& ring = staging_ring(device);
  std::lock_guard<std::mutex> lock(ring.mutex);
  const Status ready = ring.setup();
  if (!ready.ok()) return ready;
  StagingOps ops{ring, static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src)};
  return staging::run(bytes, {kStagingSlotBytes, kStagingSlots}, ops);
}

Status copy_device_to_host(int device, void* dst, const void* src, uint64_t bytes) {
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  VS_CUDA_CHECK("cudaMemcpy", cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
  return {};
}

Status pointer_attributes(int device, const void* ptr, PointerAttributes* out) {
  cudaPointerAttributes attr{};
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  VS_CUDA_CHECK("cudaPointerGetAttributes", cudaPointerGetAttributes(&attr, ptr));
  switch (attr.type) {
    case cudaMemoryTypeDevice:
      out->type = MemoryType::Device;
      break;
    case cudaMemoryTypeHost:
      out->type = MemoryType::Host;
      break;
    case cudaMemoryTypeManaged:
      out->type = MemoryType::Managed;
      break;
    default:
      out->type = MemoryType::Unregistered;
      break;
  }
  // cudaMalloc memory has no host mapping; pinned host memory and managed memory do.
  out->host_pointer = attr.hostPointer != nullptr;
  return {};
}

namespace {

// Two events, destroyed on every path (their errors are of no interest once the result is out).
struct EventPair {
  cudaEvent_t start = nullptr;
  cudaEvent_t stop = nullptr;
  ~EventPair() {
    if (start != nullptr) cudaEventDestroy(start);
    if (stop != nullptr) cudaEventDestroy(stop);
  }
};

// Memory freed on every path; the success paths below free it with a checked call first.
struct PinnedHost {
  void* ptr = nullptr;
  ~PinnedHost() {
    if (ptr != nullptr) cudaFreeHost(ptr);
  }
};
struct DeviceBuffer {
  void* ptr = nullptr;
  ~DeviceBuffer() {
    if (ptr != nullptr) cudaFree(ptr);
  }
};

}  // namespace

Status time_device(int device, const std::function<Status()>& body, float* ms) {
  *ms = 0;
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  EventPair events;
  VS_CUDA_CHECK("cudaEventCreate", cudaEventCreate(&events.start));
  VS_CUDA_CHECK("cudaEventCreate", cudaEventCreate(&events.stop));
  VS_CUDA_CHECK("cudaEventRecord", cudaEventRecord(events.start, 0));
  const Status status = body();
  if (!status.ok()) return status;
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  VS_CUDA_CHECK("cudaEventRecord", cudaEventRecord(events.stop, 0));
  VS_CUDA_CHECK("cudaEventSynchronize", cudaEventSynchronize(events.stop));
  VS_CUDA_CHECK("cudaEventElapsedTime", cudaEventElapsedTime(ms, events.start, events.stop));
  return {};
}

Status bench_copy_from_pinned(int device, void* dst, const void* src, uint64_t bytes, float* ms) {
  *ms = 0;
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  PinnedHost pinned;
  VS_CUDA_CHECK("cudaMallocHost", cudaMallocHost(&pinned.ptr, bytes));
  std::memcpy(pinned.ptr, src, bytes);
  const Status timed = time_device(
      device,
      [&]() -> Status {
        VS_CUDA_CHECK("cudaMemcpy",
                      cudaMemcpy(dst, pinned.ptr, bytes, cudaMemcpyHostToDevice));
        return {};
      },
      ms);
  if (!timed.ok()) return timed;
  void* p = pinned.ptr;
  pinned.ptr = nullptr;
  VS_CUDA_CHECK("cudaFreeHost", cudaFreeHost(p));
  return {};
}

Status bench_copy_device_to_device(int device, const void* src, uint64_t bytes, float* ms) {
  *ms = 0;
  VS_CUDA_CHECK("cudaSetDevice", cudaSetDevice(device));
  DeviceBuffer scratch;
  VS_CUDA_CHECK("cudaMalloc", cudaMalloc(&scratch.ptr, bytes));
  const Status timed = time_device(
      device,
      [&]() -> Status {
        VS_CUDA_CHECK("cudaMemcpy",
                      cudaMemcpy(scratch.ptr, src, bytes, cudaMemcpyDeviceToDevice));
        return {};
      },
      ms);
  if (!timed.ok()) return timed;
  void* p = scratch.ptr;
  scratch.ptr = nullptr;
  VS_CUDA_CHECK("cudaFree", cudaFree(p));
  return {};
}

}  // namespace cuda
}  // namespace vs
