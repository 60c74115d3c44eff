import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Then, When } from '@cucumber/cucumber';
import type { AuditRecord } from '@vramseal/audit-logging';
import { newCorrelationId, withCorrelation } from '@vramseal/narration-core';
import { eventShows } from '../assertions/narration.js';
import type { VramWorld } from '../world.js';
import { decodeEscapes } from './manager-setup.js';
import { sealShard } from './sealing.js';

// Narration: deterministic shards (so a story can be a snapshot), correlation ids per call, and
// what the narration must never show.

/** Correlation ids a step ran an operation under, other than the scenario's own. */
const ownIds = new WeakMap<VramWorld, string>();

/**
 * `length` bytes that are the same on every run: SHA-256(seed || ":" || counter) blocks, the
 * counter in decimal from 0. Random-looking, so digests and trees are those of real data.
 */
export function deterministicBytes(seed: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let offset = 0, counter = 0; offset < length; offset += 32, counter++) {
    const block = createHash('sha256').update(`${seed}:${counter}`).digest();
    out.set(block.subarray(0, Math.min(32, length - offset)), offset);
  }
  return out;
}

When(
  'shard {string} of {int} deterministic bytes from seed {string} is sealed',
  async function (this: VramWorld, id: string, n: number, seed: string) {
    await sealShard(this, id, deterministicBytes(seed, n));
  },
);

Then(
  'shard {string} has the digest {string}',
  function (this: VramWorld, id: string, digest: string) {
    assert.equal(this.sealed(id).digest, digest);
  },
);

When(
  'shard {string} is verified under a correlation id of its own',
  async function (this: VramWorld, id: string) {
    const shard = this.sealed(id);
    const own = newCorrelationId();
    assert.notEqual(own, this.correlationId);
    ownIds.set(this, own);
    try {
      await withCorrelation(own, () => this.vram.verifySealed(shard));
      this.outcome = { ok: true, value: undefined };
    } catch (error) {
      this.outcome = { ok: false, error };
    }
  },
);

function expectedId(world: VramWorld, whose: string): string {
  if (whose === "the scenario's") return world.correlationId;
  if (whose === 'its own') return world.need(ownIds.get(world), 'correlation id of its own');
  throw new Error(`say "the scenario's" or "its own", not "${whose}"`);
}

Then(
  'the {string} event of shard {string} carries {string} correlation id',
  function (this: VramWorld, action: string, id: string, whose: string) {
    this.narrationChecks++;
    const want = expectedId(this, whose);
    const events = this.narration.events.filter((e) => e.action === action && e.shard_id === id);
    assert.ok(events.length > 0, `no ${action} event for shard ${id}`);
    for (const event of events) assert.equal(event.correlation_id, want, `${action} event`);
  },
);

Then(
  'the {string} audit event of shard {string} carries {string} correlation id',
  async function (this: VramWorld, type: string, id: string, whose: string) {
    this.auditChecks++;
    const want = expectedId(this, whose);
    const records = (await this.auditRecords()).filter(
      (r) => r.event.type === type && fieldOf(r, 'shardId') === id,
    );
    assert.ok(records.length > 0, `no ${type} audit event for shard ${id}`);
    for (const record of records) {
      assert.equal(fieldOf(record, 'correlationId'), want, `record ${record.seq} (${type})`);
    }
  },
);

Then(
  "every audit event of shard {string} carries the scenario's correlation id",
  async function (this: VramWorld, id: string) {
    this.auditChecks++;
    const records = (await this.auditRecords()).filter((r) => fieldOf(r, 'shardId') === id);
    assert.ok(records.length > 0, `no audit event for shard ${id}`);
    for (const record of records) {
      const found = fieldOf(record, 'correlationId');
      assert.equal(found, this.correlationId, `record ${record.seq} (${record.event.type})`);
    }
  },
);

function fieldOf(record: AuditRecord, name: string): unknown {
  return (record.event as unknown as Record<string, unknown>)[name];
}

Then('the narration never shows {string}', function (this: VramWorld, raw: string) {
  this.narrationChecks++;
  const text = decodeEscapes(raw);
  assert.ok(text.length > 0, 'an empty string is in every text');
  assert.ok(this.narration.events.length > 0, 'nothing was narrated');
  for (const event of this.narration.events) {
    assert.ok(!eventShows(event, text), `the ${event.action} event shows it`);
  }
});

Then(
  'every narration sentence is at most {int} characters',
  function (this: VramWorld, limit: number) {
    this.narrationChecks++;
    assert.ok(this.narration.events.length > 0, 'nothing was narrated');
    for (const event of this.narration.events) {
      assert.ok(
        typeof event.human === 'string' && event.human.length > 0,
        'an event has no sentence',
      );
      assert.ok(event.human.length <= limit, `${event.human.length} characters: ${event.human}`);
    }
  },
);

Then(
  'the narration says at level {string}: {string}',
  function (this: VramWorld, level: string, sentence: string) {
    this.narrationChecks++;
    const found = this.narration.events.find((e) => e.human === sentence);
    assert.ok(found, `no event says "${sentence}"`);
    assert.equal(found.level, level);
  },
);

Then(
  'the failed verification of shard {string} is narrated with the sealed and the measured tree roots',
  function (this: VramWorld, id: string) {
    this.narrationChecks++;
    const shard = this.sealed(id);
    const event = this.narration.events.find(
      (e) => e.action === 'verify_failed' && e.shard_id === id,
    );
    assert.ok(event, `no verify_failed event for shard ${id}`);
    const context = event.context as Record<string, unknown>;
    assert.equal(context.expected_tree_root, shard.treeRoot, 'the sealed root');
    assert.match(String(context.actual_tree_root), /^[0-9a-f]{64}$/);
    assert.notEqual(
      context.actual_tree_root,
      shard.treeRoot,
      'the measured root is the sealed one',
    );
  },
);
