// Range tree digests and range pinning: a digest pins only [offset, offset + length), writes that
// overlap it are refused (ALLOCATION_BUSY), writes elsewhere go ahead, on one thread or many.
// Also fault injection as a backend policy, and device uuids.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backend.h"
#include "bounds.h"
#include "check.h"
#include "error.h"
#include "helpers.h"
#include "mock_device.h"
#include "range_locks.h"
#include "vramseal/uuid.h"

namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;

std::unique_ptr<vs::Backend> mock(uint64_t total = 8 * kMiB, unsigned threads = 2) {
  return vs::Backend::mock({{"mock-a", total}, {"mock-b", total}},
                           {vs::portable_hasher(), threads});
}

// An allocation on device 0 holding `data`.
uint64_t filled(vs::Backend& backend, const std::vector<uint8_t>& data) {
  const uint64_t h = backend.allocate(0, data.size());
  backend.write(h, 0, data.data(), data.size());
  return h;
}

std::vector<uint8_t> slice(const std::vector<uint8_t>& data, uint64_t offset, uint64_t length) {
  return std::vector<uint8_t>(data.begin() + static_cast<std::ptrdiff_t>(offset),
                              data.begin() + static_cast<std::ptrdiff_t>(offset + length));
}

std::vector<uint8_t> read_all(vs::Backend& backend, uint64_t h) {
  std::vector<uint8_t> out(backend.size_of(h));
  backend.read(h, 0, out.data(), out.size());
  return out;
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// "<prefix>-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lowercase hex.
bool is_uuid(const std::string& s, const std::string& prefix) {
  if (s.size() != prefix.size() + 37 || s.compare(0, prefix.size(), prefix) != 0) return false;
  const std::string rest = s.substr(prefix.size());
  for (size_t i = 0; i < rest.size(); ++i) {
    const bool dash = i == 0 || i == 9 || i == 14 || i == 19 || i == 24;
    if (dash ? rest[i] != '-' : !is_hex(rest[i])) return false;
  }
  return true;
}

// A backend of host-memory devices that is not the mock: corrupt() is allowed only if asked for,
// exactly as on the cuda backend (the policy and the read-XOR-write path live in Backend).
vs::Backend host_backend(bool fault_injection) {
  std::vector<std::unique_ptr<vs::Device>> devices;
  devices.push_back(vs::make_mock_device({"host", kMiB}, {vs::portable_hasher(), 1}));
  return vs::Backend("cuda-like", std::move(devices), fault_injection);
}

}  // namespace

TEST_CASE(ranges_overlap_is_half_open_and_overflow_safe) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  CHECK(vs::ranges_overlap(0, 10, 5, 10));
  CHECK(vs::ranges_overlap(5, 10, 0, 10));
  CHECK(vs::ranges_overlap(0, 10, 9, 1));
  CHECK(vs::ranges_overlap(3, 1, 0, 10));    // inside
  CHECK(!vs::ranges_overlap(0, 10, 10, 5));  // adjacent: touching is not overlapping
  CHECK(!vs::ranges_overlap(10, 5, 0, 10));
  CHECK(!vs::ranges_overlap(5, 0, 0, 10));  // empty ranges overlap nothing
  CHECK(!vs::ranges_overlap(0, 10, 5, 0));
  CHECK(vs::ranges_overlap(max - 1, 1, 0, max));  // no wrap at the top
  CHECK(!vs::ranges_overlap(max, 1, 0, max));
  CHECK(vs::ranges_overlap(0, max, max - 1, max));
}

