import {
  type Backend,
  CudaFfiError,
  type DeviceAllocation,
  loadBackend,
  MAX_DIGEST_BATCH,
} from '@vramseal/cuda-ffi';
import { sha256, treeDigestSync } from '@vramseal/seal-crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hex, MiB, mockBackend, rawAddon, seededBytes } from './helpers.js';

const EMPTY_ROOT = hex(sha256(new Uint8Array(0)));

const reference = (data: Uint8Array, offset: number, length: number, leafSize: number): string =>
  hex(treeDigestSync(data.subarray(offset, offset + length), { leafSize }).root);

/** An allocation of `data.length` bytes holding `data`. */
function holding(backend: Backend, data: Uint8Array, device = 0): DeviceAllocation {
  const allocation = backend.allocate(device, data.length);
  allocation.write(0, data);
  return allocation;
}

/** Expects a CudaFfiError with `code` and `argument`. */
async function rejects(promise: Promise<unknown>, code: string, argument?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CudaFfiError);
  expect((error as CudaFfiError).code).toBe(code);
  if (argument !== undefined) expect((error as CudaFfiError).argument).toBe(argument);
}

describe('backend.treeDigestMany: one batch, each range a tree of its own', () => {
  it('equals seal-crypto per range, for random batches of sizes, leaf sizes and ranges on two devices', async () => {
    const backend = mockBackend();
    const range = fc
      .record({
        size: fc.integer({ min: 1, max: 30_000 }),
        leafSize: fc.constantFrom(64, 128, 1024, 4096, 65536),
        seed: fc.integer(),
        device: fc.constantFrom(0, 1),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        take: fc.option(fc.double({ min: 0, max: 1, noNaN: true })),
      })
      .map(({ size, leafSize, seed, device, at, take }) => {
        const lastBoundary = Math.floor(size / leafSize);
        const offset = Math.min(Math.floor(at * (lastBoundary + 1)), lastBoundary) * leafSize;
        const length =
          take === null
            ? undefined
            : Math.min(Math.floor(take * (size - offset + 1)), size - offset);
        return { size, leafSize, seed, device, offset, length };
      });
    await fc.assert(
      fc.asyncProperty(fc.array(range, { minLength: 1, maxLength: 12 }), async (ranges) => {
        const data = ranges.map((r) => seededBytes(r.size, r.seed));
        const allocations = ranges.map((r, i) => holding(backend, data[i]!, r.device));
        const roots = await backend.treeDigestMany(
          ranges.map((r, i) => ({
            allocation: allocations[i]!,
            leafSize: r.leafSize,
            offset: r.offset,
            ...(r.length === undefined ? {} : { length: r.length }),
          })),
        );
        for (const a of allocations) a.free();
        expect(roots.map(hex)).toEqual(
          ranges.map((r, i) =>
            reference(data[i]!, r.offset, r.length ?? r.size - r.offset, r.leafSize),
          ),
        );
      }),
      {
        numRuns: 60,
        examples: [
          [[{ size: 1, leafSize: 64, seed: 1, device: 0, offset: 0, length: undefined }]],
          [
            [
              { size: 128, leafSize: 64, seed: 2, device: 0, offset: 128, length: 0 },
              { size: 5000, leafSize: 1024, seed: 3, device: 1, offset: 1024, length: 1025 },
              { size: 65537, leafSize: 65536, seed: 4, device: 0, offset: 65536, length: 1 },
            ],
          ],
        ],
      },
    );
  });

  it('takes one allocation several times, overlapping ranges included, and equals treeDigest', async () => {
    const backend = mockBackend();
    const data = seededBytes(3 * MiB + 5, 9);
    const allocation = holding(backend, data);
    const requests = [
      { allocation, leafSize: 4096 },
      { allocation, leafSize: 4096, offset: 4096, length: MiB },
      { allocation, leafSize: 65536, offset: 0, length: 2 * MiB },
      { allocation, leafSize: 64, offset: 3 * MiB, length: 5 },
      { allocation, leafSize: 4096, offset: 8192, length: 0 },
    ];
    const roots = await backend.treeDigestMany(requests);
    const one = await Promise.all(
      requests.map(({ allocation: a, ...options }) => a.treeDigest(options)),
    );
    expect(roots.map(hex)).toEqual(one.map(hex));
    expect(hex(roots[0]!)).toBe(reference(data, 0, data.length, 4096));
    expect(hex(roots[4]!)).toBe(EMPTY_ROOT);
    allocation.free();
  });

  it('an empty list gives [], and the result is the same for every digestThreads setting', async () => {
    const data = seededBytes(2 * MiB + 3, 5);
    const seen = new Set<string>();
    for (const digestThreads of [1, 2, 5]) {
      const backend = loadBackend({
        kind: 'mock',
        mock: { devices: [{ totalBytes: 8 * MiB }], digestThreads },
      });
      expect(await backend.treeDigestMany([])).toEqual([]);
      const a = holding(backend, data);
      const b = holding(backend, data.subarray(0, MiB));
      const roots = await backend.treeDigestMany([
        { allocation: a, leafSize: 1024 },
        { allocation: b, leafSize: 1024 },
      ]);
      seen.add(roots.map(hex).join(','));
      a.free();
      b.free();
    }
    expect([...seen]).toEqual([
      `${reference(data, 0, data.length, 1024)},${reference(data, 0, MiB, 1024)}`,
    ]);
  });
});

