import { validateEvent } from '@vramseal/audit-logging';
import { type SealedShard, SHARD_ID_PATTERN, VramError } from '@vramseal/vram-manager';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fakeGpu } from './fake-gpu.js';
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
const HEX64 = 'ab'.repeat(32);
const KEY_ID = '0123456789abcdef';

/** Shard ids the manager accepts, with the ones that look like pointers or keys well represented. */
const ID_EXAMPLES: [string][] = [['0x1234abcd'], [HEX64], ['z'.repeat(201)], ['f'.repeat(256)]];
const shardIds = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,256}$/),
  fc.stringMatching(/^0x[0-9a-fA-F]{8,32}$/),
  fc.stringMatching(/^[0-9a-f]{64,256}$/),
  fc.stringMatching(/^[A-Za-z_-]{0,8}0x[0-9a-f]{8,16}[A-Za-z_-]{0,8}$/),
  fc.constantFrom(
    '0x1234abcd',
    '0X1234ABCD5678',
    HEX64,
    'f'.repeat(256),
    'a',
    '-',
    '_',
    'shard_0xdeadbeefcafebabe',
  ),
);

const TRICKY_CHARS = [
  '\u0000',
  '\n',
  '\r',
  '\t',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u202e',
  '\u2066',
  '\u200b',
  '\ufeff',
];
const modelRefs = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 400 }),
  fc.string({
    unit: fc.constantFrom(
      ...TRICKY_CHARS,
      '\ud800',
      '\udfff',
      '\u2028',
      '\u2029',
      ' ',
      'a',
      '0x',
      '1234abcd',
      'é',
      '😀',
    ),
    maxLength: 40,
  }),
  fc.constantFrom(
    `sha256:${HEX64}`,
    'hf:meta-llama/Llama-3-8B@0x1234abcd5678',
    '0x1234abcd',
    HEX64,
    ' leading space',
    'trailing space ',
    'org/モデル@v1',
    'x'.repeat(1024),
    'x'.repeat(1025),
    'é'.repeat(512),
    'é'.repeat(513),
    '😀'.repeat(256),
  ),
);

/** The vram events the manager writes for a shard, shaped as it writes them. */
function eventsFor(shardId: string, modelRef: string) {
  return [
    {
      type: 'vram_allocated',
      shardId,
      gpuDevice: 0,
      vramBytes: 16,
      workerId: 'worker-test',
    },
    {
      type: 'vram_sealed',
      shardId,
      gpuDevice: 0,
      vramBytes: 16,
      digest: HEX64,
      workerId: 'worker-test',
      treeRoot: HEX64,
      leafSize: 65_536,
      keyId: KEY_ID,
      shardIndex: 0,
      totalShards: 1,
      ...(modelRef === '' ? {} : { modelRef }),
    },
    {
      type: 'seal_verified',
      shardId,
      gpuDevice: 0,
      digest: HEX64,
      workerId: 'worker-test',
      treeRoot: HEX64,
      leafSize: 65_536,
      keyId: KEY_ID,
      deep: false,
      durationMs: 1,
    },
    {
      type: 'seal_verification_failed',
      shardId,
      gpuDevice: 0,
      workerId: 'worker-test',
      reason: 'tree_root: device memory no longer matches the sealed tree root',
      check: 'tree_root',
      keyId: KEY_ID,
      expectedTreeRoot: HEX64,
      actualTreeRoot: 'cd'.repeat(32),
    },
    { type: 'vram_deallocated', shardId, gpuDevice: 0, vramBytes: 16, workerId: 'worker-test' },
  ];
}

describe('every shard id the manager accepts can be audited', () => {
  it('by the rules: SHARD_ID_PATTERN ids pass validateEvent in every vram event', () => {
    fc.assert(
      fc.property(shardIds, (shardId) => {
        expect(SHARD_ID_PATTERN.test(shardId)).toBe(true);
        for (const event of eventsFor(shardId, '')) {
          expect(() => validateEvent(event as never), `${event.type} ${shardId}`).not.toThrow();
        }
      }),
      { numRuns: 1000, examples: ID_EXAMPLES },
    );
  });

  it('through the manager: sealed, verified, failed and deallocated, every record names the id', async () => {
    h = await harness({ narrationLevel: 'info' });
    const harnessed = h;
    const manager = h.manager;
    await fc.assert(
      fc.asyncProperty(shardIds, async (shardId) => {
        await settleAudit(harnessed);
        const start = harnessed.auditEvents().length;
        let shard: SealedShard | undefined;
        try {
          shard = await manager.sealModel(randomShard(64), { shardId });
          expect(shard.shardId).toBe(shardId);
          await manager.verifySealed(shard);
          manager.injectFault(shard, { offset: 3, xorMask: 0x22 });
          const error = await manager.verifySealed(shard).catch((e) => e);
          expect(error).toMatchObject({
            code: 'SEAL_VERIFICATION_FAILED',
            check: 'tree_root',
            shardId,
          });
          await manager.deallocate(shard);
          shard = undefined;
          await settleAudit(harnessed);
          const types = harnessed
            .auditEvents()
            .slice(start)
            .filter((e) => e.shardId === shardId)
            .map((e) => e.type);
          expect(types).toEqual([
            'vram_allocated',
            'vram_sealed',
            'seal_verified',
            'seal_verification_failed',
            'vram_deallocated',
          ]);
        } finally {
          // Each case starts from a clean manager, so a failure is reported for its own id.
          if (shard !== undefined && manager.shards().includes(shard))
            await manager.deallocate(shard);
          if (manager.state === 'stopped')
            await manager.reset({ operator: 'property-test', reason: 'next case' });
        }
      }),
      // No shrinking: each case writes critical audit records; the counterexample is shown as found.
      { numRuns: 40, examples: ID_EXAMPLES, endOnFailure: true },
    );
    await settleAudit(h);
    await expectCleanObservability(h);
  });
});