TEST_CASE(range_locks_refuse_only_pin_write_overlaps) {
  vs::RangeLocks locks;
  const auto a = locks.pin(100, 100);  // [100, 200)
  const auto b = locks.pin(150, 100);  // [150, 250): pins may overlap pins
  CHECK_EQ(locks.pinned_count(), size_t(2));
  CHECK_THROWS_CODE(locks.begin_write(199, 1, "write"), vs::Code::AllocationBusy);
  CHECK_THROWS_CODE(locks.begin_write(0, 101, "write"), vs::Code::AllocationBusy);
  CHECK_THROWS_CODE(locks.begin_write(249, 10, "corrupt"), vs::Code::AllocationBusy);
  CHECK_EQ(locks.writing_count(), size_t(0));  // a refused write leaves nothing behind
  const auto w1 = locks.begin_write(0, 100, "write");   // ends where the first pin starts
  const auto w2 = locks.begin_write(250, 10, "write");  // starts where the second pin ends
  const auto w3 = locks.begin_write(0, 50, "write");    // writes may overlap writes
  CHECK_EQ(locks.writing_count(), size_t(3));
  // A pin over a write in progress is refused; one beside it is not.
  CHECK_THROWS_CODE(locks.pin(90, 20), vs::Code::AllocationBusy);
  CHECK_THROWS_CODE(locks.pin(255, 1), vs::Code::AllocationBusy);
  const auto c = locks.pin(260, 40);
  locks.release(w1);
  locks.release(w2);
  locks.release(w3);
  locks.release(w3);  // a second release of the same ticket is ignored
  CHECK_EQ(locks.writing_count(), size_t(0));
  const auto d = locks.pin(90, 20);  // free to pin now
  locks.release(a);
  CHECK_THROWS_CODE(locks.begin_write(160, 1, "write"), vs::Code::AllocationBusy);  // b still
  locks.release(b);
  locks.release(d);
  const auto w4 = locks.begin_write(0, 260, "write");  // everything before c
  locks.release(w4);
  CHECK_THROWS_CODE(locks.begin_write(299, 1, "write"), vs::Code::AllocationBusy);
  locks.release(c);
  CHECK_EQ(locks.pinned_count(), size_t(0));
  locks.release(locks.begin_write(0, 1000, "write"));
}

TEST_CASE(busy_message_names_both_ranges_and_no_address) {
  vs::RangeLocks locks;
  locks.pin(4096, 4096);
  try {
    locks.begin_write(8000, 200, "write");
    CHECK(false);
  } catch (const vs::Error& e) {
    const std::string m = e.what();
    CHECK(m.find("write of bytes [8000, 8200)") != std::string::npos);
    CHECK(m.find("reading bytes [4096, 8192)") != std::string::npos);
    CHECK(m.find("0x") == std::string::npos);
    CHECK_EQ(e.argument(), "handle");
  }
}

TEST_CASE(write_overlapping_a_pinned_range_is_busy_and_disjoint_writes_proceed) {
  auto backend = mock();
  const auto data = vstest::pseudo_random_bytes(64 * kKiB, 21);
  const uint64_t h = filled(*backend, data);
  uint8_t one[1] = {0xaa};
  const std::vector<uint8_t> block(4096, 0x5c);
  {
    vs::Backend::Pin pin = backend->pin(h, 16 * kKiB, 16 * kKiB);  // [16 KiB, 32 KiB)
    CHECK_EQ(pin.offset(), 16 * kKiB);
    CHECK_EQ(pin.length(), 16 * kKiB);
    CHECK_THROWS_CODE(backend->write(h, 16 * kKiB, one, 1), vs::Code::AllocationBusy);
    CHECK_THROWS_CODE(backend->write(h, 32 * kKiB - 1, one, 1), vs::Code::AllocationBusy);
    const std::vector<uint8_t> longer(4097, 0x77);  // [12 KiB, 16 KiB + 1): one byte too far
    CHECK_THROWS_CODE(backend->write(h, 12 * kKiB, longer.data(), longer.size()),
                      vs::Code::AllocationBusy);
    CHECK_THROWS_CODE(backend->corrupt(h, 20 * kKiB, 1), vs::Code::AllocationBusy);
    // Adjacent on both sides, disjoint, zero-length inside, and corrupt outside: all allowed.
    backend->write(h, 12 * kKiB, block.data(), block.size());  // ends at 16 KiB
    backend->write(h, 32 * kKiB, block.data(), block.size());  // starts at 32 KiB
    backend->write(h, 0, one, 1);
    backend->write(h, 20 * kKiB, one, 0);
    backend->corrupt(h, 48 * kKiB, 0x01);
    // The pinned bytes never changed: the digest is that of the original slice.
    CHECK(pin.tree_digest(1024) == vstest::reference_tree(slice(data, 16 * kKiB, 16 * kKiB), 1024));
  }
  auto expected = data;
  expected[0] = 0xaa;
  std::copy(block.begin(), block.end(), expected.begin() + 12 * kKiB);
  std::copy(block.begin(), block.end(), expected.begin() + 32 * kKiB);
  expected[48 * kKiB] ^= 0x01;
  CHECK(read_all(*backend, h) == expected);
}

