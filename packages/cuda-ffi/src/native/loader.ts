import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CudaFfiError } from '../errors/errors.js';
import type { NativeAddon } from './binding.js';

/** Environment variable that overrides where the addon is loaded from. */
export const NATIVE_PATH_ENV = 'VRAMSEAL_NATIVE_PATH';
const ADDON_FILE = 'vramseal_native.node';

export type AddonLoad =
  | { ok: true; addon: NativeAddon; path: string }
  | { ok: false; reason: string; path: string };

const loaded = new Map<string, AddonLoad & { ok: true }>();

/**
 * Where the addon is: $VRAMSEAL_NATIVE_PATH, else the prebuild shipped in the package. This
 * module sits at src/native/ (tests) or dist/native/ (consumers), two levels below the package
 * root either way, so the same relative URL works from both.
 */
export function addonPath(): string {
  const override = process.env[NATIVE_PATH_ENV];
  if (override !== undefined && override !== '') return resolve(override);
  const platform = `${process.platform}-${process.arch}`;
  return fileURLToPath(new URL(`../../prebuilds/${platform}/${ADDON_FILE}`, import.meta.url));
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

function tryLoad(path: string): AddonLoad {
  const fix =
    'build it with `pnpm --filter @vramseal/native build && pnpm --filter @vramseal/cuda-ffi build`, ' +
    `or point ${NATIVE_PATH_ENV} at a built ${ADDON_FILE}`;
  if (!existsSync(path)) {
    return {
      ok: false,
      path,
      reason: `the vramseal native addon is unavailable: no file at ${path}; ${fix}`,
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
