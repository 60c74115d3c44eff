import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { EVENT_SCHEMAS, validateEvent } from '@vramseal/audit-logging';
import { createNarrator, newCorrelationId, withCorrelation } from '@vramseal/narration-core';
import { captureNarration } from '@vramseal/narration-core/testing';
import { HKDF_SALT, hkdfSha256, KEY_DERIVATION_LABELS } from '@vramseal/seal-crypto';
import { NARRATION_ACTOR, VramManager } from '@vramseal/vram-manager';
import { describe, expect, it } from 'vitest';
import {
  attestationKeys,
  expectCleanObservability,
  type Harness,
  harness,
  MiB,
  narrationOf,
  randomShard,
  SEALED_SHARD_FIELDS,
  settleAudit,
  TOKEN,
} from './helpers.js';

let h: Harness | undefined;
/** A full life: seal, verify, deep verify, attest, deallocate, a failure, reset, close. */
async function fullLife(harness: Harness): Promise<void> {
  const { manager } = harness;
  const a = await manager.sealModel(randomShard(5 * MiB), {
    shardId: 'a',
    modelRef: 'org/m@1',
    totalShards: 2,
  });
  const b = await manager.sealModel(randomShard(MiB), {
    shardId: 'b',
    modelRef: 'org/m@1',
    totalShards: 2,
    shardIndex: 1,
  });
  await manager.verifySealed(a);
  await manager.verifySealed(b, { deep: true });
  await manager.verifyShardSet([a, b]);
  await manager.attestVramResidency(a, { nonce: 'nonce-for-a-1234' });
  manager.availableVram(0);
  await manager.deallocate(b);
  manager.injectFault(a, { offset: 99, xorMask: 4 });
  await manager.verifySealed(a).catch(() => {});
  await manager.deallocate(a);
  await manager.reset({ operator: 'oncall', reason: 'shard a was freed' });
}

describe('narration', () => {
  it('every step is narrated by vram-residency with worker id, shard id, device, a sentence and the caller’s correlation id', async () => {
    h = await harness();
    const correlation = newCorrelationId();
    await withCorrelation(correlation, () => fullLife(h!));
    const actions = new Set(h.narration.map((e) => e.action));
    for (const action of [
      'init',
      'cuda_init',
      'allocate',
      'digest',
      'sign',
      'seal',
      'verify',
      'verify_failed',
      'deallocate',
      'capacity_query',
      'reset',
      'attest',
      'fault_injected',
    ]) {
      expect(actions, action).toContain(action);
    }
    for (const event of h.narration) {
      expect(event.actor).toBe(NARRATION_ACTOR);
      expect(event.worker_id).toBe('worker-test');
      expect(typeof event.human).toBe('string');
      expect([...event.human].length).toBeLessThanOrEqual(100);
    }
    const during = h.narration.filter((e) => e.action !== 'init' && e.action !== 'cuda_init');
    for (const event of during) expect(event.correlation_id, event.action).toBe(correlation);
    for (const action of ['seal', 'verify', 'allocate', 'deallocate']) {
      const event = narrationOf(h, action)[0]!;
      expect(event.shard_id, action).toBeDefined();
      expect(event.device, action).toBe(0);
    }
    expect(narrationOf(h, 'seal')[0]!.duration_ms).toBeGreaterThan(0);
    expect(narrationOf(h, 'verify')[0]!.duration_ms).toBeGreaterThanOrEqual(0);
    expect(narrationOf(h, 'verify_failed')[0]).toMatchObject({ level: 'error', shard_id: 'a' });
    await expectCleanObservability(h);
  });

  it('captureNarration sees the manager’s events of one operation only', async () => {
    h = await harness();
    const capture = await captureNarration(() =>
      h!.manager.sealModel(randomShard(100), { shardId: 'captured' }),
    );
    capture.assertField('action', 'seal');
    capture.assertField('shard_id', 'captured');
    capture.assertIncludes('Sealed shard captured');
    capture.assertNoSecrets([TOKEN]);
    expect(capture.events.every((e) => e.shard_id === 'captured')).toBe(true);
  });

  it('a narrator whose destination throws never fails a seal or a verify, and the failure is counted', async () => {
    const narrator = createNarrator({
      actor: 'w',
      onInvalid: 'repair',
      destination: {
        write() {
          throw new Error('disk full');
        },
      },
    });
    h = await harness({ narrator });
    const shard = await h.manager.sealModel(randomShard(MiB));
    await h.manager.verifySealed(shard);
    const metrics = await h.manager.prometheusMetrics();
    const failures = Number(
      /vram_observability_failures_total\{sink="narration"\} (\d+)/.exec(metrics)![1],
    );
    expect(failures).toBeGreaterThan(3);
    expect(h.manager.observabilityFailures).toEqual({ narration: failures, audit: 0 });
  });
});

