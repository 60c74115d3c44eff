#!/usr/bin/env bash
# Every test vramseal has, on a fresh machine: installs pnpm and the workspace, then lint, build,
# typecheck, unit tests (vitest), native tests (ctest, plain and ASan/UBSan), Cucumber features, the
# README's demo (`vramseal demo`, which must prove every claim), the pack check (tarballs
# installed into an empty npm project) and the GPU checks (without a GPU: their rehearsal). Runs
# every step even after a failure, so one run shows everything that is wrong; ends with one line
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure-pnpm.sh
source scripts/lib/ensure-native-toolchain.sh

rm -rf reports && mkdir -p reports/junit
pnpm install --frozen-lockfile || { echo "pnpm install failed"; echo "0 passed, 1 failed"; exit 1; }

# Each step is also counted as a check in the summary, so a lint or build failure is never hidden
# behind a green test count.
step() {
  local name=$1; shift
  echo "=== $name: $*"
  local started=$SECONDS
  if "$@"; then
    node scripts/record-step.mjs "$name" pass "$((SECONDS - started))"
  else
    node scripts/record-step.mjs "$name" fail "$((SECONDS - started))"
  fi
}

step lint pnpm lint
step build pnpm build
step typecheck pnpm typecheck
step tests pnpm turbo run test --concurrency=1 --continue
step demo node packages/cli/dist/bin.js demo
step pack-check node scripts/pack-check.mjs
# The GPU checks (cuda/README.md): here, without a GPU, test:gpu and bench:gpu must end with
# "no CUDA device" and exit 0, and their rehearsal on the mock keeps the checks themselves working.
step gpu-checks bash -c 'node scripts/gpu/run.mjs test && node scripts/gpu/run.mjs bench && node scripts/gpu/run.mjs test --rehearse && node scripts/gpu/run.mjs bench --rehearse'

node scripts/test-summary.mjs reports
