// The safety rules of Backend + HandleTable + MockDevice: handles, bounds, lifetimes, faults.
#include <cstdint>
#include <limits>
#include <set>
#include <thread>
#include <vector>

#include "backend.h"
#include "bounds.h"
#include "check.h"
#include "error.h"
#include "helpers.h"

namespace {

constexpr uint64_t kMiB = 1u << 20;

std::unique_ptr<vs::Backend> two_devices() {
  return vs::Backend::mock({{"mock-a", 4 * kMiB}, {"mock-b", 1 * kMiB}},
                           {vs::portable_hasher(), 2});
}

}  // namespace

TEST_CASE(range_fits_is_overflow_safe) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  CHECK(vs::range_fits(0, 10, 10));
  CHECK(vs::range_fits(10, 0, 10));
  CHECK(!vs::range_fits(10, 1, 10));
  CHECK(!vs::range_fits(11, 0, 10));
  CHECK(!vs::range_fits(max, 2, 10));  // offset + length wraps to 1
  CHECK(!vs::range_fits(2, max, 10));
  CHECK(vs::range_fits(max - 1, 1, max));
}

TEST_CASE(mock_reports_devices_and_capacity) {
  auto backend = two_devices();
  CHECK_EQ(backend->kind(), "mock");
  CHECK_EQ(backend->device_count(), 2);
  CHECK_EQ(backend->device_info(1).name, "mock-b");
  CHECK_EQ(backend->mem_info(0).total_bytes, 4 * kMiB);
  CHECK_EQ(backend->mem_info(0).free_bytes, 4 * kMiB);
  const uint64_t h = backend->allocate(0, kMiB);
  CHECK_EQ(backend->mem_info(0).free_bytes, 3 * kMiB);
  CHECK_EQ(backend->mem_info(1).free_bytes, kMiB);
  backend->free(h);
  CHECK_EQ(backend->mem_info(0).free_bytes, 4 * kMiB);
}

TEST_CASE(mock_memory_is_host_with_a_host_pointer) {
  auto backend = two_devices();
  const uint64_t h = backend->allocate(0, 16);
  const vs::PointerAttributes a = backend->attributes(h);
  CHECK(a.type == vs::MemoryType::Host);
  CHECK(a.host_pointer);  // honest: a VRAM-only policy must refuse it
}

TEST_CASE(write_then_read_round_trips) {
  auto backend = two_devices();
  const uint64_t h = backend->allocate(0, 1000);
  const auto data = vstest::pseudo_random_bytes(300, 1);
  backend->write(h, 700, data.data(), data.size());
  std::vector<uint8_t> back(300);
  backend->read(h, 700, back.data(), back.size());
  CHECK(back == data);
  std::vector<uint8_t> zeros(10, 0xff);
  backend->read(h, 0, zeros.data(), zeros.size());
  CHECK(zeros == std::vector<uint8_t>(10, 0));  // fresh mock memory is zeroed
}

TEST_CASE(copies_out_of_bounds_are_errors) {
  auto backend = two_devices();
  const uint64_t h = backend->allocate(0, 100);
  uint8_t buf[8] = {};
  CHECK_THROWS_CODE(backend->write(h, 96, buf, 8), vs::Code::OutOfBounds);
  CHECK_THROWS_CODE(backend->read(h, 101, buf, 0), vs::Code::OutOfBounds);
  CHECK_THROWS_CODE(backend->read(h, std::numeric_limits<uint64_t>::max(), buf, 2),
                    vs::Code::OutOfBounds);
  CHECK_THROWS_CODE(backend->corrupt(h, 100, 1), vs::Code::OutOfBounds);
  backend->write(h, 92, buf, 8);  // the last 8 bytes are fine
}

TEST_CASE(double_free_and_use_after_free_are_errors) {
  auto backend = two_devices();
  const uint64_t h = backend->allocate(0, 64);
  backend->free(h);
  uint8_t buf[1] = {};
  CHECK_THROWS_CODE(backend->free(h), vs::Code::UseAfterFree);
  CHECK_THROWS_CODE(backend->read(h, 0, buf, 1), vs::Code::UseAfterFree);
  CHECK_THROWS_CODE(backend->write(h, 0, buf, 1), vs::Code::UseAfterFree);
  CHECK_THROWS_CODE(backend->pin(h), vs::Code::UseAfterFree);
  CHECK_THROWS_CODE(backend->attributes(h), vs::Code::UseAfterFree);
}

