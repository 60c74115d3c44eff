# Sourced by scripts/test.sh and scripts/demo.sh: the native addon and its C++ tests need cmake,
# ninja, g++ and libcrypto headers. This machine kind has them; a bare Debian box gets them from
# apt (as root). nvcc is optional: without it the addon builds CPU-only and says so.
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v ninja >/dev/null 2>&1 || missing+=(ninja-build)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
[ -f /usr/include/openssl/sha.h ] || missing+=(libssl-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing native build tools: ${missing[*]} (install them, e.g. apt-get install ${missing[*]})" >&2
  fi
fi
