// Index arithmetic of the staged-transpose leaf kernel (src/tree_digest.cu), as VS_HD functions
// so the host tests can run the kernel's data movement on the CPU (native/test/staged_test.cpp)
// and check it hashes the same bytes as the reference, with coalesced loads and no bank clashes.
#pragma once

#include <stdint.h>

#include "vramseal/hd.h"

namespace vs {
namespace staged {

// A block owns kThreads consecutive leaves.
constexpr unsigned kThreads = 128;
// 16-byte vectors in one 64-byte chunk of one leaf.
constexpr unsigned kVectorsPerChunk = 4;
// Each thread moves kVectorsPerThread of the block's kThreads * 4 vectors per chunk.
constexpr unsigned kVectorsPerThread = kVectorsPerChunk;
// A staged row is one chunk plus one padding vector: rows 80 bytes apart put the eight threads
// of a quarter-warp (one 16-byte shared-memory wavefront) on distinct banks.
constexpr unsigned kRowVectors = kVectorsPerChunk + 1;

// Which leaf of the block and which 16-byte part of its chunk the j-th load of `thread` moves.
// Four neighbouring threads take the four parts of one leaf: 64 contiguous bytes per leaf.
struct Slot {
  unsigned leaf_in_block;
  unsigned part;
};

VS_HD Slot load_slot(unsigned thread, unsigned j) {
  const unsigned q = thread + j * kThreads;
  return Slot{q / kVectorsPerChunk, q % kVectorsPerChunk};
}

// Index (in 16-byte vectors) of that part of chunk k in the allocation.
VS_HD uint64_t global_vector(uint64_t first_leaf, Slot slot, uint64_t vectors_per_leaf,
                             uint64_t chunk) {
  return (first_leaf + slot.leaf_in_block) * vectors_per_leaf + chunk * kVectorsPerChunk +
         slot.part;
}

// Where that vector goes in the shared stage.
VS_HD unsigned stage_index(Slot slot) { return slot.leaf_in_block * kRowVectors + slot.part; }

// Where `thread` reads part p of its own leaf's chunk.
VS_HD unsigned row_index(unsigned thread, unsigned p) { return thread * kRowVectors + p; }

}  // namespace staged
}  // namespace vs
