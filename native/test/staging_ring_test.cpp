// The staged-copy schedule (cuda/include/vramseal/staging_ring.h) with a fake DMA engine: the
// same code the cuda backend's writeAsync runs, with the CUDA calls replaced by a recorder that
// knows which slot's buffer the device is still reading. There is no GPU here: this checks the
// ring's logic (coverage, reuse only after the wait, in-flight limit, draining on failure).
#include <string>
#include <vector>

#include "check.h"
#include "vramseal/staging_ring.h"

namespace {

struct Status {
  bool failed = false;
  bool ok() const { return !failed; }
};

// A DMA engine that finishes a slot's copy only when it is waited for (the worst case for the
// host: nothing completes on its own).
struct FakeOps {
  unsigned slots;
  std::vector<int> covered;              // per byte: how many chunks delivered it
  std::vector<bool> in_flight;           // per slot: a queued DMA still reads its buffer
  std::vector<uint64_t> filled_offset;   // per slot: what the buffer holds now
  unsigned max_in_flight = 0;
  bool overwrote_in_flight = false;
  int fail_at = -1;  // the n-th call (of any kind) fails
  int calls = 0;
  std::string log;

  FakeOps(uint64_t bytes, unsigned slot_count)
      : slots(slot_count), covered(bytes, 0), in_flight(slot_count, false),
        filled_offset(slot_count, ~uint64_t(0)) {}

  bool next_fails() { return calls++ == fail_at; }

  Status fill(unsigned slot, uint64_t offset, uint64_t) {
    if (next_fails()) return {true};
    if (in_flight[slot]) overwrote_in_flight = true;
    filled_offset[slot] = offset;
    log += "f" + std::to_string(slot);
    return {};
  }
  Status launch(unsigned slot, uint64_t offset, uint64_t length) {
    if (next_fails()) return {true};
    CHECK_EQ(filled_offset[slot], offset);  // the DMA sends what the host just put there
    for (uint64_t b = offset; b < offset + length; ++b) ++covered[b];
    in_flight[slot] = true;
    unsigned n = 0;
    for (bool f : in_flight) n += f ? 1 : 0;
    if (n > max_in_flight) max_in_flight = n;
    log += "l" + std::to_string(slot);
    return {};
  }
  Status wait(unsigned slot) {
    const bool fail = next_fails();
    in_flight[slot] = false;  // a failed wait still means the engine stopped with the buffer
    log += "w" + std::to_string(slot);
    return {fail};
  }
  bool idle() const {
    for (bool f : in_flight) {
      if (f) return false;
    }
    return true;
  }
};

}  // namespace

TEST_CASE(staging_ring_delivers_every_byte_once_and_reuses_a_buffer_only_after_its_wait) {
  for (uint64_t bytes : {uint64_t(1), uint64_t(7), uint64_t(8), uint64_t(9), uint64_t(100)}) {
    for (unsigned slots : {1u, 2u, 4u}) {
      FakeOps ops(bytes, slots);
      const Status status = vs::staging::run(bytes, {8, slots}, ops);
      CHECK(status.ok());
      bool once = true;
      for (int c : ops.covered) once = once && c == 1;
      CHECK(once);
      CHECK(!ops.overwrote_in_flight);
      CHECK(ops.max_in_flight <= slots);
      CHECK(ops.idle());  // nothing in flight when run() returns
    }
  }
  // Two slots, 4 chunks: fill/launch 0 and 1 back to back, then each reuse waits first.
  FakeOps ops(32, 2);
  CHECK(vs::staging::run(32, {8, 2}, ops).ok());
  CHECK_EQ(ops.log, std::string("f0l0f1l1w0f0l0w1f1l1w0w1"));
  CHECK_EQ(ops.max_in_flight, 2u);
  CHECK_EQ(vs::staging::chunk_count(0, 8), uint64_t(0));
  CHECK_EQ(vs::staging::chunk_count(17, 8), uint64_t(3));
}

TEST_CASE(staging_ring_empty_copy_does_nothing) {
  FakeOps ops(0, 3);
  CHECK(vs::staging::run(0, {8, 3}, ops).ok());
  CHECK_EQ(ops.log, std::string());
}

TEST_CASE(staging_ring_failure_returns_only_after_every_queued_copy_finished) {
  // Fail each call in turn of a 5-chunk copy through 2 slots: the error comes back, nothing is
  // left in flight, and no buffer was overwritten under the engine.
  FakeOps probe(40, 2);
  CHECK(vs::staging::run(40, {8, 2}, probe).ok());
  for (int n = 0; n < probe.calls; ++n) {
    FakeOps ops(40, 2);
    ops.fail_at = n;
    const Status status = vs::staging::run(40, {8, 2}, ops);
    CHECK(!status.ok());
    CHECK(ops.idle());
    CHECK(!ops.overwrote_in_flight);
    bool at_most_once = true;
    for (int c : ops.covered) at_most_once = at_most_once && c <= 1;
    CHECK(at_most_once);
  }
}
