import { loadBackend } from '@vramseal/cuda-ffi';
import { shutdownTreeDigestPool, treeDigest, treeDigestSync } from '@vramseal/seal-crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { hex, MiB, mockBackend, portableTreeDigest, seededBytes } from './helpers.js';

afterAll(async () => {
  await shutdownTreeDigestPool();
});

const leafSizes = fc.constantFrom(64, 128, 256, 1024, 4096);

describe('native tree digest = seal-crypto treeDigest (sha256-tree-v1)', () => {
  it('on random sizes, including 1 byte and sizes that are not a multiple of the leaf', async () => {
    const backend = mockBackend();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20_000 }),
        leafSizes,
        fc.integer(),
        async (size, leafSize, seed) => {
          const data = seededBytes(size, seed);
          const allocation = backend.allocate(0, size);
          allocation.write(0, data);
          const native = await allocation.treeDigest({ leafSize });
          allocation.free();
          expect(hex(native)).toBe(hex(treeDigestSync(data, { leafSize }).root));
        },
      ),
      {
        numRuns: 60,
        examples: [
          [1, 64, 7],
          [64, 64, 1],
          [65, 64, 2],
          [4097, 4096, 3],
        ],
      },
    );
  });

  it('on a multi-chunk allocation hashed by several threads (seal-crypto worker pool as reference)', async () => {
    const size = 9 * MiB + 12_345;
    const data = seededBytes(size, 99);
    const allocation = mockBackend().allocate(0, size);
    allocation.write(0, data);
    const [native, reference] = await Promise.all([
      allocation.treeDigest({ leafSize: 65536 }),
      treeDigest(data, { leafSize: 65536 }),
    ]);
    expect(hex(native)).toBe(hex(reference.root));
    allocation.free();
  });

  it('is the same for every digestThreads setting', async () => {
    const data = seededBytes(3 * MiB + 1, 5);
    const roots = new Set<string>();
    for (const digestThreads of [1, 2, 5]) {
      const threaded = loadBackend({
        kind: 'mock',
        mock: { devices: [{ totalBytes: 4 * MiB }], digestThreads },
      });
      const allocation = threaded.allocate(0, data.length);
      allocation.write(0, data);
      roots.add(hex(await allocation.treeDigest({ leafSize: 1024 })));
      allocation.free();
    }
    expect([...roots]).toEqual([hex(treeDigestSync(data, { leafSize: 1024 }).root)]);
  });
});

describe('host-compiled CUDA kernel core (portable __host__ __device__ SHA-256) = seal-crypto', () => {
  it('on random sizes, including 1 byte and partial last leaves', () => {
    const backend = mockBackend();
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        leafSizes,
        fc.integer(),
        (size, leafSize, seed) => {
          const data = seededBytes(size, seed);
          expect(hex(portableTreeDigest(backend, data, leafSize))).toBe(
            hex(treeDigestSync(data, { leafSize }).root),
          );
        },
      ),
      {
        numRuns: 60,
        examples: [
          [1, 64, 1],
          [127, 64, 2],
          [128, 64, 3],
        ],
      },
    );
  });

  it('on the empty input: SHA-256 of the empty string', () => {
    const backend = mockBackend();
    const empty = new Uint8Array(0);
    expect(hex(portableTreeDigest(backend, empty, 64))).toBe(
      hex(treeDigestSync(empty, { leafSize: 64 }).root),
    );
  });

  it('on a 1 MiB + 1 input with 64 KiB leaves', () => {
    const data = seededBytes(MiB + 1, 11);
    expect(hex(portableTreeDigest(mockBackend(), data, 65536))).toBe(
      hex(treeDigestSync(data, { leafSize: 65536 }).root),
    );
  });
});

describe('digests run off the JS thread', () => {
  it('a timer keeps firing while a large digest runs', async () => {
    const backend = mockBackend();
    const allocation = backend.allocate(0, 64 * MiB);
    allocation.write(0, seededBytes(MiB, 1));
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
    }, 1);
    let loops = 0;
    let digesting = true;
    const spin = (): void => {
      loops++;
      if (digesting) setImmediate(spin);
    };
    setImmediate(spin);
    const rounds = 4;
    for (let i = 0; i < rounds; i++) await allocation.treeDigest();
    digesting = false;
    clearInterval(timer);
    allocation.free();
    // A digest on the JS thread would block the loop: no immediates, no timer callbacks.
    expect(loops).toBeGreaterThan(rounds * 2);
    expect(ticks).toBeGreaterThan(0);
  });
});
