import { CudaFfiError } from '@vramseal/cuda-ffi';
import { treeDigestSync } from '@vramseal/seal-crypto';
import { describe, expect, it } from 'vitest';
import { hex, MiB, mockBackend, seededBytes } from './helpers.js';

/** `data` copied into a view of a SharedArrayBuffer, at a non-zero byte offset. */
function shared(data: Uint8Array): Uint8Array {
  const view = new Uint8Array(new SharedArrayBuffer(data.length + 7), 7, data.length);
  view.set(data);
  return view;
}

describe('writeAsync: a host -> device copy on a worker thread', () => {
  it('lands exactly the bytes of a shared view, at the offset given', async () => {
    const backend = mockBackend();
    const allocation = backend.allocate(0, 3 * MiB);
    const data = seededBytes(2 * MiB + 1, 11);
    await allocation.writeAsync(MiB - 3, shared(data));
    expect(hex(allocation.read(MiB - 3, data.length))).toBe(hex(data));
    expect(allocation.read(0, MiB - 3).every((b) => b === 0)).toBe(true);
    allocation.free();
  });

  it('many copies in flight at once, to disjoint ranges, all land', async () => {
    const backend = mockBackend();
    const size = 16 * MiB;
    const data = seededBytes(size, 12);
    const source = shared(data);
    const allocation = backend.allocate(0, size);
    const piece = MiB + 4096;
    const copies: Promise<void>[] = [];
    for (let offset = 0; offset < size; offset += piece) {
      copies.push(allocation.writeAsync(offset, source.subarray(offset, offset + piece)));
    }
    await Promise.all(copies);
    expect(hex(await allocation.treeDigest({ leafSize: 4096 }))).toBe(
      hex(treeDigestSync(data, { leafSize: 4096 }).root),
    );
    allocation.free();
  });

  it('refuses memory that could be detached under the worker: INVALID_ARGUMENT naming data', async () => {
    const allocation = mockBackend().allocate(0, MiB);
    for (const data of [
      new Uint8Array(16),
      Buffer.alloc(16),
      new Uint8Array(new ArrayBuffer(32), 8, 8),
    ]) {
      const error = await allocation.writeAsync(0, data).catch((e) => e);
      expect(error).toBeInstanceOf(CudaFfiError);
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'data' });
      expect(error.message).toMatch(/SharedArrayBuffer/);
    }
    await expect(allocation.writeAsync(0, 'bytes' as never)).rejects.toMatchObject({
      argument: 'data',
    });
    await expect(allocation.writeAsync(-1, shared(new Uint8Array(1)))).rejects.toMatchObject({
      argument: 'offset',
    });
    allocation.free();
  });

  it('is bounds-checked before anything is queued, and refused on a freed allocation', async () => {
    const allocation = mockBackend().allocate(0, MiB);
    await expect(allocation.writeAsync(MiB - 1, shared(new Uint8Array(2)))).rejects.toMatchObject({
      code: 'OUT_OF_BOUNDS',
    });
    expect(allocation.read(MiB - 1, 1)[0]).toBe(0);
    allocation.free();
    await expect(allocation.writeAsync(0, shared(new Uint8Array(1)))).rejects.toMatchObject({
      code: 'USE_AFTER_FREE',
    });
  });

  it('a range being written cannot be digested, and a range being digested cannot be written', async () => {
    const backend = mockBackend();
    const allocation = backend.allocate(0, 8 * MiB);
    const copy = allocation.writeAsync(0, shared(seededBytes(4 * MiB, 13)));
    // Queued behind nothing it could race: the overlapping digest is refused at once.
    await expect(allocation.treeDigest({ offset: 0, length: 4 * MiB })).rejects.toMatchObject({
      code: 'ALLOCATION_BUSY',
    });
    const disjoint = allocation.treeDigest({ offset: 4 * MiB, length: 4 * MiB });
    await Promise.all([copy, disjoint]);
    const digest = allocation.treeDigest({ offset: 0, length: 4 * MiB });
    await expect(allocation.writeAsync(MiB, shared(new Uint8Array(10)))).rejects.toMatchObject({
      code: 'ALLOCATION_BUSY',
    });
    await digest;
    await allocation.writeAsync(MiB, shared(new Uint8Array(10)));
    allocation.free();
  });

  it('free() while copies run keeps the memory until they end, then gives the capacity back', async () => {
    const backend = mockBackend();
    const before = backend.memInfo(0).freeBytes;
    const allocation = backend.allocate(0, 32 * MiB);
    const source = shared(seededBytes(32 * MiB, 14));
    const copies = [0, 1, 2, 3].map((i) =>
      allocation.writeAsync(i * 8 * MiB, source.subarray(i * 8 * MiB, (i + 1) * 8 * MiB)),
    );
    allocation.free();
    const outcomes = await Promise.allSettled(copies);
    expect(outcomes.every((o) => o.status === 'fulfilled')).toBe(true);
    expect(backend.memInfo(0).freeBytes).toBe(before);
  });
});
