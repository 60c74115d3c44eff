import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Then, When } from '@cucumber/cucumber';
import { randomBytes } from '../tamper.js';
import type { VramWorld } from '../world.js';
import { sealShard } from './sealing.js';

const MiB = 1024 * 1024;

/** Per scenario: the order operations finished in, and capacity answers seen under load. */
const finishedOrder = new WeakMap<VramWorld, string[]>();
const capacityAnswers = new WeakMap<
  VramWorld,
  { used: number; available: number; total: number }[]
>();

When(
  'shard {string} is verified, shard {string} is deallocated and shard {string} of {int} bytes is sealed, all at once',
  async function (this: VramWorld, verified: string, dropped: string, sealed: string, n: number) {
    const keep = this.sealed(verified);
    const drop = this.sealed(dropped);
    this.settled = await this.inCorrelation(() =>
      Promise.allSettled([
        this.vram.verifySealed(keep),
        this.vram.deallocate(drop),
        sealShard(this, sealed, randomBytes(n)),
      ]),
    );
  },
);

When(
  'shard {string} is verified {int} times while it is deallocated',
  async function (this: VramWorld, id: string, times: number) {
    const shard = this.sealed(id);
    const order: string[] = [];
    finishedOrder.set(this, order);
    this.settled = await this.inCorrelation(() => {
      const verifies = Array.from({ length: times }, () =>
        this.vram.verifySealed(shard).finally(() => order.push('verify')),
      );
      // Started after the verifications: it must wait until none of them reads the shard.
      const free = this.vram.deallocate(shard).finally(() => order.push('deallocate'));
      return Promise.allSettled([...verifies, free]);
    });
  },
);

Then(
  'the {int} verifications pass and the shard is freed afterwards',
  function (this: VramWorld, times: number) {
    const settled = this.lastSettled();
    const rejected = settled.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(rejected.length, 0, `failed: ${rejected.map((r) => String(r.reason)).join('; ')}`);
    const order = this.need(finishedOrder.get(this), 'finish order');
    assert.equal(order.filter((o) => o === 'verify').length, times);
    assert.equal(order.at(-1), 'deallocate', `finish order: ${order.join(', ')}`);
  },
);

When(
  '{int} seals of {int} MiB run while capacity is queried {int} times',
  async function (this: VramWorld, seals: number, mib: number, queries: number) {
    const answers: { used: number; available: number; total: number }[] = [];
    capacityAnswers.set(this, answers);
    await this.inCorrelation(async () => {
      const sealing = Promise.all(
        Array.from({ length: seals }, (_, i) =>
          sealShard(this, `loaded-${i + 1}`, randomBytes(mib * MiB)),
        ),
      );
      for (let i = 0; i < queries; i++) {
        const m = this.vram;
        answers.push({ used: m.usedVram(), available: m.availableVram(), total: m.totalVram() });
        await nextTurn();
      }
      await sealing;
    });
  },
);

Then(
  'every capacity answer had used plus available equal to the total',
  function (this: VramWorld) {
    const answers = this.need(capacityAnswers.get(this), 'capacity answers');
    assert.ok(answers.length > 0, 'no capacity answers were taken');
    const wrong = answers.filter((a) => a.used + a.available !== a.total);
    assert.equal(wrong.length, 0, `first inconsistent answer: ${JSON.stringify(wrong[0])}`);
    assert.ok(
      answers.some((a) => a.used > 0 && a.available > 0),
      'no answer was taken while seals were in progress',
    );
  },
);
