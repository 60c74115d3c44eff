import { availableParallelism } from 'node:os';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import {
  leafHash,
  merkleRoot,
  shutdownTreeDigestPool,
  treeDigest,
  treeDigestPoolSize,
  treeDigestSync,
} from '@vramseal/seal-crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { pseudoRandomBytes, toHex } from './helpers.js';

afterAll(() => shutdownTreeDigestPool());

/** sha256-tree-v1 spelled out with @noble/hashes and the public Merkle functions. */
function referenceTreeRoot(data: Uint8Array, leafSize: number): Uint8Array {
  const leaves: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += leafSize) {
    leaves.push(nobleSha256(new Uint8Array([0, ...data.subarray(offset, offset + leafSize)])));
  }
  return merkleRoot(leaves);
}

// Sizes around the interesting edges for a 64-byte leaf: empty, 1 byte, one leaf, a leaf + 1,
// an odd number of leaves and a power of two.
const edgeSizes = [0, 1, 63, 64, 65, 64 * 3 + 7, 64 * 8, 64 * 8 + 1];

describe('treeDigestSync (sha256-tree-v1)', () => {
  it.each(edgeSizes)('equals the spelled-out definition for %i bytes', (size) => {
    const data = pseudoRandomBytes(size, size + 1);
    const digest = treeDigestSync(data, { leafSize: 64 });
    expect(toHex(digest.root)).toBe(toHex(referenceTreeRoot(data, 64)));
    expect(digest.leafCount).toBe(Math.ceil(size / 64));
    expect(digest.leafSize).toBe(64);
  });

  it('defines the empty input: no leaves, root = merkleRoot([]) = SHA-256("")', () => {
    const digest = treeDigestSync(new Uint8Array(0));
    expect(digest.leafCount).toBe(0);
    expect(toHex(digest.root)).toBe(toHex(nobleSha256(new Uint8Array(0))));
  });

  it('a single short leaf has root = leafHash(data)', () => {
    const data = pseudoRandomBytes(100);
    expect(toHex(treeDigestSync(data).root)).toBe(toHex(leafHash(data)));
  });

  it('defaults to 64 KiB leaves', () => {
    const data = pseudoRandomBytes(65_536 * 2 + 5);
    const digest = treeDigestSync(data);
    expect(digest.leafSize).toBe(65_536);
    expect(digest.leafCount).toBe(3);
    expect(toHex(digest.root)).toBe(toHex(referenceTreeRoot(data, 65_536)));
  });

  it.each([
    [63, RangeError],
    [100, RangeError],
    [-64, RangeError],
    [2 ** 31, RangeError],
    [64.5, TypeError],
    ['64', TypeError],
  ])('refuses leafSize %s', (leafSize, errorType) => {
    expect(() => treeDigestSync(new Uint8Array(1), { leafSize: leafSize as number })).toThrow(
      errorType,
    );
    expect(() => treeDigestSync(new Uint8Array(1), { leafSize: leafSize as number })).toThrow(
      /options\.leafSize/,
    );
  });

  it('refuses non-byte data', () => {
    expect(() => treeDigestSync('abc' as unknown as Uint8Array)).toThrow(
      /data must be a Uint8Array/,
    );
  });
});

