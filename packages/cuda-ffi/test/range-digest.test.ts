import { type DeviceAllocation, loadBackend } from '@vramseal/cuda-ffi';
import { merkleRoot, sha256, treeDigestSync } from '@vramseal/seal-crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hex, MiB, mockBackend, seededBytes } from './helpers.js';

const EMPTY_ROOT = hex(sha256(new Uint8Array(0)));

/** An allocation of data.length bytes holding `data`, on a 64 MiB mock device. */
function holding(data: Uint8Array): DeviceAllocation {
  const allocation = mockBackend().allocate(0, data.length);
  allocation.write(0, data);
  return allocation;
}

const reference = (data: Uint8Array, offset: number, length: number, leafSize: number): string =>
  hex(treeDigestSync(data.subarray(offset, offset + length), { leafSize }).root);

describe('treeDigest({ offset, length }): the range as a tree of its own', () => {
  it('equals seal-crypto treeDigestSync of the subarray, for random sizes, offsets and leaf sizes', async () => {
    const backend = mockBackend();
    const cases = fc
      .record({
        size: fc.integer({ min: 1, max: 40_000 }),
        leafSize: fc.constantFrom(64, 128, 256, 1024, 4096, 65536),
        seed: fc.integer(),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        take: fc.double({ min: 0, max: 1, noNaN: true }),
      })
      .map(({ size, leafSize, seed, at, take }) => {
        // offset: a leaf boundary from 0 up to the last one at or before the end (the end itself
        // when size is a multiple of leafSize); length: anything from 0 to the rest.
        const lastBoundary = Math.floor(size / leafSize);
        const offset = Math.min(Math.floor(at * (lastBoundary + 1)), lastBoundary) * leafSize;
        const length = Math.min(Math.floor(take * (size - offset + 1)), size - offset);
        return { size, leafSize, seed, offset, length };
      });
    await fc.assert(
      fc.asyncProperty(cases, async ({ size, leafSize, seed, offset, length }) => {
        const data = seededBytes(size, seed);
        const allocation = backend.allocate(0, size);
        allocation.write(0, data);
        const root = await allocation.treeDigest({ leafSize, offset, length });
        const toEnd = await allocation.treeDigest({ leafSize, offset });
        allocation.free();
        expect(hex(root)).toBe(reference(data, offset, length, leafSize));
        expect(hex(toEnd)).toBe(reference(data, offset, size - offset, leafSize));
      }),
      {
        numRuns: 150,
        examples: [
          [{ size: 1, leafSize: 64, seed: 1, offset: 0, length: 1 }],
          [{ size: 128, leafSize: 64, seed: 2, offset: 64, length: 64 }],
          [{ size: 129, leafSize: 64, seed: 3, offset: 128, length: 1 }],
          [{ size: 5000, leafSize: 1024, seed: 4, offset: 4096, length: 904 }],
          [{ size: 5000, leafSize: 1024, seed: 5, offset: 1024, length: 1025 }],
        ],
      },
    );
  });

  it('without offset and length digests the whole allocation, exactly as before', async () => {
    const data = seededBytes(300_001, 7);
    const allocation = holding(data);
    const whole = hex(treeDigestSync(data, { leafSize: 4096 }).root);
    expect(hex(await allocation.treeDigest({ leafSize: 4096 }))).toBe(whole);
    expect(hex(await allocation.treeDigest({ leafSize: 4096, offset: 0 }))).toBe(whole);
    expect(hex(await allocation.treeDigest({ leafSize: 4096, length: data.length }))).toBe(whole);
    allocation.free();
  });

  it('an empty range is the empty tree, SHA-256 of the empty string', async () => {
    const allocation = holding(seededBytes(8192, 8));
    expect(hex(await allocation.treeDigest({ leafSize: 4096, offset: 4096, length: 0 }))).toBe(
      EMPTY_ROOT,
    );
    expect(hex(await allocation.treeDigest({ leafSize: 4096, offset: 8192 }))).toBe(EMPTY_ROOT);
    allocation.free();
  });

  it('segment roots of a chunk-by-chunk write, combined with merkleRoot, are the whole digest', async () => {
    // What the manager does: write a shard in chunks, digest each completed segment of 2^k
    // leaves while later chunks are still being written, then combine the segment roots.
    const backend = mockBackend();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 * MiB }),
        fc.constantFrom(64, 1024, 4096, 65536),
        fc.nat({ max: 6 }),
        fc.integer({ min: 1000, max: 400_000 }),
        fc.integer(),
        async (size, leafSize, log2Leaves, chunk, seed) => {
          const data = seededBytes(size, seed);
          const segment = leafSize * 2 ** log2Leaves;
          const allocation = backend.allocate(0, size);
          const pending: Promise<Uint8Array>[] = [];
          let digested = 0; // bytes [0, digested) have a segment digest queued
          for (let written = 0; written < size; ) {
            const end = Math.min(size, written + chunk);
            allocation.write(written, data.subarray(written, end)); // beside in-flight digests
            written = end;
            while (digested + segment <= written || (written === size && digested < size)) {
              const length = Math.min(segment, size - digested);
              pending.push(allocation.treeDigest({ leafSize, offset: digested, length }));
              digested += length;
            }
          }
          const roots = await Promise.all(pending);
          const whole = await allocation.treeDigest({ leafSize });
          allocation.free();
          expect(roots).toHaveLength(Math.ceil(size / segment));
          expect(hex(merkleRoot(roots))).toBe(hex(whole));
          expect(hex(whole)).toBe(hex(treeDigestSync(data, { leafSize }).root));
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('a digest pins only its range', () => {
  it('a write to a disjoint range succeeds while a digest of another range is in flight', async () => {
    const data = seededBytes(32 * MiB, 11);
    const allocation = holding(data);
    // 64-byte leaves over 16 MiB: far longer than the synchronous writes below.
    const digest = allocation.treeDigest({ leafSize: 64, offset: 0, length: 16 * MiB });
    const fresh = seededBytes(MiB, 12);
    allocation.write(16 * MiB, fresh); // starts where the digested range ends
    allocation.write(31 * MiB, fresh);
    allocation.corrupt(20 * MiB, 0x40);
    expect(hex(await digest)).toBe(reference(data, 0, 16 * MiB, 64));
    expect(hex(allocation.read(16 * MiB, MiB))).toBe(hex(fresh));
    expect(allocation.read(20 * MiB, 1)[0]).toBe(data[20 * MiB]! ^ 0x40);
    allocation.free();
  });

  it('a write or corrupt that overlaps the digested range is ALLOCATION_BUSY and changes nothing', async () => {
    const data = seededBytes(8 * MiB, 13);
    const allocation = holding(data);
    const digest = allocation.treeDigest({ leafSize: 64, offset: 2 * MiB, length: 4 * MiB });
    const overlapping: [string, () => void][] = [
      ['the first byte', () => allocation.write(2 * MiB, new Uint8Array(1))],
      ['the last byte', () => allocation.write(6 * MiB - 1, new Uint8Array(1))],
      ['one byte in from below', () => allocation.write(2 * MiB - 4, new Uint8Array(5))],
      ['across the whole range', () => allocation.write(MiB, new Uint8Array(6 * MiB))],
      ['a corrupt inside', () => allocation.corrupt(3 * MiB, 1)],
    ];
    for (const [name, act] of overlapping) {
      expect(act, name).toThrow(
        expect.objectContaining({
          name: 'CudaFfiError',
          code: 'ALLOCATION_BUSY',
          message: expect.stringContaining('[2097152, 6291456)'),
        }),
      );
    }
    // Adjacent on both sides is not overlapping.
    allocation.write(2 * MiB - 4, data.subarray(2 * MiB - 4, 2 * MiB));
    allocation.write(6 * MiB, data.subarray(6 * MiB, 6 * MiB + 4));
    expect(hex(await digest)).toBe(reference(data, 2 * MiB, 4 * MiB, 64));
    expect(hex(allocation.read(0, 8 * MiB))).toBe(hex(data));
    // The pin went with the digest: the same write works now.
    allocation.write(3 * MiB, new Uint8Array([1]));
    allocation.free();
  });

  it('digests of overlapping ranges run side by side', async () => {
    const data = seededBytes(4 * MiB, 14);
    const allocation = holding(data);
    const [a, b, c] = await Promise.all([
      allocation.treeDigest({ leafSize: 1024, offset: 0, length: 3 * MiB }),
      allocation.treeDigest({ leafSize: 1024, offset: MiB, length: 3 * MiB }),
      allocation.treeDigest({ leafSize: 1024 }),
    ]);
    expect(hex(a!)).toBe(reference(data, 0, 3 * MiB, 1024));
    expect(hex(b!)).toBe(reference(data, MiB, 3 * MiB, 1024));
    expect(hex(c!)).toBe(reference(data, 0, 4 * MiB, 1024));
    allocation.free();
  });

  it('a refused digest pins nothing', async () => {
    const allocation = holding(seededBytes(8192, 15));
    await expect(
      allocation.treeDigest({ leafSize: 4096, offset: 4096, length: 8192 }),
    ).rejects.toMatchObject({
      code: 'OUT_OF_BOUNDS',
    });
    allocation.write(0, new Uint8Array(8192)); // nothing is left pinned
    allocation.free();
  });

  it('free() during a range digest: the handle goes at once, the memory when the digest ends', async () => {
    const backend = mockBackend();
    const data = seededBytes(16 * MiB, 16);
    const allocation = backend.allocate(0, data.length);
    allocation.write(0, data);
    const digest = allocation.treeDigest({ leafSize: 64, offset: 8 * MiB });
    allocation.free();
    expect(() => allocation.write(0, new Uint8Array(1))).toThrow(
      expect.objectContaining({ code: 'USE_AFTER_FREE' }),
    );
    expect(hex(await digest)).toBe(reference(data, 8 * MiB, 8 * MiB, 64));
    expect(backend.memInfo(0).freeBytes).toBe(64 * MiB);
  });
});

describe('treeDigest range arguments', () => {
  it.each([
    [
      'offset 100 with 64-byte leaves',
      { leafSize: 64, offset: 100 },
      'INVALID_ARGUMENT',
      'options.offset',
    ],
    [
      'offset 2048 with 4 KiB leaves',
      { leafSize: 4096, offset: 2048 },
      'INVALID_ARGUMENT',
      'options.offset',
    ],
    [
      'offset 64 with the default 64 KiB leaves',
      { offset: 64 },
      'INVALID_ARGUMENT',
      'options.offset',
    ],
    ['offset -64', { leafSize: 64, offset: -64 }, 'INVALID_ARGUMENT', 'options.offset'],
    ['offset 64.5', { leafSize: 64, offset: 64.5 }, 'INVALID_ARGUMENT', 'options.offset'],
    ['offset as a string', { leafSize: 64, offset: '64' }, 'INVALID_ARGUMENT', 'options.offset'],
    ['offset 2^53', { leafSize: 64, offset: 2 ** 53 }, 'INVALID_ARGUMENT', 'options.offset'],
    ['length -1', { leafSize: 64, length: -1 }, 'INVALID_ARGUMENT', 'options.length'],
    ['length NaN', { leafSize: 64, length: Number.NaN }, 'INVALID_ARGUMENT', 'options.length'],
    ['length as a BigInt', { leafSize: 64, length: 10n }, 'INVALID_ARGUMENT', 'options.length'],
    ['length 1.5', { leafSize: 64, length: 1.5 }, 'INVALID_ARGUMENT', 'options.length'],
    ['offset past the end', { leafSize: 64, offset: 10_048 }, 'OUT_OF_BOUNDS', 'options.offset'],
    [
      'length one byte too long',
      { leafSize: 64, offset: 0, length: 10_001 },
      'OUT_OF_BOUNDS',
      'options.offset',
    ],
    [
      'a range from the last leaf past the end',
      { leafSize: 64, offset: 9984, length: 17 },
      'OUT_OF_BOUNDS',
      'options.offset',
    ],
    [
      'length 2^53 - 1',
      { leafSize: 64, offset: 64, length: Number.MAX_SAFE_INTEGER },
      'OUT_OF_BOUNDS',
      'options.offset',
    ],
    [
      'offset + length beyond 2^53',
      { leafSize: 2 ** 30, offset: 2 ** 52, length: 2 ** 52 },
      'OUT_OF_BOUNDS',
      'options.offset',
    ],
  ])('%s is %s naming %s', async (_name, options, code, argument) => {
    const allocation = mockBackend().allocate(0, 10_000);
    await expect(allocation.treeDigest(options as never)).rejects.toMatchObject({
      name: 'CudaFfiError',
      code,
      argument,
    });
    allocation.write(0, new Uint8Array(10_000)); // and nothing stayed pinned
    allocation.free();
  });

  it('a range digest of a freed allocation is USE_AFTER_FREE', async () => {
    const allocation = mockBackend().allocate(0, 128);
    allocation.free();
    await expect(allocation.treeDigest({ leafSize: 64, offset: 64 })).rejects.toMatchObject({
      code: 'USE_AFTER_FREE',
    });
  });

  it('works the same on a backend with one digest thread', async () => {
    const data = seededBytes(3 * MiB + 5, 17);
    const backend = loadBackend({
      kind: 'mock',
      mock: { devices: [{ totalBytes: 4 * MiB }], digestThreads: 1 },
    });
    const allocation = backend.allocate(0, data.length);
    allocation.write(0, data);
    expect(hex(await allocation.treeDigest({ leafSize: 1024, offset: MiB, length: MiB + 3 }))).toBe(
      reference(data, MiB, MiB + 3, 1024),
    );
    allocation.free();
  });
});
