import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import { CudaFfiError, loadBackend } from '@vramseal/cuda-ffi';
import { timingSafeEqual, treeDigest } from '@vramseal/seal-crypto';
import type { VramsealWorld } from '../world.js';

const LEAF_SIZE = 65536;
const MIB = 1024 * 1024;

Given(
  'a mock GPU backend with one device of {int} MiB',
  function (this: VramsealWorld, mib: number) {
    this.backend = loadBackend({
      kind: 'mock',
      mock: { devices: [{ name: 'bdd-gpu-0', totalBytes: mib * MIB }] },
    });
  },
);

When('the shard is copied to device memory', async function (this: VramsealWorld) {
  const backend = this.need(this.backend, 'backend');
  const shard = this.need(this.shard, 'model shard');
  const allocation = backend.allocate(shard.device, shard.bytes.length);
  this.allocations.push(allocation);
  allocation.write(0, shard.bytes);
  this.deviceShard = allocation;
  this.sealedRoot = (await treeDigest(shard.bytes, { leafSize: LEAF_SIZE })).root;
});

When(
  'device memory at byte {int} is corrupted with mask {int}',
  function (this: VramsealWorld, offset: number, mask: number) {
    this.need(this.deviceShard, 'shard in device memory').corrupt(offset, mask);
  },
);

Then('the device tree digest equals the host tree digest', async function (this: VramsealWorld) {
  const deviceRoot = await this.need(this.deviceShard, 'shard in device memory').treeDigest({
    leafSize: LEAF_SIZE,
  });
  assert.ok(timingSafeEqual(deviceRoot, this.need(this.sealedRoot, 'host tree root')));
});

Then(
  'the device tree digest no longer equals the host tree digest',
  async function (this: VramsealWorld) {
    const deviceRoot = await this.need(this.deviceShard, 'shard in device memory').treeDigest({
      leafSize: LEAF_SIZE,
    });
    assert.equal(timingSafeEqual(deviceRoot, this.need(this.sealedRoot, 'host tree root')), false);
  },
);

Then(
  'reading {int} bytes at offset {int} fails with code {string}',
  function (this: VramsealWorld, length: number, offset: number, code: string) {
    const allocation = this.need(this.deviceShard, 'shard in device memory');
    assertFailsWithCode(() => allocation.read(offset, length), code);
  },
);

Then(
  'allocating {int} MiB on device {int} fails with code {string}',
  function (this: VramsealWorld, mib: number, device: number, code: string) {
    const backend = this.need(this.backend, 'backend');
    assertFailsWithCode(() => this.allocations.push(backend.allocate(device, mib * MIB)), code);
  },
);

When('the device memory is freed', function (this: VramsealWorld) {
  this.need(this.deviceShard, 'shard in device memory').free();
});

Then(
  'writing to the freed memory fails with code {string}',
  function (this: VramsealWorld, code: string) {
    const allocation = this.need(this.deviceShard, 'shard in device memory');
    assertFailsWithCode(() => allocation.write(0, new Uint8Array(1)), code);
  },
);

Then(
  'the backend says it is not VRAM-only and its memory type is {string}',
  function (this: VramsealWorld, memoryType: string) {
    assert.equal(this.need(this.backend, 'backend').isVramOnly(), false);
    const allocation = this.need(this.deviceShard, 'shard in device memory');
    assert.equal(allocation.attributes().memoryType, memoryType);
  },
);

function assertFailsWithCode(action: () => unknown, code: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof CudaFfiError, `expected a CudaFfiError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}
