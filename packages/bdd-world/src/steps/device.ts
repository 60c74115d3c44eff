import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import { CudaFfiError, loadBackend } from '@vramseal/cuda-ffi';
import { sha256Hex, treeDigest } from '@vramseal/seal-crypto';
import type { VramWorld } from '../world.js';

// Device memory as the VRAM manager and the rest of the device see it. The scenario's manager runs
// on a mock backend the scenario also holds (`this.backend`), so a step can play another process
// on the same device: allocate beside the manager, read out of bounds, free, and use after free.

const MIB = 1024 * 1024;

Given(
  'a VRAM manager on a mock GPU {string} of {int} MiB, shared with other processes',
  async function (this: VramWorld, name: string, mib: number) {
    this.backend = loadBackend({
      kind: 'mock',
      mock: { devices: [{ name, totalBytes: mib * MIB }], digestThreads: 2 },
    });
    await this.startManager({ backend: this.backend });
  },
);

Given(
  'another process holds {int} MiB of device {int}',
  function (this: VramWorld, mib: number, device: number) {
    const allocation = this.need(this.backend, 'shared backend').allocate(device, mib * MIB);
    this.allocations.push(allocation);
    this.otherProcessMemory = allocation;
  },
);

When('the other process frees its memory', function (this: VramWorld) {
  this.need(this.otherProcessMemory, "the other process's memory").free();
});

Then(
  "reading {int} bytes at offset {int} of the other process's memory fails with code {string}",
  function (this: VramWorld, length: number, offset: number, code: string) {
    const allocation = this.need(this.otherProcessMemory, "the other process's memory");
    assertFailsWithCode(() => allocation.read(offset, length), code);
  },
);

Then(
  "writing to the other process's freed memory fails with code {string}",
  function (this: VramWorld, code: string) {
    const allocation = this.need(this.otherProcessMemory, "the other process's memory");
    assertFailsWithCode(() => allocation.write(0, new Uint8Array(1)), code);
  },
);

Then(
  'the device itself refuses to allocate {int} MiB on device {int} with code {string}',
  function (this: VramWorld, mib: number, device: number, code: string) {
    const backend = this.need(this.backend, 'shared backend');
    assertFailsWithCode(() => this.allocations.push(backend.allocate(device, mib * MIB)), code);
  },
);

Then(
  "the other process's memory is {string} memory and the backend is not VRAM-only",
  function (this: VramWorld, memoryType: string) {
    const allocation = this.need(this.otherProcessMemory, "the other process's memory");
    assert.equal(allocation.attributes().memoryType, memoryType);
    assert.equal(this.need(this.backend, 'shared backend').isVramOnly(), false);
  },
);

Then(
  'the digest of shard {string} is the SHA-256 of the bytes handed over',
  function (this: VramWorld, id: string) {
    const bytes = this.need(this.shardBytes.get(id), `bytes of shard ${id}`);
    assert.equal(this.sealed(id).digest, sha256Hex(bytes));
  },
);

Then(
  'the tree root of shard {string}, computed from device memory, equals the host tree digest of the same bytes',
  async function (this: VramWorld, id: string) {
    const shard = this.sealed(id);
    const bytes = this.need(this.shardBytes.get(id), `bytes of shard ${id}`);
    const host = await treeDigest(bytes, { leafSize: shard.leafSize });
    assert.equal(shard.treeRoot, Buffer.from(host.root).toString('hex'));
  },
);

When(
  'a fault at byte {int} of shard {string} is attempted',
  async function (this: VramWorld, offset: number, id: string) {
    const shard = this.sealed(id);
    await this.attempt(() => this.vram.injectFault(shard, { offset, xorMask: 0x01 }));
  },
);

Then(
  'the audit log records the sealed tree root of shard {string} and a different one measured on the device',
  async function (this: VramWorld, id: string) {
    this.auditChecks++;
    const shard = this.sealed(id);
    const failures = (await this.auditRecords())
      .map((record) => record.event as unknown as Record<string, unknown>)
      .filter((event) => event.type === 'seal_verification_failed' && event.shardId === id);
    assert.equal(failures.length, 1, `${failures.length} seal_verification_failed records`);
    const [failure] = failures;
    assert.equal(failure!.expectedTreeRoot, shard.treeRoot);
    assert.match(String(failure!.actualTreeRoot), /^[0-9a-f]{64}$/);
    assert.notEqual(failure!.actualTreeRoot, shard.treeRoot);
  },
);

function assertFailsWithCode(action: () => unknown, code: string): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof CudaFfiError, `expected a CudaFfiError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}
