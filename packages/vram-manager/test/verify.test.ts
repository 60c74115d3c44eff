import { type Backend, type DeviceAllocation, loadBackend } from '@vramseal/cuda-ffi';
import { type SealedShard, VramError, VramManager } from '@vramseal/vram-manager';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchThrough } from './fake-gpu.js';
import {
  expectCleanObservability,
  type Harness,
  harness,
  MiB,
  narrationOf,
  randomShard,
  TOKEN,
} from './helpers.js';

let h: Harness | undefined;
function failuresIn(harness: Harness) {
  return harness.auditEvents().filter((e) => e.type === 'seal_verification_failed');
}

async function expectFailure(
  pending: Promise<unknown>,
  check: string,
  harness: Harness,
): Promise<VramError> {
  const error = await pending.then(
    () => {
      throw new Error(`verification passed; expected its ${check} check to fail`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VramError);
  expect(error).toMatchObject({
    code: 'SEAL_VERIFICATION_FAILED',
    check,
    fatal: true,
    retriable: false,
  });
  expect(harness.manager.state).toBe('stopped');
  expect(harness.manager.stoppedBecause).toMatchObject({
    cause: 'seal_verification_failed',
    check,
  });
  // Critical audit: on disk before the rejection reached the caller.
  expect(failuresIn(harness).at(-1)).toMatchObject({ check, workerId: 'worker-test' });
  expect(narrationOf(harness, 'verify_failed').at(-1)).toMatchObject({
    level: 'error',
    error_kind: 'SEAL_VERIFICATION_FAILED',
  });
  return error as VramError;
}

describe('verifySealed', () => {
  it('passes on a fresh shard, after a delay, repeatedly, and deep', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(6 * MiB + 1), { shardId: 'fresh' });
    await h.manager.verifySealed(shard);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await h.manager.verifySealed(shard);
    await h.manager.verifySealed(shard, { deep: true });
    await Promise.all([1, 2, 3, 4].map(() => h!.manager.verifySealed(shard)));
    expect(h.manager.state).toBe('ready');
    expect(narrationOf(h, 'verify')).toHaveLength(7);
    await expectCleanObservability(h);
  });

  it('a flipped bit in device memory fails the tree_root check and names both roots in the audit', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(2 * MiB), { shardId: 'victim' });
    h.manager.injectFault(shard, { offset: 1_234_567, xorMask: 0x10 });
    const error = await expectFailure(h.manager.verifySealed(shard), 'tree_root', h);
    expect(error.shardId).toBe('victim');
    expect(failuresIn(h)[0]).toMatchObject({
      shardId: 'victim',
      expectedTreeRoot: shard.treeRoot,
      actualTreeRoot: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(failuresIn(h)[0]!.actualTreeRoot).not.toBe(shard.treeRoot);
    await expectCleanObservability(h);
  });

  it.each([
    ['digest', (s: Record<string, unknown>) => (s.digest = '0'.repeat(64))],
    ['treeRoot', (s: Record<string, unknown>) => (s.treeRoot = 'f'.repeat(64))],
    ['vramBytes', (s: Record<string, unknown>) => (s.vramBytes = (s.vramBytes as number) - 1)],
    ['sealedAt', (s: Record<string, unknown>) => (s.sealedAt = (s.sealedAt as number) + 1)],
    ['modelRef', (s: Record<string, unknown>) => (s.modelRef = 'other/model')],
    ['shardIndex', (s: Record<string, unknown>) => (s.shardIndex = 1)],
    ['totalShards', (s: Record<string, unknown>) => (s.totalShards = 3)],
    ['leafSize', (s: Record<string, unknown>) => (s.leafSize = 4096)],
    ['gpuDevice', (s: Record<string, unknown>) => (s.gpuDevice = 1)],
    ['keyId', (s: Record<string, unknown>) => (s.keyId = '0123456789abcdef')],
    ['shardId', (s: Record<string, unknown>) => (s.shardId = 'other')],
  ])('a changed %s field fails the signature check', async (_field, tamper) => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(4096), {
      shardId: 'fields',
      modelRef: 'm',
      totalShards: 2,
    });
    tamper(shard as unknown as Record<string, unknown>);
    await expectFailure(h.manager.verifySealed(shard), 'signature', h);
    await expectCleanObservability(h);
  });

  it('a copy without its signature (forged from JSON) fails the signature check', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(4096), { shardId: 'forged' });
    const forged = JSON.parse(JSON.stringify(shard)) as SealedShard;
    const error = await expectFailure(h.manager.verifySealed(forged), 'signature', h);
    expect(error.message).toMatch(/no signature/);
    await expectCleanObservability(h);
  });

  it('a shard sealed by a manager with another key fails the signature check', async () => {
    h = await harness();
    const other = await VramManager.create({
      backend: 'mock',
      workerToken: 'another-worker-token-0f8e7d6c5b4a3928',
      workerId: 'other',
    });
    try {
      const foreign = await other.sealModel(randomShard(100), { shardId: 'foreign' });
      const error = await expectFailure(h.manager.verifySealed(foreign), 'signature', h);
      expect(error.message).toMatch(/names seal key/);
    } finally {
      await other.close();
    }
  });

  it('a deallocated shard, or one never sealed here, fails the unknown_shard check', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(4096), { shardId: 'gone' });
    await h.manager.deallocate(shard);
    await expectFailure(h.manager.verifySealed(shard), 'unknown_shard', h);
    await h.manager.reset({ operator: 'alice', reason: 'test: expected failure' });
    // Same key, another manager: the signature holds, but nothing is resident here.
    const twin = await VramManager.create({
      backend: 'mock',
      workerToken: TOKEN,
      workerId: 'twin',
    });
    try {
      const elsewhere = await twin.sealModel(randomShard(4096), { shardId: 'elsewhere' });
      await expectFailure(h.manager.verifySealed(elsewhere), 'unknown_shard', h);
    } finally {
      await twin.close();
    }
  });

  it('an old seal of a re-sealed id fails unknown_shard (not the seal resident now)', async () => {
    h = await harness();
    const old = await h.manager.sealModel(randomShard(4096), { shardId: 'reused' });
    await h.manager.deallocate(old);
    const current = await h.manager.sealModel(randomShard(4096), { shardId: 'reused' });
    await h.manager.verifySealed(current);
    await expectFailure(h.manager.verifySealed(old), 'unknown_shard', h);
  });

  it('deep verify catches an upload the device corrupted (tree from device, digest from host)', async () => {
    // A backend whose writes flip one bit on the way: silent DMA corruption. The tree root is
    // computed from what landed, so a plain verify passes; only the flat digest, hashed on the
    // host from the source, disagrees.
    const flaky = corruptingBackend(
      loadBackend({ kind: 'mock', mock: { devices: [{ totalBytes: 64 * MiB }] } }),
    );
    h = await harness({ backend: flaky });
    const shard = await h.manager.sealModel(randomShard(MiB), { shardId: 'dma' });
    await h.manager.verifySealed(shard);
    const error = await expectFailure(h.manager.verifySealed(shard, { deep: true }), 'digest', h);
    expect(error.message).toMatch(/SHA-256 of device memory/);
    expect(failuresIn(h)[0]).toMatchObject({
      expectedDigest: shard.digest,
      actualDigest: expect.any(String),
    });
  });

  it('refuses a non-object shard and bad options without stopping', async () => {
    h = await harness();
    await expect(h.manager.verifySealed(null as never)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    const shard = await h.manager.sealModel(randomShard(10));
    await expect(h.manager.verifySealed(shard, { deep: 'yes' } as never)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      argument: 'options.deep',
    });
    expect(h.manager.state).toBe('ready');
  });
});