TEST_CASE(unknown_handles_are_errors) {
  auto backend = two_devices();
  uint8_t buf[1] = {};
  CHECK_THROWS_CODE(backend->read(12345, 0, buf, 1), vs::Code::InvalidHandle);
  CHECK_THROWS_CODE(backend->free(0), vs::Code::InvalidHandle);
  // A handle of one backend means nothing to another.
  auto other = two_devices();
  const uint64_t h = other->allocate(0, 8);
  CHECK_THROWS_CODE(backend->free(h), vs::Code::InvalidHandle);
}

TEST_CASE(handles_are_unique_nonzero_53_bit_values) {
  auto backend = two_devices();
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t h = backend->allocate(1, 1);
    CHECK(h != 0);
    CHECK(h <= vs::HandleTable::kHandleMask);
    CHECK(seen.insert(h).second);
    backend->free(h);
  }
}

TEST_CASE(bad_sizes_and_devices_are_errors) {
  auto backend = two_devices();
  CHECK_THROWS_CODE(backend->allocate(0, 0), vs::Code::InvalidArgument);
  CHECK_THROWS_CODE(backend->allocate(0, uint64_t(1) << 60), vs::Code::InvalidArgument);
  CHECK_THROWS_CODE(backend->allocate(2, 8), vs::Code::InvalidDevice);
  CHECK_THROWS_CODE(backend->allocate(-1, 8), vs::Code::InvalidDevice);
  CHECK_THROWS_CODE(backend->mem_info(7), vs::Code::InvalidDevice);
  CHECK_THROWS_CODE(vs::Backend::mock({}, {vs::portable_hasher(), 1}), vs::Code::InvalidArgument);
  CHECK_THROWS_CODE(vs::Backend::mock({{"empty", 0}}, {vs::portable_hasher(), 1}),
                    vs::Code::InvalidArgument);
}

TEST_CASE(allocation_beyond_capacity_fails_like_cuda_malloc) {
  auto backend = two_devices();
  const uint64_t h = backend->allocate(1, kMiB);  // the whole of device 1
  try {
    backend->allocate(1, 1);
    CHECK(false);
  } catch (const vs::Error& e) {
    CHECK(e.code() == vs::Code::Cuda);
    CHECK_EQ(e.cuda_name(), "cudaErrorMemoryAllocation");
  }
  backend->free(h);
  backend->free(backend->allocate(1, kMiB));  // capacity came back
}

TEST_CASE(injected_allocation_failure_fails_once) {
  auto backend = two_devices();
  backend->fail_next_allocation(0);
  CHECK_THROWS_CODE(backend->allocate(0, 8), vs::Code::Cuda);
  CHECK_EQ(backend->mem_info(0).free_bytes, 4 * kMiB);
  backend->free(backend->allocate(0, 8));
}

TEST_CASE(corrupt_flips_bits_and_changes_the_digest) {
  auto backend = two_devices();
  const uint64_t h = backend->allocate(0, 5000);
  const auto data = vstest::pseudo_random_bytes(5000, 3);
  backend->write(h, 0, data.data(), data.size());
  const vs::Digest before = backend->pin(h).tree_digest(512);
  CHECK(before == vstest::reference_tree(data, 512));
  backend->corrupt(h, 4321, 0x80);
  uint8_t b = 0;
  backend->read(h, 4321, &b, 1);
  CHECK_EQ(b, uint8_t(data[4321] ^ 0x80));
  CHECK(backend->pin(h).tree_digest(512) != before);
}

