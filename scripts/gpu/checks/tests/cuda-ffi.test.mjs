// cuda-ffi on a real GPU: the tree-digest kernel equals seal-crypto's reference, bit flips and
// range digests, copies, fault injection and the errors a caller can meet. Run by test.mjs.
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { CudaError, CudaFfiError } from '@vramseal/cuda-ffi';
import { sha256, shutdownTreeDigestPool, treeDigest, treeDigestSync } from '@vramseal/seal-crypto';
import { gpuBackend, REHEARSAL, size as scaled } from '../device.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const hex = (bytes) => Buffer.from(bytes).toString('hex');
const random = (n) => randomFillSync(Buffer.allocUnsafe(n));
const reference = (data, leafSize) => hex(treeDigestSync(data, { leafSize }).root);
const EMPTY = hex(sha256(new Uint8Array(0)));

const backend = gpuBackend({ allowFaultInjection: true });
after(async () => {
  backend[Symbol.dispose]();
  await shutdownTreeDigestPool();
});

/** An allocation holding `data`. */
function holding(data) {
  const allocation = backend.allocate(0, data.length);
  allocation.write(0, data);
  return allocation;
}

/** Expects `fn` to throw (or reject with) a CudaFfiError with `code` (and `argument`). */
async function rejects(fn, code, argument) {
  await assert.rejects(
    async () => fn(),
    (error) => {
      assert.ok(error instanceof CudaFfiError, `expected a CudaFfiError, got ${error}`);
      assert.equal(error.code, code, error.message);
      if (argument !== undefined) assert.equal(error.argument, argument);
      return true;
    },
  );
}

