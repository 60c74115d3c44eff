import path from 'node:path';
import { AuditLogger } from '@vramseal/audit-logging';
import { createNarrator, type NarrationEvent } from '@vramseal/narration-core';
import { type PolicyViolation, VramError, VramManager } from '@vramseal/vram-manager';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_GPU_NAME, fakeGpu, mockBackend } from './fake-gpu.js';
import {
  auditKey,
  expectCleanObservability,
  type Harness,
  harness,
  MiB,
  narrationOf,
  randomShard,
  readAuditEvents,
  settleAudit,
  TOKEN,
  tmpDir,
} from './helpers.js';

let h: Harness | undefined;
const openLogs: AuditLogger[] = [];
afterEach(async () => {
  for (const log of openLogs.splice(0)) await log.close();
});

const policyEvents = (events: Record<string, unknown>[]) =>
  events.filter((e) => e.type === 'policy_violation');

/** An audit log and a narrator of our own, for creates that must fail (no harness to close). */
async function sinks() {
  const auditDir = path.join(tmpDir(), 'audit');
  const audit = await AuditLogger.open({
    dir: auditDir,
    serviceId: 'worker-test',
    key: auditKey,
    durability: 'hybrid',
  });
  openLogs.push(audit);
  const narration: NarrationEvent[] = [];
  const narrator = createNarrator({
    actor: 'gpu-worker',
    level: 'debug',
    onInvalid: 'throw',
    sample: false,
    destination: { write: (line: string) => narration.push(JSON.parse(line)) },
  });
  return { audit, auditDir, narration, narrator };
}

const base = { workerToken: TOKEN, workerId: 'worker-test' } as const;

describe('on the mock backend (policy.vramOnly off)', () => {
  it('isVramOnly() is false; enforceVramOnlyPolicy lists the mock and every live shard, audits each, does not stop', async () => {
    h = await harness({ backend: mockBackend([64 * MiB]) });
    const m = h.manager;
    expect(m.isVramOnly()).toBe(false);
    const a = await m.sealModel(randomShard(MiB), { shardId: 'shard-a' });
    const b = await m.sealModel(randomShard(2 * MiB), { shardId: 'shard-b' });
    h.narration.length = 0;

    const error = await m.enforceVramOnlyPolicy().catch((e) => e);
    // Critical events: durable before the rejection reached us, so read the log right now.
    const audited = policyEvents(readAuditEvents(h.auditDir));
    expect(error).toBeInstanceOf(VramError);
    expect(error).toMatchObject({ code: 'POLICY_VIOLATION', fatal: true, retriable: false });
    const violations = error.violations as PolicyViolation[];
    expect(violations.map((v) => v.kind).sort()).toEqual([
      'host_memory',
      'host_memory',
      'mock_backend',
    ]);
    expect(violations.filter((v) => v.kind === 'host_memory')).toEqual([
      expect.objectContaining({
        shardId: 'shard-a',
        device: 0,
        detail: expect.stringMatching(/host memory/),
      }),
      expect.objectContaining({
        shardId: 'shard-b',
        device: 0,
        detail: expect.stringMatching(/host memory/),
      }),
    ]);
    for (const v of violations) expect(v.detail.length).toBeGreaterThan(0);

    expect(audited).toHaveLength(3);
    for (const [i, v] of violations.entries()) {
      expect(audited[i]).toEqual({
        type: 'policy_violation',
        policy: 'vram_only',
        workerId: 'worker-test',
        detail: v.detail,
        action: expect.stringMatching(/nothing stopped/),
        ...(v.device === undefined ? {} : { gpuDevice: v.device }),
        ...(v.shardId === undefined ? {} : { shardId: v.shardId }),
      });
    }
    expect(
      audited.find((e) => e.detail === violations.find((v) => v.kind === 'mock_backend')!.detail),
    ).not.toHaveProperty('gpuDevice');

    const narrated = narrationOf(h, 'policy_violation');
    expect(narrated).toHaveLength(3);
    for (const e of narrated)
      expect(e).toMatchObject({ level: 'error', error_kind: 'POLICY_VIOLATION' });
    expect(narrated.filter((e) => e.shard_id !== undefined).map((e) => e.shard_id)).toEqual([
      'shard-a',
      'shard-b',
    ]);

    // Not stopped: the mock is development, and vramOnly is off.
    expect(m.state).toBe('ready');
    await m.verifySealed(a);
    await m.verifySealed(b);
    await m.sealModel(randomShard(10));
    await settleAudit(h);
    await expectCleanObservability(h);
  });

  it('with no shard, only the mock itself is a violation', async () => {
    h = await harness({ backend: mockBackend([MiB]) });
    const error = await h.manager.enforceVramOnlyPolicy().catch((e) => e);
    expect(error.violations).toEqual([{ kind: 'mock_backend', detail: expect.any(String) }]);
    expect(policyEvents(h.auditEvents())).toHaveLength(1);
  });

  it("create({ backend: 'mock', policy: { vramOnly: true } }) is CONFIG_ERROR naming policy.vramOnly", async () => {
    for (const backend of ['mock', mockBackend([MiB])] as const) {
      const error = await VramManager.create({
        ...base,
        backend,
        policy: { vramOnly: true },
      }).catch((e) => e);
      expect(error).toBeInstanceOf(VramError);
      expect(error).toMatchObject({ code: 'CONFIG_ERROR', option: 'policy.vramOnly' });
      expect(error.problems).toEqual([
        { option: 'policy.vramOnly', message: expect.stringMatching(/mock/) },
      ]);
    }
  });
});

