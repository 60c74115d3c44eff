import fs from 'node:fs';
import path from 'node:path';
import { sha256Hex, treeDigestSync } from '@vramseal/seal-crypto';
import { type SealedShard, sealFieldsOf, VramError, VramManager } from '@vramseal/vram-manager';
import { describe, expect, it } from 'vitest';
import {
  chunked,
  expectCleanObservability,
  type Harness,
  harness,
  MiB,
  narrationOf,
  randomShard,
  settleAudit,
  TOKEN,
  tmpDir,
} from './helpers.js';

let h: Harness | undefined;
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function expectSealOf(shard: SealedShard, data: Uint8Array, leafSize = 65536): void {
  expect(shard.vramBytes).toBe(data.length);
  expect(shard.digest).toBe(sha256Hex(data));
  expect(shard.treeRoot).toBe(hex(treeDigestSync(data, { leafSize }).root));
  expect(shard.leafSize).toBe(leafSize);
}

describe('sealModel from memory', () => {
  it('seals: digest is the flat SHA-256, treeRoot the sha256-tree-v1 root, fields as given', async () => {
    h = await harness();
    const data = randomShard(3 * MiB + 17);
    const before = Date.now();
    const shard = await h.manager.sealModel(data, {
      shardId: 'llama-3-8b_shard-0',
      modelRef: 'meta-llama/Meta-Llama-3-8B@main',
      shardIndex: 1,
      totalShards: 4,
      device: 0,
    });
    expectSealOf(shard, data);
    expect(shard.shardId).toBe('llama-3-8b_shard-0');
    expect(shard.modelRef).toBe('meta-llama/Meta-Llama-3-8B@main');
    expect([shard.shardIndex, shard.totalShards, shard.gpuDevice]).toEqual([1, 4, 0]);
    expect(shard.sealedAt).toBeGreaterThanOrEqual(before);
    expect(shard.keyId).toBe(h.manager.keyId);
    expect(h.manager.shards()).toEqual([shard]);
    await h.manager.verifySealed(shard);
    await expectCleanObservability(h);
  });

  // Sizes around the 4 MiB segment boundary: the segment roots must combine into the same root.
  it.each([1, 64, 65_536, 65_537, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 8 * MiB, 12 * MiB + 4096])(
    'the tree root of %i bytes equals seal-crypto treeDigestSync',
    async (bytes) => {
      h = await harness();
      const data = randomShard(bytes);
      expectSealOf(await h.manager.sealModel(data), data);
    },
  );

  it.each([64, 4096, 1 << 20, 8 << 20])(
    'honours leafSize %i (segments of max(leaf, 4 MiB))',
    async (leafSize) => {
      h = await harness({ leafSize });
      const data = randomShard(9 * MiB + 333);
      expectSealOf(await h.manager.sealModel(data), data, leafSize);
    },
  );

  it('seals bytes in a SharedArrayBuffer (at a byte offset, and as a stream of views) to the same seal', async () => {
    h = await harness();
    const data = randomShard(13 * MiB + 7);
    const shared = new Uint8Array(new SharedArrayBuffer(data.length + 10), 5, data.length);
    shared.set(data);
    const shard = await h.manager.sealModel(shared);
    expectSealOf(shard, data);
    await h.manager.verifySealed(shard, { deep: true });
    // A stream of views into shared memory, of odd sizes, not on segment boundaries.
    async function* views() {
      for (let offset = 0; offset < shared.length; offset += 3 * MiB + 1) {
        yield shared.subarray(offset, offset + 3 * MiB + 1);
      }
    }
    const streamed = await h.manager.sealModel(views(), { byteLength: data.length });
    expectSealOf(streamed, data);
  });

  it('gives an opaque, unique id when none is asked for', async () => {
    h = await harness();
    const a = await h.manager.sealModel(randomShard(100));
    const b = await h.manager.sealModel(randomShard(100));
    expect(a.shardId).toMatch(/^shard-[0-9a-f-]{36}$/);
    expect(a.shardId).not.toBe(b.shardId);
  });

  it('reports progress in order up to the total; a throwing callback does not fail the seal', async () => {
    h = await harness();
    const seen: number[] = [];
    const data = randomShard(10 * MiB);
    await h.manager.sealModel(data, { onProgress: (p) => seen.push(p.bytesDone) });
    expect(seen.at(-1)).toBe(data.length);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    let calls = 0;
    const shard = await h.manager.sealModel(data, {
      onProgress: () => {
        calls += 1;
        throw new Error('progress bar broke');
      },
    });
    expect(calls).toBe(1);
    await h.manager.verifySealed(shard);
    expect(narrationOf(h, 'seal').some((e) => e.error_kind === 'ON_PROGRESS_THREW')).toBe(true);
  });
});

