# Sourced by the top-level scripts: puts the pinned pnpm first on PATH without replacing a pnpm the
# user already has. When `pnpm` on PATH is another version (or missing), npm installs the pinned one
# into .tools/ inside this checkout (corepack fails here) and only this script's PATH uses it.
# turbo never phones home.
PNPM_VERSION=10.34.9
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
if [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  local_pnpm="$PWD/.tools/pnpm-$PNPM_VERSION"
  if [ ! -x "$local_pnpm/node_modules/.bin/pnpm" ]; then
    echo "installing pnpm@$PNPM_VERSION into .tools/ (a pnpm already on PATH is left as it is)"
    npm install --prefix "$local_pnpm" --no-save --no-package-lock --no-audit --no-fund \
      --loglevel=error "pnpm@$PNPM_VERSION" >/dev/null
  fi
  export PATH="$local_pnpm/node_modules/.bin:$PATH"
fi
