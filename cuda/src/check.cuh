// One checking macro for every CUDA call: a failure returns a vs::cuda::Status carrying the
// cudaError_t name, the CUDA operation and file:line, which the addon turns into a JS CudaError.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "vramseal/cuda_api.h"

namespace vs {
namespace cuda {

inline Status make_status(cudaError_t err, const char* operation, const char* file, int line) {
  Status s;
  s.code = static_cast<int>(err);
  s.name = cudaGetErrorName(err);
  s.operation = operation;
  // file:line of the call, without the build machine's directories
  const char* base = file;
  for (const char* p = file; *p != '\0'; ++p) {
    if (*p == '/') base = p + 1;
  }
  s.message = std::string(cudaGetErrorString(err)) + " (" + base + ":" + std::to_string(line) + ")";
  return s;
}

}  // namespace cuda
}  // namespace vs

// Evaluates a CUDA runtime call; on error returns the Status from the enclosing function.
#define VS_CUDA_CHECK(operation, call)                                              \
  do {                                                                              \
    const cudaError_t vs_err_ = (call);                                             \
    if (vs_err_ != cudaSuccess) {                                                   \
      return ::vs::cuda::make_status(vs_err_, operation, __FILE__, __LINE__);       \
    }                                                                               \
  } while (0)
