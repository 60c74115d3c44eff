// The one error type of the core. The addon turns it into a JS error carrying `code`, the
// offending `argument`, and for CUDA failures the cudaError_t name and the CUDA `operation`.
// Messages never contain pointers or addresses.
#pragma once

#include <stdexcept>
#include <string>

#include "vramseal/cuda_api.h"

namespace vs {

enum class Code {
  InvalidArgument,  // a value that is not acceptable (zero size, bad leaf size, bad device config)
  OutOfBounds,      // offset + length beyond the allocation
  UseAfterFree,     // a handle that was freed
  InvalidHandle,    // a value that never was a handle of this backend
  InvalidDevice,    // a device index this backend does not have
  AllocationBusy,   // a write or corrupt while a digest reads the allocation
  Unsupported,      // an operation the backend does not offer (e.g. corrupt on cuda)
  Cuda,             // a CUDA call (or the mock's imitation of cudaMalloc) failed
};

inline const char* code_name(Code code) {
  switch (code) {
    case Code::InvalidArgument:
      return "INVALID_ARGUMENT";
    case Code::OutOfBounds:
      return "OUT_OF_BOUNDS";
    case Code::UseAfterFree:
      return "USE_AFTER_FREE";
    case Code::InvalidHandle:
      return "INVALID_HANDLE";
    case Code::InvalidDevice:
      return "INVALID_DEVICE";
    case Code::AllocationBusy:
      return "ALLOCATION_BUSY";
    case Code::Unsupported:
      return "UNSUPPORTED";
    case Code::Cuda:
      return "CUDA_ERROR";
  }
  return "UNKNOWN";
}

class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& message, std::string argument = {})
      : std::runtime_error(message), code_(code), argument_(std::move(argument)) {}

  // A failed CUDA call (or the mock's cudaMalloc imitation): keeps the CUDA error name.
  static Error cuda(const std::string& cuda_name, const std::string& operation,
                    const std::string& message) {
    Error e(Code::Cuda, message);
    e.cuda_name_ = cuda_name;
    e.operation_ = operation;
    return e;
  }
  static Error cuda(const cuda::Status& status) {
    return cuda(status.name, status.operation,
                status.operation + " failed: " + status.name + ": " + status.message);
  }

  Code code() const { return code_; }
  const std::string& argument() const { return argument_; }
  const std::string& cuda_name() const { return cuda_name_; }
  const std::string& operation() const { return operation_; }

 private:
  Code code_;
  std::string argument_;
  std::string cuda_name_;
  std::string operation_;
};

// Turns a failed cuda::Status into an Error; a successful one is a no-op.
inline void throw_if_failed(const cuda::Status& status) {
  if (!status.ok()) throw Error::cuda(status);
}

}  // namespace vs
