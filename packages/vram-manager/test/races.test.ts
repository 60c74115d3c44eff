import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AuditEvent, AuditLogger } from '@vramseal/audit-logging';
import { VramError, verifyAttestation } from '@vramseal/vram-manager';
import { describe, expect, it } from 'vitest';
import {
  attestationKeys,
  type Harness,
  harness,
  MiB,
  randomShard,
  settleAudit,
} from './helpers.js';

let h: Harness | undefined;

/** A stream that yields one chunk and then never again (a registry connection that hangs). */
function stalledStream(): AsyncIterable<Uint8Array> & { returned: boolean } {
  const stream = {
    returned: false,
    async *[Symbol.asyncIterator]() {
      try {
        yield new Uint8Array(64 * 1024);
        await new Promise(() => {});
      } finally {
        stream.returned = true;
      }
    },
  };
  return stream;
}

function expectAllMemoryBack(harness: Harness, before: number): void {
  expect(harness.manager.usedVram()).toBe(0);
  expect(harness.manager.availableVram()).toBe(before);
}

describe('verify, attest and deallocate of one shard at once', () => {
  it.each([false, true])(
    'a verify (deep: %s) in flight when the shard is deallocated finishes first, then the memory is freed',
    async (deep) => {
      h = await harness();
      const shard = await h.manager.sealModel(randomShard(32 * MiB), { shardId: 'racing' });
      const verify = h.manager.verifySealed(shard, { deep });
      await nextTurn(); // the verify is reading device memory now
      const deallocate = h.manager.deallocate(shard);
      const outcomes = await Promise.allSettled([verify, deallocate]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(h.manager.state).toBe('ready');
      await settleAudit(h);
      const types = h.auditEvents().map((e) => e.type);
      expect(types.indexOf('seal_verified')).toBeLessThan(types.indexOf('vram_deallocated'));
      expect(types).not.toContain('seal_verification_failed');
      // New verifies of the shard, once the deallocation began, find nothing resident.
      await expect(h.manager.verifySealed(shard)).rejects.toMatchObject({ check: 'unknown_shard' });
    },
  );

  it('an attestation in flight when the shard is deallocated completes with a valid statement', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(16 * MiB), { shardId: 'attested' });
    const attest = h.manager.attestVramResidency(shard, { nonce: 'race-nonce-0123' });
    await nextTurn();
    const deallocate = h.manager.deallocate(shard);
    const [statement] = await Promise.all([attest, deallocate]);
    expect(
      verifyAttestation(statement, attestationKeys.publicKey, {
        nonce: 'race-nonce-0123',
        allowHostMemory: true,
      }),
    ).toEqual({ ok: true, reason: null });
    expect(h.manager.shards()).toEqual([]);
  });
});

describe('aborting, stopping and closing a seal in flight', () => {
  it('the event loop keeps turning during a large upload from memory', async () => {
    h = await harness();
    let turned = false;
    const seal = h.manager.sealModel(randomShard(64 * MiB)).then(() => turned);
    setImmediate(() => {
      turned = true;
    });
    expect(await seal).toBe(true);
  });

  it('an abort from outside the seal (a timer, another request) is honoured mid-upload', async () => {
    h = await harness();
    const before = h.manager.availableVram();
    const controller = new AbortController();
    const seal = h.manager.sealModel(randomShard(64 * MiB), { signal: controller.signal });
    setImmediate(() => controller.abort(new Error('client went away')));
    await expect(seal).rejects.toMatchObject({
      code: 'ABORTED',
      cause: { message: 'client went away' },
    });
    expectAllMemoryBack(h, before);
  });

  it('a stalled stream is aborted promptly: memory freed, the stream returned', async () => {
    h = await harness();
    const before = h.manager.availableVram();
    const controller = new AbortController();
    const stream = stalledStream();
    const seal = h.manager.sealModel(stream, { byteLength: 8 * MiB, signal: controller.signal });
    await nextTurn();
    await nextTurn();
    controller.abort();
    await expect(seal).rejects.toMatchObject({ code: 'ABORTED' });
    expectAllMemoryBack(h, before);
  });

  it('close() while a stalled seal is in flight: the seal rejects MANAGER_STOPPED and close completes', async () => {
    h = await harness();
    // What this machine's device has free before the test (a GPU's own context holds some).
    const beforeFree = h.backend.memInfo(0).freeBytes;
    const seal = h.manager.sealModel(stalledStream(), { byteLength: 8 * MiB, shardId: 'stalled' });
    await nextTurn();
    await nextTurn();
    await h.manager.close();
    await expect(seal).rejects.toMatchObject({ code: 'MANAGER_STOPPED' });
    expect(h.backend.memInfo(0).freeBytes).toBe(beforeFree);
    expect(h.auditEvents().map((e) => e.type)).toEqual(['vram_allocated', 'vram_deallocated']);
  });

  it('a failed verification stops the manager and aborts the seals in flight', async () => {
    h = await harness();
    const before = h.manager.availableVram();
    const victim = await h.manager.sealModel(randomShard(MiB), { shardId: 'victim' });
    const seal = h.manager.sealModel(stalledStream(), {
      byteLength: 8 * MiB,
      shardId: 'in-flight',
    });
    h.manager.injectFault(victim, { offset: 3, xorMask: 1 });
    await expect(h.manager.verifySealed(victim)).rejects.toMatchObject({ check: 'tree_root' });
    await expect(seal).rejects.toMatchObject({ code: 'MANAGER_STOPPED' });
    await h.manager.deallocate(victim);
    expectAllMemoryBack(h, before);
  });
});

