import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CudaFfiError } from '../errors/errors.js';
import type { NativeAddon } from './binding.js';
import { prebuildTag } from './platform.js';

/** Environment variable that overrides where the addon is loaded from. */
export const NATIVE_PATH_ENV = 'VRAMSEAL_NATIVE_PATH';
const ADDON_FILE = 'vramseal_native.node';

export type AddonLoad =
  | { ok: true; addon: NativeAddon; path: string }
  | { ok: false; reason: string; path: string };

const loaded = new Map<string, AddonLoad & { ok: true }>();

/**
 * The prebuilds/ folder of this package. This module sits at src/native/ (tests) or dist/native/
 * (consumers), two levels below the package root either way, so the same relative URL works.
 */
const PREBUILDS = fileURLToPath(new URL('../../prebuilds/', import.meta.url));

/**
 * Where the addon is: $VRAMSEAL_NATIVE_PATH, else the prebuild for this machine,
 * prebuilds/<platform>-<arch>[-<libc>]/ (see prebuildTag); a folder without the libc, left by a
 * build from before prebuilds were named so, is taken when the named one is missing.
 */
export function addonPath(): string {
  const override = process.env[NATIVE_PATH_ENV];
  if (override !== undefined && override !== '') return resolve(override);
  const tagged = resolve(PREBUILDS, prebuildTag(), ADDON_FILE);
  const untagged = resolve(PREBUILDS, `${process.platform}-${process.arch}`, ADDON_FILE);
  return existsSync(tagged) || !existsSync(untagged) ? tagged : untagged;
}

/**
 * Loads the addon (once per path; a failure is retried on the next call, so building the addon
 * later in the same process works). Never throws: importing this package works on machines
 * where the addon cannot load, and loadBackend() reports the reason.
 */
export function loadAddon(): AddonLoad {
  const path = addonPath();
  const cached = loaded.get(path);
  if (cached !== undefined) return cached;
  const result = tryLoad(path);
  if (result.ok) loaded.set(path, result);
  return result;
}

/** The addon, or a NATIVE_UNAVAILABLE error that says exactly why it is not there. */
export function requireAddon(): { addon: NativeAddon; path: string } {
  const result = loadAddon();
  if (!result.ok) {
    throw new CudaFfiError('NATIVE_UNAVAILABLE', result.reason);
  }
  return result;
}

function shippedPrebuilds(): string[] {
  try {
    return readdirSync(PREBUILDS).filter((name) =>
      existsSync(resolve(PREBUILDS, name, ADDON_FILE)),
    );
  } catch {
    return [];
  }
}

function tryLoad(path: string): AddonLoad {
  const fix =
    'build it from source (in a clone of the repository, with cmake and a C++ compiler, plus nvcc ' +
    'for the cuda backend): `pnpm install && pnpm --filter @vramseal/native build`, then point ' +
    `${NATIVE_PATH_ENV} at native/build/Release/${ADDON_FILE} (or run ` +
    "`pnpm --filter @vramseal/cuda-ffi build` to make it this package's prebuild)";
  if (!existsSync(path)) {
    const shipped = shippedPrebuilds();
    const which =
      process.env[NATIVE_PATH_ENV] || shipped.includes(prebuildTag())
        ? ''
        : ` (no prebuilt addon for ${prebuildTag()}; this package ships ${shipped.join(', ') || 'none'})`;
    return {
      ok: false,
      path,
      reason: `the vramseal native addon is unavailable: no file at ${path}${which}; ${fix}`,
    };
  }
  try {
    const addon = createRequire(import.meta.url)(path) as Partial<NativeAddon>;
    if (typeof addon.NativeBackend !== 'function' || typeof addon.backendInfo !== 'function') {
      return {
        ok: false,
        path,
        reason: `the vramseal native addon is unavailable: ${path} loaded but is not the vramseal addon (no NativeBackend export); ${fix}`,
      };
    }
    return { ok: true, addon: addon as NativeAddon, path };
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return {
      ok: false,
      path,
      reason: `the vramseal native addon is unavailable: loading ${path} failed: ${why}; ${fix}`,
    };
  }
}
