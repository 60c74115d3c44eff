// The batched tree digest on the CPU: the launches of cuda/src/tree_digest.cu's tree_digest_many
// run one work unit at a time with the same index functions (cuda/include/vramseal/batch_layout.h)
// and the same hashing core, and every root is compared with the single-range digest. There is
// no GPU here: this checks the batch's arithmetic (owners, rows, levels, the gather), not the
// kernels' memory system. native/test/staged_test.cpp covers the staged kernel's data movement.
// Also the host's own batch (tree_digest_many on threads), which the mock backend runs.
#include <cstring>
#include <vector>

#include "check.h"
#include "error.h"
#include "helpers.h"
#include "tree_digest.h"
#include "vramseal/batch_layout.h"

namespace {

namespace b = vs::batch;

struct Case {
  std::vector<uint8_t> bytes;  // the range's data (an unaligned view when `skew` > 0)
  size_t skew;
  uint64_t leaf_size;
};

// Several ranges of every kind the plan distinguishes: empty; one leaf; a power of two of leaves
// and one more; a short last leaf; more than one staged block; leaf sizes that are not a multiple
// of 64 and data that is not 16-byte aligned (all generic); the same data twice.
std::vector<Case> cases() {
  std::vector<Case> out;
  uint64_t seed = 1;
  auto add = [&](size_t bytes, uint64_t leaf_size, size_t skew) {
    out.push_back({vstest::pseudo_random_bytes(bytes + skew, seed++), skew, leaf_size});
  };
  add(0, 64, 0);
  add(1, 64, 0);
  add(64, 64, 0);
  add(64 * 8, 64, 0);
  add(64 * 9, 64, 0);
  add(64 * 300 + 17, 64, 0);  // 3 staged blocks (the last partial) and a short leaf
  add(4096 * 5 + 1, 4096, 0);
  add(1000, 100, 0);  // not a multiple of 64: generic
  add(777, 3, 0);
  add(5000, 128, 1);  // unaligned data: generic
  add(0, 4096, 0);
  add(256 * 129, 256, 0);
  add(2, 1, 0);
  return out;
}

const uint8_t* data_of(const Case& c) { return c.bytes.data() + c.skew; }
uint64_t size_of(const Case& c) { return c.bytes.size() - c.skew; }

std::vector<b::Range> ranges_of(const std::vector<Case>& all) {
  std::vector<b::Range> ranges;
  for (const Case& c : all) ranges.push_back({data_of(c), size_of(c), c.leaf_size});
  return ranges;
}

// The plan as the kernels would run it, one unit at a time. `touched` counts the writes of every
// row of the leaf array, so a row written twice or never shows up.
std::vector<vs::Digest> emulate(const std::vector<b::Range>& ranges, const b::Plan& plan,
                                std::vector<int>* touched) {
  const uint32_t n = static_cast<uint32_t>(plan.items.size());
  std::vector<uint8_t> a(plan.hashes * 32, 0xAB), c(plan.hashes * 32, 0xCD);
  touched->assign(plan.hashes, 0);
  // batch_leaf_hashes_staged: block -> owner -> the leaves of its kThreads threads
  for (uint64_t block = 0; block < plan.staged_blocks; ++block) {
    const uint32_t k = b::owner(plan.staged.data(), n, block);
    const b::Item& item = plan.items[k];
    const uint64_t first_leaf = (block - plan.staged[k]) * vs::staged::kThreads;
    for (unsigned t = 0; t < vs::staged::kThreads; ++t) {
      const uint64_t leaf = first_leaf + t;
      if (leaf >= item.staged_leaves) continue;  // staged_block's `leaf < full_leaves`
      vs::sha256::leaf_hash(item.data + leaf * item.leaf_size, item.leaf_size,
                            b::row(a.data(), item, leaf));
      ++(*touched)[item.first_hash + leaf];
    }
  }
  // batch_leaf_hashes_generic
  for (uint64_t unit = 0; unit < plan.generic_leaves; ++unit) {
    const uint32_t k = b::owner(plan.generic.data(), n, unit);
    const b::Item& item = plan.items[k];
    const uint64_t leaf = item.staged_leaves + (unit - plan.generic[k]);
    CHECK(leaf < item.leaves);
    b::hash_leaf(item, leaf, a.data());
    ++(*touched)[item.first_hash + leaf];
  }
  // batch_reduce_level, ping-pong
  uint8_t* in = a.data();
  uint8_t* out = c.data();
  for (unsigned level = 0; level < plan.levels; ++level) {
    const uint64_t* starts = plan.level_starts.data() + size_t(level) * n;
    for (uint64_t unit = 0; unit < plan.level_units[level]; ++unit) {
      const uint32_t k = b::owner(starts, n, unit);
      const uint64_t parent = unit - starts[k];
      CHECK(parent < b::nodes_at_level(plan.items[k].leaves, level + 1));
      b::reduce_node(plan.items[k], level, parent, in, out);
    }
    std::swap(in, out);
  }
  // batch_gather_roots, then the host's scatter to request order; empty ranges are SHA-256("")
  std::vector<vs::Digest> roots(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i].bytes == 0) vs::sha256::empty_hash(roots[i].data());
  }
  for (uint32_t k = 0; k < n; ++k) {
    std::memcpy(roots[plan.index[k]].data(), b::row(in, plan.items[k], 0), 32);
  }
  return roots;
}

}  // namespace

