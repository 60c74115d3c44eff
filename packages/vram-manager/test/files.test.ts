import { createHash, randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { merkleRoot, sha256Hex, treeLeafHashes } from '@vramseal/seal-crypto';
import { type SealedShard, VramError } from '@vramseal/vram-manager';
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
  tmpDir,
} from './helpers.js';

let h: Harness | undefined;
const MODEL_REF = 'org/llama-tp4@rev-a';
const TOTAL = 4;

interface ModelFile {
  file: string;
  data: Uint8Array;
  shardId: string;
}

/** A tensor-parallel model of `TOTAL` weight files on disk, a few MiB each. */
function writeModel(dir: string): ModelFile[] {
  return Array.from({ length: TOTAL }, (_, i) => {
    const name = `model-${String(i + 1).padStart(5, '0')}-of-${String(TOTAL).padStart(5, '0')}`;
    const data = randomShard(3 * MiB + 4099 * (i + 1));
    const file = path.join(dir, `${name}.safetensors`);
    fs.writeFileSync(file, data);
    return { file, data, shardId: name };
  });
}

async function sealModelFiles(files: ModelFile[]): Promise<SealedShard[]> {
  return Promise.all(
    files.map((f, i) =>
      h!.manager.sealModel(f.file, {
        shardId: f.shardId,
        modelRef: MODEL_REF,
        shardIndex: i,
        totalShards: TOTAL,
      }),
    ),
  );
}

describe('a multi-file model sealed from paths as a tensor-parallel shard set', () => {
  it('seals every file (digest = the file SHA-256) and verifyShardSet passes in any order', async () => {
    h = await harness();
    const files = writeModel(tmpDir());
    const shards = await sealModelFiles(files);
    for (const [i, shard] of shards.entries()) {
      expect(shard).toMatchObject({
        shardId: files[i]!.shardId,
        modelRef: MODEL_REF,
        shardIndex: i,
        totalShards: TOTAL,
        vramBytes: files[i]!.data.length,
        digest: sha256Hex(fs.readFileSync(files[i]!.file)),
      });
    }
    await h.manager.verifyShardSet(shards);
    await h.manager.verifyShardSet([shards[2]!, shards[0]!, shards[3]!, shards[1]!]);
    await h.manager.verifyShardSet(shards, { deep: true });
    await settleAudit(h);
    const verified = h.auditEvents().filter((e) => e.type === 'seal_verified');
    expect(verified).toHaveLength(3 * TOTAL);
    expect(
      verified
        .filter((e) => e.deep === true)
        .map((e) => e.shardId)
        .sort(),
    ).toEqual(files.map((f) => f.shardId));
    const sealedEvents = h.auditEvents().filter((e) => e.type === 'vram_sealed');
    sealedEvents.sort((x, y) => (x.shardIndex as number) - (y.shardIndex as number));
    expect(sealedEvents).toMatchObject(
      files.map((f, i) => ({
        shardId: f.shardId,
        modelRef: MODEL_REF,
        shardIndex: i,
        totalShards: TOTAL,
      })),
    );
    expect(h.manager.state).toBe('ready');
    await expectCleanObservability(h);
  });

  it('a malformed set is INVALID_INPUT naming the set, and does not stop the manager', async () => {
    h = await harness();
    const files = writeModel(tmpDir());
    const shards = await sealModelFiles(files);
    const [s0, s1, s2, s3] = shards as [SealedShard, SealedShard, SealedShard, SealedShard];
    const seal = (
      i: number,
      shardId: string,
      options: { modelRef?: string; totalShards?: number; shardIndex?: number },
    ) =>
      h!.manager.sealModel(files[i]!.file, {
        shardId,
        modelRef: MODEL_REF,
        shardIndex: i,
        totalShards: TOTAL,
        ...options,
      });
    const secondIndex2 = await seal(2, 'replica-of-2', {});
    const otherModel = await seal(3, 'other-model-3', { modelRef: 'org/another-model@main' });
    const fiveWay = await seal(3, 'five-way-3', { totalShards: 5 });
    h.narration.length = 0;

    const cases: [string, unknown, RegExp][] = [
      ['a missing shard', [s0, s1, s3], /incomplete: 3 of 4 shards given, missing index 2/],
      ['a missing last shard', [s0, s1, s2], /missing index 3/],
      ['a duplicate index (another shard)', [s0, s1, s2, secondIndex2], /duplicates shard index 2/],
      ['the same shard twice', [s0, s1, s2, s3, s2], /duplicates shard index 2/],
      ['mixed model refs', [s0, s1, s2, otherModel], /mixes model refs/],
      ['mixed totalShards', [s0, s1, s2, fiveWay], /mixes totalShards/],
      ['an empty array', [], /non-empty array/],
      ['not an array', null, /non-empty array/],
    ];
    for (const [what, set, message] of cases) {
      const error = await h.manager.verifyShardSet(set as SealedShard[]).catch((e) => e);
      expect(error, what).toBeInstanceOf(VramError);
      expect(error, what).toMatchObject({
        code: 'INVALID_INPUT',
        argument: 'shards',
        retriable: false,
      });
      expect(error.message, what).toMatch(message);
      expect(h.manager.state, what).toBe('ready');
    }
    expect(narrationOf(h, 'validate_failed')).toHaveLength(cases.length);
    expect(
      narrationOf(h, 'validate_failed').every(
        (e) => e.level === 'warn' && e.target === 'shard_set',
      ),
    ).toBe(true);
    await settleAudit(h);
    expect(h.auditEvents().filter((e) => e.type === 'seal_verification_failed')).toEqual([]);
    expect(h.auditEvents().filter((e) => e.type === 'seal_verified')).toEqual([]);
    // The set itself is fine.
    await h.manager.verifyShardSet(shards);
    await expectCleanObservability(h);
  });

  it('a tampered shard of the set: SEAL_VERIFICATION_FAILED naming exactly that shard; the manager stops', async () => {
    h = await harness();
    const files = writeModel(tmpDir());
    const shards = await sealModelFiles(files);
    const victim = shards[2]!;
    h.manager.injectFault(victim, { offset: MiB + 5, xorMask: 0x80 });
    const error = await h.manager.verifyShardSet(shards).catch((e) => e);
    const failed = h.auditEvents().filter((e) => e.type === 'seal_verification_failed');
    expect(error).toBeInstanceOf(VramError);
    expect(error).toMatchObject({
      code: 'SEAL_VERIFICATION_FAILED',
      check: 'tree_root',
      shardId: victim.shardId,
      device: victim.gpuDevice,
      fatal: true,
    });
    expect(error.message).toContain(victim.shardId);
    for (const other of shards)
      if (other !== victim) expect(error.message).not.toContain(other.shardId);
    expect(failed).toMatchObject([
      { shardId: victim.shardId, check: 'tree_root', expectedTreeRoot: victim.treeRoot },
    ]);
    expect(failed[0]!.actualTreeRoot).not.toBe(victim.treeRoot);
    expect(h.manager.state).toBe('stopped');
    expect(h.manager.stoppedBecause).toMatchObject({
      cause: 'seal_verification_failed',
      shardId: victim.shardId,
    });
    await expect(h.manager.verifyShardSet(shards)).rejects.toMatchObject({
      code: 'MANAGER_STOPPED',
    });
    await expect(h.manager.sealModel(files[0]!.file)).rejects.toMatchObject({
      code: 'MANAGER_STOPPED',
    });
  });
});