describe('sealModel from a stream', () => {
  it('seals odd chunk sizes across segment boundaries', async () => {
    h = await harness();
    const data = randomShard(9 * MiB + 5);
    const shard = await h.manager.sealModel(chunked(data, [1, 4 * MiB + 3, 65_535, 7 * MiB]), {
      byteLength: data.length,
    });
    expectSealOf(shard, data);
  });

  it('needs byteLength, refuses a stream that is longer or shorter, or yields non-bytes', async () => {
    h = await harness();
    // What this machine's device has free before the test (a GPU's own context holds some).
    const before = h.manager.availableVram();
    const data = randomShard(1000);
    await expect(h.manager.sealModel(chunked(data, [100]))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      argument: 'options.byteLength',
    });
    await expect(
      h.manager.sealModel(chunked(data, [100]), { byteLength: 999 }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/more than options.byteLength/),
    });
    await expect(
      h.manager.sealModel(chunked(data, [100]), { byteLength: 1001 }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/ended after 1000 of the 1001/),
    });
    async function* strings() {
      yield 'not bytes' as unknown as Uint8Array;
    }
    await expect(h.manager.sealModel(strings(), { byteLength: 9 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect(h.manager.usedVram()).toBe(0);
    expect(h.manager.availableVram()).toBe(before);
  });

  it('a stream that throws frees the memory and rejects with the cause', async () => {
    h = await harness();
    // What this machine's device has free before the test (a GPU's own context holds some).
    const before = h.manager.availableVram();
    async function* broken() {
      yield new Uint8Array(5 * MiB);
      throw new Error('connection reset by the model registry');
    }
    const error = await h.manager.sealModel(broken(), { byteLength: 10 * MiB }).catch((e) => e);
    expect(error).toBeInstanceOf(VramError);
    expect(error.message).toMatch(/connection reset/);
    expect(h.manager.usedVram()).toBe(0);
    expect(h.manager.availableVram()).toBe(before);
    await settleAudit(h);
    const types = h.auditEvents().map((e) => e.type);
    expect(types).toEqual(['vram_allocated', 'vram_deallocated']);
  });
});

describe('sealModel from a hand-written stream', () => {
  // An async iterator written by hand, not a generator: what return() gives is up to its author.
  function handWritten(chunks: Uint8Array[], onReturn: () => unknown): AsyncIterable<Uint8Array> {
    return {
      [Symbol.asyncIterator]: () => {
        let i = 0;
        return {
          next: async () =>
            i < chunks.length
              ? { done: false, value: chunks[i++]! }
              : { done: true, value: undefined },
          return: onReturn as () => Promise<IteratorResult<Uint8Array>>,
        };
      },
    };
  }

  it("reports why the seal failed, whatever the stream's return() does when it is closed", async () => {
    h = await harness();
    const before = h.manager.availableVram();
    const data = randomShard(1000);
    const returns: [string, () => unknown][] = [
      ['a plain object, not a promise', () => ({ done: true, value: undefined })],
      [
        'a synchronous throw',
        () => {
          throw new Error('return() exploded');
        },
      ],
      ['a rejected promise', () => Promise.reject(new Error('return() rejected'))],
    ];
    for (const [what, onReturn] of returns) {
      let told = 0;
      const counted = () => {
        told += 1;
        return onReturn();
      };
      const error = await h.manager
        .sealModel(handWritten([data], counted), { byteLength: 1001 })
        .catch((e) => e);
      expect(told, `${what}: the stream is told to stop once`).toBe(1);
      expect(error, what).toBeInstanceOf(VramError);
      expect(error, what).toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(/ended after 1000 of the 1001/),
      });
    }
    expect(h.manager.usedVram()).toBe(0);
    expect(h.manager.availableVram()).toBe(before);
  });
});

