import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const saved = process.env.VRAMSEAL_NATIVE_PATH;

afterEach(() => {
  if (saved === undefined) delete process.env.VRAMSEAL_NATIVE_PATH;
  else process.env.VRAMSEAL_NATIVE_PATH = saved;
});

describe('when the native addon cannot be loaded', () => {
  it('importing the package still works', async () => {
    process.env.VRAMSEAL_NATIVE_PATH = join(tmpdir(), 'vramseal-no-such-dir', 'missing.node');
    const api = await import('@vramseal/cuda-ffi');
    expect(typeof api.loadBackend).toBe('function');
    expect(api.NATIVE_PATH_ENV).toBe('VRAMSEAL_NATIVE_PATH');
  });

  it('loadBackend says the file is missing, and where it looked', async () => {
    const missing = join(tmpdir(), 'vramseal-no-such-dir', 'missing.node');
    process.env.VRAMSEAL_NATIVE_PATH = missing;
    const { loadBackend } = await import('@vramseal/cuda-ffi');
    for (const kind of ['auto', 'mock', 'cuda'] as const) {
      expect(() => loadBackend({ kind })).toThrow(
        expect.objectContaining({
          name: 'CudaFfiError',
          code: 'NATIVE_UNAVAILABLE',
          message: expect.stringContaining(`no file at ${missing}`),
        }),
      );
    }
  });

  it('loadBackend says a bogus file failed to load, with the loader message', async () => {
    const bogus = join(mkdtempSync(join(tmpdir(), 'vramseal-')), 'bogus.node');
    writeFileSync(bogus, 'this is not a shared object');
    process.env.VRAMSEAL_NATIVE_PATH = bogus;
    const { loadBackend } = await import('@vramseal/cuda-ffi');
    expect(() => loadBackend()).toThrow(
      expect.objectContaining({
        code: 'NATIVE_UNAVAILABLE',
        message: expect.stringMatching(
          new RegExp(`loading ${bogus} failed: .*(invalid ELF|too short|file)`),
        ),
      }),
    );
  });

  it('a real addon path works again afterwards', async () => {
    const { loadBackend } = await import('@vramseal/cuda-ffi');
    expect(loadBackend({ kind: 'mock' }).kind).toBe('mock');
  });
});

describe('prebuilds are named by platform, architecture and C library', () => {
  it('the prebuild used is prebuilds/<platform>-<arch>[-<libc>]/', async () => {
    const { loadBackend } = await import('@vramseal/cuda-ffi');
    const { addonPath } = loadBackend({ kind: 'mock' }).backendInfo();
    if (saved !== undefined) return; // this run loads an addon named by VRAMSEAL_NATIVE_PATH
    const libc = process.platform === 'linux' ? '(-glibc|-musl)?' : '';
    expect(addonPath).toMatch(
      new RegExp(`/prebuilds/${process.platform}-${process.arch}${libc}/vramseal_native\\.node$`),
    );
  });

  it('a missing addon says how to build it from source', async () => {
    process.env.VRAMSEAL_NATIVE_PATH = join(tmpdir(), 'vramseal-no-such-dir', 'missing.node');
    const { loadBackend } = await import('@vramseal/cuda-ffi');
    expect(() => loadBackend({ kind: 'mock' })).toThrow(
      /build it from source .*pnpm --filter @vramseal\/native build/,
    );
  });
});
