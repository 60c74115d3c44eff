// The schedule of a staged host -> device copy through a ring of pinned buffers (the cuda
// backend's writeAsync: src/staging.cu). Plain C++ with the CUDA calls behind `Ops`, so the host
// tests (native/test/staging_ring_test.cpp) run the same schedule with a recording fake.
//
// Chunk i goes through slot i % slots: the host copies it into that pinned buffer, then queues
// its DMA (cudaMemcpyAsync on a stream, and an event after it). Before a slot is filled again,
// the event of the chunk that last used it is waited for. So the host's copy of chunk i overlaps
// the DMA of chunks i - slots + 1 .. i - 1, at most `slots` copies are in flight, and no pinned
// buffer is overwritten while the device still reads it. On any failure every chunk already
// queued is waited for before the error is returned: the buffers stay untouched until the DMA
// engine is done with them.
#pragma once

#include <stdint.h>

namespace vs {
namespace staging {

// How a copy of `bytes` is cut: chunks of `slot_bytes` (the last may be short), through `slots`
// pinned buffers.
struct Shape {
  uint64_t slot_bytes;
  unsigned slots;
};

inline uint64_t chunk_count(uint64_t bytes, uint64_t slot_bytes) {
  return bytes / slot_bytes + (bytes % slot_bytes != 0 ? 1 : 0);
}

// Ops (each returns a Status-like value with ok()):
//   fill(slot, chunk_offset, length)   copy source bytes [chunk_offset, +length) into the slot
//   launch(slot, chunk_offset, length) queue the slot's DMA to destination + chunk_offset and
//                                      record the slot's event after it
//   wait(slot)                         wait for the slot's event (its last DMA has finished)
// slot_bytes and slots must be >= 1.
template <typename Ops>
auto run(uint64_t bytes, Shape shape, Ops& ops) -> decltype(ops.wait(0u)) {
  using Status = decltype(ops.wait(0u));
  const uint64_t chunks = chunk_count(bytes, shape.slot_bytes);
  uint64_t queued = 0;  // chunks whose DMA was queued; the last min(queued, slots) are in flight
  Status failure{};
  for (uint64_t i = 0; i < chunks && failure.ok(); ++i) {
    const unsigned slot = static_cast<unsigned>(i % shape.slots);
    if (i >= shape.slots) {
      failure = ops.wait(slot);  // the DMA of chunk i - slots has left this buffer
      if (!failure.ok()) break;
    }
    const uint64_t offset = i * shape.slot_bytes;
    const uint64_t length = bytes - offset < shape.slot_bytes ? bytes - offset : shape.slot_bytes;
    failure = ops.fill(slot, offset, length);
    if (!failure.ok()) break;
    failure = ops.launch(slot, offset, length);
    if (!failure.ok()) break;
    queued = i + 1;
  }
  // Drain: wait for every chunk still in flight (also after a failure), oldest first.
  const uint64_t first_in_flight = queued > shape.slots ? queued - shape.slots : 0;
  for (uint64_t i = first_in_flight; i < queued; ++i) {
    // Slots already waited for in the loop above (a failing wait included) are waited again:
    // waiting for a finished event is immediate.
    const Status drained = ops.wait(static_cast<unsigned>(i % shape.slots));
    if (failure.ok() && !drained.ok()) failure = drained;
  }
  return failure;
}

}  // namespace staging
}  // namespace vs
