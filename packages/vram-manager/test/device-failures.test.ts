import fs from 'node:fs';
import path from 'node:path';
import { VramError } from '@vramseal/vram-manager';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { faultyBackend } from './fake-gpu.js';
import {
  type Harness,
  harness,
  MiB,
  narrationOf,
  randomShard,
  settleAudit,
  tmpDir,
} from './helpers.js';

let h: Harness | undefined;

describe('a device that fails under the manager', () => {
  it('a kernel failure during a seal is DEVICE_ERROR (fatal); the memory is freed and nothing is sealed', async () => {
    const { backend, faults } = faultyBackend();
    h = await harness({ backend });
    faults.digest = true;
    const error = await h.manager
      .sealModel(randomShard(5 * MiB), { shardId: 'sick' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(VramError);
    expect(error).toMatchObject({ code: 'DEVICE_ERROR', fatal: true, retriable: false });
    expect(error.message).toMatch(/cudaErrorIllegalAddress|illegal memory access/);
    expect(error.message).toMatch(/Check the device/);
    expect(h.manager.shards()).toEqual([]);
    expect(h.manager.usedVram()).toBe(0);
    expect(backend.memInfo(0).freeBytes).toBe(64 * MiB);
    await settleAudit(h);
    expect(h.auditEvents().map((e) => e.type)).toEqual(['vram_allocated', 'vram_deallocated']);
  });

  it('a kernel failure during a verify cannot pass: tree_root check failed, manager stopped', async () => {
    const { backend, faults } = faultyBackend();
    h = await harness({ backend });
    const shard = await h.manager.sealModel(randomShard(MiB), { shardId: 'unverifiable' });
    faults.digest = true;
    const error = await h.manager.verifySealed(shard).catch((e) => e);
    expect(error).toMatchObject({ code: 'SEAL_VERIFICATION_FAILED', check: 'tree_root' });
    expect(error.message).toMatch(/could not be recomputed/);
    expect(h.manager.state).toBe('stopped');
  });

  it('a copy-back failure during a deep verify cannot pass: digest check failed, manager stopped', async () => {
    const { backend, faults } = faultyBackend();
    h = await harness({ backend });
    const shard = await h.manager.sealModel(randomShard(MiB), { shardId: 'unreadable' });
    faults.read = true;
    const error = await h.manager.verifySealed(shard, { deep: true }).catch((e) => e);
    expect(error).toMatchObject({ code: 'SEAL_VERIFICATION_FAILED', check: 'digest' });
    expect(error.message).toMatch(/flat digest could not be recomputed/);
    expect(h.manager.state).toBe('stopped');
  });

  it("a verify that fails on the device's own error is durably audited, whatever that error says", async () => {
    const { backend, faults } = faultyBackend();
    h = await harness({ backend });
    const shard = await h.manager.sealModel(randomShard(MiB), { shardId: 'kernel-fault' });
    faults.digest = true;
    faults.message = `treeDigestKernel failed at 0x7ffd5a3c1e20: state ${'cd'.repeat(40)}`;
    const error = await h.manager.verifySealed(shard).catch((e) => e);
    expect(error).toMatchObject({ code: 'SEAL_VERIFICATION_FAILED', check: 'tree_root' });
    expect(error.message).not.toMatch(/audit record could not be written/);
    const failed = h.auditEvents().filter((e) => e.type === 'seal_verification_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toBe(
      `tree_root: the tree root could not be recomputed (treeDigestKernel failed at 0x?: state ${'cd'.repeat(8)}...)`,
    );
  });

  it('a seal that fails and whose free fails too is audited as a failed free, never as released', async () => {
    const { backend, faults } = faultyBackend();
    h = await harness({ backend });
    faults.digest = true;
    faults.free = true;
    const error = await h.manager
      .sealModel(randomShard(2 * MiB), { shardId: 'doubly-sick' })
      .catch((e) => e);
    expect(error).toMatchObject({ code: 'DEVICE_ERROR' });
    expect(h.manager.usedVram()).toBe(0);
    await settleAudit(h);
    const events = h.auditEvents();
    expect(events.map((e) => e.type)).toEqual(['vram_allocated', 'vram_deallocation_failed']);
    expect(events[1]).toMatchObject({ shardId: 'doubly-sick', vramBytes: 2 * MiB });
    expect(narrationOf(h, 'deallocate').map((n) => n.level)).toEqual(['error']);
  });

  it('a cudaFree failure is CUDA_DEALLOCATION_FAILED; the shard is off the books and capacity returns', async () => {
    const { backend, faults } = faultyBackend();
    h = await harness({ backend });
    const shard = await h.manager.sealModel(randomShard(4 * MiB), { shardId: 'stuck' });
    faults.free = true;
    const error = await h.manager.deallocate(shard).catch((e) => e);
    expect(error).toMatchObject({
      code: 'CUDA_DEALLOCATION_FAILED',
      fatal: true,
      shardId: 'stuck',
      device: 0,
    });
    expect(error.message).toMatch(/device may be in a bad state/);
    expect(h.manager.shards()).toEqual([]);
    expect(h.manager.usedVram()).toBe(0);
    expect(narrationOf(h, 'deallocate').at(-1)).toMatchObject({
      level: 'error',
      error_kind: 'CUDA_DEALLOCATION_FAILED',
    });
    await expect(h.manager.deallocate(shard)).rejects.toMatchObject({ code: 'NOT_SEALED' });
    // The audit trail says the shard left the books, and that its free failed (never that it
    // was released).
    await settleAudit(h);
    const events = h.auditEvents();
    expect(events.map((e) => e.type)).toEqual([
      'vram_allocated',
      'vram_sealed',
      'vram_deallocation_failed',
    ]);
    expect(events.at(-1)).toMatchObject({
      shardId: 'stuck',
      gpuDevice: 0,
      vramBytes: 4 * MiB,
      reason: 'cudaFree failed: an illegal memory access was encountered (fake)',
    });
  });

  it('audits a failed free whatever the driver says: its message is made text the log accepts (property)', async () => {
    const { backend, faults } = faultyBackend();
    h = await harness({ backend });
    // Messages the audit log would refuse as they are, then anything at all.
    const nasty = [
      `key-like ${'ab'.repeat(32)}`,
      `${'7'.repeat(70)} digits`,
      'at 0x7ffd5a3c1e20 (a pointer)',
      '\n\t\u001b[31m',
      '',
      'é'.repeat(3000),
      '\u202e bidi',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom(...nasty), fc.string({ unit: 'binary', maxLength: 400 })),
        async (message) => {
          faults.free = false;
          const shard = await h!.manager.sealModel(randomShard(64 * 1024));
          faults.free = true;
          faults.message = message;
          await expect(h!.manager.deallocate(shard)).rejects.toMatchObject({
            code: 'CUDA_DEALLOCATION_FAILED',
          });
          await settleAudit(h!);
          const last = h!.auditEvents().at(-1);
          expect(last).toMatchObject({ type: 'vram_deallocation_failed', shardId: shard.shardId });
          expect(h!.manager.observabilityFailures.audit).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('close() frees every shard even when some frees fail, then reports how many failed', async () => {
    const { backend, faults } = faultyBackend();
    h = await harness({ backend });
    await h.manager.sealModel(randomShard(MiB), { shardId: 'one' });
    await h.manager.sealModel(randomShard(MiB), { shardId: 'two' });
    faults.free = true;
    const error = await h.manager.close().catch((e) => e);
    expect(error).toMatchObject({ code: 'CUDA_DEALLOCATION_FAILED' });
    expect(error.message).toMatch(/freed 0 of 2 shards; 2 failed/);
    expect(h.manager.state).toBe('closed');
    expect(backend.memInfo(0).freeBytes).toBe(64 * MiB);
    await h.manager.close(); // reported once; closing again is not an error
    const failed = h.auditEvents().filter((e) => e.type === 'vram_deallocation_failed');
    expect(failed.map((e) => e.shardId).sort()).toEqual(['one', 'two']);
  });
});

describe('a file that changes while it is sealed', () => {
  it.each([
    [
      'grows',
      (file: string) => fs.appendFileSync(file, 'more bytes'),
      /grew while it was being sealed/,
    ],
    ['shrinks', (file: string) => fs.truncateSync(file, MiB), /shrank while it was being sealed/],
  ])(
    'a file that %s is SOURCE_UNREADABLE (retriable); nothing is sealed',
    async (_how, change, message) => {
      h = await harness();
      const before = h.manager.availableVram();
      const file = path.join(tmpDir(), 'model.safetensors');
      fs.writeFileSync(file, randomShard(12 * MiB));
      let changed = false;
      const error = await h.manager
        .sealModel(file, {
          onProgress: () => {
            if (!changed) change(file);
            changed = true;
          },
        })
        .catch((e) => e);
      expect(error).toMatchObject({
        code: 'SOURCE_UNREADABLE',
        retriable: true,
        argument: 'source',
      });
      expect(error.message).toMatch(message);
      expect(h.manager.shards()).toEqual([]);
      expect(h.manager.availableVram()).toBe(before);
    },
  );
});
