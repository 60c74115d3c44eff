#include "tree_digest.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "error.h"
#include "vramseal/sha256_portable.h"

namespace vs {
namespace {

// Work is handed out in chunks of roughly this many bytes: large enough that the per-chunk
// overhead vanishes, small enough that two threads finish at nearly the same time.
constexpr uint64_t kTargetChunkBytes = 1u << 20;

void portable_prefixed(uint8_t prefix, const uint8_t* data, uint64_t len, uint8_t out[32]) {
  sha256::prefixed_hash(prefix, data, len, out);
}

void portable_empty(uint8_t out[32]) { sha256::empty_hash(out); }

// Leaves per chunk: a power of two, so every full chunk is a perfect subtree of the RFC 6962 tree.
uint64_t chunk_leaf_count(uint64_t leaf_size) {
  uint64_t leaves = 1;
  while (leaves * leaf_size < kTargetChunkBytes) leaves *= 2;
  return leaves;
}

unsigned log2_exact(uint64_t power_of_two) {
  unsigned height = 0;
  while ((uint64_t(1) << height) < power_of_two) ++height;
  return height;
}

Digest leaf_digest(const Hasher& hasher, const uint8_t* data, uint64_t len) {
  Digest d;
  hasher.prefixed(sha256::kLeafPrefix, data, len, d.data());
  return d;
}

// Root of leaves [first, first + count) of the data.
Digest subtree_root(const uint8_t* data, uint64_t len, uint64_t leaf_size, uint64_t first,
                    uint64_t count, const Hasher& hasher) {
  MerkleStack stack(hasher);
  for (uint64_t leaf = first; leaf < first + count; ++leaf) {
    const uint64_t start = leaf * leaf_size;
    stack.push(leaf_digest(hasher, data + start, std::min(leaf_size, len - start)), 0);
  }
  return stack.root();
}

}  // namespace

Hasher portable_hasher() { return Hasher{"portable-sha256", portable_prefixed, portable_empty}; }

Digest MerkleStack::node(const Digest& left, const Digest& right) const {
  uint8_t both[64];
  std::copy(left.begin(), left.end(), both);
  std::copy(right.begin(), right.end(), both + 32);
  Digest d;
  hasher_.prefixed(sha256::kNodePrefix, both, 64, d.data());
  return d;
}

void MerkleStack::push(const Digest& digest, unsigned height) {
  entries_.push_back({digest, height});
  // Two perfect subtrees of equal height side by side are the two halves of their parent.
  while (entries_.size() >= 2) {
    const Entry& right = entries_[entries_.size() - 1];
    const Entry& left = entries_[entries_.size() - 2];
    if (left.height != right.height) break;
    const Entry parent{node(left.digest, right.digest), left.height + 1};
    entries_.pop_back();
    entries_.back() = parent;
  }
}

Digest MerkleStack::root() const {
  // What is left is a row of perfect subtrees of strictly decreasing height; RFC 6962's split
  // (largest power of two smaller than n) joins them from the right.
  Digest acc = entries_.back().digest;
  for (size_t i = entries_.size() - 1; i-- > 0;) acc = node(entries_[i].digest, acc);
  return acc;
}

void check_leaf_size(uint64_t leaf_size) {
  if (leaf_size == 0 || leaf_size > kMaxLeafSize) {
    throw Error(Code::InvalidArgument,
                "leafSize must be between 1 and 2^40 bytes, got " + std::to_string(leaf_size),
                "leafSize");
  }
}

void check_digest_offset(uint64_t offset, uint64_t leaf_size) {
  if (offset % leaf_size != 0) {
    throw Error(Code::InvalidArgument,
                "offset must be a multiple of leafSize (" + std::to_string(leaf_size) + "), got " +
                    std::to_string(offset),
                "offset");
  }
}

unsigned default_thread_count() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

Digest tree_digest(const uint8_t* data, uint64_t len, uint64_t leaf_size, const Hasher& hasher,
                   unsigned threads) {
  return tree_digest_many({HostRange{data, len, leaf_size}}, hasher, threads).front();
}

std::vector<Digest> tree_digest_many(const std::vector<HostRange>& ranges, const Hasher& hasher,
                                     unsigned threads) {
  // Every range's chunks get numbers from one sequence: first_chunk[r] is range r's first.
  struct Plan {
    uint64_t leaves;
    uint64_t per_chunk;
    uint64_t chunks;
  };
  std::vector<Plan> plans;
  std::vector<uint64_t> first_chunk;
  uint64_t total_chunks = 0;
  for (const HostRange& range : ranges) {
    check_leaf_size(range.leaf_size);
    Plan plan{(range.len + range.leaf_size - 1) / range.leaf_size,
              chunk_leaf_count(range.leaf_size), 0};
    plan.chunks = (plan.leaves + plan.per_chunk - 1) / plan.per_chunk;
    plans.push_back(plan);
    first_chunk.push_back(total_chunks);
    total_chunks += plan.chunks;
  }
  std::vector<Digest> chunk_roots(total_chunks);
  std::atomic<uint64_t> next{0};
  // An exception escaping a std::thread would be std::terminate: keep the first one, stop handing
  // out chunks, and rethrow it on the calling thread once every thread has joined.
  std::mutex failure_mutex;
  std::exception_ptr failure;
  auto work = [&]() {
    try {
      for (uint64_t c = next.fetch_add(1); c < total_chunks; c = next.fetch_add(1)) {
        // The range that owns chunk c: the last whose first chunk is at or below it (a range
        // with no chunks shares its start with the next one and so never owns one).
        const size_t r =
            std::upper_bound(first_chunk.begin(), first_chunk.end(), c) - first_chunk.begin() - 1;
        const HostRange& range = ranges[r];
        const Plan& plan = plans[r];
        const uint64_t first = (c - first_chunk[r]) * plan.per_chunk;
        chunk_roots[c] = subtree_root(range.data, range.len, range.leaf_size, first,
                                      std::min(plan.per_chunk, plan.leaves - first), hasher);
      }
    } catch (...) {
      next = total_chunks;
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
    }
  };
  const uint64_t workers =
      std::min<uint64_t>(std::max(1u, threads), std::max<uint64_t>(1, total_chunks));
  std::vector<std::thread> pool;
  try {
    pool.reserve(workers - 1);
    for (uint64_t i = 1; i < workers; ++i) pool.emplace_back(work);
  } catch (const std::exception&) {
    // The OS refused another thread (or memory ran out): the threads started so far and this
    // one share the chunks, so the digest is slower but the same.
  }
  work();  // the calling thread takes a share too
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);

  // Chunk roots sit at height log2(per_chunk); a range's last chunk may be partial, which the
  // stack's right-to-left fold handles exactly as RFC 6962 does. An empty range is SHA-256("").
  std::vector<Digest> roots(ranges.size());
  for (size_t r = 0; r < ranges.size(); ++r) {
    if (plans[r].chunks == 0) {
      hasher.empty(roots[r].data());
      continue;
    }
    MerkleStack stack(hasher);
    const unsigned height = log2_exact(plans[r].per_chunk);
    for (uint64_t c = 0; c < plans[r].chunks; ++c) {
      stack.push(chunk_roots[first_chunk[r] + c], height);
    }
    roots[r] = stack.root();
  }
  return roots;
}

}  // namespace vs
