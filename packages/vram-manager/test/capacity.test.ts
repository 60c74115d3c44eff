import { VramError } from '@vramseal/vram-manager';
import { describe, expect, it } from 'vitest';
import { mockBackend } from './fake-gpu.js';
import {
  expectCleanObservability,
  type Harness,
  harness,
  MiB,
  narrationOf,
  randomShard,
  settleAudit,
} from './helpers.js';

let h: Harness | undefined;
describe('capacity queries', () => {
  it('totalVram / usedVram / availableVram per device and summed over devices', async () => {
    h = await harness({ backend: mockBackend([64 * MiB, 32 * MiB]) });
    const m = h.manager;
    expect([m.totalVram(0), m.totalVram(1), m.totalVram()]).toEqual([64 * MiB, 32 * MiB, 96 * MiB]);
    expect([m.usedVram(0), m.usedVram(1), m.usedVram()]).toEqual([0, 0, 0]);
    expect([m.availableVram(0), m.availableVram(1), m.availableVram()]).toEqual([
      64 * MiB,
      32 * MiB,
      96 * MiB,
    ]);

    const a = await m.sealModel(randomShard(3 * MiB), { device: 1 });
    const b = await m.sealModel(randomShard(5 * MiB + 7), { device: 0 });
    expect([m.usedVram(0), m.usedVram(1), m.usedVram()]).toEqual([
      5 * MiB + 7,
      3 * MiB,
      8 * MiB + 7,
    ]);
    expect([m.availableVram(0), m.availableVram(1), m.availableVram()]).toEqual([
      59 * MiB - 7,
      29 * MiB,
      88 * MiB - 7,
    ]);
    expect(m.totalVram()).toBe(96 * MiB);
    // The books agree with the device.
    for (const d of [0, 1]) {
      const info = h.backend.memInfo(d);
      expect(m.usedVram(d)).toBe(info.totalBytes - info.freeBytes);
      expect(m.availableVram(d)).toBe(info.freeBytes);
    }
    // devices() shows the same numbers.
    expect(m.devices().map((d) => [d.totalBytes, d.usedBytes, d.availableBytes])).toEqual([
      [64 * MiB, 5 * MiB + 7, 59 * MiB - 7],
      [32 * MiB, 3 * MiB, 29 * MiB],
    ]);

    await m.deallocate(a);
    expect([m.usedVram(1), m.availableVram(1)]).toEqual([0, 32 * MiB]);
    await m.deallocate(b);
    expect([m.usedVram(), m.availableVram()]).toEqual([0, 96 * MiB]);
    await expectCleanObservability(h);
  });

  it('policy.headroomBytes lowers what is available (never below 0), not the total', async () => {
    h = await harness({
      backend: mockBackend([64 * MiB, 4 * MiB]),
      policy: { headroomBytes: 8 * MiB },
    });
    const m = h.manager;
    expect([m.totalVram(0), m.totalVram(1)]).toEqual([64 * MiB, 4 * MiB]);
    expect([m.availableVram(0), m.availableVram(1), m.availableVram()]).toEqual([
      56 * MiB,
      0,
      56 * MiB,
    ]);
    await m.sealModel(randomShard(6 * MiB), { device: 0 });
    expect(m.availableVram(0)).toBe(50 * MiB);
    expect(m.usedVram(0)).toBe(6 * MiB);
    // The device has 58 MiB free, but 8 MiB of it is headroom.
    const error = await m.sealModel(randomShard(50 * MiB + 1), { device: 0 }).catch((e) => e);
    expect(error).toMatchObject({
      code: 'INSUFFICIENT_VRAM',
      neededBytes: 50 * MiB + 1,
      availableBytes: 50 * MiB,
    });
    expect(error.message).toContain(String(8 * MiB));
    // A device smaller than the headroom takes nothing at all.
    await expect(m.sealModel(randomShard(1), { device: 1 })).rejects.toMatchObject({
      code: 'INSUFFICIENT_VRAM',
      device: 1,
      availableBytes: 0,
    });
    const fits = await m.sealModel(randomShard(50 * MiB), { device: 0 });
    expect(fits.vramBytes).toBe(50 * MiB);
    expect(m.availableVram(0)).toBe(0);
    expect(h.backend.memInfo(0).freeBytes).toBe(8 * MiB);
  });
});