describe('on a (fake) discrete GPU', () => {
  it('vramOnly holds with managed memory and pageable memory access as mere capabilities; seals work', async () => {
    const gpu = fakeGpu({ devices: [64 * MiB], managedMemory: true, pageableMemoryAccess: true });
    h = await harness({ backend: gpu.backend, policy: { vramOnly: true } });
    const m = h.manager;
    expect(m.backendKind).toBe('cuda');
    expect(m.isVramOnly()).toBe(true);
    const data = randomShard(3 * MiB);
    const shard = await m.sealModel(data, { shardId: 'in-vram' });
    await m.verifySealed(shard, { deep: true });
    expect(m.isVramOnly()).toBe(true);
    await m.enforceVramOnlyPolicy();
    expect(m.state).toBe('ready');
    await settleAudit(h);
    expect(policyEvents(h.auditEvents())).toEqual([]);
    expect(narrationOf(h, 'policy_violation')).toEqual([]);
    await expectCleanObservability(h);
  });

  it.each([
    [{ memoryType: 'host', hostPointer: true }, /host memory with a host pointer/],
    [{ memoryType: 'managed', hostPointer: false }, /managed memory, not VRAM/],
    [{ memoryType: 'managed', hostPointer: true }, /managed memory with a host pointer/],
    [{ memoryType: 'device', hostPointer: true }, /device memory with a host pointer/],
  ] as const)(
    'an allocation with attributes %j is refused under vramOnly: memory freed, audited',
    async (attributes, detail) => {
      const gpu = fakeGpu({ devices: [64 * MiB] });
      h = await harness({ backend: gpu.backend, policy: { vramOnly: true } });
      const m = h.manager;
      gpu.attributes = { ...attributes };
      const error = await m
        .sealModel(randomShard(4 * MiB), { shardId: 'not-vram' })
        .catch((e) => e);
      const audited = policyEvents(readAuditEvents(h.auditDir));
      expect(error).toBeInstanceOf(VramError);
      expect(error).toMatchObject({ code: 'POLICY_VIOLATION', shardId: 'not-vram', device: 0 });
      expect(error.violations).toEqual([
        {
          kind: 'host_memory',
          device: 0,
          shardId: 'not-vram',
          detail: expect.stringMatching(detail),
        },
      ]);
      expect(audited).toEqual([
        {
          type: 'policy_violation',
          policy: 'vram_only',
          workerId: 'worker-test',
          gpuDevice: 0,
          detail: error.violations[0].detail,
          action: 'seal refused, memory freed, manager stopped',
          shardId: 'not-vram',
        },
      ]);
      // Freed: the device, the books and the shard list.
      expect(gpu.allocations).toHaveLength(1);
      expect(gpu.allocations[0]!.freed).toBe(true);
      expect(gpu.inner.memInfo(0).freeBytes).toBe(64 * MiB);
      expect(m.usedVram()).toBe(0);
      expect(m.availableVram()).toBe(64 * MiB);
      expect(m.shards()).toEqual([]);
      expect(narrationOf(h, 'policy_violation')).toMatchObject([
        { level: 'error', shard_id: 'not-vram' },
      ]);
      await settleAudit(h);
      const types = h.auditEvents().map((e) => e.type);
      expect(types).toEqual(['vram_allocated', 'policy_violation', 'vram_deallocated']);

      // The worker stops until someone has looked; then, with device memory again, the seal goes through.
      expect(m.state).toBe('stopped');
      expect(m.stoppedBecause).toMatchObject({ cause: 'policy_violation', shardId: 'not-vram' });
      await expect(m.sealModel(randomShard(10))).rejects.toMatchObject({ code: 'MANAGER_STOPPED' });
      gpu.attributes = { memoryType: 'device', hostPointer: false };
      await m.reset({ operator: 'oncall', reason: 'allocator shim removed' });
      const shard = await m.sealModel(randomShard(4 * MiB), { shardId: 'not-vram' });
      await m.verifySealed(shard);
      await expectCleanObservability(h);
    },
  );

  it('a live shard that turns out not to be device memory: enforceVramOnlyPolicy stops the manager', async () => {
    const gpu = fakeGpu({ devices: [64 * MiB] });
    h = await harness({ backend: gpu.backend, policy: { vramOnly: true } });
    const m = h.manager;
    const good = await m.sealModel(randomShard(MiB), { shardId: 'was-vram' });
    await m.enforceVramOnlyPolicy();
    gpu.attributes = { memoryType: 'managed', hostPointer: true };
    expect(m.isVramOnly()).toBe(false);

    const error = await m.enforceVramOnlyPolicy().catch((e) => e);
    const audited = policyEvents(readAuditEvents(h.auditDir));
    expect(error).toMatchObject({ code: 'POLICY_VIOLATION', fatal: true });
    expect(error.violations).toEqual([
      {
        kind: 'host_memory',
        device: 0,
        shardId: 'was-vram',
        detail: expect.stringMatching(/managed memory/),
      },
    ]);
    expect(audited).toMatchObject([
      { policy: 'vram_only', gpuDevice: 0, shardId: 'was-vram', action: 'manager stopped' },
    ]);
    expect(m.state).toBe('stopped');
    expect(m.stoppedBecause).toMatchObject({ cause: 'policy_violation', shardId: 'was-vram' });
    await expect(m.sealModel(randomShard(10))).rejects.toMatchObject({
      code: 'MANAGER_STOPPED',
      message: expect.stringMatching(/policy violation/),
    });
    await expect(m.verifySealed(good)).rejects.toMatchObject({ code: 'MANAGER_STOPPED' });
    await expect(m.attestVramResidency(good, { nonce: 'nonce-0123456789' })).rejects.toMatchObject({
      code: 'MANAGER_STOPPED',
    });

    await m.reset({ operator: 'oncall', reason: 'moved the shard back to VRAM' });
    expect(m.state).toBe('ready');
    expect(m.stoppedBecause).toBeUndefined();
    expect(h.auditEvents().filter((e) => e.type === 'vram_manager_reset')).toMatchObject([
      { operator: 'oncall', stoppedBecause: 'policy_violation' },
    ]);
    gpu.attributes = { memoryType: 'device', hostPointer: false };
    await m.verifySealed(good);
    await settleAudit(h);
    await expectCleanObservability(h);
  });

  it('an integrated GPU under vramOnly: create rejects POLICY_VIOLATION, audited, registry left clean', async () => {
    const gpu = fakeGpu({ devices: [64 * MiB], integrated: true });
    const { audit, auditDir, narration, narrator } = await sinks();
    const registry = new Registry();
    const error = await VramManager.create({
      ...base,
      backend: gpu.backend,
      audit,
      narrator,
      metricsRegistry: registry,
      policy: { vramOnly: true },
    }).catch((e) => e);
    const audited = policyEvents(readAuditEvents(auditDir));
    expect(error).toBeInstanceOf(VramError);
    expect(error).toMatchObject({ code: 'POLICY_VIOLATION', device: 0, fatal: true });
    expect(error.violations).toEqual([
      { kind: 'integrated_device', device: 0, detail: expect.stringMatching(/integrated/) },
    ]);
    expect(audited).toEqual([
      {
        type: 'policy_violation',
        policy: 'vram_only',
        workerId: 'worker-test',
        gpuDevice: 0,
        detail: error.violations[0].detail,
        action: 'manager not created',
      },
    ]);
    expect(narration.filter((e) => e.action === 'policy_violation')).toMatchObject([
      { level: 'error', device: 0 },
    ]);
    expect(gpu.inner.memInfo(0).freeBytes).toBe(64 * MiB);
    // The failed create took its metrics back out: the registry serves the next manager.
    const next = await VramManager.create({
      ...base,
      backend: gpu.backend,
      metricsRegistry: registry,
    });
    expect(next.isVramOnly()).toBe(false);
    await next.close();
  });

  it('an integrated GPU without vramOnly: created, but not VRAM-only, and enforce reports it without stopping', async () => {
    const gpu = fakeGpu({ devices: [64 * MiB], integrated: true });
    h = await harness({ backend: gpu.backend });
    expect(h.manager.isVramOnly()).toBe(false);
    const error = await h.manager.enforceVramOnlyPolicy().catch((e) => e);
    expect(error.violations).toEqual([
      { kind: 'integrated_device', device: 0, detail: expect.any(String) },
    ]);
    expect(h.manager.state).toBe('ready');
    expect(policyEvents(h.auditEvents())).toMatchObject([
      { gpuDevice: 0, action: expect.stringMatching(/nothing stopped/) },
    ]);
  });
});

