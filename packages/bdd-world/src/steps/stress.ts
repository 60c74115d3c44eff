import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Then, When } from '@cucumber/cucumber';
import type { SealedShard, VramError } from '@vramseal/vram-manager';
import { randomBytes } from '../tamper.js';
import type { VramWorld } from '../world.js';
import { sealShard } from './sealing.js';

// Load on one scenario's manager: many operations, counted, with the capacity books sampled after
// every one of them. Wall time is kept only to stop a hang (a generous bound), never as a target.

const MiB = 1024 * 1024;

interface LoadRecord {
  /** performance.now() when the last load step started, and how long it ran (ms). */
  startedAt: number;
  elapsedMs: number;
  cycles: number;
  /** Largest usedVram() seen, and the device total it must stay within. */
  maxUsed: number;
  total: number;
  /** What was neither used by the manager nor available at the start: headroom, other processes. */
  reserved: number;
  /** Per wave: seals that succeeded, and the codes of those that failed. */
  waves: { sealed: number; refused: string[] }[];
}

const records = new WeakMap<VramWorld, LoadRecord>();

function startLoad(world: VramWorld): LoadRecord {
  const total = world.vram.totalVram();
  const used = world.vram.usedVram();
  const record: LoadRecord = {
    startedAt: performance.now(),
    elapsedMs: 0,
    cycles: 0,
    maxUsed: used,
    total,
    reserved: total - used - world.vram.availableVram(),
    waves: [],
  };
  records.set(world, record);
  return record;
}

function loadOf(world: VramWorld): LoadRecord {
  return world.need(records.get(world), 'load run');
}

/** Reads the books and keeps the largest use seen; fails at once on an over-commit. */
function sample(world: VramWorld, record: LoadRecord): void {
  const used = world.vram.usedVram();
  record.maxUsed = Math.max(record.maxUsed, used);
  assert.ok(used <= record.total, `over-commit: ${used} bytes in use on ${record.total}`);
  assert.equal(
    used + world.vram.availableVram() + record.reserved,
    record.total,
    'the books do not balance: used + available + headroom != total',
  );
}

function finishLoad(record: LoadRecord): void {
  record.elapsedMs = performance.now() - record.startedAt;
}

/** One seal, verify and deallocate of `n` fresh bytes, with the books sampled around it. */
async function cycle(world: VramWorld, record: LoadRecord, i: number, n: number): Promise<void> {
  const shard = await world.vram.sealModel(randomBytes(n), { shardId: `cycle-${i}` });
  sample(world, record);
  await world.vram.verifySealed(shard);
  await world.vram.deallocate(shard);
  sample(world, record);
  record.cycles++;
}

When(
  '{int} seal, verify and deallocate cycles of {int} bytes run one after another',
  async function (this: VramWorld, cycles: number, n: number) {
    const record = startLoad(this);
    await this.inCorrelation(async () => {
      for (let i = 1; i <= cycles; i++) {
        await cycle(this, record, i, n);
      }
    });
    finishLoad(record);
  },
);

When(
  '{int} seal, verify and deallocate cycles of {int} bytes run {int} at a time',
  async function (this: VramWorld, cycles: number, n: number, width: number) {
    const record = startLoad(this);
    let next = 1;
    const lane = async () => {
      while (next <= cycles) {
        const i = next++;
        await cycle(this, record, i, n);
      }
    };
    await this.inCorrelation(() => Promise.all(Array.from({ length: width }, lane)));
    finishLoad(record);
  },
);

Then('all {int} cycles completed', function (this: VramWorld, cycles: number) {
  assert.equal(loadOf(this).cycles, cycles);
});

When(
  '{int} shards of {int} bytes are sealed in batches of {int}',
  async function (this: VramWorld, count: number, n: number, batch: number) {
    const record = startLoad(this);
    for (let first = 1; first <= count; first += batch) {
      const ids = Array.from(
        { length: Math.min(batch, count - first + 1) },
        (_, i) => `small-${first + i}`,
      );
      await Promise.all(ids.map((id) => sealShard(this, id, randomBytes(n))));
      sample(this, record);
    }
    finishLoad(record);
  },
);

When('every resident shard is deallocated', async function (this: VramWorld) {
  const record = records.get(this);
  const resident = this.vram.shards();
  await this.inCorrelation(() => Promise.all(resident.map((shard) => this.vram.deallocate(shard))));
  if (record) sample(this, record);
});

When(
  'a model of {int} shards of {int} MiB is sealed as {string}',
  async function (this: VramWorld, total: number, mib: number, model: string) {
    const record = startLoad(this);
    for (let index = 0; index < total; index++) {
      await sealShard(this, `${model}-shard-${index}`, randomBytes(mib * MiB), {
        modelRef: model,
        shardIndex: index,
        totalShards: total,
      });
      sample(this, record);
    }
    finishLoad(record);
  },
);