describe('a manager that cannot start', () => {
  const weakToken = 'aaaaaaaaaaaaaaaaaaaaaaaa';

  it('narrates why (init_failed, error) through the narrator it was given, never the token', async () => {
    const lines: string[] = [];
    const narrator = createNarrator({
      actor: 'worker',
      destination: { write: (line: string) => lines.push(line) },
      onInvalid: 'throw',
    });
    const error = await VramManager.create({
      backend: 'mock',
      workerToken: weakToken,
      workerId: 'w-1',
      narrator,
    }).catch((e) => e);
    expect(error).toMatchObject({ code: 'CONFIG_ERROR', option: 'workerToken' });
    const events = lines.map((line) => JSON.parse(line));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      level: 'error',
      actor: NARRATION_ACTOR,
      action: 'init_failed',
      error_kind: 'CONFIG_ERROR',
      context: { code: 'CONFIG_ERROR', option: 'workerToken' },
    });
    expect(events[0].human).toBe(
      'VRAM manager could not start: CONFIG_ERROR (option workerToken).',
    );
    expect(lines.join('')).not.toContain(weakToken);
  });

  it('still rejects with the configuration error when the narrator itself throws', async () => {
    const narrator = createNarrator({
      actor: 'worker',
      destination: {
        write: () => {
          throw new Error('disk full');
        },
      },
    });
    await expect(
      VramManager.create({ backend: 'mock', workerToken: weakToken, workerId: 'w-1', narrator }),
    ).rejects.toMatchObject({ code: 'CONFIG_ERROR' });
  });

  it('narrates a VRAM-only policy the mock cannot hold', async () => {
    const lines: string[] = [];
    const narrator = createNarrator({
      actor: 'worker',
      destination: { write: (line: string) => lines.push(line) },
    });
    await expect(
      VramManager.create({
        backend: 'mock',
        workerToken: 'test-worker-token-5b1e8c07d94f2a63b0c7',
        workerId: 'w-1',
        narrator,
        policy: { vramOnly: true },
      }),
    ).rejects.toMatchObject({ code: 'CONFIG_ERROR', option: 'policy.vramOnly' });
    expect(lines.map((line) => JSON.parse(line).action)).toContain('init_failed');
  });
});

describe('audit', () => {
  it('a full life writes valid events with the facts auditors need, and the log verifies', async () => {
    h = await harness();
    await fullLife(h);
    await h.manager.close();
    const events = h.auditEvents();
    for (const event of events) expect(() => validateEvent(event)).not.toThrow();
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'vram_allocated')).toHaveLength(2);
    expect(types.filter((t) => t === 'vram_deallocated')).toHaveLength(2);
    const sealed = events.find((e) => e.type === 'vram_sealed' && e.shardId === 'a');
    expect(sealed).toMatchObject({
      gpuDevice: 0,
      vramBytes: 5 * MiB,
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      treeRoot: expect.stringMatching(/^[0-9a-f]{64}$/),
      leafSize: 65536,
      keyId: h.manager.keyId,
      modelRef: 'org/m@1',
      workerId: 'worker-test',
    });
    expect(events.find((e) => e.type === 'seal_verified' && e.deep === true)).toMatchObject({
      shardId: 'b',
      treeRoot: expect.any(String),
      keyId: h.manager.keyId,
    });
    expect(events.find((e) => e.type === 'seal_verification_failed')).toMatchObject({
      shardId: 'a',
      check: 'tree_root',
    });
    expect(types).toContain('vram_manager_reset');
    for (const type of types) expect(Object.keys(EVENT_SCHEMAS)).toContain(type);
    await expectCleanObservability(h);
  });

  it('routine events stay off the verify path: even an immediate-mode log has not written seal_verified when verify returns', async () => {
    h = await harness({ durability: 'immediate' });
    const shard = await h.manager.sealModel(randomShard(4096), { shardId: 'fast' });
    await settleAudit(h);
    const count = () => h!.auditEvents().filter((e) => e.type === 'seal_verified').length;
    await h.manager.verifySealed(shard);
    expect(count()).toBe(0);
    await settleAudit(h);
    expect(count()).toBe(1);
  });

  it('critical events are durable before the failing call returns, in the order things happened', async () => {
    h = await harness({ durability: 'batched' });
    const shard = await h.manager.sealModel(randomShard(4096), { shardId: 'order' });
    await h.manager.verifySealed(shard);
    h.manager.injectFault(shard, { offset: 1, xorMask: 1 });
    await h.manager.verifySealed(shard).catch(() => {});
    const types = h.auditEvents().map((e) => e.type);
    expect(types).toEqual([
      'vram_allocated',
      'vram_sealed',
      'seal_verified',
      'seal_verification_failed',
    ]);
  });

  it('an audit log that refuses writes never fails routine operations; the failures are counted and narrated', async () => {
    h = await harness();
    await h.audit.close();
    const shard = await h.manager.sealModel(randomShard(MiB));
    await h.manager.verifySealed(shard);
    await h.manager.deallocate(shard);
    await settleAudit(h).catch(() => {});
    await new Promise((resolve) => setImmediate(resolve));
    const metrics = await h.manager.prometheusMetrics();
    expect(
      Number(/vram_observability_failures_total\{sink="audit"\} (\d+)/.exec(metrics)![1]),
    ).toBeGreaterThanOrEqual(4);
    expect(narrationOf(h, 'observability_degraded').length).toBeGreaterThan(0);
  });

  it('a verification failure whose audit write fails still rejects and says the record is missing', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(4096));
    h.manager.injectFault(shard, { offset: 0, xorMask: 2 });
    await h.audit.close();
    const error = await h.manager.verifySealed(shard).catch((e) => e);
    expect(error).toMatchObject({ code: 'SEAL_VERIFICATION_FAILED', check: 'tree_root' });
    expect(error.message).toMatch(/audit record could not be written/);
    expect(h.manager.state).toBe('stopped');
  });
});