describe('stopped state and reset', () => {
  it('while stopped every seal, verify and attest is MANAGER_STOPPED; deallocate and capacity work; reset is audited', async () => {
    h = await harness();
    const good = await h.manager.sealModel(randomShard(4096), { shardId: 'good' });
    const bad = await h.manager.sealModel(randomShard(4096), { shardId: 'bad' });
    h.manager.injectFault(bad, { offset: 0, xorMask: 1 });
    await expectFailure(h.manager.verifySealed(bad), 'tree_root', h);
    for (const attempt of [
      h.manager.sealModel(randomShard(10)),
      h.manager.verifySealed(good),
      h.manager.verifyShardSet([good]),
      h.manager.attestVramResidency(good, { nonce: 'nonce-0123456789' }),
    ]) {
      const error = await attempt.catch((e) => e);
      expect(error).toMatchObject({ code: 'MANAGER_STOPPED' });
      expect(error.message).toMatch(/bad.*tree_root.*reset/);
    }
    expect(h.manager.totalVram()).toBeGreaterThan(0);
    await h.manager.deallocate(bad);
    await expect(h.manager.reset({ operator: '', reason: 'x' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      argument: 'options.operator',
    });
    await expect(
      h.manager.reset({ operator: 'bob', reason: 'bad\u001b[2Jreason' }),
    ).rejects.toMatchObject({
      argument: 'options.reason',
    });
    expect(h.manager.state).toBe('stopped');
    await h.manager.reset({
      operator: 'oncall:bob',
      reason: 'bad shard deallocated; host memory tested',
    });
    expect(h.manager.state).toBe('ready');
    expect(h.manager.stoppedBecause).toBeUndefined();
    expect(h.auditEvents().find((e) => e.type === 'vram_manager_reset')).toMatchObject({
      operator: 'oncall:bob',
      reason: 'bad shard deallocated; host memory tested',
      workerId: 'worker-test',
      stoppedBecause: 'seal_verification_failed (tree_root)',
    });
    expect(narrationOf(h, 'reset').at(-1)).toMatchObject({ level: 'warn' });
    await h.manager.verifySealed(good);
    await h.manager.reset({ operator: 'bob', reason: 'no-op' });
    expect(narrationOf(h, 'reset').at(-1)!.human).toMatch(/nothing to do/);
    await expectCleanObservability(h);
  });

  it('a reset that cannot be audited is refused and the manager stays stopped', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(4096));
    h.manager.injectFault(shard, { offset: 7, xorMask: 0x80 });
    await expectFailure(h.manager.verifySealed(shard), 'tree_root', h);
    await h.audit.close();
    await expect(
      h.manager.reset({ operator: 'bob', reason: 'looked at it' }),
    ).rejects.toMatchObject({
      code: 'AUDIT_UNAVAILABLE',
    });
    expect(h.manager.state).toBe('stopped');
  });
});