describe('devices()', () => {
  it('on the mock: name, uuid, capabilities, capacity and vramOnly false with the reason', async () => {
    h = await harness({ backend: mockBackend([32 * MiB, 16 * MiB]) });
    await h.manager.sealModel(randomShard(MiB), { device: 1 });
    const devices = h.manager.devices();
    expect(devices).toHaveLength(2);
    expect(devices[1]).toEqual({
      index: 1,
      name: 'mock-1',
      uuid: h.backend.deviceInfo(1).uuid,
      totalBytes: 16 * MiB,
      availableBytes: 15 * MiB,
      usedBytes: MiB,
      computeCapability: null,
      integrated: false,
      managedMemory: false,
      pageableMemoryAccess: false,
      unifiedAddressing: false,
      vramOnly: { ok: false, reason: expect.stringMatching(/mock/) },
    });
    expect(devices[0]!.uuid).toMatch(
      /^MOCK-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(devices[0]!.uuid).not.toBe(devices[1]!.uuid);
    expect(devices[0]).toMatchObject({
      index: 0,
      name: 'mock-0',
      totalBytes: 32 * MiB,
      usedBytes: 0,
    });
  });

  it('on a fake discrete GPU: vramOnly true; on a fake integrated one: false, each with its reason', async () => {
    const discrete = fakeGpu({
      devices: [80 * MiB],
      managedMemory: true,
      pageableMemoryAccess: true,
    });
    h = await harness({ backend: discrete.backend });
    const [gpu] = h.manager.devices();
    expect(gpu).toMatchObject({
      index: 0,
      name: FAKE_GPU_NAME,
      uuid: expect.stringMatching(/^GPU-/),
      computeCapability: '9.0',
      integrated: false,
      managedMemory: true,
      pageableMemoryAccess: true,
      unifiedAddressing: true,
      totalBytes: 80 * MiB,
      vramOnly: { ok: true, reason: expect.stringMatching(/discrete/) },
    });
    expect(gpu!.uuid).toBe(discrete.backend.deviceInfo(0).uuid);
    await h.close();
    h = undefined;

    const integrated = fakeGpu({ devices: [80 * MiB], integrated: true });
    h = await harness({ backend: integrated.backend });
    expect(h.manager.devices()[0]).toMatchObject({
      integrated: true,
      vramOnly: { ok: false, reason: expect.stringMatching(/integrated/) },
    });
  });
});