describe('treeDigest (worker threads) equals treeDigestSync', () => {
  it('for random sizes and leaf sizes through the worker path, with 1-4 threads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 40_000 }),
        fc.constantFrom(64, 128, 1024, 4096),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 9_000 }),
        async (size, leafSize, threads, chunkSize) => {
          const data = pseudoRandomBytes(size, size * 31 + leafSize);
          const expected = treeDigestSync(data, { leafSize });
          const actual = await treeDigest(data, { leafSize, threads, inlineBelow: 0, chunkSize });
          expect(toHex(actual.root)).toBe(toHex(expected.root));
          expect(actual.leafCount).toBe(expected.leafCount);
          expect(actual.leafSize).toBe(leafSize);
        },
      ),
      { numRuns: 40 },
    );
    expect(treeDigestPoolSize()).toBeGreaterThanOrEqual(1);
  });

  it('for edge sizes, including 0 and 1 byte', async () => {
    for (const size of edgeSizes) {
      const data = pseudoRandomBytes(size, 7);
      const actual = await treeDigest(data, { leafSize: 64, inlineBelow: 0, chunkSize: 128 });
      expect(toHex(actual.root)).toBe(toHex(treeDigestSync(data, { leafSize: 64 }).root));
    }
  });

  it.each([
    ['a power-of-two number of leaves per chunk (workers return chunk roots)', 4 * 64],
    ['a non-power-of-two number of leaves per chunk (workers return leaf hashes)', 3 * 64],
  ])('with %s', async (_how, chunkSize) => {
    for (const size of [1, 64 * 4, 64 * 4 + 1, 64 * 13 + 5, 64 * 64 + 63]) {
      const data = pseudoRandomBytes(size, size);
      const actual = await treeDigest(data, { leafSize: 64, inlineBelow: 0, chunkSize });
      expect(toHex(actual.root)).toBe(toHex(referenceTreeRoot(data, 64)));
      expect(actual.leafCount).toBe(Math.ceil(size / 64));
    }
  });

  it('for a subarray view and for data in a SharedArrayBuffer (read in place)', async () => {
    const base = pseudoRandomBytes(50_001, 3);
    const view = base.subarray(17, 40_017);
    const shared = new Uint8Array(new SharedArrayBuffer(base.length + 9), 9, base.length);
    shared.set(base);
    for (const data of [view, shared]) {
      const actual = await treeDigest(data, { leafSize: 256, inlineBelow: 0, chunkSize: 4096 });
      expect(toHex(actual.root)).toBe(toHex(treeDigestSync(data, { leafSize: 256 }).root));
    }
    expect(base.subarray(17, 20)).toEqual(view.subarray(0, 3)); // the caller's buffer is intact
  });

  it('for a large input on the default settings (9 MiB, above the inline threshold)', async () => {
    const data = pseudoRandomBytes(9 * 2 ** 20 + 123, 11);
    await shutdownTreeDigestPool(); // start from no workers, to see how many the default starts
    const actual = await treeDigest(data);
    expect(actual.leafCount).toBe(Math.ceil(data.length / 65_536));
    expect(toHex(actual.root)).toBe(toHex(treeDigestSync(data).root));
    // By default it uses every core: one worker per available CPU.
    expect(treeDigestPoolSize()).toBe(availableParallelism());
  });

  it('serves concurrent calls correctly', async () => {
    const inputs = [1, 2, 3, 4, 5].map((i) => pseudoRandomBytes(10_000 * i + i, i));
    const digests = await Promise.all(
      inputs.map((data) => treeDigest(data, { leafSize: 64, inlineBelow: 0, chunkSize: 1024 })),
    );
    digests.forEach((digest, i) => {
      expect(toHex(digest.root)).toBe(toHex(treeDigestSync(inputs[i]!, { leafSize: 64 }).root));
    });
  });

  it('works again after the pool is shut down', async () => {
    await shutdownTreeDigestPool();
    expect(treeDigestPoolSize()).toBe(0);
    const data = pseudoRandomBytes(5000, 5);
    const actual = await treeDigest(data, { leafSize: 64, inlineBelow: 0, threads: 2 });
    expect(toHex(actual.root)).toBe(toHex(treeDigestSync(data, { leafSize: 64 }).root));
    expect(treeDigestPoolSize()).toBe(2);
  });

  it('rejects pending digests with TREE_DIGEST_WORKER_FAILED when the pool is shut down', async () => {
    const data = pseudoRandomBytes(4 * 2 ** 20, 13);
    const pending = treeDigest(data, { leafSize: 64, inlineBelow: 0, chunkSize: 64 * 1024 });
    const outcome = expect(pending).rejects.toMatchObject({ code: 'TREE_DIGEST_WORKER_FAILED' });
    await shutdownTreeDigestPool();
    await outcome;
    const after = await treeDigest(data.subarray(0, 1000), { leafSize: 64, inlineBelow: 0 });
    expect(toHex(after.root)).toBe(toHex(referenceTreeRoot(data.subarray(0, 1000), 64)));
  });

  it('rejects (and keeps the process alive) when data is transferred while it runs', async () => {
    const buffer = new ArrayBuffer(2 * 2 ** 20);
    const data = new Uint8Array(buffer);
    data.set(pseudoRandomBytes(64 * 1024, 17));
    // One thread keeps at most two chunks in flight, so most chunks are still to be copied.
    const pending = treeDigest(data, { inlineBelow: 0, threads: 1, chunkSize: 64 * 1024 });
    structuredClone(buffer, { transfer: [buffer] });
    await expect(pending).rejects.toThrow(/data changed from 2097152 to 0 bytes/);
  });

  it('rejects bad options with a RangeError or TypeError naming them', async () => {
    const data = new Uint8Array(10);
    await expect(treeDigest(data, { threads: 0 })).rejects.toThrow(/options\.threads/);
    await expect(treeDigest(data, { leafSize: 96 })).rejects.toThrow(RangeError);
    await expect(treeDigest(data, { inlineBelow: -1 })).rejects.toThrow(/options\.inlineBelow/);
    await expect(treeDigest(data, null as unknown as object)).rejects.toThrow(TypeError);
    await expect(treeDigest([1, 2] as unknown as Uint8Array)).rejects.toThrow(/data must be/);
  });
});
