import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DataTable, When } from '@cucumber/cucumber';
import { sha256Hex } from '@vramseal/seal-crypto';
import type { SealedShard, SealOptions } from '@vramseal/vram-manager';
import { randomBytes } from '../tamper.js';
import type { VramWorld } from '../world.js';
import { decodeEscapes, parseBytes } from './manager-setup.js';

const MiB = 1024 * 1024;

/** Seals `bytes` as `shardId` (random bytes of the given size by default) and keeps the shard. */
export async function sealShard(
  world: VramWorld,
  shardId: string,
  bytes: Uint8Array,
  options: Omit<SealOptions, 'shardId'> = {},
): Promise<SealedShard> {
  const shard = await world.inCorrelation(() =>
    world.vram.sealModel(bytes, { shardId, ...options }),
  );
  world.shards.set(shardId, shard);
  world.shardBytes.set(shardId, bytes);
  return shard;
}

/** Attempts a seal; on success the shard is kept like any other. */
async function attemptSeal(
  world: VramWorld,
  shardId: string,
  source: Uint8Array | string,
  options: Omit<SealOptions, 'shardId'> = {},
): Promise<void> {
  const outcome = await world.attempt(() => world.vram.sealModel(source, { shardId, ...options }));
  if (outcome.ok) {
    world.shards.set(shardId, outcome.value as SealedShard);
    if (typeof source !== 'string') world.shardBytes.set(shardId, source);
  }
}

When(
  'shard {string} of {int} bytes is sealed',
  async function (this: VramWorld, id: string, n: number) {
    await sealShard(this, id, randomBytes(n));
  },
);

When(
  'shard {string} of {int} MiB is sealed',
  async function (this: VramWorld, id: string, mib: number) {
    await sealShard(this, id, randomBytes(mib * MiB));
  },
);

When(
  'shard {string} of {int} bytes is sealed on device {int}',
  async function (this: VramWorld, id: string, n: number, device: number) {
    await sealShard(this, id, randomBytes(n), { device });
  },
);

When(
  'shard {string} of {int} MiB is sealed on device {int}',
  async function (this: VramWorld, id: string, mib: number, device: number) {
    await sealShard(this, id, randomBytes(mib * MiB), { device });
  },
);

When(
  'shard {string} of {int} bytes is sealed as part {int} of {int} of model {string}',
  async function (
    this: VramWorld,
    id: string,
    n: number,
    index: number,
    total: number,
    model: string,
  ) {
    await sealShard(this, id, randomBytes(n), {
      modelRef: model,
      shardIndex: index,
      totalShards: total,
    });
  },
);

When(
  'shard {string} is sealed from a file of {int} bytes',
  async function (this: VramWorld, id: string, n: number) {
    const bytes = randomBytes(n);
    const file = join(this.tempDir(), `${id}.safetensors`);
    writeFileSync(file, bytes);
    const shard = await this.inCorrelation(() => this.vram.sealModel(file, { shardId: id }));
    this.shards.set(id, shard);
    this.shardBytes.set(id, bytes);
  },
);

When(
  'sealing shard {string} from the missing file {string} is attempted',
  async function (this: VramWorld, id: string, name: string) {
    await attemptSeal(this, id, join(this.tempDir(), name));
  },
);

When(
  'sealing shard {string} of {int} bytes is attempted',
  async function (this: VramWorld, id: string, n: number) {
    await attemptSeal(this, id, randomBytes(n));
  },
);

When(
  'sealing shard {string} of {int} MiB is attempted',
  async function (this: VramWorld, id: string, mib: number) {
    await attemptSeal(this, id, randomBytes(mib * MiB));
  },
);

When(
  'sealing shard {string} of {int} bytes on device {int} is attempted',
  async function (this: VramWorld, id: string, n: number, device: number) {
    await attemptSeal(this, id, randomBytes(n), { device });
  },
);

When(
  'sealing {int} bytes is attempted with the shard id {string}',
  async function (this: VramWorld, n: number, rawId: string) {
    await attemptSeal(this, decodeEscapes(rawId), randomBytes(n));
  },
);

When(
  'sealing {int} bytes is attempted with the model ref {string}',
  async function (this: VramWorld, n: number, rawRef: string) {
    await attemptSeal(this, 'shard-with-model-ref', randomBytes(n), {
      modelRef: decodeEscapes(rawRef),
    });
  },
);

When(
  'sealing shard {string} of {int} bytes is attempted with the SHA-256 of other bytes',
  async function (this: VramWorld, id: string, n: number) {
    await attemptSeal(this, id, randomBytes(n), { expectedSha256: sha256Hex(randomBytes(n)) });
  },
);

When(
  'shard {string} of {int} bytes is sealed with its published SHA-256',
  async function (this: VramWorld, id: string, n: number) {
    const bytes = randomBytes(n);
    await sealShard(this, id, bytes, { expectedSha256: sha256Hex(bytes) });
  },
);

When(
  'sealing shard {string} of {int} MiB is aborted after {int} chunk(s)',
  async function (this: VramWorld, id: string, mib: number, chunks: number) {
    const controller = new AbortController();
    let seen = 0;
    await attemptSeal(this, id, randomBytes(mib * MiB), {
      signal: controller.signal,
      onProgress: () => {
        seen += 1;
        if (seen === chunks) controller.abort();
      },
    });
    assert.ok(seen >= chunks, `the seal reported ${seen} chunks, fewer than ${chunks}`);
  },
);

When(
  '{int} shards of {int} bytes are sealed concurrently',
  async function (this: VramWorld, count: number, n: number) {
    const ids = Array.from({ length: count }, (_, i) => `shard-${i + 1}`);
    await Promise.all(ids.map((id) => sealShard(this, id, randomBytes(n))));
  },
);

When('these shards are sealed concurrently:', async function (this: VramWorld, table: DataTable) {
  await Promise.all(
    table.hashes().map((row) => {
      const { shard, size, device } = row as { shard: string; size: string; device?: string };
      const options = device === undefined ? {} : { device: Number(device) };
      return sealShard(this, shard, randomBytes(parseBytes(size)), options);
    }),
  );
});

When(
  '{int} seals of {int} MiB are attempted concurrently',
  async function (this: VramWorld, count: number, mib: number) {
    const results = await Promise.allSettled(
      Array.from({ length: count }, (_, i) =>
        sealShard(this, `concurrent-${i + 1}`, randomBytes(mib * MiB)),
      ),
    );
    this.settled = results;
  },
);

When('shard {string} is deallocated', async function (this: VramWorld, id: string) {
  await this.inCorrelation(() => this.vram.deallocate(this.sealed(id)));
});

When('deallocating shard {string} is attempted', async function (this: VramWorld, id: string) {
  await this.attempt(() => this.vram.deallocate(this.sealed(id)));
});
