import type { Backend, TreeDigestRequest } from '@vramseal/cuda-ffi';
import { type SealedShard, VramError } from '@vramseal/vram-manager';
import { describe, expect, it } from 'vitest';
import { faultyBackend } from './fake-gpu.js';
import { type Harness, harness, MiB, randomShard, settleAudit, testBackend } from './helpers.js';

/**
 * verifyShardSet measures the whole set with one batched digest (cuda-ffi's treeDigestMany: on a
 * GPU one launch per step for every shard), and judges every shard on its own.
 */
let h: Harness | undefined;

/** The backend, with every treeDigestMany call's requests recorded. */
function recording(inner: Backend): { backend: Backend; batches: TreeDigestRequest[][] } {
  const batches: TreeDigestRequest[][] = [];
  const backend = new Proxy(inner, {
    get(target, property) {
      if (property === 'treeDigestMany') {
        return (items: readonly TreeDigestRequest[]) => {
          batches.push([...items]);
          return target.treeDigestMany(items);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { backend, batches };
}

async function sealSet(sizes: number[]): Promise<SealedShard[]> {
  return Promise.all(
    sizes.map((bytes, shardIndex) =>
      h!.manager.sealModel(randomShard(bytes), {
        shardId: `set-${shardIndex}`,
        modelRef: 'org/model@1',
        shardIndex,
        totalShards: sizes.length,
      }),
    ),
  );
}

describe('verifyShardSet: one batched digest for the whole set', () => {
  it('asks the backend for every tree root in one treeDigestMany call, with each seal’s leaf size', async () => {
    const { backend, batches } = recording(testBackend());
    h = await harness({ backend, leafSize: 4096 });
    const shards = await sealSet([MiB, 3 * MiB + 7, 1, 2 * MiB]);
    batches.length = 0;
    await h.manager.verifyShardSet(shards);
    await h.manager.verifyShardSet([shards[3]!, shards[1]!, shards[0]!, shards[2]!], {
      deep: true,
    });
    expect(batches.map((batch) => batch.length)).toEqual([4, 4]);
    expect(batches[0]!.map((item) => item.leafSize)).toEqual([4096, 4096, 4096, 4096]);
    expect(batches[0]!.map((item) => item.allocation.bytes)).toEqual([
      MiB,
      3 * MiB + 7,
      1,
      2 * MiB,
    ]);
    await settleAudit(h);
    expect(h.auditEvents().filter((e) => e.type === 'seal_verified')).toHaveLength(8);
    await h.close();
  });

  it('a batch the device fails fails every shard of the set (tree_root), and the manager stops', async () => {
    const { backend, faults } = faultyBackend();
    h = await harness({ backend });
    const shards = await sealSet([MiB, MiB, MiB]);
    faults.digest = true;
    const error = await h.manager.verifyShardSet(shards).catch((e) => e);
    expect(error).toBeInstanceOf(VramError);
    expect(error).toMatchObject({
      code: 'SEAL_VERIFICATION_FAILED',
      check: 'tree_root',
      shardId: 'set-0',
    });
    expect(error.message).toMatch(/could not be recomputed/);
    await settleAudit(h);
    expect(
      h
        .auditEvents()
        .filter((e) => e.type === 'seal_verification_failed')
        .map((e) => e.shardId)
        .sort(),
    ).toEqual(['set-0', 'set-1', 'set-2']);
    expect(h.manager.state).toBe('stopped');
    await h.close();
  });

  it('a forged shard fails its signature and is left out of the batch; the others are measured', async () => {
    const { backend, batches } = recording(testBackend());
    h = await harness({ backend });
    const shards = await sealSet([MiB, MiB, MiB]);
    batches.length = 0;
    const forged = { ...shards[1]!.toJSON(), vramBytes: MiB - 1 } as unknown as SealedShard;
    const error = await h.manager!.verifyShardSet([shards[0]!, forged, shards[2]!]).catch((e) => e);
    expect(error).toMatchObject({ code: 'SEAL_VERIFICATION_FAILED', check: 'signature' });
    expect(batches.map((batch) => batch.length)).toEqual([2]);
    await h.close();
  });

  it('a deallocation started while the set is verified waits for the batch; the set passes', async () => {
    h = await harness();
    const shards = await sealSet([4 * MiB, 4 * MiB]);
    const verifying = h.manager.verifyShardSet(shards);
    const deallocating = h.manager.deallocate(shards[1]!);
    await verifying;
    await deallocating;
    expect(h.manager.shards().map((s) => s.shardId)).toEqual(['set-0']);
    expect(h.manager.state).toBe('ready');
    await h.close();
  });
});
