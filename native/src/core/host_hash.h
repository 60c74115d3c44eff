// The host fast path: OpenSSL's SHA-256 at the SHA-NI limit, called through the EVP symbols
// that the node binary exports (TOOLCHAIN.md). The addon declares the prototypes itself because
// napi_versions mode ships no OpenSSL headers; the symbols resolve from the node process at load
// time. The C++ tests link libcrypto instead, which exports the same functions.
#pragma once

#include "tree_digest.h"

namespace vs {

Hasher openssl_hasher();

}  // namespace vs
