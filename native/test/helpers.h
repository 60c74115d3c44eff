// Shared helpers for the core tests: hex, deterministic pseudo-random bytes, and a reference
// RFC 6962 Merkle tree hash written straight from the RFC's recursive definition.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tree_digest.h"
#include "vramseal/sha256_portable.h"

namespace vstest {

inline std::string hex(const uint8_t* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}
inline std::string hex(const vs::Digest& d) { return hex(d.data(), d.size()); }

// xorshift64*: deterministic bytes so failures reproduce.
inline std::vector<uint8_t> pseudo_random_bytes(size_t n, uint64_t seed) {
  std::vector<uint8_t> out(n);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& b : out) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    b = uint8_t((x * 0x2545F4914F6CDD1Dull) >> 56);
  }
  return out;
}

// RFC 6962 section 2.1, MTH(D[n]) over leaf hashes [first, first + n): k = largest power of two
// smaller than n; MTH = H(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
inline vs::Digest reference_mth(const std::vector<vs::Digest>& leaves, size_t first, size_t n) {
  if (n == 1) return leaves[first];
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  const vs::Digest l = reference_mth(leaves, first, k);
  const vs::Digest r = reference_mth(leaves, first + k, n - k);
  vs::Digest out;
  vs::sha256::node_hash(l.data(), r.data(), out.data());
  return out;
}

// sha256-tree-v1 by the definition: slice, hash each leaf, MTH over the leaf hashes.
inline vs::Digest reference_tree(const std::vector<uint8_t>& data, uint64_t leaf_size) {
  vs::Digest out;
  if (data.empty()) {
    vs::sha256::empty_hash(out.data());
    return out;
  }
  std::vector<vs::Digest> leaves;
  for (uint64_t start = 0; start < data.size(); start += leaf_size) {
    const uint64_t len = std::min<uint64_t>(leaf_size, data.size() - start);
    vs::Digest d;
    vs::sha256::leaf_hash(data.data() + start, len, d.data());
    leaves.push_back(d);
  }
  return reference_mth(leaves, 0, leaves.size());
}

}  // namespace vstest
