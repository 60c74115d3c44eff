import { performance } from 'node:perf_hooks';
import { VramError } from '../errors.js';
import type { SealedShard } from '../shard/sealed-shard.js';
import { flatDigest } from '../verify/flat-digest.js';
import { checkDeep, checkShardSet } from './checks.js';
import type { ManagerCore } from './core.js';
import { say } from './sentences.js';
import type { VerifyOptions } from './types.js';
import type { ShardUsage } from './usage.js';
import {
  type CheckedShard,
  checkResident,
  judge,
  type Measurement,
  type PresentedShard,
  presentOrRefuse,
  refused,
} from './verification.js';

/*
 * Verification before inference: one shard (VramManager.verifySealed), or a tensor-parallel set
 * measured in one batch (VramManager.verifyShardSet). Both go through the one verification path
 * in verification.ts; a pass is counted, narrated and audited here.
 */

/** Verifies one shard's seal (see VramManager.verifySealed). */
export async function verify(
  core: ManagerCore,
  shard: SealedShard,
  options: VerifyOptions,
): Promise<void> {
  core.assertServing('verify');
  const deep = checkDeep(options);
  const started = performance.now();
  const checked = await checkResident(core, shard, { deep, started });
  verified(core, checked, deep, started);
}

/** A verify that passed: metrics, narration, and the routine audit event. */
function verified(core: ManagerCore, checked: CheckedShard, deep: boolean, started: number): void {
  const seconds = (performance.now() - started) / 1000;
  const { record, fields } = checked;
  core.metrics.verified('success', seconds);
  core.say('info', {
    action: 'verify',
    target: fields.shardId,
    shardId: fields.shardId,
    device: fields.device,
    durationMs: seconds * 1000,
    human: say.verify(fields.shardId, fields.device, deep),
    context: { deep, tree_root: record.shard.treeRoot, leaf_size: fields.leafSize },
  });
  core.audit.routine({
    type: 'seal_verified',
    shardId: fields.shardId,
    gpuDevice: fields.device,
    digest: record.shard.digest,
    workerId: core.config.workerId,
    treeRoot: record.shard.treeRoot,
    leafSize: fields.leafSize,
    keyId: fields.keyId,
    deep,
    durationMs: Math.round(seconds * 1000),
  });
}

/** Verifies a tensor-parallel shard set before it serves (see VramManager.verifyShardSet). */
export async function verifySet(
  core: ManagerCore,
  shards: readonly SealedShard[],
  options: VerifyOptions,
): Promise<void> {
  core.assertServing('verify');
  try {
    checkShardSet(shards);
  } catch (error) {
    if (error instanceof VramError) {
      core.say('warn', {
        action: 'validate_failed',
        target: 'shard_set',
        human: say.validateFailed('shard set verify', 'the shard set'),
        errorKind: error.code,
        context: { reason: error.message },
      });
    }
    throw error;
  }
  const deep = checkDeep(options);
  const started = performance.now();
  // Each shard's own checks (signature, residency), then one batched measurement of every shard
  // that passed them, entered at once as a user of each (so a deallocation waits for it), then
  // each shard judged on its own; a shard's failure is its own, and stops the manager.
  const presented = shards.map((shard) => presentOrRefuse(core, shard));
  const held = presented.filter((p): p is PresentedShard => 'record' in p);
  const measuring = measureSet(core, held, deep);
  const outcomes = await Promise.allSettled(
    presented.map(async (shard) => {
      if ('error' in shard) throw shard.error;
      if ('why' in shard) return refused(core, shard, started);
      const measured = (await measuring)[held.indexOf(shard)]!;
      const checked = await judge(core, shard, measured, started);
      verified(core, checked, deep, started);
    }),
  );
  // The first failure in the set's order, as each shard's own verify would have thrown it.
  const failed = outcomes.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/**
 * The tree roots of every shard of a set in one batched digest (and, when deep, their flat
 * digests meanwhile), as one user of each shard: a deallocation waits for the batch. A batch
 * that fails fails every shard's tree root with its reason.
 */
async function measureSet(
  core: ManagerCore,
  held: readonly PresentedShard[],
  deep: boolean,
): Promise<Measurement[]> {
  if (held.length === 0) return [];
  return duringAll(
    held.map(({ record }) => record.usage),
    async () => {
      const [trees, ...flats] = await Promise.allSettled([
        core.backend.treeDigestMany(
          held.map(({ record, fields }) => ({
            allocation: record.allocation,
            leafSize: fields.leafSize,
          })),
        ),
        ...held.map(({ record }) =>
          deep ? flatDigest(record.allocation) : Promise.resolve(undefined),
        ),
      ]);
      return held.map((_, i): Measurement => {
        const tree: PromiseSettledResult<Uint8Array> =
          trees.status === 'fulfilled'
            ? { status: 'fulfilled', value: (trees.value as Uint8Array[])[i]! }
            : trees;
        return [tree, flats[i] as PromiseSettledResult<Uint8Array | undefined>];
      });
    },
  );
}

/** Runs `work` as one user of every shard in `usages` (all counted before it starts). */
function duringAll<T>(usages: readonly ShardUsage[], work: () => Promise<T>): Promise<T> {
  return usages.reduceRight<() => Promise<T>>((inner, usage) => () => usage.during(inner), work)();
}
