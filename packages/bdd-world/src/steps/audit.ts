import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Then, When } from '@cucumber/cucumber';
import { type AuditRecord, verifyAuditLog } from '@vramseal/audit-logging';
import type { NarrationEvent } from '@vramseal/narration-core';
import { randomBytes, smallestChange } from '../tamper.js';
import type { VramWorld } from '../world.js';
import { sealShard } from './sealing.js';

// The scenario manager's audit log as an auditor sees it after the worker stopped: verified offline
// with the audit key and the checkpoint public key, edited by an attacker, and read beside the
// narration, which is an independent witness of what happened.

When(
  '{int} shards of {int} bytes are sealed one after another',
  async function (this: VramWorld, count: number, n: number) {
    for (let i = 1; i <= count; i++) await sealShard(this, `shard-${i}`, randomBytes(n));
  },
);

/** Closes the manager (its shards are freed and audited) and then the audit log: a clean stop. */
When('the worker shuts down', async function (this: VramWorld) {
  await this.inCorrelation(() => this.vram.close());
  const audit = this.need(this.managerAudit, 'audit log');
  await audit.logger?.close();
  audit.logger = undefined;
});

/** The (single) segment of the audit log, one record a line, and a way to write it back. */
export function segment(world: VramWorld): { lines: string[]; save: (lines: string[]) => void } {
  const audit = world.need(world.managerAudit, 'audit log');
  assert.equal(audit.logger, undefined, 'the worker must shut down before the log is edited');
  const names = readdirSync(audit.dir).filter((f) => /^segment-\d+\.ndjson$/.test(f));
  assert.equal(names.length, 1, `expected one segment, found ${names.join(', ')}`);
  const file = join(audit.dir, names[0]!);
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return { lines, save: (changed) => writeFileSync(file, `${changed.join('\n')}\n`) };
}

/** The line index of the record of `type` about shard `id`. */
function recordIndex(lines: string[], type: string, id: string): number {
  const index = lines.findIndex((line) => {
    const record = JSON.parse(line) as AuditRecord;
    const event = record.event as unknown as Record<string, unknown>;
    return event.type === type && event.shardId === id;
  });
  assert.ok(index >= 0, `no ${type} record for shard ${id}`);
  return index;
}

function seqAt(lines: string[], index: number): number {
  return (JSON.parse(lines[index]!) as AuditRecord).seq;
}

When(
  'an attacker changes the vramBytes of the {string} record of shard {string}',
  function (this: VramWorld, type: string, id: string) {
    const { lines, save } = segment(this);
    const index = recordIndex(lines, type, id);
    const record = JSON.parse(lines[index]!);
    assert.equal(typeof record.event.vramBytes, 'number', `the ${type} record has no vramBytes`);
    record.event.vramBytes = smallestChange(record.event.vramBytes, 'vramBytes');
    lines[index] = JSON.stringify(record);
    this.auditTampered = true;
    this.tamperedSeq = record.seq;
    save(lines);
  },
);

When(
  'an attacker deletes the {string} record of shard {string}',
  function (this: VramWorld, type: string, id: string) {
    const { lines, save } = segment(this);
    const index = recordIndex(lines, type, id);
    this.auditTampered = true;
    this.tamperedSeq = seqAt(lines, index);
    lines.splice(index, 1);
    save(lines);
  },
);

When(
  'an attacker swaps the {string} records of shards {string} and {string}',
  function (this: VramWorld, type: string, first: string, second: string) {
    const { lines, save } = segment(this);
    const a = recordIndex(lines, type, first);
    const b = recordIndex(lines, type, second);
    this.auditTampered = true;
    this.tamperedSeq = Math.min(seqAt(lines, a), seqAt(lines, b));
    [lines[a], lines[b]] = [lines[b]!, lines[a]!];
    save(lines);
  },
);

Then('the auditor still trusts every record before it', async function (this: VramWorld) {
  this.auditChecks++;
  const audit = this.need(this.managerAudit, 'audit log');
  const report = await verifyAuditLog(audit.dir, { key: audit.key, publicKey: audit.publicKey });
  const bad = this.need(this.tamperedSeq, 'tampered record');
  assert.equal(report.ok, false, 'the tampered log verified');
  assert.equal(report.events, bad - 1, 'records verified before the first bad one');
});

// The narration as a witness of the audit log

function sealEvents(world: VramWorld): NarrationEvent[] {
  return world.narration.events.filter((e) => e.action === 'seal' && e.level === 'info');
}

function sealedRecords(records: AuditRecord[]): Record<string, unknown>[] {
  return records
    .map((record) => record.event as unknown as Record<string, unknown>)
    .filter((event) => event.type === 'vram_sealed');
}

Then(
  'the narration and the audit log agree on every sealed shard',
  async function (this: VramWorld) {
    this.narrationChecks++;
    this.auditChecks++;
    const told = sealEvents(this);
    const recorded = sealedRecords(await this.auditRecords());
    assert.ok(told.length > 0, 'no seal was narrated');
    assert.equal(recorded.length, told.length, 'vram_sealed records vs seal events');
    for (const event of told) {
      const context = event.context as Record<string, unknown>;
      const record = recorded.find((r) => r.shardId === event.shard_id);
      assert.ok(record, `the audit log does not record the seal of ${event.shard_id}`);
      assert.equal(record.vramBytes, context.bytes, `bytes of ${event.shard_id}`);
      assert.equal(record.digest, context.digest, `digest of ${event.shard_id}`);
      assert.equal(record.treeRoot, context.tree_root, `tree root of ${event.shard_id}`);
      assert.equal(record.keyId, context.key_id, `key id of ${event.shard_id}`);
      assert.equal(record.correlationId, event.correlation_id, `correlation of ${event.shard_id}`);
    }
  },
);

Then(
  'the narration and the audit log disagree on the bytes of shard {string}',
  async function (this: VramWorld, id: string) {
    this.narrationChecks++;
    const event = sealEvents(this).find((e) => e.shard_id === id);
    assert.ok(event, `no seal of ${id} was narrated`);
    const record = sealedRecords(await this.auditRecords()).find((r) => r.shardId === id);
    assert.ok(record, `no vram_sealed record of ${id}`);
    assert.notEqual(record.vramBytes, (event.context as Record<string, unknown>).bytes);
  },
);

Then(
  'the narration tells of sealing shard {string}, which the audit log no longer records',
  async function (this: VramWorld, id: string) {
    this.narrationChecks++;
    assert.ok(
      sealEvents(this).some((e) => e.shard_id === id),
      `no seal of ${id} was narrated`,
    );
    const record = sealedRecords(await this.auditRecords()).find((r) => r.shardId === id);
    assert.equal(record, undefined, `the audit log still records the seal of ${id}`);
  },
);

Then(
  'the narration tells of sealing shard {string} before shard {string}, unlike the audit log',
  async function (this: VramWorld, first: string, second: string) {
    this.narrationChecks++;
    const told = sealEvents(this).map((e) => e.shard_id);
    assert.ok(told.indexOf(first) >= 0 && told.indexOf(second) >= 0, 'both seals were narrated');
    assert.ok(told.indexOf(first) < told.indexOf(second), `the narration tells ${second} first`);
    const recorded = sealedRecords(await this.auditRecords()).map((r) => r.shardId);
    assert.ok(
      recorded.indexOf(second) < recorded.indexOf(first),
      'the audit log has the true order',
    );
  },
);