describe('sealModel from a file path', () => {
  it('seals a file, and refuses a missing file, a directory and a byteLength that disagrees', async () => {
    h = await harness();
    const dir = tmpDir();
    const file = path.join(dir, 'model-00001-of-00002.safetensors');
    const data = randomShard(5 * MiB + 99);
    fs.writeFileSync(file, data);
    expectSealOf(await h.manager.sealModel(file, { expectedSha256: sha256Hex(data) }), data);
    await expect(h.manager.sealModel(path.join(dir, 'missing.bin'))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/ENOENT/),
    });
    await expect(h.manager.sealModel(dir)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/not a regular file/),
    });
    await expect(h.manager.sealModel(file, { byteLength: 12 })).rejects.toMatchObject({
      argument: 'options.byteLength',
    });
    fs.writeFileSync(path.join(dir, 'empty.bin'), '');
    await expect(h.manager.sealModel(path.join(dir, 'empty.bin'))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/at least one byte/),
    });
  });
});

describe('expectedSha256', () => {
  it('a match seals (either hex case)', async () => {
    h = await harness();
    const data = randomShard(2 * MiB);
    const shard = await h.manager.sealModel(data, {
      expectedSha256: sha256Hex(data).toUpperCase(),
    });
    expect(shard.digest).toBe(sha256Hex(data));
  });

  it('a mismatch rejects before a seal exists, frees the memory, is audited and narrated', async () => {
    h = await harness();
    // What this machine's device has free before the test (a GPU's own context holds some).
    const before = h.manager.availableVram();
    const data = randomShard(2 * MiB);
    const wrong = sha256Hex(randomShard(8));
    const error = await h.manager
      .sealModel(data, { shardId: 'tampered-download', expectedSha256: wrong })
      .catch((e) => e);
    expect(error).toMatchObject({ code: 'INTEGRITY_VIOLATION', shardId: 'tampered-download' });
    expect(error.message).toContain(wrong);
    expect(h.manager.shards()).toEqual([]);
    expect(h.manager.usedVram()).toBe(0);
    expect(h.manager.availableVram()).toBe(before);
    // Critical: durable before the rejection reached us.
    const violation = h.auditEvents().find((e) => e.type === 'integrity_violation');
    expect(violation).toMatchObject({
      shardId: 'tampered-download',
      expectedDigest: wrong,
      actualDigest: sha256Hex(data),
      workerId: 'worker-test',
    });
    expect(
      narrationOf(h, 'seal').some(
        (e) => e.level === 'error' && e.error_kind === 'INTEGRITY_VIOLATION',
      ),
    ).toBe(true);
    expect(h.manager.state).toBe('ready');
    await expectCleanObservability(h);
  });

  it('a malformed expectedSha256 is INVALID_INPUT and allocates nothing', async () => {
    h = await harness();
    await expect(
      h.manager.sealModel(randomShard(10), { expectedSha256: 'abc' }),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      argument: 'options.expectedSha256',
    });
    await settleAudit(h);
    expect(h.auditEvents()).toEqual([]);
  });
});

describe('abort', () => {
  it('aborting mid-seal frees everything and rejects with ABORTED', async () => {
    h = await harness();
    // What this machine's device has free before the test (a GPU's own context holds some).
    const before = h.manager.availableVram();
    const beforeFree = h.backend.memInfo(0).freeBytes;
    const controller = new AbortController();
    const data = randomShard(64 * MiB);
    const pending = h.manager.sealModel(data, {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.bytesDone >= 8 * MiB) controller.abort(new Error('loader shutting down'));
      },
    });
    const error = await pending.catch((e) => e);
    expect(error).toMatchObject({ code: 'ABORTED', retriable: true });
    expect(error.cause).toMatchObject({ message: 'loader shutting down' });
    expect(h.manager.shards()).toEqual([]);
    expect(h.manager.usedVram()).toBe(0);
    expect(h.manager.availableVram()).toBe(before);
    expect(h.backend.memInfo(0).freeBytes).toBe(beforeFree);
    await expectCleanObservability(h);
  });

  it('an already-aborted signal allocates nothing', async () => {
    h = await harness();
    const error = await h.manager
      .sealModel(randomShard(10), { signal: AbortSignal.abort() })
      .catch((e) => e);
    expect(error).toMatchObject({ code: 'ABORTED' });
    await settleAudit(h);
    expect(h.auditEvents()).toEqual([]);
  });
});

