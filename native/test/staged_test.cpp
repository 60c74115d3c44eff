// Runs the staged-transpose leaf kernel's data movement on the CPU: the same index functions
// (cuda/include/vramseal/staged_layout.h) and the same hashing core, one simulated block at a
// time, with the barriers as loop boundaries. There is no GPU here; this checks that the kernel
// feeds every thread exactly its own leaf's bytes, with coalesced loads and conflict-free rows.
#include <array>
#include <cstring>
#include <set>
#include <vector>

#include "check.h"
#include "helpers.h"
#include "vramseal/sha256_portable.h"
#include "vramseal/staged_layout.h"

namespace {

namespace st = vs::staged;
using Vec = std::array<uint32_t, 4>;  // a uint4: four little-endian words

Vec load_vector(const std::vector<uint8_t>& data, uint64_t index) {
  Vec v;
  for (unsigned w = 0; w < 4; ++w) v[w] = vs::sha256::load_le32(data.data() + index * 16 + 4 * w);
  return v;
}

// The leaf hashes leaf_hashes_staged computes for the full leaves of `data`.
std::vector<vs::Digest> emulate_staged(const std::vector<uint8_t>& data, uint64_t leaf_size) {
  const uint64_t full_leaves = data.size() / leaf_size;
  const uint64_t chunks = leaf_size / 64;
  const uint64_t vectors_per_leaf = leaf_size / 16;
  const uint64_t blocks = (full_leaves + st::kThreads - 1) / st::kThreads;
  std::vector<vs::Digest> out(full_leaves);
  for (uint64_t block = 0; block < blocks; ++block) {
    const uint64_t first_leaf = block * st::kThreads;
    std::vector<Vec> stage(st::kThreads * st::kRowVectors, Vec{0xdeadbeef, 0, 0, 0});
    std::vector<std::array<uint32_t, 8>> h(st::kThreads);
    std::vector<uint8_t> carry(st::kThreads, vs::sha256::kLeafPrefix);
    for (auto& state : h) vs::sha256::init(state.data());
    for (uint64_t k = 0; k < chunks; ++k) {
      // load + stage (the kernel overlaps this with the previous compression; same result)
      for (unsigned t = 0; t < st::kThreads; ++t) {
        for (unsigned j = 0; j < st::kVectorsPerThread; ++j) {
          const st::Slot slot = st::load_slot(t, j);
          const bool real = first_leaf + slot.leaf_in_block < full_leaves;
          stage[st::stage_index(slot)] =
              real ? load_vector(data, st::global_vector(first_leaf, slot, vectors_per_leaf, k))
                   : Vec{0, 0, 0, 0};
        }
      }
      // __syncthreads(); then every thread compresses its row
      for (unsigned t = 0; t < st::kThreads; ++t) {
        uint32_t chunk[16], w[16];
        for (unsigned p = 0; p < 4; ++p) {
          const Vec& v = stage[st::row_index(t, p)];
          for (unsigned i = 0; i < 4; ++i) chunk[4 * p + i] = v[i];
        }
        carry[t] = vs::sha256::block_words_from_chunk(carry[t], chunk, w);
        vs::sha256::compress(h[t].data(), w);
      }
    }
    for (unsigned t = 0; t < st::kThreads; ++t) {
      if (first_leaf + t >= full_leaves) continue;
      vs::sha256::finish_prefixed(h[t].data(), carry[t], nullptr, 0, leaf_size,
                                  out[first_leaf + t].data());
    }
  }
  return out;
}

}  // namespace

TEST_CASE(staged_kernel_emulation_matches_reference_leaf_hashes) {
  // 300 full leaves: two full blocks and a partial third; several chunks per leaf.
  for (uint64_t leaf_size : {64u, 256u}) {
    const auto data = vstest::pseudo_random_bytes(300 * leaf_size, leaf_size);
    const auto leaves = emulate_staged(data, leaf_size);
    CHECK_EQ(leaves.size(), size_t(300));
    bool all_equal = true;
    for (size_t i = 0; i < leaves.size(); ++i) {
      vs::Digest want;
      vs::sha256::leaf_hash(data.data() + i * leaf_size, leaf_size, want.data());
      all_equal = all_equal && leaves[i] == want;
    }
    CHECK(all_equal);
  }
}

TEST_CASE(staged_loads_fill_every_row_exactly_once) {
  std::set<unsigned> written;
  for (unsigned t = 0; t < st::kThreads; ++t) {
    for (unsigned j = 0; j < st::kVectorsPerThread; ++j) {
      CHECK(written.insert(st::stage_index(st::load_slot(t, j))).second);
    }
  }
  for (unsigned t = 0; t < st::kThreads; ++t) {
    for (unsigned p = 0; p < 4; ++p) CHECK(written.count(st::row_index(t, p)) == 1);
  }
}

TEST_CASE(staged_loads_are_coalesced_and_rows_avoid_bank_conflicts) {
  // Each group of four neighbouring threads loads one leaf's 64 contiguous bytes.
  const uint64_t vectors_per_leaf = 65536 / 16;
  for (unsigned t = 0; t < st::kThreads; t += 4) {
    for (unsigned j = 0; j < st::kVectorsPerThread; ++j) {
      const uint64_t base = st::global_vector(0, st::load_slot(t, j), vectors_per_leaf, 3);
      CHECK_EQ(base % 4, uint64_t(0));
      for (unsigned i = 1; i < 4; ++i) {
        CHECK_EQ(st::global_vector(0, st::load_slot(t + i, j), vectors_per_leaf, 3), base + i);
      }
    }
  }
  // A 16-byte shared load is served per quarter-warp (8 threads): their row starts must fall in
  // 8 distinct 16-byte bank groups of the 128-byte bank window.
  for (unsigned quarter = 0; quarter < st::kThreads; quarter += 8) {
    for (unsigned p = 0; p < 4; ++p) {
      std::set<unsigned> groups;
      for (unsigned t = quarter; t < quarter + 8; ++t) groups.insert((st::row_index(t, p) * 16 % 128) / 16);
      CHECK_EQ(groups.size(), size_t(8));
    }
  }
  // The stores into the stage cannot also be conflict-free: a quarter-warp stores the four parts
  // of two neighbouring rows, 5 vectors apart, so parts 0 of the first and 3 of the second share
  // a bank group (one 2-way conflict, one extra wavefront per 64-byte chunk; cuda/README.md).
  for (unsigned quarter = 0; quarter < st::kThreads; quarter += 8) {
    for (unsigned j = 0; j < st::kVectorsPerThread; ++j) {
      std::set<unsigned> groups;
      for (unsigned t = quarter; t < quarter + 8; ++t) {
        groups.insert(st::stage_index(st::load_slot(t, j)) % 8);
      }
      CHECK_EQ(groups.size(), size_t(7));
    }
  }
}
