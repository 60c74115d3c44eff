import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import type { SealedShard } from '@vramseal/vram-manager';
import { smallestChange } from '../tamper.js';
import type { VramWorld } from '../world.js';

When('shard {string} is verified', async function (this: VramWorld, id: string) {
  const shard = this.sealed(id);
  await this.attempt(() => this.vram.verifySealed(shard));
});

When('shard {string} is verified deeply', async function (this: VramWorld, id: string) {
  const shard = this.sealed(id);
  await this.attempt(() => this.vram.verifySealed(shard, { deep: true }));
});

When(
  'shard {string} is verified {int} times one after another',
  async function (this: VramWorld, id: string, times: number) {
    const shard = this.sealed(id);
    for (let i = 0; i < times; i++) {
      const outcome = await this.attempt(() => this.vram.verifySealed(shard));
      if (!outcome.ok) return;
    }
  },
);

When('{int} milliseconds pass', async (ms: number) => {
  await new Promise((resolve) => setTimeout(resolve, ms));
});

Given('another VRAM manager on the same worker', async function (this: VramWorld) {
  await this.startOtherManager();
});

When(
  'shard {string} is verified by the other manager',
  async function (this: VramWorld, id: string) {
    const other = this.need(this.otherManager, 'second VRAM manager');
    const shard = this.sealed(id);
    await this.attempt(() => other.verifySealed(shard));
  },
);

Then('shard {string} verifies', async function (this: VramWorld, id: string) {
  const shard = this.sealed(id);
  await this.inCorrelation(() => this.vram.verifySealed(shard));
});

Then('shard {string} verifies deeply', async function (this: VramWorld, id: string) {
  const shard = this.sealed(id);
  await this.inCorrelation(() => this.vram.verifySealed(shard, { deep: true }));
});

When(
  'shard {string} is verified {int} times concurrently',
  async function (this: VramWorld, id: string, times: number) {
    const shard = this.sealed(id);
    this.settled = await this.inCorrelation(() =>
      Promise.allSettled(Array.from({ length: times }, () => this.vram.verifySealed(shard))),
    );
  },
);

When('every sealed shard is verified concurrently', async function (this: VramWorld) {
  const shards = [...this.shards.values()];
  this.settled = await this.inCorrelation(() =>
    Promise.allSettled(shards.map((shard) => this.vram.verifySealed(shard))),
  );
});

When('the shard set {string} is verified', async function (this: VramWorld, list: string) {
  const shards = list.split(',').map((id) => this.sealed(id.trim()));
  await this.attempt(() => this.vram.verifyShardSet(shards));
});

When(
  'byte {int} of shard {string} is flipped in device memory',
  function (this: VramWorld, offset: number, id: string) {
    this.inCorrelation(() => this.vram.injectFault(this.sealed(id), { offset, xorMask: 0x01 }));
  },
);

When(
  'byte {int} of shard {string} is XORed with {int} in device memory',
  function (this: VramWorld, offset: number, id: string, xorMask: number) {
    this.inCorrelation(() => this.vram.injectFault(this.sealed(id), { offset, xorMask }));
  },
);

When(
  'the seal field {string} of shard {string} is changed',
  function (this: VramWorld, field: string, id: string) {
    const shard = this.sealed(id) as unknown as Record<string, unknown>;
    assert.ok(Object.hasOwn(shard, field), `a sealed shard has no field "${field}"`);
    shard[field] = smallestChange(shard[field], field);
  },
);

When(
  'a copy of shard {string} that lost its signature is verified',
  async function (this: VramWorld, id: string) {
    const copy = JSON.parse(JSON.stringify(this.sealed(id))) as SealedShard;
    await this.attempt(() => this.vram.verifySealed(copy));
  },
);

Then('the verification passes', function (this: VramWorld) {
  const outcome = this.lastOutcome();
  if (!outcome.ok) throw new Error('the verification failed', { cause: outcome.error });
});

Then('the verification fails with check {string}', function (this: VramWorld, check: string) {
  const error = this.vramError();
  assert.equal(error.code, 'SEAL_VERIFICATION_FAILED', error.message);
  assert.equal(error.check, check, error.message);
});

Then('all {int} operations succeed', function (this: VramWorld, count: number) {
  const settled = this.lastSettled();
  assert.equal(settled.length, count);
  const failed = settled.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  assert.equal(failed.length, 0, `${failed.length} failed; first: ${String(failed[0]?.reason)}`);
});

Then(
  'exactly shard {string} failed verification with check {string}',
  function (this: VramWorld, id: string, check: string) {
    const settled = this.lastSettled();
    const shards = [...this.shards.keys()];
    const failed = settled
      .map((result, i) => ({ result, id: shards[i] }))
      .filter(({ result }) => result.status === 'rejected');
    // The first failure stops the manager: verifications still in flight may then be refused
    // with MANAGER_STOPPED, but only the victim may fail a check.
    const checkFailures = failed.filter(
      ({ result }) => (result as PromiseRejectedResult).reason?.code === 'SEAL_VERIFICATION_FAILED',
    );
    assert.deepEqual(
      checkFailures.map((f) => f.id),
      [id],
      'shards that failed a check',
    );
    assert.equal((checkFailures[0]!.result as PromiseRejectedResult).reason.check, check);
  },
);
