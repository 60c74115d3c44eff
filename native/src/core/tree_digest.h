// sha256-tree-v1 on the host: RFC 6962 Merkle root over consecutive leafSize slices
// (the last may be short); empty input -> SHA-256(""). Byte-identical to seal-crypto's treeDigest.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace vs {

using Digest = std::array<uint8_t, 32>;

// The two hash primitives a tree needs, as plain functions so the fast host path (OpenSSL, see
// host_hash.h) and the portable kernel core (cuda/include/vramseal/sha256_portable.h) plug in
// alike. Both functions must be safe to call from several threads at once.
struct Hasher {
  const char* name;
  // SHA-256(prefix || data)
  void (*prefixed)(uint8_t prefix, const uint8_t* data, uint64_t len, uint8_t out[32]);
  // SHA-256("")
  void (*empty)(uint8_t out[32]);
};

// The portable __host__ __device__ core compiled by g++: slow on a CPU, used to cross-check.
Hasher portable_hasher();

// Builds the RFC 6962 tree left to right with O(log n) memory: a stack of perfect subtrees,
// merged whenever two of the same height meet, folded right to left at the end.
class MerkleStack {
 public:
  MerkleStack(const Hasher& hasher) : hasher_(hasher) {}
  void push(const Digest& digest, unsigned height);
  // The root of everything pushed; the stack must not be empty.
  Digest root() const;
  bool empty() const { return entries_.empty(); }

 private:
  struct Entry {
    Digest digest;
    unsigned height;
  };
  Digest node(const Digest& left, const Digest& right) const;
  const Hasher& hasher_;
  std::vector<Entry> entries_;
};

// Leaf sizes beyond this make no sense for a tree over device memory (and keep the arithmetic
// far from overflow).
constexpr uint64_t kMaxLeafSize = uint64_t(1) << 40;

// Throws INVALID_ARGUMENT naming leafSize unless 1 <= leaf_size <= kMaxLeafSize. Every tree
// digest (host threads, CUDA kernel, the addon before it queues a worker) checks with this.
void check_leaf_size(uint64_t leaf_size);

// Throws INVALID_ARGUMENT naming offset unless a range digest's offset is a whole number of
// leaves (offset % leaf_size == 0): it keeps device loads aligned and makes a range digest the
// root of a subtree of the whole allocation's tree when the range is a power of two of leaves.
// leaf_size must already have passed check_leaf_size.
void check_digest_offset(uint64_t offset, uint64_t leaf_size);

// Root of `len` bytes at `data`. Leaves are grouped into power-of-two chunks that `threads`
// std::threads hash in parallel; each chunk's root is a node of the full tree (or, for the last
// chunk, the node RFC 6962's split produces), so chunk roots combine into the same root.
Digest tree_digest(const uint8_t* data, uint64_t len, uint64_t leaf_size, const Hasher& hasher,
                   unsigned threads);

// One range of a batched host digest: `len` bytes at `data`, leaves of `leaf_size`.
struct HostRange {
  const uint8_t* data;
  uint64_t len;
  uint64_t leaf_size;
};

// The roots of several ranges, each a tree of its own, computed by one pool of `threads`
// std::threads that take chunks of every range from one counter (so a batch of small ranges
// keeps every thread busy). Each leaf size is checked as above. tree_digest() is the batch of one.
std::vector<Digest> tree_digest_many(const std::vector<HostRange>& ranges, const Hasher& hasher,
                                     unsigned threads);

// std::thread::hardware_concurrency(), at least 1.
unsigned default_thread_count();

}  // namespace vs
