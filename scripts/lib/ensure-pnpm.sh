# Sourced by the top-level scripts: makes sure the pinned pnpm is on PATH (a fresh machine has only
# Node and npm; corepack fails here, so npm installs it) and turbo never phones home.
PNPM_VERSION=10.34.9
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  echo "installing pnpm@$PNPM_VERSION with npm"
  npm install --global --no-audit --no-fund --loglevel=error "pnpm@$PNPM_VERSION" >/dev/null
fi