describe('sealFieldsOf', () => {
  it('reads the signed fields from a shard or its JSON copy, and refuses what no seal can hold', async () => {
    h = await harness();
    const data = randomShard(100_000);
    const shard = await h.manager.sealModel(data, { shardId: 'fields', modelRef: 'org/m@v1' });
    const fields = sealFieldsOf(shard);
    expect(fields).toMatchObject({
      keyId: shard.keyId,
      shardId: 'fields',
      device: shard.gpuDevice,
      byteLength: 100_000,
      leafSize: shard.leafSize,
      sealedAt: shard.sealedAt,
      modelRef: 'org/m@v1',
      shardIndex: 0,
      totalShards: 1,
    });
    expect(hex(fields!.digest)).toBe(sha256Hex(data));
    expect(hex(fields!.treeRoot)).toBe(shard.treeRoot);
    expect(sealFieldsOf(JSON.parse(JSON.stringify(shard)))).toEqual(fields);
    for (const broken of [
      { ...shard.toJSON(), digest: 'AB'.repeat(32) },
      { ...shard.toJSON(), treeRoot: 'ab'.repeat(31) },
      { ...shard.toJSON(), vramBytes: -1 },
      { ...shard.toJSON(), shardIndex: 1.5 },
      { ...shard.toJSON(), keyId: undefined },
    ]) {
      expect(sealFieldsOf(broken)).toBeUndefined();
    }
    await expectCleanObservability(h);
  });
});

