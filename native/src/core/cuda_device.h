// A real GPU through the cuda/ API. Built in both configurations: without nvcc the cuda/ stub
// answers every call with CUDA_NOT_BUILT, so probing fails cleanly and no CudaDevice is made.
#pragma once

#include <memory>
#include <vector>

#include "device.h"

namespace vs {

// All devices that answer cudaGetDeviceCount; throws Error(Code::Cuda) naming the reason when
// none does (e.g. cudaErrorInsufficientDriver on a machine without an NVIDIA driver).
std::vector<std::unique_ptr<Device>> make_cuda_devices();

}  // namespace vs
