// Portable SHA-256 (FIPS 180-4) and the RFC 6962 leaf/node hashes of `sha256-tree-v1`.
//
// This is the hashing core of the CUDA tree-digest kernel. It is written as __host__ __device__
// code so g++ compiles the very same functions for the host tests (native/test) and for the
// addon's test hook, which cross-checks it against seal-crypto's TypeScript reference.
//
// Message layout of a leaf hash: 0x00 || leaf bytes (RFC 6962 section 2.1). The one-byte prefix
// shifts every 64-byte data chunk by one byte inside the SHA-256 message blocks, so a block is
// built from the last byte of the previous chunk (the "carry") plus the first 63 bytes of the
// current chunk. The kernel loads whole, aligned 64-byte chunks (16-byte vector loads) and uses
// `block_words_from_chunk` to form the message words; the host path below uses the same function.
//
// Chunks are read as 16 little-endian 32-bit words: both x86-64 and NVIDIA GPUs are
// little-endian, which is what `load_le32` and the vector loads of the kernel assume.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vramseal/hd.h"

namespace vs {
namespace sha256 {

constexpr uint8_t kLeafPrefix = 0x00;  // RFC 6962 section 2.1: leaf hash prefix
constexpr uint8_t kNodePrefix = 0x01;  // RFC 6962 section 2.1: interior node prefix

VS_HD uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

VS_HD uint32_t bswap32(uint32_t x) {
#if defined(__CUDA_ARCH__)
  return __byte_perm(x, 0, 0x0123);
#else
  return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
#endif
}

VS_HD uint32_t load_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

VS_HD uint32_t load_le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

// FIPS 180-4 section 5.3.3: initial hash value.
VS_HD void init(uint32_t h[8]) {
  h[0] = 0x6a09e667u;
  h[1] = 0xbb67ae85u;
  h[2] = 0x3c6ef372u;
  h[3] = 0xa54ff53au;
  h[4] = 0x510e527fu;
  h[5] = 0x9b05688cu;
  h[6] = 0x1f83d9abu;
  h[7] = 0x5be0cd19u;
}

// FIPS 180-4 section 6.2.2: one compression of a 512-bit block given as 16 big-endian words.
// The schedule is a rolling 16-word window and every loop is unrolled, so on the GPU all
// indices are compile-time constants and the state stays in registers.
VS_HD void compress(uint32_t h[8], const uint32_t block[16]) {
  // Kept local (not a global table) so the same code is valid on host and device; after
  // unrolling the constants become immediates.
  const uint32_t K[64] = {
      0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
      0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
      0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
      0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
      0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
      0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
      0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
      0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
      0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
      0xc67178f2u};
  uint32_t w[16];
#if defined(__CUDACC__)
#pragma unroll
#endif
  for (int i = 0; i < 16; ++i) w[i] = block[i];
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
#if defined(__CUDACC__)
#pragma unroll
#endif
  for (int t = 0; t < 64; ++t) {
    uint32_t wt;
    if (t < 16) {
      wt = w[t];
    } else {
      // W_t = sigma1(W_{t-2}) + W_{t-7} + sigma0(W_{t-15}) + W_{t-16}, in the rolling window.
      const uint32_t w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
      const uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
      const uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
      wt = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
      w[t & 15] = wt;
    }
    const uint32_t S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
    const uint32_t ch = (e & f) ^ (~e & g);
    const uint32_t t1 = hh + S1 + ch + K[t] + wt;
    const uint32_t S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
    const uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
    const uint32_t t2 = S0 + maj;
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a;
  h[1] += b;
  h[2] += c;
  h[3] += d;
  h[4] += e;
  h[5] += f;
  h[6] += g;
  h[7] += hh;
}

// Message words of one block = carry byte || chunk[0..62], where the chunk is 64 data bytes given
// as 16 little-endian words. Returns the new carry (chunk[63]).
//   word i = chunk[4i-1] || chunk[4i] || chunk[4i+1] || chunk[4i+2]   (chunk[-1] = carry)
VS_HD uint8_t block_words_from_chunk(uint8_t carry, const uint32_t chunk_le[16], uint32_t w[16]) {
  uint32_t prev = carry;
#if defined(__CUDACC__)
#pragma unroll
#endif
  for (int i = 0; i < 16; ++i) {
    w[i] = (prev << 24) | (bswap32(chunk_le[i]) >> 8);
    prev = chunk_le[i] >> 24;
  }
  return uint8_t(prev);
}

// Pads and compresses the end of a message (FIPS 180-4 section 5.1.1): `rem` holds the last
// rem_len < 64 message bytes, `message_len` is the length of the whole message in bytes.
VS_HD void finish(uint32_t h[8], const uint8_t* rem, uint32_t rem_len, uint64_t message_len,
                  uint8_t out[32]) {
  uint8_t buf[128];
  for (uint32_t i = 0; i < 128; ++i) buf[i] = 0;
  for (uint32_t i = 0; i < rem_len; ++i) buf[i] = rem[i];
  buf[rem_len] = 0x80;
  const uint32_t blocks = rem_len + 1 + 8 <= 64 ? 1 : 2;
  const uint64_t bits = message_len * 8;
  for (int i = 0; i < 8; ++i) buf[blocks * 64 - 1 - i] = uint8_t(bits >> (8 * i));
  for (uint32_t b = 0; b < blocks; ++b) {
    uint32_t w[16];
    for (int i = 0; i < 16; ++i) w[i] = load_be32(buf + b * 64 + 4 * i);
    compress(h, w);
  }
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = uint8_t(h[i] >> 24);
    out[4 * i + 1] = uint8_t(h[i] >> 16);
    out[4 * i + 2] = uint8_t(h[i] >> 8);
    out[4 * i + 3] = uint8_t(h[i]);
  }
}

// The tail of a prefixed message: the pending carry byte followed by tail_len < 64 data bytes.
VS_HD void finish_prefixed(uint32_t h[8], uint8_t carry, const uint8_t* tail, uint32_t tail_len,
                           uint64_t data_len, uint8_t out[32]) {
  uint8_t rem[64];
  rem[0] = carry;
  for (uint32_t i = 0; i < tail_len; ++i) rem[1 + i] = tail[i];
  finish(h, rem, 1 + tail_len, data_len + 1, out);
}

// SHA-256(prefix || data), streamed chunk by chunk exactly as the kernel does it.
VS_HD void prefixed_hash(uint8_t prefix, const uint8_t* data, uint64_t len, uint8_t out[32]) {
  uint32_t h[8];
  init(h);
  uint8_t carry = prefix;
  const uint64_t full_chunks = len / 64;
  for (uint64_t k = 0; k < full_chunks; ++k) {
    uint32_t chunk[16], w[16];
    for (int i = 0; i < 16; ++i) chunk[i] = load_le32(data + k * 64 + 4 * i);
    carry = block_words_from_chunk(carry, chunk, w);
    compress(h, w);
  }
  finish_prefixed(h, carry, data + full_chunks * 64, uint32_t(len - full_chunks * 64), len, out);
}

// RFC 6962 section 2.1: MTH({d}) = SHA-256(0x00 || d).
VS_HD void leaf_hash(const uint8_t* data, uint64_t len, uint8_t out[32]) {
  prefixed_hash(kLeafPrefix, data, len, out);
}

// RFC 6962 section 2.1: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
VS_HD void node_hash(const uint8_t left[32], const uint8_t right[32], uint8_t out[32]) {
  uint8_t both[64];
  for (int i = 0; i < 32; ++i) {
    both[i] = left[i];
    both[32 + i] = right[i];
  }
  prefixed_hash(kNodePrefix, both, 64, out);
}

// SHA-256 of the empty string: the root of an empty input under sha256-tree-v1.
VS_HD void empty_hash(uint8_t out[32]) {
  uint32_t h[8];
  init(h);
  finish(h, nullptr, 0, 0, out);
}

}  // namespace sha256
}  // namespace vs
