#!/usr/bin/env bash
# The GPU checks on a bare box, from the carried .gpu/ folder (scripts/gpu/prepare.sh copies this
# file to .gpu/run.sh). Needs nothing but the folder: node comes in it (xz-compressed).
#
#   bash .gpu/run.sh [all|test|bench|sanitize]      (default all)
#
# Logs and reports go to $OUT when it is set (the device tool fetches that folder), else to
# .gpu/out/. Exit status: 0 when every check that ran passed; the failing ones are named last.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
mkdir -p "$out"
node=$here/node
if [ ! -x "$node" ]; then
  if command -v xz >/dev/null; then
    xz -dc "$here/node.xz" >"$node.tmp"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
      "$here/node.xz" "$node.tmp"
  fi
  chmod +x "$node.tmp" && mv "$node.tmp" "$node"
fi
cd "$here/app"
failed=()

check() { # name, command...: runs it, keeps its output in $out/<name>.log, records a failure
  local name=$1
  shift
  echo "=== $name: $*"
  local started=$SECONDS
  "$@" 2>&1 | tee "$out/$name.log"
  local status=${PIPESTATUS[0]}
  echo "=== $name: exit $status in $((SECONDS - started)) s"
  [ "$status" -eq 0 ] || failed+=("$name (exit $status)")
}

sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1 || true)
what=${1:-all}
{
  echo "node $("$node" --version), $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 || true
  cat STAGE.json
} >"$out/machine.txt"
head -2 "$out/machine.txt"
grep -m1 '"commit"' STAGE.json

case $what in all | test) check test-gpu "$node" checks/test.mjs --require-device --junit "$out/test-gpu.xml" ;; esac
case $what in all | bench) check bench-gpu "$node" checks/bench.mjs --json "$out/bench-gpu.json" ;; esac
case $what in
all | sanitize)
  if [ -n "$sanitizer" ]; then
    check memcheck "$sanitizer" --tool memcheck --leak-check full --error-exitcode 1 "$node" checks/sanitize.mjs
    check racecheck "$sanitizer" --tool racecheck --error-exitcode 1 "$node" checks/sanitize.mjs
  else
    echo "=== sanitize: compute-sanitizer not found; skipped" | tee "$out/memcheck.log"
    failed+=("sanitize (no compute-sanitizer)")
  fi
  ;;
esac

if [ ${#failed[@]} -eq 0 ]; then
  echo "gpu checks ($what): all passed"
else
  echo "gpu checks ($what): FAILED: ${failed[*]}"
  exit 1
fi
