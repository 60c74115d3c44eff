// Host tree digest (chunked, multi-threaded, stack-based) against the RFC 6962 definition and
// the certificate-transparency reference vectors.
#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "error.h"
#include "helpers.h"
#include "tree_digest.h"

namespace {

const vs::Hasher kPortable = vs::portable_hasher();

vs::Digest leaf_of(const std::string& bytes) {
  vs::Digest d;
  vs::sha256::leaf_hash(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), d.data());
  return d;
}

}  // namespace

TEST_CASE(merkle_stack_matches_certificate_transparency_vectors) {
  // The 8 leaves and roots of tree sizes 1..8 from certificate-transparency's merkle tree tests.
  const std::vector<std::string> inputs = {
      std::string(),
      std::string(1, '\x00'),
      std::string(1, '\x10'),
      std::string("\x20\x21", 2),
      std::string("\x30\x31", 2),
      std::string("\x40\x41\x42\x43", 4),
      std::string("\x50\x51\x52\x53\x54\x55\x56\x57", 8),
      std::string("\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16)};
  const std::vector<std::string> roots = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  for (size_t n = 1; n <= inputs.size(); ++n) {
    vs::MerkleStack stack(kPortable);
    std::vector<vs::Digest> leaves;
    for (size_t i = 0; i < n; ++i) {
      leaves.push_back(leaf_of(inputs[i]));
      stack.push(leaves.back(), 0);
    }
    CHECK_EQ(vstest::hex(stack.root()), roots[n - 1]);
    CHECK_EQ(vstest::hex(vstest::reference_mth(leaves, 0, n)), roots[n - 1]);
  }
}

TEST_CASE(tree_digest_of_empty_input_is_sha256_of_empty_string) {
  CHECK_EQ(vstest::hex(vs::tree_digest(nullptr, 0, 4096, kPortable, 2)),
           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE(tree_digest_one_byte_is_its_leaf_hash) {
  const uint8_t byte = 0x5a;
  vs::Digest leaf;
  vs::sha256::leaf_hash(&byte, 1, leaf.data());
  CHECK(vs::tree_digest(&byte, 1, 64, kPortable, 2) == leaf);
}

TEST_CASE(tree_digest_matches_definition_on_small_sizes) {
  // Every size up to 3 leaves and around leaf multiples, for several leaf sizes and threads.
  for (uint64_t leaf_size : {1u, 3u, 64u, 100u}) {
    for (uint64_t size = 0; size <= 3 * leaf_size + 1; ++size) {
      const auto data = vstest::pseudo_random_bytes(size, size * 31 + leaf_size);
      const vs::Digest want = vstest::reference_tree(data, leaf_size);
      for (unsigned threads : {1u, 2u, 3u}) {
        CHECK(vs::tree_digest(data.data(), size, leaf_size, kPortable, threads) == want);
      }
    }
  }
}

TEST_CASE(tree_digest_matches_definition_across_chunks) {
  // Larger than one 1 MiB work chunk, with a short last leaf and a partial last chunk; leaf
  // sizes that are and are not powers of two.
  const uint64_t size = (2u << 20) + 777;
  const auto data = vstest::pseudo_random_bytes(size, 42);
  for (uint64_t leaf_size : {4096u, 1000u, 65536u}) {
    const vs::Digest want = vstest::reference_tree(data, leaf_size);
    CHECK(vs::tree_digest(data.data(), size, leaf_size, kPortable, 1) == want);
    CHECK(vs::tree_digest(data.data(), size, leaf_size, kPortable, 4) == want);
  }
}

TEST_CASE(tree_digest_changes_when_one_bit_flips) {
  auto data = vstest::pseudo_random_bytes(10000, 7);
  const vs::Digest before = vs::tree_digest(data.data(), data.size(), 256, kPortable, 2);
  data[9999] ^= 0x01;
  CHECK(vs::tree_digest(data.data(), data.size(), 256, kPortable, 2) != before);
}

TEST_CASE(tree_digest_rejects_zero_and_absurd_leaf_sizes) {
  const uint8_t byte = 1;
  CHECK_THROWS_CODE(vs::tree_digest(&byte, 1, 0, kPortable, 1), vs::Code::InvalidArgument);
  CHECK_THROWS_CODE(vs::tree_digest(&byte, 1, vs::kMaxLeafSize + 1, kPortable, 1),
                    vs::Code::InvalidArgument);
  CHECK_THROWS_CODE(vs::check_leaf_size(UINT64_MAX), vs::Code::InvalidArgument);
  vs::check_leaf_size(1);
  vs::check_leaf_size(vs::kMaxLeafSize);
  CHECK(vs::tree_digest(&byte, 1, vs::kMaxLeafSize, kPortable, 1) ==
        vs::tree_digest(&byte, 1, 64, kPortable, 1));
}

namespace {
// A hasher that fails on its 50th leaf: stands for anything that throws inside a digest thread.
std::atomic<int> g_calls{0};
void failing_prefixed(uint8_t prefix, const uint8_t* data, uint64_t len, uint8_t out[32]) {
  if (g_calls.fetch_add(1) == 50) throw std::runtime_error("hasher failed");
  vs::sha256::prefixed_hash(prefix, data, len, out);
}
}  // namespace

TEST_CASE(tree_digest_rethrows_a_worker_thread_failure_instead_of_terminating) {
  // An exception escaping a std::thread is std::terminate: the whole node process would die.
  const auto data = vstest::pseudo_random_bytes(4 << 20, 3);  // 4 chunks of 1 MiB, 4 threads
  const vs::Hasher failing{"failing", failing_prefixed, vs::sha256::empty_hash};
  g_calls = 0;
  bool threw = false;
  try {
    vs::tree_digest(data.data(), data.size(), 64, failing, 4);
  } catch (const std::runtime_error& e) {
    threw = std::string(e.what()) == "hasher failed";
  }
  CHECK(threw);
}