TEST_CASE(pin_is_released_when_the_digest_ends) {
  auto backend = mock();
  const uint64_t h = backend->allocate(0, 8 * kKiB);
  uint8_t one[1] = {1};
  {
    std::optional<vs::Backend::Pin> moved;
    {
      vs::Backend::Pin pin = backend->pin(h, 0, 4 * kKiB);
      moved.emplace(std::move(pin));
    }  // the moved-from pin is gone: the range must still be pinned by `moved`
    CHECK_THROWS_CODE(backend->write(h, 0, one, 1), vs::Code::AllocationBusy);
    moved->tree_digest(4096);
    CHECK_THROWS_CODE(backend->write(h, 0, one, 1), vs::Code::AllocationBusy);  // until it ends
  }
  backend->write(h, 0, one, 1);
  backend->corrupt(h, 0, 1);
  // Two pins of the same range: released one by one.
  {
    vs::Backend::Pin a = backend->pin(h, 0, 8 * kKiB);
    {
      vs::Backend::Pin b = backend->pin(h, 4 * kKiB, 4 * kKiB);
    }
    CHECK_THROWS_CODE(backend->write(h, 5 * kKiB, one, 1), vs::Code::AllocationBusy);
  }
  backend->write(h, 5 * kKiB, one, 1);
}

TEST_CASE(range_digest_equals_the_reference_tree_of_the_slice) {
  auto backend = mock(8 * kMiB, 3);
  uint64_t seed = 1;
  for (uint64_t size : {uint64_t(1), uint64_t(63), uint64_t(64), uint64_t(4097), uint64_t(70000),
                        (uint64_t(1) << 20) + 17}) {
    const auto data = vstest::pseudo_random_bytes(size, seed++);
    const uint64_t h = filled(*backend, data);
    for (uint64_t leaf : {uint64_t(64), uint64_t(1000), uint64_t(4096), uint64_t(65536)}) {
      const uint64_t leaves = (size + leaf - 1) / leaf;
      // Offsets at leaf boundaries (first, middle, last, the very end), lengths from 0 to the end.
      for (uint64_t first : {uint64_t(0), leaves / 2, leaves > 0 ? leaves - 1 : 0, size / leaf}) {
        const uint64_t offset = first * leaf;
        if (offset > size) continue;
        const uint64_t rest = size - offset;
        for (uint64_t length : {rest, rest / 2, uint64_t(0), rest > 0 ? uint64_t(1) : 0,
                                rest > leaf ? leaf + 1 : rest}) {
          const vs::Digest got = backend->pin(h, offset, length).tree_digest(leaf);
          const vs::Digest want = vstest::reference_tree(slice(data, offset, length), leaf);
          if (got != want) {
            vstest::fail(__FILE__, __LINE__,
                         "size " + std::to_string(size) + " leaf " + std::to_string(leaf) +
                             " offset " + std::to_string(offset) + " length " +
                             std::to_string(length));
          }
        }
      }
      // No length: to the end.
      const uint64_t mid = (leaves / 2) * leaf;
      CHECK(backend->pin(h, mid, std::nullopt).tree_digest(leaf) ==
            vstest::reference_tree(slice(data, mid, size - mid), leaf));
    }
    backend->free(h);
  }
}

