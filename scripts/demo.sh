#!/usr/bin/env bash
# The main job, on a fresh machine: installs pnpm and the workspace, builds, then runs the demo:
# seal a model shard, verify it, and catch a one-bit tamper.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure-pnpm.sh
source scripts/lib/ensure-native-toolchain.sh
pnpm install --frozen-lockfile --reporter=silent
pnpm turbo run build --output-logs=errors-only
node packages/seal-crypto/examples/seal-and-verify.mjs "$@"
