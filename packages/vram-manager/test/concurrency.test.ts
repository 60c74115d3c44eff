import { sha256Hex } from '@vramseal/seal-crypto';
import { type SealedShard, VramError } from '@vramseal/vram-manager';
import { describe, expect, it } from 'vitest';
import { mockBackend } from './fake-gpu.js';
import {
  expectCleanObservability,
  type Harness,
  harness,
  MiB,
  randomShard,
  readAuditEvents,
  settleAudit,
} from './helpers.js';

let h: Harness | undefined;
/** mulberry32: a small seeded PRNG, so a failing interleaving can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (random: () => number, min: number, max: number) =>
  min + Math.floor(random() * (max - min + 1));

/** Lets other operations run for `turns` event-loop turns. */
async function yieldTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Every shard id allocated is deallocated, each exactly once; nothing deallocated unallocated. */
function expectAllocationsBalanced(events: Record<string, unknown>[]): void {
  const count = new Map<string, { allocated: number; deallocated: number }>();
  for (const e of events) {
    if (e.type !== 'vram_allocated' && e.type !== 'vram_deallocated') continue;
    const c = count.get(e.shardId as string) ?? { allocated: 0, deallocated: 0 };
    if (e.type === 'vram_allocated') c.allocated += 1;
    else c.deallocated += 1;
    count.set(e.shardId as string, c);
  }
  for (const [shardId, c] of count) {
    expect({ shardId, ...c }).toEqual({ shardId, allocated: 1, deallocated: 1 });
  }
}

interface Sample {
  used: number;
  free: number;
  total: number;
}