describe('input validation', () => {
  // Built at run time so no credential-shaped literal sits in the source.
  const githubToken = `ghp_${'a1B2c3D4e5F6g7H8i9J0'.repeat(2).slice(0, 36)}`;
  const urlWithPassword = `https://alice:${'s3cr3t'}-pass-9@hub.example/org/model`;

  it.each([
    ['options.modelRef', { modelRef: urlWithPassword }, 's3cr3t-pass-9'],
    ['options.modelRef', { modelRef: `org/model@main?token=${githubToken}` }, githubToken],
    ['options.shardId', { shardId: githubToken }, githubToken],
  ])('refuses a credential in %s, never repeating it', async (argument, options, secret) => {
    h = await harness();
    const error = await h.manager.sealModel(randomShard(10), options).catch((e) => e);
    expect(error).toMatchObject({ code: 'INVALID_INPUT', argument });
    expect(error.message).toMatch(/looks like it holds a credential/);
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(secret);
    await settleAudit(h);
    const written = `${JSON.stringify(h.auditEvents())}${JSON.stringify(h.narration)}`;
    expect(written).not.toContain(secret);
    expect(h.manager.usedVram()).toBe(0);
    await expectCleanObservability(h);
  });

  it('refuses a worker id that looks like a credential, naming the option only', async () => {
    const error = await VramManager.create({
      backend: 'mock',
      workerToken: TOKEN,
      workerId: githubToken,
    }).catch((e) => e);
    expect(error).toMatchObject({ code: 'CONFIG_ERROR' });
    expect(error.message).toMatch(/workerId looks like a credential/);
    expect(error.message).not.toContain(githubToken);
  });

  it.each([
    ['../../etc/passwd', true],
    ['shard/0', true],
    ['..', true],
    ['a\\b', true],
    ['shard\u0000id', true],
    ['shard\nid', false],
    ['shard id', false],
    ['shärd', false],
    ['', false],
    ['x'.repeat(257), false],
    ['\u202Eevil', false],
  ])('refuses shard id %j (audited as path traversal: %s)', async (shardId, traversal) => {
    h = await harness();
    const error = await h.manager.sealModel(randomShard(10), { shardId }).catch((e) => e);
    expect(error).toMatchObject({
      code: 'INVALID_INPUT',
      argument: 'options.shardId',
      retriable: false,
    });
    expect(error.message).not.toContain(shardId.length > 0 ? shardId : '\u0000never');
    const audited = h.auditEvents().filter((e) => e.type === 'path_traversal_attempt');
    expect(audited.length).toBe(traversal ? 1 : 0);
    if (traversal)
      expect(audited[0]).toMatchObject({ actor: 'vram-manager', workerId: 'worker-test' });
    expect(narrationOf(h, 'validate_failed').length).toBeGreaterThan(0);
    expect(h.manager.usedVram()).toBe(0);
    await expectCleanObservability(h);
  });

  it('accepts a 256-character id, and narrates it validly (sentences shortened, full id in shard_id)', async () => {
    h = await harness();
    const shardId = `${'a'.repeat(200)}-${'Z'.repeat(55)}`;
    const shard = await h.manager.sealModel(randomShard(100), { shardId });
    await h.manager.verifySealed(shard);
    const events = h.narration.filter((e) => e.shard_id === shardId);
    expect(events.length).toBeGreaterThanOrEqual(3);
    for (const e of events) expect([...e.human].length).toBeLessThanOrEqual(100);
    await expectCleanObservability(h);
  });

  it('refuses a shard id already in use, including one being sealed right now', async () => {
    h = await harness();
    const first = h.manager.sealModel(randomShard(8 * MiB), { shardId: 'dup' });
    await expect(h.manager.sealModel(randomShard(10), { shardId: 'dup' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/already in use/),
    });
    const shard = await first;
    await expect(h.manager.sealModel(randomShard(10), { shardId: 'dup' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await h.manager.deallocate(shard);
    await h.manager.sealModel(randomShard(10), { shardId: 'dup' });
  });

  it.each([
    [{ modelRef: 'a\u0007b' }, 'options.modelRef'],
    [{ modelRef: 'x'.repeat(1025) }, 'options.modelRef'],
    [{ modelRef: 42 }, 'options.modelRef'],
    [{ shardIndex: 4, totalShards: 4 }, 'options.shardIndex'],
    [{ shardIndex: -1 }, 'options.shardIndex'],
    [{ totalShards: 0 }, 'options.totalShards'],
    [{ totalShards: 1.5 }, 'options.totalShards'],
    [{ device: 7 }, 'options.device'],
    [{ device: '0' }, 'options.device'],
    [{ onProgress: 'yes' }, 'options.onProgress'],
    [{ signal: {} }, 'options.signal'],
  ])('refuses %j naming %s', async (options, argument) => {
    h = await harness();
    await expect(h.manager.sealModel(randomShard(10), options as never)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      argument,
    });
  });

  it('accepts model refs with a sha256: prefix and unicode names', async () => {
    h = await harness();
    for (const modelRef of [
      `sha256:${'ab'.repeat(32)}`,
      'org/モデル@v1',
      'hf:meta-llama/Llama-3-8B@0x1234abcd5678',
    ]) {
      const shard = await h.manager.sealModel(randomShard(10), { modelRef });
      expect(shard.modelRef).toBe(modelRef);
    }
    await expectCleanObservability(h);
  });

  it('refuses sources that are not bytes, paths or streams, and shards over policy.maxShardBytes', async () => {
    h = await harness({ policy: { maxShardBytes: 1000 } });
    await expect(h.manager.sealModel(42 as never)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      argument: 'source',
    });
    await expect(h.manager.sealModel(randomShard(1001))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/policy.maxShardBytes/),
    });
    await expect(h.manager.sealModel(new Uint8Array(0))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    await h.manager.sealModel(randomShard(1000));
  });
});

describe('calling conventions', () => {
  it('reset, deallocate and enforceVramOnlyPolicy reject, never throw, even when called without their manager', async () => {
    h = await harness();
    const m = h.manager;
    const unbound = [
      ['reset', m.reset],
      ['deallocate', m.deallocate],
      ['enforceVramOnlyPolicy', m.enforceVramOnlyPolicy],
    ] as const;
    for (const [name, method] of unbound) {
      let result: unknown;
      expect(() => {
        result = (method as (...args: unknown[]) => unknown)(undefined);
      }, name).not.toThrow();
      expect(result, name).toBeInstanceOf(Promise);
      await expect(result, name).rejects.toBeInstanceOf(TypeError);
    }
  });

  it('a seal awaited only after other awaits never surfaces as an unhandled rejection', async () => {
    h = await harness();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const late = h.manager.sealModel(new Uint8Array(0));
      // Other work first: the seal rejects (an empty shard) while nobody awaits it yet.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await expect(late).rejects.toMatchObject({ code: 'INVALID_INPUT' });
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
