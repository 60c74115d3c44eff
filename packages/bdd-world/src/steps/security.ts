import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Then } from '@cucumber/cucumber';
import { containsSecret } from '@vramseal/narration-core';
import { eventTexts, findPointerOrHandle } from '../assertions/narration.js';
import type { VramWorld } from '../world.js';

/**
 * Every output a scenario produced, as text: narration lines, the audit log files, the last error
 * (message, JSON, util.inspect), every sealed shard (JSON and inspect), the manager itself
 * (inspect) and the metrics exposition.
 */
async function outputs(world: VramWorld): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  // As stored (JSON lines) and as shown (decoded strings: JSON hides a newline or a quote).
  out.set('narration', world.narration.events.flatMap((e) => eventTexts(e)).join('\n'));
  const audit = world.managerAudit;
  if (audit) {
    await world.auditRecords();
    for (const file of readdirSync(audit.dir)) {
      if (file.endsWith('.ndjson'))
        out.set(`audit ${file}`, readFileSync(join(audit.dir, file), 'utf8'));
    }
  }
  const outcome = world.outcome;
  if (outcome && !outcome.ok) {
    const error = outcome.error as Error;
    out.set('error message', String(error?.message));
    out.set('error JSON', JSON.stringify(error));
    out.set('error inspect', inspect(error, { depth: 5 }));
  }
  for (const [id, shard] of world.shards) {
    out.set(`shard ${id} JSON`, JSON.stringify(shard));
    out.set(`shard ${id} inspect`, inspect(shard, { depth: 5, showHidden: true }));
  }
  if (world.manager) {
    out.set('manager inspect', inspect(world.manager, { depth: 3 }));
    out.set('metrics', await world.manager.prometheusMetrics());
  }
  return out;
}

Then('no output of the scenario holds a secret', async function (this: VramWorld) {
  this.narrationChecks++;
  const secrets = this.knownSecrets();
  assert.ok(secrets.length > 0, 'the scenario has no secrets to look for');
  for (const [where, text] of await outputs(this)) {
    const leaked = secrets.findIndex((secret) => text.includes(secret));
    // The secret is never printed, only which one and where.
    assert.equal(leaked, -1, `known secret #${leaked + 1} appears in the ${where}`);
    if (where === 'narration') {
      for (const line of text.split('\n')) {
        assert.ok(!containsSecret(line), 'a narration line looks like it holds a secret');
      }
    }
  }
});

Then('no output of the scenario shows a pointer or handle', async function (this: VramWorld) {
  this.narrationChecks++;
  for (const [where, text] of await outputs(this)) {
    // Audit records carry hex digests and MACs; a pointer there would still start with 0x.
    const found = findPointerOrHandle(text);
    assert.equal(found, undefined, `the ${where} shows ${inspect(found)}`);
  }
});
