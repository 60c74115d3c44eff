import { createRequire } from 'node:module';
import { type Backend, loadBackend } from '@vramseal/cuda-ffi';

export const MiB = 2 ** 20;

/** A small two-device mock backend for tests. */
export function mockBackend(): Backend {
  return loadBackend({
    kind: 'mock',
    mock: {
      devices: [
        { name: 'test-a', totalBytes: 64 * MiB },
        { name: 'test-b', totalBytes: 1 * MiB },
      ],
    },
  });
}

/** The addon's test hook: sha256-tree-v1 computed by the host-compiled CUDA kernel core. */
export function portableTreeDigest(
  backend: Backend,
  data: Uint8Array,
  leafSize: number,
): Uint8Array {
  const addon = createRequire(import.meta.url)(backend.backendInfo().addonPath) as {
    portableTreeDigest(data: Uint8Array, leafSize: number): Uint8Array;
  };
  return new Uint8Array(addon.portableTreeDigest(data, leafSize));
}

/** Deterministic bytes from a seed (xorshift32), so failing cases reproduce. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The raw addon behind a backend: for tests that must reach C++ with arbitrary values. */
export function rawAddon(backend: Backend): {
  NativeBackend: new (
    kind: string,
    options?: unknown,
  ) => Record<string, (...args: unknown[]) => unknown>;
} {
  return createRequire(import.meta.url)(backend.backendInfo().addonPath);
}