describe('concurrent seals on a small device', () => {
  it('never over-commit (headroom kept), fail only with INSUFFICIENT_VRAM, and free back to full', async () => {
    const total = 32 * MiB;
    const headroom = 2 * MiB;
    h = await harness({
      backend: mockBackend([total]),
      policy: { headroomBytes: headroom },
      narrationLevel: 'info',
    });
    const m = h.manager;
    const backend = h.backend;
    const samples: Sample[] = [];
    const sample = () => {
      const info = backend.memInfo(0);
      samples.push({ used: m.usedVram(0), free: info.freeBytes, total: info.totalBytes });
    };
    const random = prng(0x5eed);
    const sizes = Array.from({ length: 40 }, () => int(random, MiB, 3 * MiB));
    let pending = true;
    const sampler = (async () => {
      while (pending) {
        sample();
        await yieldTurns(1);
      }
    })();
    const results = await Promise.allSettled(
      sizes.map((bytes, i) =>
        m.sealModel(randomShard(bytes), { shardId: `c-${i}`, device: 0, onProgress: sample }),
      ),
    );
    pending = false;
    await sampler;
    sample();

    const sealed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(sealed.length).toBeGreaterThan(0);
    expect(failed.length).toBeGreaterThan(0);
    for (const error of failed) {
      expect(error).toBeInstanceOf(VramError);
      expect(error.code).toBe('INSUFFICIENT_VRAM');
      expect(error.neededBytes).toBeGreaterThan(error.availableBytes);
    }
    const sealedBytes = sealed.reduce((sum, s) => sum + s.vramBytes, 0);
    expect(sealedBytes).toBeLessThanOrEqual(total - headroom);
    expect(m.usedVram(0)).toBe(sealedBytes);
    expect(m.availableVram(0)).toBe(total - headroom - sealedBytes);
    expect(samples.length).toBeGreaterThan(sealed.length); // one per upload, plus the sampler's
    for (const s of samples) {
      expect(s.used).toBeLessThanOrEqual(total - headroom);
      // The manager's books agree with the device at every moment.
      expect(s.used).toBe(s.total - s.free);
    }
    await Promise.all(sealed.map((s) => m.verifySealed(s)));

    await Promise.all(sealed.map((s) => m.deallocate(s)));
    expect(m.usedVram()).toBe(0);
    expect(m.availableVram()).toBe(total - headroom);
    expect(backend.memInfo(0).freeBytes).toBe(total);
    expect(m.shards()).toEqual([]);

    await settleAudit(h);
    await expectCleanObservability(h);
    const events = h.auditEvents();
    expectAllocationsBalanced(events);
    expect(events.filter((e) => e.type === 'vram_allocated')).toHaveLength(sealed.length);
    expect(events.filter((e) => e.type === 'vram_allocation_failed')).toHaveLength(failed.length);
  });

  it('seal until exhausted: exactly as many as fit succeed, the rest see the same shortfall', async () => {
    h = await harness({ backend: mockBackend([32 * MiB]), narrationLevel: 'info' });
    const m = h.manager;
    const round = () =>
      Promise.allSettled(
        Array.from({ length: 20 }, () => m.sealModel(randomShard(3 * MiB), { device: 0 })),
      );
    const first = await round();
    const sealed = first.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(sealed).toHaveLength(10);
    for (const r of first) {
      if (r.status === 'rejected') {
        expect(r.reason).toMatchObject({
          code: 'INSUFFICIENT_VRAM',
          neededBytes: 3 * MiB,
          availableBytes: 2 * MiB,
        });
      }
    }
    expect(m.usedVram(0)).toBe(30 * MiB);
    expect(m.availableVram(0)).toBe(2 * MiB);
    const second = await round();
    expect(
      second.every((r) => r.status === 'rejected' && r.reason.code === 'INSUFFICIENT_VRAM'),
    ).toBe(true);
    await m.deallocate(sealed[3]!);
    const third = await round();
    expect(third.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(m.usedVram(0)).toBe(30 * MiB);
    expect(h.backend.memInfo(0).freeBytes).toBe(2 * MiB);
    await expectCleanObservability(h);
  });

  it('two concurrent seals under one shard id: exactly one wins and nothing is orphaned', async () => {
    h = await harness({ backend: mockBackend([64 * MiB]) });
    const m = h.manager;
    const results = await Promise.allSettled([
      m.sealModel(randomShard(2 * MiB), { shardId: 'same-id' }),
      m.sealModel(randomShard(3 * MiB), { shardId: 'same-id' }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({ code: 'INVALID_INPUT', argument: 'options.shardId' });
    expect(m.shards().map((s) => s.shardId)).toEqual(['same-id']);
    // What the books and the device hold is exactly the winner.
    const winner = (won[0] as PromiseFulfilledResult<SealedShard>).value;
    expect(m.usedVram(0)).toBe(winner.vramBytes);
    expect(h.backend.memInfo(0).freeBytes).toBe(64 * MiB - winner.vramBytes);
    await m.deallocate(winner);
    expect(h.backend.memInfo(0).freeBytes).toBe(64 * MiB);
  });
});

describe('concurrent verifies and capacity queries', () => {
  it('many concurrent verifies (shallow and deep) of one shard all pass and are all audited', async () => {
    h = await harness();
    const data = randomShard(6 * MiB + 123);
    const shard = await h.manager.sealModel(data, { shardId: 'hot-shard' });
    await Promise.all(
      Array.from({ length: 24 }, (_, i) => h!.manager.verifySealed(shard, { deep: i % 3 === 0 })),
    );
    expect(h.manager.state).toBe('ready');
    await settleAudit(h);
    const verified = h.auditEvents().filter((e) => e.type === 'seal_verified');
    expect(verified).toHaveLength(24);
    expect(verified.filter((e) => e.deep === true)).toHaveLength(8);
    for (const e of verified)
      expect(e).toMatchObject({ shardId: 'hot-shard', digest: sha256Hex(data) });
    await expectCleanObservability(h);
  });

  it('capacity queries during seals always add up (used + available == total, per device and summed)', async () => {
    h = await harness({ backend: mockBackend([24 * MiB, 16 * MiB]), narrationLevel: 'info' });
    const m = h.manager;
    let pending = true;
    let queries = 0;
    const query = () => {
      for (const d of [0, 1]) {
        expect(m.usedVram(d) + m.availableVram(d)).toBe(m.totalVram(d));
      }
      expect(m.usedVram() + m.availableVram()).toBe(40 * MiB);
      expect(m.totalVram()).toBe(40 * MiB);
      queries += 1;
    };
    const queryLoop = (async () => {
      while (pending) {
        query();
        await yieldTurns(1);
      }
    })();
    const random = prng(7);
    const results = await Promise.allSettled(
      Array.from({ length: 30 }, () =>
        m.sealModel(randomShard(int(random, 64 * 1024, 3 * MiB)), { onProgress: query }),
      ),
    );
    pending = false;
    await queryLoop;
    const uploads = results.filter((r) => r.status === 'fulfilled').length;
    expect(queries).toBeGreaterThan(uploads); // one per upload, plus the loop's
    const sealed = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason.code).toBe('INSUFFICIENT_VRAM');
    for (const d of [0, 1]) {
      expect(m.usedVram(d)).toBe(
        sealed.filter((s) => s.gpuDevice === d).reduce((sum, s) => sum + s.vramBytes, 0),
      );
    }
    await expectCleanObservability(h);
  });
});

describe('interleaved seal / verify / deallocate', () => {
  it.each([1, 2, 3, 4, 5, 6])('of different shards, in a random order (seed %i)', async (seed) => {
    h = await harness({ backend: mockBackend([48 * MiB, 48 * MiB]), narrationLevel: 'info' });
    const m = h.manager;
    const random = prng(seed);
    const plans = Array.from({ length: 14 }, (_, i) => ({
      shardId: `s${seed}-${i}`,
      bytes: int(random, 1, 2 * MiB),
      device: int(random, 0, 1),
      deep: random() < 0.3,
      keep: random() < 0.3,
      pauses: Array.from({ length: 4 }, () => int(random, 0, 4)),
    }));
    const kept: { shard: SealedShard; data: Uint8Array }[] = [];
    const lifecycle = async (plan: (typeof plans)[number]) => {
      await yieldTurns(plan.pauses[0]!);
      const data = randomShard(plan.bytes);
      const shard = await m.sealModel(data, { shardId: plan.shardId, device: plan.device });
      expect(shard.digest).toBe(sha256Hex(data));
      expect(shard.gpuDevice).toBe(plan.device);
      await yieldTurns(plan.pauses[1]!);
      await m.verifySealed(shard, { deep: plan.deep });
      await yieldTurns(plan.pauses[2]!);
      if (plan.keep) {
        kept.push({ shard, data });
        return;
      }
      await m.deallocate(shard);
      await yieldTurns(plan.pauses[3]!);
      await expect(m.deallocate(shard)).rejects.toMatchObject({ code: 'NOT_SEALED' });
    };
    // Start in a shuffled order.
    const order = plans.map((p) => ({ p, k: random() })).sort((a, b) => a.k - b.k);
    await Promise.all(order.map(({ p }) => lifecycle(p)));

    expect(m.state).toBe('ready');
    expect(new Set(m.shards().map((s) => s.shardId))).toEqual(
      new Set(kept.map((k) => k.shard.shardId)),
    );
    for (const d of [0, 1]) {
      const held = kept
        .filter((k) => k.shard.gpuDevice === d)
        .reduce((sum, k) => sum + k.data.length, 0);
      expect(m.usedVram(d)).toBe(held);
      expect(h.backend.memInfo(d).freeBytes).toBe(48 * MiB - held);
    }
    // The survivors were not disturbed by their neighbours coming and going.
    await Promise.all(kept.map((k) => m.verifySealed(k.shard, { deep: true })));
    await Promise.all(kept.map((k) => m.deallocate(k.shard)));
    expect(m.usedVram()).toBe(0);
    await settleAudit(h);
    await expectCleanObservability(h);
    const events = h.auditEvents();
    expectAllocationsBalanced(events);
    expect(events.filter((e) => e.type === 'vram_sealed')).toHaveLength(plans.length);
    expect(events.filter((e) => e.type === 'seal_verification_failed')).toEqual([]);
  });
});

describe('close() while seals are in flight', () => {
  it('aborts them: they reject MANAGER_STOPPED, their memory is freed, close completes without them', async () => {
    h = await harness({ backend: mockBackend([64 * MiB]) });
    const m = h.manager;
    const backend = h.backend;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    /**
     * A stream that delivers half, then waits for the gate: in flight, holding device memory.
     * `reached` fires when the manager asks for the second half (the first has been taken).
     */
    async function* held(data: Uint8Array, reached: () => void): AsyncGenerator<Uint8Array> {
      yield data.subarray(0, data.length / 2);
      reached();
      await gate;
      yield data.subarray(data.length / 2);
    }
    const done = await Promise.all([
      m.sealModel(randomShard(MiB)),
      m.sealModel(randomShard(2 * MiB)),
    ]);
    const settled: string[] = [];
    const inFlight = Array.from({ length: 6 }, (_, i) => {
      const data = randomShard(4 * MiB);
      return new Promise<void>((reached) => {
        m.sealModel(held(data, reached), {
          byteLength: data.length,
          shardId: `in-flight-${i}`,
        }).then(
          () => settled.push(`resolved ${i}`),
          (error) => settled.push(`rejected ${i} ${error.code}`),
        );
      });
    });
    await Promise.all(inFlight); // every one holds its memory and waits at the gate
    expect(m.usedVram(0)).toBe(27 * MiB);

    // The streams stay stuck at the gate: close must not wait for them.
    await m.close();
    expect(m.state).toBe('closed');
    await expect(m.sealModel(randomShard(10))).rejects.toMatchObject({ code: 'MANAGER_STOPPED' });
    await yieldTurns(5);
    expect(settled).toHaveLength(6);
    for (const outcome of settled) expect(outcome).toMatch(/^rejected \d MANAGER_STOPPED$/);
    openGate(); // let the stuck generators end

    expect(backend.memInfo(0).freeBytes).toBe(64 * MiB);
    expect(m.shards()).toEqual([]);
    await expect(m.verifySealed(done[0]!)).rejects.toMatchObject({ code: 'MANAGER_STOPPED' });

    await h.audit.flush();
    const events = readAuditEvents(h.auditDir);
    expectAllocationsBalanced(events);
    expect(events.filter((e) => e.type === 'vram_allocated')).toHaveLength(8);
    for (const shard of done) {
      expect(
        events.filter((e) => e.type === 'vram_deallocated' && e.shardId === shard.shardId),
      ).toHaveLength(1);
    }
    expect(events.filter((e) => e.type === 'vram_sealed')).toHaveLength(2);
    await expectCleanObservability(h);
  });

  it('close() called twice at once frees every live shard once and audits each deallocation', async () => {
    h = await harness({ backend: mockBackend([64 * MiB]) });
    const m = h.manager;
    const shards = await Promise.all(
      Array.from({ length: 5 }, () => m.sealModel(randomShard(3 * MiB))),
    );
    expect(h.backend.memInfo(0).freeBytes).toBe(49 * MiB);
    await Promise.all([m.close(), m.close()]);
    expect(h.backend.memInfo(0).freeBytes).toBe(64 * MiB);
    await expect(m.deallocate(shards[0]!)).rejects.toMatchObject({ code: 'MANAGER_STOPPED' });
    await h.audit.flush();
    const events = readAuditEvents(h.auditDir);
    expectAllocationsBalanced(events);
    // In sealing order (the order the manager holds them), each once.
    expect(events.filter((e) => e.type === 'vram_deallocated').map((e) => e.shardId)).toEqual(
      events.filter((e) => e.type === 'vram_sealed').map((e) => e.shardId),
    );
    expect(
      new Set(events.filter((e) => e.type === 'vram_deallocated').map((e) => e.shardId)),
    ).toEqual(new Set(shards.map((s) => s.shardId)));
  });
});