describe('properties (fast-check)', () => {
  it('any single bit flipped anywhere in device memory fails verification, stops, and is audited', async () => {
    h = await harness();
    const size = 3 * MiB + 777;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: size - 1 }),
        fc.integer({ min: 0, max: 7 }),
        async (offset, bit) => {
          const shard = await h!.manager.sealModel(randomShard(size));
          const before = failuresIn(h!).length;
          h!.manager.injectFault(shard, { offset, xorMask: 1 << bit });
          const error = await h!.manager.verifySealed(shard).catch((e) => e);
          expect(error).toMatchObject({ code: 'SEAL_VERIFICATION_FAILED', check: 'tree_root' });
          expect(h!.manager.state).toBe('stopped');
          expect(failuresIn(h!).length).toBe(before + 1);
          await h!.manager.deallocate(shard);
          await h!.manager.reset({ operator: 'property-test', reason: 'next case' });
        },
      ),
      { numRuns: 25 },
    );
    await expectCleanObservability(h);
  });

  const FIELDS = [
    'shardId',
    'gpuDevice',
    'vramBytes',
    'digest',
    'treeRoot',
    'leafSize',
    'sealedAt',
    'modelRef',
    'shardIndex',
    'totalShards',
    'keyId',
  ] as const;

  it('any seal field changed to any other value fails the signature check, stops, and is audited', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(8192), {
      shardId: 'prop',
      modelRef: 'm@1',
      totalShards: 3,
      shardIndex: 1,
    });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...FIELDS), fc.anything(), async (field, value) => {
        // -0 and 0 are one value (the same payload bytes): "another value" means !==.
        const original = (shard as unknown as Record<string, unknown>)[field];
        fc.pre(value !== original);
        (shard as unknown as Record<string, unknown>)[field] = value;
        try {
          const before = failuresIn(h!).length;
          const error = await h!.manager.verifySealed(shard).catch((e) => e);
          expect(error).toMatchObject({ code: 'SEAL_VERIFICATION_FAILED', check: 'signature' });
          expect(h!.manager.state).toBe('stopped');
          expect(failuresIn(h!).length).toBe(before + 1);
        } finally {
          (shard as unknown as Record<string, unknown>)[field] = original;
          await h!.manager.reset({ operator: 'property-test', reason: 'next case' });
        }
      }),
      { numRuns: 60 },
    );
    await h.manager.verifySealed(shard);
    await expectCleanObservability(h);
  });
});

/** A backend whose allocations flip bit 0 of the first byte of every write (a faulty DMA path). */
function corruptingBackend(inner: Backend): Backend {
  const unwrapped = new WeakMap<object, DeviceAllocation>();
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'allocate') {
        return (device: number, bytes: number) => {
          const real = target.allocate(device, bytes);
          const wrapped = wrapAllocation(real);
          unwrapped.set(wrapped, real);
          return wrapped;
        };
      }
      if (property === 'treeDigestMany') return batchThrough(target, unwrapped);
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function wrapAllocation(allocation: DeviceAllocation): DeviceAllocation {
  return new Proxy(allocation, {
    get(target, property) {
      if (property === 'write') {
        return (offset: number, data: Uint8Array) => {
          const copy = new Uint8Array(data);
          if (copy.length > 0) copy[0]! ^= 1;
          target.write(offset, copy);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