describe('secrets', () => {
  it('the worker token and key bytes appear nowhere: narration, audit files, errors, JSON, inspect', async () => {
    h = await harness();
    await fullLife(h);
    const live = await h.manager.sealModel(randomShard(4096), { shardId: 'still-resident' });
    await h.manager.attestVramResidency(live, { nonce: 'nonce-for-secrets-test' });
    // The key bytes themselves, derived here the documented way (HKDF-SHA256, seal-crypto's
    // salt and labels), so the test can look for them in every output.
    const keyHex = (purpose: 'seal' | 'audit') =>
      Buffer.from(
        hkdfSha256(
          new TextEncoder().encode(TOKEN),
          new TextEncoder().encode(HKDF_SALT),
          new TextEncoder().encode(KEY_DERIVATION_LABELS[purpose]),
          32,
        ),
      ).toString('hex');
    const weak = await VramManager.create({
      workerToken: 'Zq9!x',
      workerId: 'w',
      backend: 'mock',
    }).catch((e) => e);
    const both = await VramManager.create({
      workerToken: TOKEN,
      sealKey: {} as never,
      workerId: 'w',
    }).catch((e) => e);
    const texts = [
      JSON.stringify(h.narration),
      ...fs.readdirSync(h.auditDir).map((f) => fs.readFileSync(path.join(h!.auditDir, f), 'utf8')),
      inspect(h.manager, { depth: 10, showHidden: true }),
      JSON.stringify(h.manager),
      inspect(weak, { depth: 10 }),
      inspect(both, { depth: 10 }),
      ...h.manager
        .shards()
        .map((s) => inspect(s, { showHidden: true, depth: 10 }) + JSON.stringify(s)),
      await h.manager.prometheusMetrics(),
    ];
    expect(texts.some((t) => t.includes('still-resident'))).toBe(true);
    for (const text of texts) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(keyHex('seal'));
      expect(text).not.toContain(keyHex('audit'));
      expect(text).not.toContain('Zq9!x');
      expect(text).not.toContain(
        attestationKeys.privateKey
          .export({ format: 'der', type: 'pkcs8' })
          .toString('hex')
          .slice(-64),
      );
    }
    expect(weak).toMatchObject({ code: 'CONFIG_ERROR', option: 'workerToken' });
  });

  it('a SealedShard shows only its fields: no handle, pointer or signature is reachable', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(100), { shardId: 'plain' });
    expect(Object.keys(shard.toJSON()).sort()).toEqual([...SEALED_SHARD_FIELDS].sort());
    expect(Reflect.ownKeys(shard).sort()).toEqual(Object.keys(shard.toJSON()).sort());
    expect(inspect(shard)).toMatch(/^SealedShard \{/);
    expect(inspect(shard)).not.toMatch(/handle|signature|0x[0-9a-f]{8}/i);
  });
});
