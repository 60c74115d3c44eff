#include "host_hash.h"

#include <cstddef>

#include "vramseal/sha256_portable.h"

// OpenSSL 3 EVP prototypes (openssl/evp.h), declared here: see host_hash.h for why.
extern "C" {
struct evp_md_ctx_st;
struct evp_md_st;
struct engine_st;
evp_md_ctx_st* EVP_MD_CTX_new(void);
void EVP_MD_CTX_free(evp_md_ctx_st* ctx);
const evp_md_st* EVP_sha256(void);
int EVP_DigestInit_ex(evp_md_ctx_st* ctx, const evp_md_st* type, engine_st* impl);
int EVP_DigestUpdate(evp_md_ctx_st* ctx, const void* data, size_t len);
int EVP_DigestFinal_ex(evp_md_ctx_st* ctx, unsigned char* md, unsigned int* size);
}

namespace vs {
namespace {

// One EVP context per thread, created on first use and freed when the thread ends, so the
// per-leaf cost is an init/update/final and not an allocation.
struct ThreadContext {
  evp_md_ctx_st* ctx = EVP_MD_CTX_new();
  ~ThreadContext() { EVP_MD_CTX_free(ctx); }
};

evp_md_ctx_st* thread_context() {
  thread_local ThreadContext tc;
  return tc.ctx;
}

// Each EVP call reports failure with 0 (e.g. a provider that cannot be fetched); the digest then
// comes from the portable core instead: the same bytes, slower, never an uninitialised result.
void openssl_prefixed(uint8_t prefix, const uint8_t* data, uint64_t len, uint8_t out[32]) {
  evp_md_ctx_st* ctx = thread_context();
  unsigned int size = 0;
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, &prefix, 1) != 1 ||
      EVP_DigestUpdate(ctx, data, static_cast<size_t>(len)) != 1 ||
      EVP_DigestFinal_ex(ctx, out, &size) != 1 || size != 32) {
    sha256::prefixed_hash(prefix, data, len, out);
  }
}

void openssl_empty(uint8_t out[32]) {
  evp_md_ctx_st* ctx = thread_context();
  unsigned int size = 0;
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1 ||
      EVP_DigestFinal_ex(ctx, out, &size) != 1 || size != 32) {
    sha256::empty_hash(out);
  }
}

}  // namespace

Hasher openssl_hasher() { return Hasher{"openssl-evp-sha256", openssl_prefixed, openssl_empty}; }

}  // namespace vs
