import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mockBackend, rawAddon } from './helpers.js';

/**
 * The addon's bench:gpu hooks (benchTreeDigest, benchTreeDigestMany, benchWrite, benchDeviceCopy:
 * device time from CUDA events, used by scripts/gpu/checks/bench.mjs) are not API, but JS can
 * reach them: on the mock they must say UNSUPPORTED, and bad arguments must be coded errors,
 * never a crash.
 */
type Native = Record<string, (...args: unknown[]) => unknown>;

function nativeMock(): { native: Native; handle: number } {
  const { NativeBackend } = rawAddon(mockBackend());
  const native = new NativeBackend('mock', { devices: [{ name: 'bench', totalBytes: 1 << 20 }] });
  return { native, handle: native.allocate?.(0, 8192) as number };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('bench:gpu hooks of the addon', () => {
  it('say UNSUPPORTED on the mock, which has no device clock, after the usual checks', () => {
    const { native, handle } = nativeMock();
    expect(codeOf(() => native.benchTreeDigest?.(handle, 4096))).toBe('UNSUPPORTED');
    expect(codeOf(() => native.benchTreeDigest?.(handle, 4096, 4096, 4096))).toBe('UNSUPPORTED');
    expect(codeOf(() => native.benchWrite?.(handle, 0, new Uint8Array(16), 'pinned'))).toBe(
      'UNSUPPORTED',
    );
    expect(codeOf(() => native.benchWrite?.(handle, 0, new Uint8Array(16), 'pageable'))).toBe(
      'UNSUPPORTED',
    );
    expect(codeOf(() => native.benchWrite?.(handle, 0, new Uint8Array(16), 'staged'))).toBe(
      'UNSUPPORTED',
    );
    expect(codeOf(() => native.benchDeviceCopy?.(handle))).toBe('UNSUPPORTED');
    expect(codeOf(() => native.benchTreeDigestMany?.([{ handle, leafSize: 64 }]))).toBe(
      'UNSUPPORTED',
    );
    // The operation's own checks come first.
    expect(codeOf(() => native.benchTreeDigestMany?.([{ handle, leafSize: 64, offset: 1 }]))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => native.benchTreeDigest?.(handle, 4096, 100))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => native.benchTreeDigest?.(handle, 4096, 0, 8193))).toBe('OUT_OF_BOUNDS');
    expect(codeOf(() => native.benchWrite?.(handle, 8190, new Uint8Array(16), 'pinned'))).toBe(
      'OUT_OF_BOUNDS',
    );
    expect(codeOf(() => native.benchWrite?.(handle, 0, new Uint8Array(16), 'mapped'))).toBe(
      'INVALID_ARGUMENT',
    );
    native.free?.(handle);
    expect(codeOf(() => native.benchDeviceCopy?.(handle))).toBe('USE_AFTER_FREE');
  });

  it('answer arbitrary arguments with coded errors, never a crash', () => {
    const { native, handle } = nativeMock();
    const junk = fc.oneof(
      fc.constant(handle),
      fc.integer({ min: -10, max: 2 ** 53 - 1 }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 2 ** 64, 0.5, -0),
      fc.string({ maxLength: 8 }),
      fc.constantFrom(undefined, null, {}, [1], 'pinned', 'pageable'),
      fc.constant(new Uint8Array(4)),
    );
    const methods = fc.constantFrom(
      'benchTreeDigest',
      'benchTreeDigestMany',
      'benchWrite',
      'benchDeviceCopy',
    );
    fc.assert(
      fc.property(methods, junk, junk, junk, junk, (method, a, b, c, d) => {
        const code = codeOf(() => native[method]?.(a, b, c, d));
        expect([
          'INVALID_ARGUMENT',
          'OUT_OF_BOUNDS',
          'INVALID_HANDLE',
          'USE_AFTER_FREE',
          'UNSUPPORTED',
        ]).toContain(code);
      }),
      { numRuns: 400 },
    );
  });
});