describe('the cuda backend', () => {
  test('is real device memory: kind, device facts, pointer attributes', () => {
    assert.equal(backend.kind, 'cuda');
    assert.equal(backend.isVramOnly(), true);
    const info = backend.backendInfo();
    assert.equal(info.builtWithCuda, true);
    assert.equal(info.cudaUnavailable, null);
    assert.ok(info.cudaDeviceCount >= 1);
    assert.equal(info.faultInjection, true);
    const device = backend.deviceInfo(0);
    assert.match(device.computeCapability, /^\d+\.\d+$/);
    assert.match(device.uuid, /^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.ok(device.totalBytes > GiB && device.multiProcessorCount > 0);
    assert.equal(device.integrated, false);
    const mem = backend.memInfo(0);
    assert.ok(mem.freeBytes > 0 && mem.freeBytes <= mem.totalBytes);
    const allocation = backend.allocate(0, MiB);
    assert.deepEqual(allocation.attributes(), { memoryType: 'device', hostPointer: false });
    allocation.free();
  });
});

describe('treeDigest on the device = seal-crypto treeDigestSync (sha256-tree-v1)', () => {
  const sizes = [
    1,
    63,
    64,
    65,
    1000,
    4095,
    4096,
    4097,
    65535,
    65536,
    65537,
    MiB - 1,
    MiB,
    MiB + 1,
    3 * MiB + 17,
    16 * MiB + 5,
  ];
  const leafSizes = [64, 128, 256, 1024, 4 * KiB, 16 * KiB, 64 * KiB, MiB];
  test(`${sizes.length} sizes x ${leafSizes.length} leaf sizes, every leaf size in flight at once`, async () => {
    let cases = 0;
    for (const size of sizes) {
      const data = random(size);
      const allocation = holding(data);
      const roots = await Promise.all(
        leafSizes.map((leafSize) => allocation.treeDigest({ leafSize })),
      );
      allocation.free();
      roots.forEach((root, i) => {
        assert.equal(
          hex(root),
          reference(data, leafSizes[i]),
          `size ${size}, leafSize ${leafSizes[i]}`,
        );
        cases += 1;
      });
    }
    assert.equal(cases, sizes.length * leafSizes.length);
  });

  test('1 GiB + 1 byte (16,385 leaves of 64 KiB, the last of 1 byte) and 256 MiB + 3 with 4 KiB leaves', async () => {
    for (const [size, leafSize] of [
      [scaled(GiB + 1), 64 * KiB],
      [scaled(256 * MiB + 3), 4 * KiB],
    ]) {
      const data = random(size);
      const allocation = holding(data);
      const [device, host] = await Promise.all([
        allocation.treeDigest({ leafSize }),
        treeDigest(data, { leafSize }),
      ]);
      allocation.free();
      assert.equal(hex(device), hex(host.root), `size ${size}, leafSize ${leafSize}`);
    }
  });

  test('range digests: 120 random leaf-aligned ranges, ranges to the end, empty ranges', async () => {
    const size = 5 * MiB + 123;
    const data = random(size);
    const allocation = holding(data);
    const leafSizes = [64, 1024, 4 * KiB, 64 * KiB];
    for (let i = 0; i < 120; i++) {
      const leafSize = leafSizes[i % leafSizes.length];
      const boundaries = Math.floor(size / leafSize);
      const offset = Math.floor(Math.random() * (boundaries + 1)) * leafSize;
      const length = Math.floor(Math.random() * (size - offset + 1));
      const root = await allocation.treeDigest({ leafSize, offset, length });
      assert.equal(
        hex(root),
        reference(data.subarray(offset, offset + length), leafSize),
        `${offset}+${length}/${leafSize}`,
      );
    }
    const toEnd = await allocation.treeDigest({ leafSize: 4096, offset: 4096 * 7 });
    assert.equal(hex(toEnd), reference(data.subarray(4096 * 7), 4096));
    assert.equal(
      hex(await allocation.treeDigest({ leafSize: 4096, offset: 4096, length: 0 })),
      EMPTY,
    );
    await rejects(
      () => allocation.treeDigest({ leafSize: 4096, offset: 100 }),
      'INVALID_ARGUMENT',
      'options.offset',
    );
    await rejects(
      () => allocation.treeDigest({ leafSize: 4096, offset: 0, length: size + 1 }),
      'OUT_OF_BOUNDS',
    );
    allocation.free();
  });
});

describe('treeDigestMany: one batch on the device, each range a tree of its own', () => {
  test('equals seal-crypto for 40 ranges of 24 allocations (sizes x leaf sizes x ranges, empty ones too)', async () => {
    const sizes = [1, 64, 65, 4097, 65536, 65537, MiB + 1, 3 * MiB + 17];
    const leafSizes = [64, 4 * KiB, 64 * KiB];
    const items = [];
    const expected = [];
    const allocations = [];
    for (const size of sizes) {
      const data = random(size);
      const allocation = holding(data);
      allocations.push(allocation);
      for (const leafSize of leafSizes) {
        items.push({ allocation, leafSize });
        expected.push(reference(data, leafSize));
      }
      if (size > 4096) {
        items.push({ allocation, leafSize: 64, offset: 4096, length: size - 4096 - 1 });
        expected.push(reference(data.subarray(4096, size - 1), 64));
        items.push({ allocation, leafSize: 4096, offset: 4096, length: 0 });
        expected.push(EMPTY);
      }
    }
    const roots = await backend.treeDigestMany(items);
    for (const allocation of allocations) allocation.free();
    assert.equal(roots.length, expected.length);
    assert.deepEqual(roots.map(hex), expected);
  });

  test('8 x 64 MiB in one call equals 8 treeDigest() calls, and a flip in one shard changes only its root', async () => {
    const shards = Array.from({ length: 8 }, () => holding(random(scaled(64 * MiB))));
    const items = shards.map((allocation) => ({ allocation, leafSize: 16 * KiB }));
    const batch = (await backend.treeDigestMany(items)).map(hex);
    const single = (await Promise.all(shards.map((s) => s.treeDigest({ leafSize: 16 * KiB })))).map(
      hex,
    );
    assert.deepEqual(batch, single);
    shards[5].corrupt(12345, 0x04);
    const after = (await backend.treeDigestMany(items)).map(hex);
    assert.notEqual(after[5], batch[5]);
    assert.deepEqual(
      [...after.slice(0, 5), ...after.slice(6)],
      [...batch.slice(0, 5), ...batch.slice(6)],
    );
    for (const s of shards) s.free();
  });

  test('a bad item is a typed error naming it, and leaves nothing pinned', async () => {
    const allocation = holding(random(MiB));
    await rejects(
      () =>
        backend.treeDigestMany([{ allocation }, { allocation, leafSize: 4096, offset: 2 * MiB }]),
      'OUT_OF_BOUNDS',
      'items[1].offset',
    );
    allocation.write(0, new Uint8Array(8));
    allocation.free();
  });
});

describe('tampering with device memory is caught', () => {
  test('200 single-bit flips (first, last, leaf-boundary and random bytes) each change the root, and undoing them restores it', async () => {
    const size = 4 * MiB;
    const allocation = holding(random(size));
    for (const leafSize of [4 * KiB, 64 * KiB]) {
      const sealed = hex(await allocation.treeDigest({ leafSize }));
      const offsets = [0, size - 1, leafSize - 1, leafSize, 2 * leafSize + 1];
      while (offsets.length < 100) offsets.push(Math.floor(Math.random() * size));
      for (const offset of offsets) {
        const mask = 1 << Math.floor(Math.random() * 8);
        allocation.corrupt(offset, mask);
        const tampered = hex(await allocation.treeDigest({ leafSize }));
        allocation.corrupt(offset, mask);
        assert.notEqual(
          tampered,
          sealed,
          `flip at ${offset} (mask ${mask}, leafSize ${leafSize}) went unnoticed`,
        );
        assert.equal(hex(await allocation.treeDigest({ leafSize })), sealed);
      }
    }
    allocation.free();
  });

  test('corrupt() on cuda needs allowFaultInjection: without it UNSUPPORTED, and memory is unchanged', async () => {
    const plain = gpuBackend();
    const data = random(64 * KiB);
    const allocation = plain.allocate(0, data.length);
    allocation.write(0, data);
    assert.equal(plain.backendInfo().faultInjection, false);
    await rejects(() => allocation.corrupt(0, 1), 'UNSUPPORTED', 'allowFaultInjection');
    assert.deepEqual(Buffer.from(allocation.read(0, data.length)), data);
    allocation.free();
  });
});

describe('copies and their checks', () => {
  test('write/read round trip at an odd offset, partial reads, writeAsync from a SharedArrayBuffer', async () => {
    const size = 3 * MiB + 5;
    const allocation = backend.allocate(0, size);
    const data = random(size - 7);
    allocation.write(7, data);
    assert.deepEqual(Buffer.from(allocation.read(7, data.length)), data);
    assert.deepEqual(Buffer.from(allocation.read(7 + 1000, 333)), data.subarray(1000, 1333));
    const shared = new Uint8Array(new SharedArrayBuffer(MiB));
    randomFillSync(shared);
    await allocation.writeAsync(2 * MiB, shared);
    assert.deepEqual(Buffer.from(allocation.read(2 * MiB, MiB)), Buffer.from(shared));
    await rejects(() => allocation.writeAsync(0, new Uint8Array(8)), 'INVALID_ARGUMENT', 'data');
    allocation.free();
  });

  test('writeAsync through the staging ring: 64 MiB + 5 at an odd offset lands whole; two at once to two allocations; a busy range is refused', async () => {
    const size = scaled(64 * MiB + 5);
    const shared = new Uint8Array(new SharedArrayBuffer(size));
    randomFillSync(shared);
    const a = backend.allocate(0, size + 3);
    const b = backend.allocate(0, size);
    const other = new Uint8Array(new SharedArrayBuffer(size));
    randomFillSync(other);
    await Promise.all([a.writeAsync(3, shared), b.writeAsync(0, other)]);
    assert.equal(hex(a.read(3, size)), hex(shared));
    assert.equal(hex(b.read(0, size)), hex(other));
    assert.equal(
      hex(await a.treeDigest({ leafSize: 4096, offset: 0, length: 4096 })),
      reference(a.read(0, 4096), 4096),
    );
    const digest = b.treeDigest({ leafSize: 4096 });
    await rejects(() => b.writeAsync(0, shared.subarray(0, 16)), 'ALLOCATION_BUSY');
    await digest;
    a.free();
    b.free();
  });

  test('out of bounds, use after free, double free and busy ranges are typed errors', async () => {
    const allocation = backend.allocate(0, 64 * MiB);
    await rejects(() => allocation.write(64 * MiB - 1, new Uint8Array(2)), 'OUT_OF_BOUNDS');
    await rejects(() => allocation.read(64 * MiB, 1), 'OUT_OF_BOUNDS');
    const digest = allocation.treeDigest({ leafSize: 4096 });
    await rejects(() => allocation.write(0, new Uint8Array(1)), 'ALLOCATION_BUSY');
    await digest;
    allocation.write(0, new Uint8Array(1));
    allocation.free();
    await rejects(() => allocation.read(0, 1), 'USE_AFTER_FREE');
    await rejects(() => allocation.free(), 'USE_AFTER_FREE');
  });

  test('an allocation larger than the device is a CudaError (cudaErrorMemoryAllocation), and the backend goes on', async () => {
    const { totalBytes } = backend.memInfo(0);
    await assert.rejects(
      async () => backend.allocate(0, totalBytes + GiB),
      (error) =>
        error instanceof CudaError &&
        error.code === 'cudaErrorMemoryAllocation' &&
        error.operation === (REHEARSAL ? 'mock.cudaMalloc' : 'cudaMalloc'),
    );
    const allocation = backend.allocate(0, MiB);
    allocation.free();
  });

  test('freeing an allocation while its digest runs keeps the memory until the digest ends', async () => {
    const data = random(scaled(256 * MiB));
    const allocation = holding(data);
    const digest = allocation.treeDigest({ leafSize: 64 * KiB });
    allocation.free();
    assert.equal(hex(await digest), reference(data, 64 * KiB));
  });
});
