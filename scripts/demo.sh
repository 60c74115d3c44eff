#!/usr/bin/env bash
# The main job, on a fresh machine: installs the workspace (and a project-local pnpm if the pinned
# one is not on PATH), builds the CLI and what it depends on, then runs `vramseal demo`: seal a
# generated model in device memory (the GPU when one answers, else the host-memory mock), verify it,
# flip one bit and catch it, reset, verify the audit log, print the narration and what was proven.
# Arguments go to the demo: bash scripts/demo.sh --shards 8 --shard-mib 64 (see `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure-pnpm.sh
source scripts/lib/ensure-native-toolchain.sh
pnpm install --frozen-lockfile --reporter=silent
pnpm turbo run build --filter=@vramseal/cli... --output-logs=errors-only
exec node packages/cli/dist/bin.js demo "$@"
