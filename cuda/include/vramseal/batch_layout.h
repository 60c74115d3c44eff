// Index arithmetic of the batched tree digest (src/tree_digest.cu, tree_digest_many): several
// ranges of device memory, each a sha256-tree-v1 tree of its own, hashed together, one launch per
// step for the whole batch. The VS_HD functions are what the kernels run per block or thread; the
// host tests (native/test/batch_test.cpp) run the same functions on the CPU, step by step, and
// check every leaf is hashed once, every node lands in its own range's rows, and every root
// equals the single-range digest.
//
// A launch's work units (staged blocks, generic leaves, or parent nodes of one level) are laid
// out range after range: starts[k] is range k's first unit, and a unit belongs to the last range
// whose start is at or below it (owner). A range with no units of a kind shares its start with
// the next one and so is never an owner. Each range owns rows [first_hash, first_hash + leaves)
// of two scratch arrays of 32-byte hashes: its leaf hashes, then each level's nodes, ping-pong.
#pragma once

#include <stdint.h>

#include <vector>

#include "vramseal/hd.h"
#include "vramseal/sha256_portable.h"
#include "vramseal/staged_layout.h"

namespace vs {
namespace batch {

// One non-empty range as the kernels see it (the device table holds one per range).
struct Item {
  const uint8_t* data;
  uint64_t bytes;
  uint64_t leaf_size;
  uint64_t leaves;         // ceil(bytes / leaf_size) >= 1
  uint64_t staged_leaves;  // full leaves the staged kernel hashes; 0 when it cannot take the range
  uint64_t first_hash;     // this range's first row in the scratch hash arrays
};

VS_HD uint64_t leaf_count(uint64_t bytes, uint64_t leaf_size) {
  return bytes / leaf_size + (bytes % leaf_size != 0 ? 1 : 0);
}

// Nodes at `level` of a tree over `leaves` (>= 1) leaves reduced level by level, an unpaired last
// node moving up unchanged: ceil(leaves / 2^level), which is 1 from the root's level on.
VS_HD uint64_t nodes_at_level(uint64_t leaves, unsigned level) {
  return level >= 64 ? 1 : ((leaves - 1) >> level) + 1;
}

// Levels from the leaves to the root: ceil(log2(leaves)); 0 for a single leaf.
VS_HD unsigned levels_for(uint64_t leaves) {
  unsigned level = 0;
  while (nodes_at_level(leaves, level) > 1) ++level;
  return level;
}

// The range that owns work unit `unit`: the last k with starts[k] <= unit (starts ascending,
// starts[0] == 0 <= unit). Binary search: log2(count) steps.
VS_HD uint32_t owner(const uint64_t* starts, uint32_t count, uint64_t unit) {
  uint32_t lo = 0;
  uint32_t hi = count;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (starts[mid] <= unit) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// The row of `item`'s hash number `index` (a leaf, or a node of some level) in a hash array.
VS_HD uint8_t* row(uint8_t* hashes, const Item& item, uint64_t index) {
  return hashes + (item.first_hash + index) * 32;
}
VS_HD const uint8_t* row(const uint8_t* hashes, const Item& item, uint64_t index) {
  return hashes + (item.first_hash + index) * 32;
}

// Leaf `leaf` of `item` hashed straight from its bytes (the generic path: the short last leaf, and
// ranges the staged kernel cannot take), into its row of `hashes`.
VS_HD void hash_leaf(const Item& item, uint64_t leaf, uint8_t* hashes) {
  const uint64_t start = leaf * item.leaf_size;
  const uint64_t rest = item.bytes - start;
  sha256::leaf_hash(item.data + start, rest < item.leaf_size ? rest : item.leaf_size,
                    row(hashes, item, leaf));
}

// Node `parent` of level + 1 of `item`: H(0x01 || left || right) of its two children at `level`
// in `in`, or the unpaired last child moved up unchanged; written to its row of `out`.
VS_HD void reduce_node(const Item& item, unsigned level, uint64_t parent, const uint8_t* in,
                       uint8_t* out) {
  const uint64_t children = nodes_at_level(item.leaves, level);
  const uint8_t* left = row(in, item, 2 * parent);
  uint8_t* dst = row(out, item, parent);
  if (2 * parent + 1 < children) {
    sha256::node_hash(left, left + 32, dst);
  } else {
    for (int b = 0; b < 32; ++b) dst[b] = left[b];
  }
}

// ---- the host's plan of a batch (what tree_digest_many uploads and launches) -------------------

struct Range {
  const void* data;
  uint64_t bytes;
  uint64_t leaf_size;
};

struct Plan {
  std::vector<Item> items;        // the non-empty ranges, in the caller's order
  std::vector<uint32_t> index;    // items[k] is the caller's range index[k]
  std::vector<uint64_t> staged;   // starts of the staged blocks (staged_blocks in all)
  std::vector<uint64_t> generic;  // starts of the generic leaves (generic_leaves in all)
  uint64_t staged_blocks = 0;
  uint64_t generic_leaves = 0;
  uint64_t hashes = 0;  // rows of each scratch hash array
  unsigned levels = 0;  // the deepest range's levels: launches of the level reduction
  // starts of level L's parent nodes at [L * items.size(), (L + 1) * items.size()), and the
  // parent nodes of level L in all. A range already at its root keeps one unit per level (its
  // root moves up unchanged), so every range's root sits in row first_hash of the last array.
  std::vector<uint64_t> level_starts;
  std::vector<uint64_t> level_units;
};

// The staged kernel takes a range's full leaves when its data is 16-byte aligned and its leaf
// size a multiple of 64 (staged_layout.h); everything else is hashed by the generic kernel.
inline bool stageable(const Range& range) {
  return reinterpret_cast<uintptr_t>(range.data) % 16 == 0 && range.leaf_size % 64 == 0;
}

// leaf_size must be >= 1 (native/ checks it before anything reaches here).
inline Plan make_plan(const Range* ranges, uint32_t count) {
  Plan plan;
  for (uint32_t i = 0; i < count; ++i) {
    const Range& r = ranges[i];
    if (r.bytes == 0) continue;  // the empty tree: SHA-256(""), no device work
    Item item{static_cast<const uint8_t*>(r.data), r.bytes, r.leaf_size,
              leaf_count(r.bytes, r.leaf_size), 0, plan.hashes};
    item.staged_leaves = stageable(r) ? r.bytes / r.leaf_size : 0;
    plan.staged.push_back(plan.staged_blocks);
    plan.generic.push_back(plan.generic_leaves);
    plan.staged_blocks += (item.staged_leaves + staged::kThreads - 1) / staged::kThreads;
    plan.generic_leaves += item.leaves - item.staged_leaves;
    plan.hashes += item.leaves;
    const unsigned levels = levels_for(item.leaves);
    if (levels > plan.levels) plan.levels = levels;
    plan.items.push_back(item);
    plan.index.push_back(i);
  }
  const size_t n = plan.items.size();
  plan.level_starts.resize(size_t(plan.levels) * n);
  plan.level_units.resize(plan.levels);
  for (unsigned level = 0; level < plan.levels; ++level) {
    uint64_t units = 0;
    for (size_t k = 0; k < n; ++k) {
      plan.level_starts[level * n + k] = units;
      units += nodes_at_level(plan.items[k].leaves, level + 1);
    }
    plan.level_units[level] = units;
  }
  return plan;
}

}  // namespace batch
}  // namespace vs