describe('every model ref the manager accepts can be audited', () => {
  it('accepted refs pass validateEvent and are logged verbatim; refused ones are INVALID_INPUT options.modelRef', async () => {
    h = await harness({ narrationLevel: 'info' });
    const manager = h.manager;
    const accepted = new Map<string, string>();
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(modelRefs, async (modelRef) => {
        let shard: SealedShard;
        try {
          shard = await manager.sealModel(randomShard(16), { modelRef });
        } catch (error) {
          expect(error).toBeInstanceOf(VramError);
          expect(error).toMatchObject({ code: 'INVALID_INPUT', argument: 'options.modelRef' });
          refused += 1;
          return;
        }
        expect(shard.modelRef).toBe(modelRef);
        for (const event of eventsFor(shard.shardId, modelRef)) {
          expect(
            () => validateEvent(event as never),
            `${event.type} ${JSON.stringify(modelRef)}`,
          ).not.toThrow();
        }
        accepted.set(shard.shardId, modelRef);
        await manager.deallocate(shard);
      }),
      { numRuns: 300 },
    );
    // Both sides of the rule were exercised.
    expect(accepted.size).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(20);
    await settleAudit(h);
    await expectCleanObservability(h);
    const sealed = h.auditEvents().filter((e) => e.type === 'vram_sealed');
    expect(sealed).toHaveLength(accepted.size);
    for (const e of sealed) {
      const modelRef = accepted.get(e.shardId as string)!;
      if (modelRef === '') expect(e).not.toHaveProperty('modelRef');
      else expect(e.modelRef).toBe(modelRef);
    }
  });
});

describe('critical records about a shard are written whatever its id', () => {
  it.each(['plain-shard-id', '0x1234abcd', 'weights_0xdeadbeefcafebabe', HEX64])(
    'a shard %s refused under vramOnly is audited as a policy violation',
    async (shardId) => {
      const gpu = fakeGpu({
        devices: [64 * MiB],
        attributes: { memoryType: 'managed', hostPointer: true },
      });
      h = await harness({ backend: gpu.backend, policy: { vramOnly: true } });
      const error = await h.manager.sealModel(randomShard(MiB), { shardId }).catch((e) => e);
      expect(error).toMatchObject({ code: 'POLICY_VIOLATION', shardId });
      expect(error.message).not.toMatch(/audit record could not be written/);
      const audited = readAuditEvents(h.auditDir).filter((e) => e.type === 'policy_violation');
      expect(audited).toMatchObject([
        {
          policy: 'vram_only',
          action: 'seal refused, memory freed, manager stopped',
          gpuDevice: 0,
          shardId,
        },
      ]);
      await settleAudit(h);
      await expectCleanObservability(h);
    },
  );

  it.each([
    ['a pointer-like key id', '0x1234abcd5678'],
    ['a key id with an escape sequence', '\u001b[2Jforged'],
    ['a key id with a newline', 'forged\nkeyid'],
  ])('a verification failure for a shard carrying %s is audited', async (_label, keyId) => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(1000), { shardId: 'forged-key' });
    (shard as { keyId: string }).keyId = keyId;
    const error = await h.manager.verifySealed(shard).catch((e) => e);
    expect(error).toMatchObject({
      code: 'SEAL_VERIFICATION_FAILED',
      check: 'signature',
      shardId: 'forged-key',
    });
    expect(h.manager.state).toBe('stopped');
    // Critical: in the log before the rejection reached us.
    const failed = readAuditEvents(h.auditDir).filter((e) => e.type === 'seal_verification_failed');
    expect(failed).toMatchObject([{ shardId: 'forged-key', check: 'signature' }]);
    await expectCleanObservability(h);
  });
});
