import { CUDA_FFI_ERROR_CODES } from '@vramseal/cuda-ffi';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mockBackend, rawAddon } from './helpers.js';

/**
 * The public API never hands out handles, so this reaches past it to the addon itself and feeds
 * it arbitrary handles (random 53-bit numbers, freed ones, non-numbers), offsets and lengths.
 * C++ must answer every call with a JS error carrying a known code, and never crash.
 */
// The package's codes, and CUDA_ERROR, which the addon sets for a failed CUDA call (the package
// turns it into a CudaError named after the CUDA error).
const NATIVE_CODES: ReadonlySet<string> = new Set([...CUDA_FFI_ERROR_CODES, 'CUDA_ERROR']);

const junk = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 53 - 1 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    2 ** 64,
    1e308,
    0.5,
    -0,
  ),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.string({ maxLength: 4 }),
  fc.constant(undefined),
  fc.constant(null),
  fc.constant({}),
  // Never called: the addon must not coerce arguments (no JS runs inside a native call).
  fc.constant({
    valueOf(): number {
      throw new Error('valueOf was called');
    },
  }),
  fc.constant(Symbol('handle')),
  fc.constant([1]),
);

function expectNativeError(error: unknown): void {
  const code = (error as { code?: unknown }).code;
  if (!(error instanceof Error) || typeof code !== 'string' || !NATIVE_CODES.has(code)) throw error;
}

describe('fuzzing the native addon directly', () => {
  it('arbitrary handles, offsets and lengths give coded errors, never a crash', async () => {
    const { NativeBackend } = rawAddon(mockBackend());
    const native = new NativeBackend('mock', { devices: [{ name: 'fuzz', totalBytes: 1 << 20 }] });
    const live = native.allocate?.(0, 4096) as number;
    const freed = native.allocate?.(0, 16) as number;
    native.free?.(freed);
    const handles = fc.oneof(fc.constant(live), fc.constant(freed), junk);
    const methods = fc.constantFrom('read', 'write', 'corrupt', 'attributes', 'treeDigest', 'free');
    await fc.assert(
      fc.asyncProperty(methods, handles, junk, junk, junk, async (method, handle, a, b, c) => {
        const fn = native[method];
        if (fn === undefined) throw new Error(`addon has no ${method}`);
        // Never free the live allocation here: the other calls need something real to hit.
        if (method === 'free' && handle === live) return;
        const args =
          method === 'write'
            ? [handle, a, new Uint8Array(typeof b === 'number' && b >= 0 && b < 8192 ? b : 3)]
            : method === 'treeDigest'
              ? [handle, a, b, c] // leafSize, offset, length
              : [handle, a, b];
        try {
          const result = fn.apply(native, args);
          if (result instanceof Promise) await result.catch(expectNativeError);
        } catch (error) {
          expectNativeError(error);
        }
      }),
      { numRuns: 400 },
    );
    expect(native.attributes?.(live)).toEqual({ memoryType: 'host', hostPointer: true });
    expect(() => native.read?.(freed, 0, 1)).toThrow(
      expect.objectContaining({ code: 'USE_AFTER_FREE' }),
    );
    expect(() => native.read?.(live + 1, 0, 1)).toThrow(
      expect.objectContaining({ code: 'INVALID_HANDLE' }),
    );
  });

  it('bad constructor arguments are coded errors', () => {
    const { NativeBackend } = rawAddon(mockBackend());
    for (const args of [
      [],
      ['gpu'],
      ['mock'],
      ['mock', { devices: 3 }],
      ['mock', { devices: [{ name: 1, totalBytes: 1 }] }],
      ['mock', { devices: [{ name: 'x', totalBytes: -1 }] }],
      ['mock', { devices: [] }],
      // The cuda options are checked before any CUDA call, so these fail the same on every machine.
      ['cuda', 5],
      ['cuda', [true]],
      ['cuda', { allowFaultInjection: 1 }],
      ['cuda', { allowFaultInjection: 'true' }],
    ]) {
      expect(() => new NativeBackend(...(args as [string, unknown]))).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});