describe('INSUFFICIENT_VRAM', () => {
  it('carries needed/available bytes and the device, is retriable, audited and narrated', async () => {
    h = await harness({ backend: mockBackend([64 * MiB, 32 * MiB]) });
    await h.manager.sealModel(randomShard(2 * MiB), { device: 1 });
    const error = await h.manager
      .sealModel(randomShard(31 * MiB), { device: 1, shardId: 'too-big' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(VramError);
    expect(error).toMatchObject({
      code: 'INSUFFICIENT_VRAM',
      retriable: true,
      fatal: false,
      device: 1,
      shardId: 'too-big',
      neededBytes: 31 * MiB,
      availableBytes: 30 * MiB,
    });
    expect(error.message).toMatch(/too-big/);
    expect(h.manager.usedVram(1)).toBe(2 * MiB);
    expect(h.manager.shards().map((s) => s.shardId)).not.toContain('too-big');

    await settleAudit(h);
    const events = h.auditEvents().filter((e) => e.shardId === 'too-big');
    expect(events).toEqual([
      {
        type: 'vram_allocation_failed',
        shardId: 'too-big',
        gpuDevice: 1,
        requestedBytes: 31 * MiB,
        availableBytes: 30 * MiB,
        workerId: 'worker-test',
        reason: 'insufficient VRAM',
      },
    ]);

    const narrated = narrationOf(h, 'allocate_failed');
    expect(narrated).toHaveLength(1);
    expect(narrated[0]).toMatchObject({
      level: 'warn',
      shard_id: 'too-big',
      device: 1,
      error_kind: 'INSUFFICIENT_VRAM',
      context: { needed_bytes: 31 * MiB, available_bytes: 30 * MiB },
    });
    // The seal itself is narrated as failed (warn: it is retriable), not as an error.
    expect(narrationOf(h, 'seal').filter((e) => e.shard_id === 'too-big')).toMatchObject([
      { level: 'warn', error_kind: 'INSUFFICIENT_VRAM' },
    ]);
    await expectCleanObservability(h);
  });

  it('an exact fit succeeds (available == shard size) and one more byte fails', async () => {
    h = await harness({ backend: mockBackend([16 * MiB]) });
    const m = h.manager;
    await expect(m.sealModel(randomShard(16 * MiB + 1), { device: 0 })).rejects.toMatchObject({
      code: 'INSUFFICIENT_VRAM',
      neededBytes: 16 * MiB + 1,
      availableBytes: 16 * MiB,
    });
    const first = await m.sealModel(randomShard(10 * MiB), { device: 0 });
    expect(m.availableVram(0)).toBe(6 * MiB);
    const exact = await m.sealModel(randomShard(6 * MiB), { device: 0 });
    expect(exact.vramBytes).toBe(6 * MiB);
    expect(m.availableVram(0)).toBe(0);
    expect(m.usedVram(0)).toBe(16 * MiB);
    await m.verifySealed(exact);
    await expect(m.sealModel(randomShard(1), { device: 0 })).rejects.toMatchObject({
      code: 'INSUFFICIENT_VRAM',
      neededBytes: 1,
      availableBytes: 0,
    });
    // Freeing a shard makes room again.
    await m.deallocate(first);
    await m.sealModel(randomShard(1), { device: 0 });
    expect(m.availableVram(0)).toBe(10 * MiB - 1);
  });
});

describe("device 'auto'", () => {
  it('picks the device with the most available memory, as it changes', async () => {
    h = await harness({ backend: mockBackend([32 * MiB, 64 * MiB]) });
    const m = h.manager;
    const first = await m.sealModel(randomShard(40 * MiB)); // default 'auto'
    expect(first.gpuDevice).toBe(1); // 64 > 32
    // Now device 0 has 32 MiB, device 1 has 24 MiB.
    const second = await m.sealModel(randomShard(MiB), { device: 'auto' });
    expect(second.gpuDevice).toBe(0);
    expect([m.usedVram(0), m.usedVram(1)]).toEqual([MiB, 40 * MiB]);
    // 31 vs 24: device 0 again.
    expect((await m.sealModel(randomShard(20 * MiB))).gpuDevice).toBe(0);
    // 11 vs 24: device 1.
    expect((await m.sealModel(randomShard(MiB))).gpuDevice).toBe(1);
  });

  it('when no device fits, INSUFFICIENT_VRAM names the best one and what it had', async () => {
    h = await harness({ backend: mockBackend([32 * MiB, 48 * MiB]) });
    const error = await h.manager
      .sealModel(randomShard(49 * MiB), { shardId: 'huge' })
      .catch((e) => e);
    expect(error).toMatchObject({
      code: 'INSUFFICIENT_VRAM',
      device: 1,
      neededBytes: 49 * MiB,
      availableBytes: 48 * MiB,
    });
    await settleAudit(h);
    expect(h.auditEvents()).toMatchObject([
      {
        type: 'vram_allocation_failed',
        shardId: 'huge',
        gpuDevice: 1,
        requestedBytes: 49 * MiB,
        availableBytes: 48 * MiB,
      },
    ]);
    expect(h.manager.usedVram()).toBe(0);
  });
});

describe('allocation failures (cudaMalloc failing)', () => {
  it('an injected failure is CUDA_ALLOCATION_FAILED, audited and narrated; capacity returns', async () => {
    h = await harness({ backend: mockBackend([64 * MiB]) });
    const m = h.manager;
    h.backend.injectAllocationFailure(0);
    const error = await m
      .sealModel(randomShard(4 * MiB), { device: 0, shardId: 'unlucky' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(VramError);
    expect(error).toMatchObject({
      code: 'CUDA_ALLOCATION_FAILED',
      retriable: true,
      fatal: false,
      device: 0,
      shardId: 'unlucky',
      neededBytes: 4 * MiB,
    });
    expect(m.usedVram()).toBe(0);
    expect(m.availableVram()).toBe(64 * MiB);
    expect(h.backend.memInfo(0).freeBytes).toBe(64 * MiB);
    expect(m.shards()).toEqual([]);

    await settleAudit(h);
    const audited = h.auditEvents();
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({
      type: 'vram_allocation_failed',
      shardId: 'unlucky',
      gpuDevice: 0,
      requestedBytes: 4 * MiB,
      availableBytes: 64 * MiB,
      workerId: 'worker-test',
    });
    expect(audited[0]!.reason).not.toBe('insufficient VRAM');
    expect(narrationOf(h, 'allocate_failed')).toMatchObject([
      { level: 'warn', shard_id: 'unlucky', device: 0, error_kind: 'CUDA_ALLOCATION_FAILED' },
    ]);

    // The failure was one-shot: the same seal now works.
    const shard = await m.sealModel(randomShard(4 * MiB), { device: 0, shardId: 'unlucky' });
    await m.verifySealed(shard);
    expect(m.usedVram(0)).toBe(4 * MiB);
    await expectCleanObservability(h);
  });

  it("with 'auto', a device whose cudaMalloc fails is skipped for the next one", async () => {
    h = await harness({ backend: mockBackend([16 * MiB, 64 * MiB]) });
    h.backend.injectAllocationFailure(1);
    const shard = await h.manager.sealModel(randomShard(MiB), { shardId: 'auto-fallback' });
    expect(shard.gpuDevice).toBe(0);
    expect(h.manager.usedVram()).toBe(MiB);
  });

  it("when every device refuses, the failure names the device 'auto' chose first", async () => {
    h = await harness({ backend: mockBackend([16 * MiB, 64 * MiB]) });
    h.backend.injectAllocationFailure(1);
    h.backend.injectAllocationFailure(0);
    const error = await h.manager
      .sealModel(randomShard(MiB), { shardId: 'auto-fail' })
      .catch((e) => e);
    expect(error).toMatchObject({ code: 'CUDA_ALLOCATION_FAILED', device: 1 });
    await settleAudit(h);
    expect(h.auditEvents()).toMatchObject([
      { type: 'vram_allocation_failed', gpuDevice: 1, availableBytes: 64 * MiB },
    ]);
    expect(narrationOf(h, 'allocate_failed')).toMatchObject([{ device: 1 }]);
    expect(h.manager.usedVram()).toBe(0);
  });
});

describe('capacity arguments and narration', () => {
  it.each([
    ['2 (one past the last)', 2],
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ["the string '0'", '0'],
    ['null', null],
  ])('a bad device index, %s, is INVALID_INPUT naming the device', async (_label, device) => {
    h = await harness({ backend: mockBackend([MiB, MiB]) });
    for (const query of [h.manager.totalVram, h.manager.usedVram, h.manager.availableVram]) {
      let thrown: unknown;
      try {
        query.call(h.manager, device as never);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(VramError);
      expect(thrown).toMatchObject({ code: 'INVALID_INPUT', argument: 'device', retriable: false });
    }
  });

  it('capacity queries narrate capacity_query at debug, with the query and the bytes', async () => {
    h = await harness({ backend: mockBackend([8 * MiB, 4 * MiB]) });
    h.narration.length = 0;
    h.manager.availableVram(1);
    h.manager.totalVram();
    h.manager.usedVram(0);
    const events = narrationOf(h, 'capacity_query');
    expect(events).toHaveLength(3);
    for (const e of events) expect(e.level).toBe('debug');
    expect(events[0]).toMatchObject({
      device: 1,
      target: 'GPU1',
      context: { query: 'available', bytes: 4 * MiB },
    });
    expect(events[1]).toMatchObject({
      target: 'all devices',
      context: { query: 'total', bytes: 12 * MiB },
    });
    expect(events[1]!.device).toBeUndefined();
    expect(events[2]).toMatchObject({ device: 0, context: { query: 'used', bytes: 0 } });
    await expectCleanObservability(h);
  });

  it('at info level capacity queries are not narrated', async () => {
    h = await harness({ backend: mockBackend([8 * MiB]), narrationLevel: 'info' });
    const before = h.narration.length;
    expect(h.manager.availableVram(0)).toBe(8 * MiB);
    expect(h.manager.totalVram()).toBe(8 * MiB);
    expect(h.narration.length).toBe(before);
    expect(narrationOf(h, 'capacity_query')).toEqual([]);
  });
});
