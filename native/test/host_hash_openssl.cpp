// Compiled only when CMake finds libcrypto: the OpenSSL host hasher (the addon's fast path)
// against the portable kernel core, byte for byte.
#include <vector>

#include "check.h"
#include "helpers.h"
#include "host_hash.h"

TEST_CASE(openssl_and_portable_hashers_agree_on_every_length) {
  const vs::Hasher openssl = vs::openssl_hasher();
  const vs::Hasher portable = vs::portable_hasher();
  const auto data = vstest::pseudo_random_bytes(300, 5);
  for (size_t len = 0; len <= data.size(); ++len) {
    for (uint8_t prefix : {uint8_t(0x00), uint8_t(0x01), uint8_t(0xff)}) {
      uint8_t a[32], b[32];
      openssl.prefixed(prefix, data.data(), len, a);
      portable.prefixed(prefix, data.data(), len, b);
      CHECK_EQ(vstest::hex(a, 32), vstest::hex(b, 32));
    }
  }
  uint8_t a[32], b[32];
  openssl.empty(a);
  portable.empty(b);
  CHECK_EQ(vstest::hex(a, 32), vstest::hex(b, 32));
}

TEST_CASE(openssl_tree_digest_matches_definition) {
  const auto data = vstest::pseudo_random_bytes((3u << 20) + 5, 11);
  for (uint64_t leaf_size : {1000u, 65536u}) {
    CHECK(vs::tree_digest(data.data(), data.size(), leaf_size, vs::openssl_hasher(), 2) ==
          vstest::reference_tree(data, leaf_size));
  }
}