When(
  'the shard set of model {string} is verified',
  async function (this: VramWorld, model: string) {
    const set = [...this.shards.values()].filter((shard) => shard.modelRef === model);
    assert.ok(set.length > 0, `no shard of model ${model} was sealed`);
    await this.attempt(() => this.vram.verifyShardSet(set, { deep: true }));
  },
);

/**
 * Waves of concurrent seals on a device too small for all of them: each wave verifies what it
 * sealed, then frees it, so every wave starts from an empty device.
 */
When(
  '{int} waves of {int} concurrent seals of {int} MiB run, each verified and then freed',
  async function (this: VramWorld, waves: number, width: number, mib: number) {
    const record = startLoad(this);
    for (let wave = 1; wave <= waves; wave++) {
      const results = await this.inCorrelation(() =>
        Promise.allSettled(
          Array.from({ length: width }, (_, i) =>
            this.vram.sealModel(randomBytes(mib * MiB), { shardId: `wave-${wave}-${i + 1}` }),
          ),
        ),
      );
      sample(this, record);
      const sealed = results
        .filter((r): r is PromiseFulfilledResult<SealedShard> => r.status === 'fulfilled')
        .map((r) => r.value);
      const refused = results
        .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        .map((r) => (r.reason as VramError).code ?? String(r.reason));
      record.waves.push({ sealed: sealed.length, refused });
      await this.inCorrelation(async () => {
        await Promise.all(sealed.map((shard) => this.vram.verifySealed(shard)));
        await Promise.all(sealed.map((shard) => this.vram.deallocate(shard)));
      });
      sample(this, record);
      assert.equal(this.vram.usedVram(), 0, `wave ${wave} left memory in use`);
    }
    finishLoad(record);
  },
);

Then(
  'every wave sealed exactly {int} shards and refused the rest with code {string}',
  function (this: VramWorld, sealed: number, code: string) {
    const { waves } = loadOf(this);
    assert.ok(waves.length > 0, 'no wave ran');
    waves.forEach((wave, i) => {
      assert.equal(wave.sealed, sealed, `wave ${i + 1} sealed ${wave.sealed}`);
      for (const refused of wave.refused) assert.equal(refused, code, `wave ${i + 1}`);
    });
  },
);

Then(
  'the VRAM in use never exceeded {int} MiB and never the total',
  function (this: VramWorld, mib: number) {
    const record = loadOf(this);
    const usable = record.total - record.reserved;
    assert.ok(record.maxUsed <= usable, `${record.maxUsed} bytes in use, ${usable} usable`);
    assert.ok(record.maxUsed <= mib * MiB, `${record.maxUsed} bytes were in use at once`);
  },
);

Then('the VRAM in use peaked at {int} bytes', function (this: VramWorld, bytes: number) {
  assert.equal(loadOf(this).maxUsed, bytes);
});

/** A hang guard: far above what the run takes on a loaded 2-core VM. Not a performance target. */
Then('the load finished within {int} seconds', function (this: VramWorld, seconds: number) {
  const { elapsedMs } = loadOf(this);
  assert.ok(elapsedMs < seconds * 1000, `the load ran ${Math.round(elapsedMs)} ms`);
});

Then(
  'the narration has {int} {string} event(s)',
  function (this: VramWorld, count: number, action: string) {
    this.narrationChecks++;
    const found = this.narration.events.filter((event) => event.action === action).length;
    assert.equal(found, count, `${found} ${action} events were narrated`);
  },
);

Then(
  'the narration has {int} {string} event(s) at level {string}',
  function (this: VramWorld, count: number, action: string, level: string) {
    this.narrationChecks++;
    const found = this.narration.events.filter(
      (event) => event.action === action && event.level === level,
    ).length;
    assert.equal(found, count, `${found} ${action} events were narrated at level ${level}`);
  },
);

/** A successful seal is narrated at info ('seal' at warn or error is a seal that failed). */
Then(
  'every shard sealed was narrated once as sealed and once as released',
  function (this: VramWorld) {
    this.narrationChecks++;
    const count = (action: string) => {
      const seen = new Map<string, number>();
      for (const event of this.narration.events) {
        if (
          event.action === action &&
          event.level === 'info' &&
          typeof event.shard_id === 'string'
        ) {
          seen.set(event.shard_id, (seen.get(event.shard_id) ?? 0) + 1);
        }
      }
      return seen;
    };
    const sealed = count('seal');
    const released = count('deallocate');
    assert.ok(sealed.size > 0, 'no seal was narrated');
    for (const [id, times] of sealed) {
      assert.equal(times, 1, `shard ${id} was narrated as sealed ${times} times`);
      assert.equal(
        released.get(id),
        1,
        `shard ${id} was narrated as released ${released.get(id) ?? 0} times`,
      );
    }
    assert.equal(released.size, sealed.size, 'a shard was released that was never sealed');
  },
);