TEST_CASE(range_digest_arguments_are_checked) {
  auto backend = mock();
  const uint64_t h = backend->allocate(0, 10000);
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  CHECK_THROWS_CODE(backend->pin(h, 64, 64).tree_digest(128), vs::Code::InvalidArgument);
  try {
    backend->pin(h, 100, 10).tree_digest(64);
    CHECK(false);
  } catch (const vs::Error& e) {
    CHECK(e.code() == vs::Code::InvalidArgument);
    CHECK_EQ(e.argument(), "offset");
  }
  CHECK_THROWS_CODE(backend->pin(h, 0, 64).tree_digest(0), vs::Code::InvalidArgument);
  CHECK_THROWS_CODE(backend->pin(h, 0, 10001), vs::Code::OutOfBounds);
  CHECK_THROWS_CODE(backend->pin(h, 9984, 17), vs::Code::OutOfBounds);
  CHECK_THROWS_CODE(backend->pin(h, 10001, std::nullopt), vs::Code::OutOfBounds);
  CHECK_THROWS_CODE(backend->pin(h, 10001, 0), vs::Code::OutOfBounds);
  CHECK_THROWS_CODE(backend->pin(h, 64, max), vs::Code::OutOfBounds);      // would wrap
  CHECK_THROWS_CODE(backend->pin(h, max - 63, 64), vs::Code::OutOfBounds);  // would wrap
  CHECK_THROWS_CODE(vs::check_digest_offset(65, 64), vs::Code::InvalidArgument);
  vs::check_digest_offset(128, 64);
  // A refused pin leaves nothing pinned.
  uint8_t one[1] = {1};
  backend->write(h, 0, one, 1);
  backend->write(h, 9999, one, 1);
  // The empty range at the very end is the empty tree: SHA-256("").
  CHECK_EQ(vstest::hex(backend->pin(h, 10000, std::nullopt).tree_digest(10000 / 16)),
           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  backend->free(h);
  CHECK_THROWS_CODE(backend->pin(h, 0, 1), vs::Code::UseAfterFree);
}

TEST_CASE(segment_roots_combine_into_the_whole_root) {
  // What the manager does: digest consecutive segments of 2^k leaves each (the last may be
  // short) and combine the segment roots with RFC 6962's split. With equal power-of-two
  // segments the segment roots are exactly the nodes of the whole tree at height k.
  auto backend = mock();
  const uint64_t leaf = 1024;
  for (uint64_t size : {uint64_t(1), uint64_t(1024), uint64_t(5000), uint64_t(65536) + 1,
                        uint64_t(200000)}) {
    const auto data = vstest::pseudo_random_bytes(size, size);
    const uint64_t h = filled(*backend, data);
    const vs::Digest whole = backend->pin(h).tree_digest(leaf);
    CHECK(whole == vstest::reference_tree(data, leaf));
    for (uint64_t segment_leaves : {uint64_t(1), uint64_t(2), uint64_t(8), uint64_t(64)}) {
      const uint64_t segment = segment_leaves * leaf;
      std::vector<vs::Digest> roots;
      for (uint64_t offset = 0; offset < size; offset += segment) {
        roots.push_back(
            backend->pin(h, offset, std::min(segment, size - offset)).tree_digest(leaf));
      }
      CHECK(vstest::reference_mth(roots, 0, roots.size()) == whole);
    }
    backend->free(h);
  }
}

TEST_CASE(free_during_a_range_digest_keeps_the_memory_until_it_ends) {
  auto backend = mock(4 * kMiB);
  const auto data = vstest::pseudo_random_bytes(kMiB, 5);
  const uint64_t h = filled(*backend, data);
  {
    vs::Backend::Pin pin = backend->pin(h, 256 * kKiB, 256 * kKiB);
    backend->free(h);
    uint8_t one[1] = {1};
    CHECK_THROWS_CODE(backend->write(h, 0, one, 1), vs::Code::UseAfterFree);
    CHECK_EQ(backend->mem_info(0).free_bytes, 3 * kMiB);
    CHECK(pin.tree_digest(4096) ==
          vstest::reference_tree(slice(data, 256 * kKiB, 256 * kKiB), 4096));
  }
  CHECK_EQ(backend->mem_info(0).free_bytes, 4 * kMiB);
}

TEST_CASE(disjoint_writes_proceed_while_a_worker_digests_a_range) {
  auto backend = mock(8 * kMiB, 1);
  const auto data = vstest::pseudo_random_bytes(2 * kMiB, 8);
  const uint64_t h = filled(*backend, data);
  vs::Backend::Pin pin = backend->pin(h, 0, kMiB);
  vs::Digest result{};
  std::atomic<bool> done{false};
  std::thread worker([&] {
    result = pin.tree_digest(4096);
    done = true;
  });
  // The second half is written over and over while the first half is digested.
  const auto other = vstest::pseudo_random_bytes(kMiB, 9);
  int writes = 0;
  do {
    backend->write(h, kMiB, other.data(), other.size());
    CHECK_THROWS_CODE(backend->write(h, kMiB - 1, other.data(), 2), vs::Code::AllocationBusy);
    ++writes;
  } while (!done.load() && writes < 100000);
  worker.join();
  CHECK(writes > 0);
  CHECK(result == vstest::reference_tree(slice(data, 0, kMiB), 4096));
  std::vector<uint8_t> back(kMiB);
  backend->read(h, kMiB, back.data(), back.size());
  CHECK(back == other);
}

TEST_CASE(threads_pinning_and_writing_disjoint_ranges_never_conflict) {
  // Eight threads, each owning two 64 KiB slices: it pins and digests one while writing the
  // other, then swaps. Nothing may be refused, and every digest is of the bytes last written.
  auto backend = mock(8 * kMiB, 1);
  constexpr int kThreads = 8;
  constexpr uint64_t kSlice = 64 * kKiB;
  const uint64_t h = backend->allocate(0, 2 * kThreads * kSlice);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const uint64_t mine[2] = {2 * t * kSlice, (2 * t + 1) * kSlice};
      std::vector<uint8_t> content[2] = {std::vector<uint8_t>(kSlice, 0),
                                         std::vector<uint8_t>(kSlice, 0)};
      try {
        for (int round = 0; round < 12; ++round) {
          const int read_side = round % 2;
          const int write_side = 1 - read_side;
          vs::Backend::Pin pin = backend->pin(h, mine[read_side], kSlice);
          content[write_side] = vstest::pseudo_random_bytes(kSlice, uint64_t(t) * 100 + round);
          backend->write(h, mine[write_side], content[write_side].data(), kSlice);
          if (pin.tree_digest(4096) != vstest::reference_tree(content[read_side], 4096)) {
            ++failures;
          }
        }
      } catch (const vs::Error&) {
        ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK_EQ(failures.load(), 0);
}

TEST_CASE(concurrent_pins_and_overlapping_writes_never_tear_a_digest) {
  // One thread rewrites [0, 64 KiB) with pattern A or B; another pins that range and digests it.
  // Each side may be refused (ALLOCATION_BUSY) while the other holds the range, but a digest
  // that runs must see all of A or all of B, never a mix.
  auto backend = mock(8 * kMiB, 1);
  constexpr uint64_t kRange = 64 * kKiB;
  const auto a = vstest::pseudo_random_bytes(kRange, 1);
  const auto b = vstest::pseudo_random_bytes(kRange, 2);
  const vs::Digest root_a = vstest::reference_tree(a, 4096);
  const vs::Digest root_b = vstest::reference_tree(b, 4096);
  const uint64_t h = filled(*backend, a);
  std::atomic<bool> stop{false};
  std::atomic<int> writes_done{0}, writes_refused{0}, digests_done{0}, torn{0}, other_errors{0};
  std::thread writer([&] {
    for (uint64_t i = 0; !stop.load(); ++i) {
      const auto& pattern = i % 2 == 0 ? b : a;
      try {
        backend->write(h, 0, pattern.data(), kRange);
        ++writes_done;
      } catch (const vs::Error& e) {
        if (e.code() == vs::Code::AllocationBusy) {
          ++writes_refused;
        } else {
          ++other_errors;
        }
      }
    }
  });
  std::thread digester([&] {
    while (!stop.load()) {
      try {
        vs::Backend::Pin pin = backend->pin(h, 0, kRange);
        const vs::Digest d = pin.tree_digest(4096);
        if (d != root_a && d != root_b) ++torn;
        ++digests_done;
      } catch (const vs::Error& e) {
        if (e.code() != vs::Code::AllocationBusy) ++other_errors;
      }
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((writes_done.load() < 50 || digests_done.load() < 50 || writes_refused.load() < 5) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop = true;
  writer.join();
  digester.join();
  CHECK_EQ(torn.load(), 0);
  CHECK_EQ(other_errors.load(), 0);
  // Both sides really ran, and the writer really was refused while digests held the range.
  CHECK(writes_done.load() >= 50);
  CHECK(digests_done.load() >= 50);
  CHECK(writes_refused.load() >= 5);
}

TEST_CASE(corrupt_needs_fault_injection_outside_the_mock) {
  CHECK(mock()->fault_injection());
  vs::Backend refusing = host_backend(false);
  CHECK(!refusing.fault_injection());
  const uint64_t h = refusing.allocate(0, 16);
  try {
    refusing.corrupt(h, 3, 0x0f);
    CHECK(false);
  } catch (const vs::Error& e) {
    CHECK(e.code() == vs::Code::Unsupported);
    CHECK_EQ(e.argument(), "allowFaultInjection");
    CHECK(std::string(e.what()).find("allowFaultInjection: true") != std::string::npos);
  }
  uint8_t byte = 0xff;
  refusing.read(h, 3, &byte, 1);
  CHECK_EQ(byte, uint8_t(0));  // untouched

  vs::Backend allowing = host_backend(true);
  const uint64_t g = allowing.allocate(0, 16);
  const uint8_t data[4] = {0x10, 0x20, 0x30, 0x40};
  allowing.write(g, 4, data, 4);
  allowing.corrupt(g, 5, 0x81);  // one byte out, XOR, back in
  uint8_t back[4] = {};
  allowing.read(g, 4, back, 4);
  CHECK_EQ(back[0], uint8_t(0x10));
  CHECK_EQ(back[1], uint8_t(0x20 ^ 0x81));
  CHECK_EQ(back[2], uint8_t(0x30));
  CHECK_THROWS_CODE(allowing.corrupt(g, 16, 1), vs::Code::OutOfBounds);
  {
    vs::Backend::Pin pin = allowing.pin(g, 0, 8);
    CHECK_THROWS_CODE(allowing.corrupt(g, 7, 1), vs::Code::AllocationBusy);
    allowing.corrupt(g, 8, 1);
  }
  allowing.free(g);
  CHECK_THROWS_CODE(allowing.corrupt(g, 0, 1), vs::Code::UseAfterFree);
}

TEST_CASE(format_uuid_matches_nvidia_smi) {
  const uint8_t bytes[16] = {0x5a, 0x1c, 0x0a, 0x4e, 0x2f, 0x1b, 0x3c, 0x6d,
                             0x8e, 0x9f, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0xff};
  CHECK_EQ(vs::format_uuid("GPU", bytes), "GPU-5a1c0a4e-2f1b-3c6d-8e9f-0a1b2c3d4eff");
  const uint8_t zeros[16] = {};
  CHECK_EQ(vs::format_uuid("MOCK", zeros), "MOCK-00000000-0000-0000-0000-000000000000");
}

TEST_CASE(mock_devices_have_random_stable_uuids_and_no_pageable_access) {
  auto one = mock();
  auto two = mock();
  std::set<std::string> seen;
  for (auto* backend : {one.get(), two.get()}) {
    for (int d = 0; d < backend->device_count(); ++d) {
      const vs::DeviceInfo info = backend->device_info(d);
      CHECK(is_uuid(info.uuid, "MOCK"));
      CHECK_EQ(backend->device_info(d).uuid, info.uuid);  // stable for the backend's life
      CHECK(!info.pageable_memory_access);
      seen.insert(info.uuid);
    }
  }
  CHECK_EQ(seen.size(), size_t(4));  // distinct across devices and across backends
}

// writeAsync's core: a lease registers its range as being written from the moment it is taken
// (on the JS thread) until the copy ends, so an overlapping digest cannot start in between; the
// copy may run on any thread; free() during the copy keeps the memory until the lease ends.
TEST_CASE(write_lease_copies_and_blocks_overlapping_pins_until_released) {
  auto backend = mock();
  const uint64_t h = backend->allocate(0, 64 * kKiB);
  const auto data = vstest::pseudo_random_bytes(16 * kKiB, 31);
  {
    vs::Backend::WriteLease lease = backend->lease_write(h, 16 * kKiB, data.size());
    CHECK_THROWS_CODE(backend->pin(h, 0, 32 * kKiB), vs::Code::AllocationBusy);
    CHECK_THROWS_CODE(backend->pin(h, 31 * kKiB, kKiB), vs::Code::AllocationBusy);
    backend->pin(h, 32 * kKiB, 32 * kKiB);  // disjoint: allowed
    std::optional<vs::Backend::WriteLease> moved;
    moved.emplace(std::move(lease));
    std::thread worker([&] { moved->copy_from(data.data()); });
    worker.join();
    CHECK_THROWS_CODE(backend->pin(h, 16 * kKiB, 1), vs::Code::AllocationBusy);  // until released
  }
  vs::Backend::Pin pin = backend->pin(h, 16 * kKiB, 16 * kKiB);
  CHECK(pin.tree_digest(4096) == vstest::reference_tree(data, 4096));
}

TEST_CASE(write_lease_checks_bounds_and_pinned_ranges_before_anything_is_queued) {
  auto backend = mock();
  const uint64_t h = backend->allocate(0, 8 * kKiB);
  CHECK_THROWS_CODE(backend->lease_write(h, 8 * kKiB - 1, 2), vs::Code::OutOfBounds);
  CHECK_THROWS_CODE(backend->lease_write(h, UINT64_MAX, 2), vs::Code::OutOfBounds);
  CHECK_THROWS_CODE(backend->lease_write(h + 1, 0, 1), vs::Code::InvalidHandle);
  {
    vs::Backend::Pin pin = backend->pin(h, 0, 4 * kKiB);
    CHECK_THROWS_CODE(backend->lease_write(h, 4 * kKiB - 1, 1), vs::Code::AllocationBusy);
    backend->lease_write(h, 4 * kKiB, 4 * kKiB);  // adjacent: allowed
    backend->lease_write(h, 0, 0);                // empty: touches nothing
  }
  backend->free(h);
  CHECK_THROWS_CODE(backend->lease_write(h, 0, 1), vs::Code::UseAfterFree);
}

TEST_CASE(free_during_a_leased_write_keeps_the_memory_until_the_copy_ends) {
  auto backend = mock(4 * kMiB);
  const uint64_t h = backend->allocate(0, kMiB);
  const auto data = vstest::pseudo_random_bytes(kMiB, 8);
  {
    vs::Backend::WriteLease lease = backend->lease_write(h, 0, data.size());
    backend->free(h);
    CHECK_EQ(backend->mem_info(0).free_bytes, 3 * kMiB);
    lease.copy_from(data.data());  // the memory is still there to write into
  }
  CHECK_EQ(backend->mem_info(0).free_bytes, 4 * kMiB);
}
