// The CPU-only build of the cuda/ API: nvcc was not found (or VRAMSEAL_WITH_CUDA=OFF), so every
// call reports, without touching any CUDA library, that this addon has no CUDA support.
#include "vramseal/cuda_api.h"

namespace vs {
namespace cuda {
namespace {

Status not_built(const char* operation) {
  Status s;
  s.code = -1;
  s.name = "CUDA_NOT_BUILT";
  s.operation = operation;
  s.message =
      "this addon was built without CUDA (nvcc was not found or VRAMSEAL_WITH_CUDA=OFF); rebuild "
      "native/ on a machine with the CUDA toolkit to use the cuda backend";
  return s;
}

}  // namespace

bool built_with_cuda() { return false; }
Status runtime_version(int* version) {
  *version = 0;
  return not_built("cudaRuntimeGetVersion");
}
Status driver_version(int* version) {
  *version = 0;
  return not_built("cudaDriverGetVersion");
}

Status device_count(int* count) {
  *count = 0;
  return not_built("cudaGetDeviceCount");
}
Status device_properties(int, DeviceProperties*) { return not_built("cudaGetDeviceProperties"); }
Status mem_get_info(int, uint64_t*, uint64_t*) { return not_built("cudaMemGetInfo"); }
Status malloc_device(int, uint64_t, void**) { return not_built("cudaMalloc"); }
Status free_device(int, void*) { return not_built("cudaFree"); }
Status copy_host_to_device(int, void*, const void*, uint64_t) { return not_built("cudaMemcpy"); }
Status copy_device_to_host(int, void*, const void*, uint64_t) { return not_built("cudaMemcpy"); }
Status copy_host_to_device_staged(int, void*, const void*, uint64_t) {
  return not_built("cudaMemcpyAsync");
}
Status pointer_attributes(int, const void*, PointerAttributes*) {
  return not_built("cudaPointerGetAttributes");
}
Status tree_digest(int, const void*, uint64_t, uint64_t, uint8_t*) {
  return not_built("treeDigestKernel");
}
Status tree_digest_many(int, const DigestJob*, uint32_t, uint8_t*) {
  return not_built("treeDigestKernel");
}
Status time_device(int, const std::function<Status()>&, float* ms) {
  *ms = 0;
  return not_built("cudaEventElapsedTime");
}
Status bench_copy_from_pinned(int, void*, const void*, uint64_t, float* ms) {
  *ms = 0;
  return not_built("cudaMemcpy");
}
Status bench_copy_device_to_device(int, const void*, uint64_t, float* ms) {
  *ms = 0;
  return not_built("cudaMemcpy");
}

}  // namespace cuda
}  // namespace vs