describe('a failure while a reset is being recorded', () => {
  it('keeps the manager stopped: the reset did not cover it', async () => {
    // An audit log whose reset record takes a while to become durable.
    let release: () => void = () => {};
    const slow = (inner: AuditLogger) => ({
      async emit(event: AuditEvent) {
        if (event.type === 'vram_manager_reset')
          await new Promise<void>((resolve) => (release = resolve));
        return inner.emit(event);
      },
    });
    const base = await harness();
    await base.manager.close();
    h = await harness({ audit: slow(base.audit) as unknown as AuditLogger });
    // b is large, so its verify is still hashing when a's (small) fails and the reset begins.
    const a = await h.manager.sealModel(randomShard(MiB), { shardId: 'a' });
    const b = await h.manager.sealModel(randomShard(64 * MiB), { shardId: 'b' });
    h.manager.injectFault(a, { offset: 1, xorMask: 1 });
    h.manager.injectFault(b, { offset: 1, xorMask: 1 });
    const verifyB = h.manager.verifySealed(b).catch((e) => e);
    await expect(h.manager.verifySealed(a)).rejects.toMatchObject({ check: 'tree_root' });
    const reset = h.manager
      .reset({ operator: 'oncall', reason: 'a was looked at' })
      .catch((e) => e);
    expect((await verifyB).check).toBe('tree_root'); // fails while the reset waits for its record
    release();
    const outcome = await reset;
    expect(outcome).toBeInstanceOf(VramError);
    expect(outcome).toMatchObject({
      code: 'MANAGER_STOPPED',
      message: expect.stringMatching(/reset again/),
    });
    expect(h.manager.state).toBe('stopped');
    expect(h.manager.stoppedBecause).toMatchObject({ check: 'tree_root', laterFailures: 1 });
  });
});

describe('the manager keeps its own record of each shard', () => {
  it('a caller that edits its SealedShard cannot deallocate with it, nor change what is audited', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(8 * MiB), { shardId: 'true-id' });
    const edited = shard as unknown as Record<string, unknown>;
    edited.vramBytes = 1;
    edited.gpuDevice = 1;
    await expect(h.manager.deallocate(shard)).rejects.toMatchObject({ code: 'NOT_SEALED' });
    edited.shardId = 'renamed';
    await h.manager.close();
    const freed = h.auditEvents().filter((e) => e.type === 'vram_deallocated');
    expect(freed).toEqual([
      expect.objectContaining({ shardId: 'true-id', gpuDevice: 0, vramBytes: 8 * MiB }),
    ]);
  });
});

describe('source failures are typed by what failed', () => {
  it('a stream that throws is SOURCE_UNREADABLE (retriable), with the cause kept', async () => {
    h = await harness();
    async function* broken() {
      yield new Uint8Array(1024);
      throw new Error('connection reset by peer');
    }
    const error = await h.manager.sealModel(broken(), { byteLength: 4096 }).catch((e) => e);
    expect(error).toMatchObject({
      code: 'SOURCE_UNREADABLE',
      retriable: true,
      argument: 'source',
      cause: { message: 'connection reset by peer' },
    });
    expect(h.manager.usedVram()).toBe(0);
  });
});
