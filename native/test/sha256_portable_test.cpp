// The __host__ __device__ SHA-256 core of the kernel, compiled by g++, against FIPS 180-4 /
// NIST example vectors. A vector "m" is fed as prefix m[0] plus data m[1..], which exercises the
// kernel's carry-byte block layout.
#include <cstring>
#include <string>

#include "check.h"
#include "helpers.h"
#include "vramseal/sha256_portable.h"

namespace {

std::string prefixed_hex(const std::string& message) {
  uint8_t out[32];
  vs::sha256::prefixed_hash(uint8_t(message[0]), reinterpret_cast<const uint8_t*>(message.data()) + 1,
                            message.size() - 1, out);
  return vstest::hex(out, 32);
}

}  // namespace

TEST_CASE(sha256_nist_abc) {
  CHECK_EQ(prefixed_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE(sha256_nist_448_bits_two_block_padding) {
  CHECK_EQ(prefixed_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE(sha256_nist_896_bits_full_chunk_plus_tail) {
  CHECK_EQ(prefixed_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklm"
                        "nopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
           "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST_CASE(sha256_nist_million_a) {
  CHECK_EQ(prefixed_hex(std::string(1000000, 'a')),
           "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE(sha256_empty_string) {
  uint8_t out[32];
  vs::sha256::empty_hash(out);
  CHECK_EQ(vstest::hex(out, 32), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE(sha256_rfc6962_empty_leaf) {
  // MTH of a single empty leaf = SHA-256(0x00): the root of the one-leaf RFC 6962 vector.
  uint8_t out[32];
  vs::sha256::leaf_hash(nullptr, 0, out);
  CHECK_EQ(vstest::hex(out, 32), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

TEST_CASE(sha256_block_words_carry_layout) {
  // chunk bytes 0..63 = 1..64, carry 0xAA: word 0 = AA 01 02 03, word 15 = 3C 3D 3E 3F,
  // new carry = byte 63 = 0x40.
  uint8_t bytes[64];
  for (int i = 0; i < 64; ++i) bytes[i] = uint8_t(i + 1);
  uint32_t chunk[16], w[16];
  for (int i = 0; i < 16; ++i) chunk[i] = vs::sha256::load_le32(bytes + 4 * i);
  const uint8_t carry = vs::sha256::block_words_from_chunk(0xAA, chunk, w);
  CHECK_EQ(w[0], 0xAA010203u);
  CHECK_EQ(w[1], 0x04050607u);
  CHECK_EQ(w[15], 0x3C3D3E3Fu);
  CHECK_EQ(carry, 0x40);
}
