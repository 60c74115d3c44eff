#!/usr/bin/env bash
# Prepares .gpu/, the one folder a bare GPU box needs (cuda/README.md, "GPU checks on a bare
# box"): this machine's node binary (xz-compressed), the stage (built packages, the addon, the
# checks: stage.mjs) and run.sh. Run `pnpm build` first. The folder is ignored through
# .git/info/exclude, so it never reaches a commit; a device run names it in `carry`.
set -euo pipefail
cd "$(dirname "$0")/../.."
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qxF '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >>"$exclude"

mkdir -p .gpu
# Left by a run of .gpu/run.sh here: the unpacked node (99 MB) and logs must not travel.
rm -rf .gpu/node .gpu/node.tmp .gpu/out
node_bin=$(command -v node)
if [ ! -f .gpu/node.xz ] || [ "$node_bin" -nt .gpu/node.xz ] || [ "$(cat .gpu/node.version 2>/dev/null)" != "$(node --version)" ]; then
  rm -f .gpu/node .gpu/node.xz
  cp "$node_bin" .gpu/node && xz -T2 -6 .gpu/node
  node --version >.gpu/node.version
fi
node scripts/gpu/stage.mjs .gpu/app
cp scripts/gpu/device-run.sh .gpu/run.sh
chmod +x .gpu/run.sh
echo "gpu prepare: .gpu/ is $(du -sh .gpu | cut -f1) (node.xz $(du -sh .gpu/node.xz | cut -f1), app $(du -sh .gpu/app | cut -f1)); the device run limit is 64 MiB with the working tree"
echo "gpu prepare: on the GPU box: bash .gpu/run.sh all   (device tool: carry [\".gpu\"])"
