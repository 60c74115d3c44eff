#include "cuda_device.h"

#include "error.h"

namespace vs {
namespace {

class CudaMemory final : public DeviceMemory {
 public:
  CudaMemory(int device, void* ptr) : device_(device), ptr_(ptr) {}
  ~CudaMemory() override {
    // A destructor cannot throw; a failing cudaFree here means the context is already gone.
    if (ptr_ != nullptr) cuda::free_device(device_, ptr_);
  }
  void release() override {
    void* ptr = ptr_;
    ptr_ = nullptr;  // whatever cudaFree answers, this memory is not ours any more
    if (ptr != nullptr) throw_if_failed(cuda::free_device(device_, ptr));
  }
  void write(uint64_t offset, const uint8_t* src, uint64_t length) override {
    throw_if_failed(cuda::copy_host_to_device(device_, at(offset), src, length));
  }
  void write_staged(uint64_t offset, const uint8_t* src, uint64_t length) override {
    throw_if_failed(cuda::copy_host_to_device_staged(device_, at(offset), src, length));
  }
  void read(uint64_t offset, uint8_t* dst, uint64_t length) const override {
    throw_if_failed(cuda::copy_device_to_host(device_, dst, at(offset), length));
  }
  Digest tree_digest(uint64_t offset, uint64_t length, uint64_t leaf_size) const override {
    check_leaf_size(leaf_size);
    Digest root;
    throw_if_failed(cuda::tree_digest(device_, at(offset), length, leaf_size, root.data()));
    return root;
  }
  std::vector<Digest> tree_digest_many(const std::vector<DigestRange>& ranges) const override {
    std::vector<Digest> roots(ranges.size());
    throw_if_failed(digest_many(ranges, &roots));
    return roots;
  }
  float timed_tree_digest_many(const std::vector<DigestRange>& ranges,
                               std::vector<Digest>* roots) const override {
    roots->assign(ranges.size(), Digest{});
    float ms = 0;
    throw_if_failed(cuda::time_device(device_, [&] { return digest_many(ranges, roots); }, &ms));
    return ms;
  }
  cuda::Status digest_many(const std::vector<DigestRange>& ranges,
                           std::vector<Digest>* roots) const {
    std::vector<cuda::DigestJob> jobs;
    jobs.reserve(ranges.size());
    for (const DigestRange& range : ranges) {
      const auto* memory = dynamic_cast<const CudaMemory*>(range.memory);
      if (memory == nullptr || memory->device_ != device_) {
        throw Error(Code::InvalidArgument, "a batched digest on the GPU takes one device's memory");
      }
      check_leaf_size(range.leaf_size);
      jobs.push_back({memory->at(range.offset), range.length, range.leaf_size});
    }
    // Digest is std::array<uint8_t, 32>: the roots are one contiguous run of 32-byte rows.
    return cuda::tree_digest_many(device_, jobs.data(), static_cast<uint32_t>(jobs.size()),
                                  roots->empty() ? nullptr : roots->front().data());
  }
  PointerAttributes attributes() const override {
    PointerAttributes attributes;
    throw_if_failed(cuda::pointer_attributes(device_, ptr_, &attributes));
    return attributes;
  }
  float timed_tree_digest(uint64_t offset, uint64_t length, uint64_t leaf_size,
                          Digest* root) const override {
    check_leaf_size(leaf_size);
    float ms = 0;
    const auto digest = [&] {
      return cuda::tree_digest(device_, at(offset), length, leaf_size, root->data());
    };
    throw_if_failed(cuda::time_device(device_, digest, &ms));
    return ms;
  }
  float timed_write(uint64_t offset, const uint8_t* src, uint64_t length,
                    CopySource source) override {
    float ms = 0;
    if (source == CopySource::Pinned) {
      throw_if_failed(cuda::bench_copy_from_pinned(device_, at(offset), src, length, &ms));
    } else if (source == CopySource::Staged) {
      const auto staged = [&] {
        return cuda::copy_host_to_device_staged(device_, at(offset), src, length);
      };
      throw_if_failed(cuda::time_device(device_, staged, &ms));
    } else {
      throw_if_failed(cuda::time_device(
          device_, [&] { return cuda::copy_host_to_device(device_, at(offset), src, length); },
          &ms));
    }
    return ms;
  }
  float timed_device_copy(uint64_t offset, uint64_t length) const override {
    float ms = 0;
    throw_if_failed(cuda::bench_copy_device_to_device(device_, at(offset), length, &ms));
    return ms;
  }

 private:
  uint8_t* at(uint64_t offset) const { return static_cast<uint8_t*>(ptr_) + offset; }
  int device_;
  void* ptr_;
};

class CudaDevice final : public Device {
 public:
  explicit CudaDevice(int device) : device_(device) {}

  DeviceInfo info() const override {
    DeviceInfo info;
    throw_if_failed(cuda::device_properties(device_, &info));
    return info;
  }

  MemInfo mem_info() const override {
    MemInfo m;
    throw_if_failed(cuda::mem_get_info(device_, &m.free_bytes, &m.total_bytes));
    return m;
  }

  std::unique_ptr<DeviceMemory> allocate(uint64_t bytes) override {
    void* ptr = nullptr;
    throw_if_failed(cuda::malloc_device(device_, bytes, &ptr));
    return std::make_unique<CudaMemory>(device_, ptr);
  }

  void fail_next_allocation() override {
    throw Error(Code::Unsupported, "injectAllocationFailure() is available on the mock backend only");
  }

 private:
  int device_;
};

}  // namespace

std::vector<std::unique_ptr<Device>> make_cuda_devices() {
  int count = 0;
  throw_if_failed(cuda::device_count(&count));
  if (count == 0) {
    throw Error::cuda("cudaErrorNoDevice", "cudaGetDeviceCount",
                      "cudaGetDeviceCount answered 0 devices: no CUDA-capable GPU is visible");
  }
  std::vector<std::unique_ptr<Device>> devices;
  for (int i = 0; i < count; ++i) devices.push_back(std::make_unique<CudaDevice>(i));
  return devices;
}

}  // namespace vs