TEST_CASE(pinned_allocation_refuses_writes_and_outlives_free) {
  auto backend = two_devices();
  const uint64_t h = backend->allocate(0, kMiB);
  {
    vs::Backend::Pin pin = backend->pin(h);
    uint8_t buf[1] = {1};
    CHECK_THROWS_CODE(backend->write(h, 0, buf, 1), vs::Code::AllocationBusy);
    CHECK_THROWS_CODE(backend->corrupt(h, 0, 1), vs::Code::AllocationBusy);
    backend->read(h, 0, buf, 1);  // reading alongside a digest is fine
    backend->free(h);             // the handle goes now...
    CHECK_THROWS_CODE(backend->read(h, 0, buf, 1), vs::Code::UseAfterFree);
    CHECK_EQ(backend->mem_info(0).free_bytes, 3 * kMiB);  // ...the memory stays while pinned
    const vs::Digest d = pin.tree_digest(4096);
    CHECK(d == vstest::reference_tree(std::vector<uint8_t>(kMiB, 0), 4096));
  }
  CHECK_EQ(backend->mem_info(0).free_bytes, 4 * kMiB);
  CHECK_EQ(backend->live_allocations(), size_t(0));
}

TEST_CASE(digest_on_worker_thread_while_table_changes) {
  auto backend = two_devices();
  const uint64_t h = backend->allocate(0, 2 * kMiB);
  const auto data = vstest::pseudo_random_bytes(2 * kMiB, 9);
  backend->write(h, 0, data.data(), data.size());
  vs::Backend::Pin pin = backend->pin(h);
  vs::Digest result{};
  std::thread worker([&] { result = pin.tree_digest(65536); });
  for (int i = 0; i < 200; ++i) backend->free(backend->allocate(1, 1024));
  backend->free(h);
  worker.join();
  CHECK(result == vstest::reference_tree(data, 65536));
}

TEST_CASE(cuda_backend_fails_with_a_cuda_error_name_or_works) {
  // Here (no GPU) this must be a clean error naming why: CUDA_NOT_BUILT in a CPU-only build,
  // cudaErrorInsufficientDriver / cudaErrorNoDevice in a CUDA build without a GPU.
  try {
    auto backend = vs::Backend::cuda();
    CHECK(backend->device_count() > 0);
  } catch (const vs::Error& e) {
    CHECK(e.code() == vs::Code::Cuda);
    CHECK(!e.cuda_name().empty());
    CHECK_EQ(e.operation(), "cudaGetDeviceCount");
#if !defined(VRAMSEAL_HAVE_CUDA)
    CHECK_EQ(e.cuda_name(), "CUDA_NOT_BUILT");
#endif
  }
}

namespace {
// A device whose memory cannot be released, as when cudaFree fails.
class UnreleasableMemory final : public vs::DeviceMemory {
 public:
  void write(uint64_t, const uint8_t*, uint64_t) override {}
  void read(uint64_t, uint8_t*, uint64_t) const override {}
  vs::Digest tree_digest(uint64_t, uint64_t, uint64_t) const override { return {}; }
  vs::PointerAttributes attributes() const override { return {vs::MemoryType::Device, false}; }
  void release() override {
    throw vs::Error::cuda("cudaErrorIllegalAddress", "cudaFree", "cudaFree failed");
  }
};

class UnreleasableDevice final : public vs::Device {
 public:
  vs::DeviceInfo info() const override { return {}; }
  vs::MemInfo mem_info() const override { return {}; }
  std::unique_ptr<vs::DeviceMemory> allocate(uint64_t) override {
    return std::make_unique<UnreleasableMemory>();
  }
  void fail_next_allocation() override {}
};
}  // namespace

TEST_CASE(failing_release_reaches_the_caller_and_the_handle_is_gone) {
  std::vector<std::unique_ptr<vs::Device>> devices;
  devices.push_back(std::make_unique<UnreleasableDevice>());
  vs::Backend backend("test", std::move(devices), false);
  const uint64_t h = backend.allocate(0, 16);
  bool cuda_error = false;
  try {
    backend.free(h);
  } catch (const vs::Error& e) {
    cuda_error = e.code() == vs::Code::Cuda && e.cuda_name() == "cudaErrorIllegalAddress" &&
                 e.operation() == "cudaFree";
  }
  CHECK(cuda_error);
  // The memory is not ours any more whatever cudaFree said: the handle must not stay usable.
  CHECK_THROWS_CODE(backend.free(h), vs::Code::UseAfterFree);
  CHECK_EQ(backend.live_allocations(), size_t(0));
}