TEST_CASE(batch_levels_and_node_counts) {
  CHECK_EQ(b::levels_for(1), 0u);
  CHECK_EQ(b::levels_for(2), 1u);
  CHECK_EQ(b::levels_for(3), 2u);
  CHECK_EQ(b::levels_for(1024), 10u);
  CHECK_EQ(b::levels_for(1025), 11u);
  CHECK_EQ(b::nodes_at_level(5, 0), uint64_t(5));
  CHECK_EQ(b::nodes_at_level(5, 1), uint64_t(3));
  CHECK_EQ(b::nodes_at_level(5, 2), uint64_t(2));
  CHECK_EQ(b::nodes_at_level(5, 3), uint64_t(1));
  CHECK_EQ(b::nodes_at_level(uint64_t(1) << 40, 64), uint64_t(1));
  CHECK_EQ(b::nodes_at_level(~uint64_t(0), 63), uint64_t(2));
  CHECK_EQ(b::leaf_count(0, 64), uint64_t(0));
  CHECK_EQ(b::leaf_count(65, 64), uint64_t(2));
}

TEST_CASE(batch_owner_is_the_last_range_starting_at_or_below_a_unit) {
  // Ranges 1 and 3 have no units (they share the next one's start), range 4 starts at the end.
  const uint64_t starts[] = {0, 3, 3, 7, 7};
  const uint32_t want[] = {0, 0, 0, 2, 2, 2, 2};
  for (uint64_t unit = 0; unit < 7; ++unit) CHECK_EQ(b::owner(starts, 5, unit), want[unit]);
  const uint64_t one[] = {0};
  CHECK_EQ(b::owner(one, 1, 12345), 0u);
}

TEST_CASE(batch_plan_hashes_every_leaf_exactly_once) {
  const std::vector<Case> all = cases();
  const std::vector<b::Range> ranges = ranges_of(all);
  const b::Plan plan = b::make_plan(ranges.data(), static_cast<uint32_t>(ranges.size()));
  CHECK_EQ(plan.items.size(), ranges.size() - 2);  // the two empty ranges need no device work
  uint64_t rows = 0;
  for (const b::Item& item : plan.items) {
    CHECK_EQ(item.first_hash, rows);  // each range's rows follow the previous range's
    rows += item.leaves;
    const bool stageable =
        reinterpret_cast<uintptr_t>(item.data) % 16 == 0 && item.leaf_size % 64 == 0;
    CHECK_EQ(item.staged_leaves, stageable ? item.bytes / item.leaf_size : uint64_t(0));
  }
  CHECK_EQ(plan.hashes, rows);
  std::vector<int> touched;
  emulate(ranges, plan, &touched);
  bool once = true;
  for (int t : touched) once = once && t == 1;
  CHECK(once);
}

TEST_CASE(batch_emulation_roots_equal_single_range_digests) {
  const std::vector<Case> all = cases();
  const std::vector<b::Range> ranges = ranges_of(all);
  const b::Plan plan = b::make_plan(ranges.data(), static_cast<uint32_t>(ranges.size()));
  std::vector<int> touched;
  const std::vector<vs::Digest> roots = emulate(ranges, plan, &touched);
  for (size_t i = 0; i < all.size(); ++i) {
    const std::vector<uint8_t> data(data_of(all[i]), data_of(all[i]) + size_of(all[i]));
    CHECK_EQ(vstest::hex(roots[i]), vstest::hex(vstest::reference_tree(data, all[i].leaf_size)));
  }
  // A batch of one, and a batch of nothing but empty ranges, need no level at all.
  const b::Plan single = b::make_plan(ranges.data() + 1, 1);
  CHECK_EQ(single.levels, 0u);
  CHECK_EQ(single.generic_leaves, uint64_t(1));
  const b::Plan empty = b::make_plan(ranges.data(), 1);
  CHECK(empty.items.empty());
}

TEST_CASE(host_tree_digest_many_equals_one_digest_per_range) {
  const std::vector<Case> all = cases();
  std::vector<vs::HostRange> ranges;
  for (const Case& c : all) ranges.push_back({data_of(c), size_of(c), c.leaf_size});
  // 2 MiB + 1 with 4 KiB leaves: several chunks, so threads share one range too.
  const auto big = vstest::pseudo_random_bytes((2 << 20) + 1, 99);
  ranges.push_back({big.data(), big.size(), 4096});
  for (unsigned threads : {1u, 2u, 7u}) {
    const std::vector<vs::Digest> roots =
        vs::tree_digest_many(ranges, vs::portable_hasher(), threads);
    CHECK_EQ(roots.size(), ranges.size());
    for (size_t i = 0; i < ranges.size(); ++i) {
      const std::vector<uint8_t> data(ranges[i].data, ranges[i].data + ranges[i].len);
      const vs::Digest want = vstest::reference_tree(data, ranges[i].leaf_size);
      CHECK_EQ(vstest::hex(roots[i]), vstest::hex(want));
    }
  }
  CHECK(vs::tree_digest_many({}, vs::portable_hasher(), 2).empty());
  CHECK_THROWS_CODE(vs::tree_digest_many({{big.data(), 10, 0}}, vs::portable_hasher(), 2),
                    vs::Code::InvalidArgument);
}