describe('backend.treeDigestMany: bad input is a typed error naming the item', () => {
  it('refuses what is not a list of requests, before anything runs', async () => {
    const backend = mockBackend();
    const allocation = backend.allocate(0, 8192);
    const other = mockBackend().allocate(0, 64);
    const freed = backend.allocate(0, 64);
    freed.free();
    const bad = backend as unknown as { treeDigestMany(items: unknown): Promise<Uint8Array[]> };
    await rejects(bad.treeDigestMany('all'), 'INVALID_ARGUMENT', 'items');
    await rejects(bad.treeDigestMany([allocation]), 'INVALID_ARGUMENT', 'items[0].allocation');
    await rejects(bad.treeDigestMany([{ allocation }, null]), 'INVALID_ARGUMENT', 'items[1]');
    await rejects(
      bad.treeDigestMany([{ allocation: { handle: 1 } }]),
      'INVALID_ARGUMENT',
      'items[0].allocation',
    );
    await rejects(
      backend.treeDigestMany([{ allocation }, { allocation: other }]),
      'INVALID_ARGUMENT',
      'items[1].allocation',
    );
    await rejects(
      backend.treeDigestMany([{ allocation: freed }]),
      'USE_AFTER_FREE',
      'items[0].allocation',
    );
    await rejects(
      backend.treeDigestMany([{ allocation, leafSize: 100 }]),
      'INVALID_ARGUMENT',
      'items[0].leafSize',
    );
    await rejects(
      backend.treeDigestMany([{ allocation, leafSize: 4096, offset: 64 }]),
      'INVALID_ARGUMENT',
      'items[0].offset',
    );
    await rejects(
      backend.treeDigestMany([{ allocation, length: -1 }]),
      'INVALID_ARGUMENT',
      'items[0].length',
    );
    await rejects(
      backend.treeDigestMany(new Array(MAX_DIGEST_BATCH + 1).fill({ allocation })),
      'INVALID_ARGUMENT',
      'items',
    );
    // Bounds are checked in C++ (offset <= bytes, offset + length <= bytes), naming the item.
    await rejects(
      backend.treeDigestMany([{ allocation }, { allocation, leafSize: 4096, offset: 12288 }]),
      'OUT_OF_BOUNDS',
      'items[1].offset',
    );
    await rejects(
      backend.treeDigestMany([{ allocation, leafSize: 4096, offset: 4096, length: 4097 }]),
      'OUT_OF_BOUNDS',
      'items[0].offset',
    );
    allocation.free();
    other.free();
  });

  it('a refused batch leaves nothing pinned; a running one pins its ranges and only those', async () => {
    const backend = mockBackend();
    const a = holding(backend, seededBytes(4 * MiB, 1));
    const b = holding(backend, seededBytes(MiB, 2));
    await rejects(
      backend.treeDigestMany([
        { allocation: a, leafSize: 4096, offset: 0, length: MiB },
        { allocation: b, offset: 2 * MiB },
      ]),
      'OUT_OF_BOUNDS',
    );
    a.write(0, new Uint8Array(16)); // the first item's pin was released with the refusal
    const running = backend.treeDigestMany([
      { allocation: a, leafSize: 4096, offset: 0, length: MiB },
      { allocation: b, leafSize: 4096 },
    ]);
    expect(() => a.write(MiB - 1, new Uint8Array(1))).toThrow(
      expect.objectContaining({ code: 'ALLOCATION_BUSY' }),
    );
    expect(() => b.write(0, new Uint8Array(1))).toThrow(
      expect.objectContaining({ code: 'ALLOCATION_BUSY' }),
    );
    a.write(MiB, new Uint8Array(16)); // outside every pinned range
    await running;
    a.write(0, new Uint8Array(16));
    b.write(0, new Uint8Array(16));
    a.free();
    b.free();
  });

  it('freeing an allocation while its batch runs keeps the memory until the batch ends', async () => {
    const backend = mockBackend();
    const data = seededBytes(8 * MiB, 3);
    const a = holding(backend, data);
    const running = backend.treeDigestMany([{ allocation: a, leafSize: 4096 }]);
    a.free();
    expect((await running).map(hex)).toEqual([reference(data, 0, data.length, 4096)]);
  });

  it('the addon answers arbitrary requests with coded errors, never a crash', async () => {
    const { NativeBackend } = rawAddon(mockBackend());
    const native = new NativeBackend('mock', { devices: [{ name: 'fuzz', totalBytes: 1 << 20 }] });
    const live = native.allocate?.(0, 4096) as number;
    const junk = fc.oneof(
      fc.constant(live),
      fc.integer({ min: -10, max: 2 ** 53 - 1 }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 2 ** 64, 0.5, 64, 4096),
      fc.string({ maxLength: 4 }),
      fc.constantFrom(undefined, null, {}, [1]),
    );
    const item = fc.oneof(
      fc.record({ handle: junk, leafSize: junk, offset: junk, length: junk }),
      fc.record({ handle: fc.constant(live), leafSize: fc.constantFrom(64, 4096) }),
      junk,
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(item, { maxLength: 4 }), junk), async (items) => {
        try {
          const roots = (await native.treeDigestMany?.(items)) as Buffer[];
          expect(roots.every((root) => root.length === 32)).toBe(true);
        } catch (error) {
          expect([
            'INVALID_ARGUMENT',
            'OUT_OF_BOUNDS',
            'INVALID_HANDLE',
            'USE_AFTER_FREE',
          ]).toContain((error as { code?: string }).code);
        }
      }),
      { numRuns: 300 },
    );
  });
});