/** `gc()`: the global one when node runs with --expose-gc, otherwise enabled here. */
function getGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const jsMemory = () => {
  const usage = process.memoryUsage();
  return usage.arrayBuffers + usage.heapUsed;
};

describe('a 512 MiB weight file', () => {
  it('seals with JS-visible memory of a few chunks, and the seal equals digests computed by streaming the file', {
    timeout: 60_000,
  }, async () => {
    const size = 512 * MiB;
    const piece = 16 * MiB;
    const leafSize = 65_536;
    const file = path.join(tmpDir(), 'model-00001-of-00001.safetensors');
    {
      const buffer = Buffer.allocUnsafeSlow(piece);
      const fd = fs.openSync(file, 'w');
      try {
        for (let written = 0; written < size; written += piece) {
          randomFillSync(buffer);
          fs.writeSync(fd, buffer, 0, piece, written);
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    expect(fs.statSync(file).size).toBe(size);

    // Independent digests, streaming: flat SHA-256 and the sha256-tree-v1 leaves, 16 MiB at a time.
    const flat = createHash('sha256');
    const leaves: Uint8Array[] = [];
    let carry = Buffer.alloc(0);
    for await (const chunk of fs.createReadStream(file, { highWaterMark: piece })) {
      flat.update(chunk as Buffer);
      const joined =
        carry.length === 0 ? (chunk as Buffer) : Buffer.concat([carry, chunk as Buffer]);
      const whole = joined.length - (joined.length % leafSize);
      leaves.push(...treeLeafHashes(joined.subarray(0, whole), { leafSize }));
      carry = Buffer.from(joined.subarray(whole));
    }
    if (carry.length > 0) leaves.push(...treeLeafHashes(carry, { leafSize }));
    expect(leaves).toHaveLength(size / leafSize);
    const expectedDigest = flat.digest('hex');
    const expectedRoot = Buffer.from(merkleRoot(leaves)).toString('hex');
    leaves.length = 0;

    h = await harness({ backend: mockBackend([1024 * MiB]), narrationLevel: 'info' });
    const gc = getGc();
    gc();
    gc();
    const baseline = jsMemory();
    let peak = baseline;
    let reports = 0;
    const shard = await h.manager.sealModel(file, {
      shardId: 'big-file',
      expectedSha256: expectedDigest,
      onProgress: () => {
        reports += 1;
        peak = Math.max(peak, jsMemory());
      },
    });
    peak = Math.max(peak, jsMemory());
    expect(reports).toBeGreaterThanOrEqual(size / (4 * MiB));
    expect(
      peak - baseline,
      `JS memory grew by ${((peak - baseline) / MiB).toFixed(1)} MiB`,
    ).toBeLessThan(16 * MiB);

    expect(shard.vramBytes).toBe(size);
    expect(shard.digest).toBe(expectedDigest);
    expect(shard.treeRoot).toBe(expectedRoot);
    expect(h.manager.usedVram(0)).toBe(size);
    await h.manager.verifySealed(shard);
    await h.manager.verifySealed(shard, { deep: true });
    await h.manager.deallocate(shard);
    expect(h.backend.memInfo(0).freeBytes).toBe(1024 * MiB);
    await settleAudit(h);
    await expectCleanObservability(h);
  });
});
