import assert from 'node:assert/strict';
import { Then, When } from '@cucumber/cucumber';
import type { VramError } from '@vramseal/vram-manager';
import { randomBytes } from '../tamper.js';
import type { VramWorld } from '../world.js';
import { decodeEscapes } from './manager-setup.js';

const MiB = 1024 * 1024;

Then('the operation succeeds', function (this: VramWorld) {
  const outcome = this.lastOutcome();
  if (!outcome.ok)
    throw new Error(`the operation failed: ${String(outcome.error)}`, { cause: outcome.error });
});

Then('the operation fails with code {string}', function (this: VramWorld, code: string) {
  const error = this.vramError();
  assert.equal(error.code, code, `got ${error.code}: ${error.message}`);
});

Then('the error message includes {string}', function (this: VramWorld, text: string) {
  const error = this.vramError();
  assert.ok(
    error.message.includes(text),
    `the message does not include "${text}": ${error.message}`,
  );
});

Then('the error names the argument {string}', function (this: VramWorld, argument: string) {
  assert.equal(this.vramError().argument, argument);
});

Then(
  'the error reports {int} bytes needed and {int} bytes available',
  function (this: VramWorld, needed: number, available: number) {
    const error = this.vramError();
    assert.equal(error.neededBytes, needed);
    assert.equal(error.availableBytes, available);
    assert.ok(
      error.message.includes(String(needed)),
      `the message omits the bytes needed: ${error.message}`,
    );
  },
);

Then('the manager is {word}', function (this: VramWorld, state: string) {
  assert.equal(this.vram.state, state);
});

Then(
  'the manager stopped because of the {string} check on shard {string}',
  function (this: VramWorld, check: string, id: string) {
    const why = this.need(this.vram.stoppedBecause ?? undefined, 'stop reason');
    assert.equal(why.cause, 'seal_verification_failed');
    assert.equal(why.check, check);
    assert.equal(why.shardId, id);
  },
);

When(
  'operator {string} resets the manager because {string}',
  async function (this: VramWorld, operator: string, reason: string) {
    await this.inCorrelation(() => this.vram.reset({ operator, reason }));
  },
);

When(
  'operator {string} attempts to reset the manager because {string}',
  async function (this: VramWorld, operator: string, reason: string) {
    await this.attempt(() =>
      this.vram.reset({ operator: decodeEscapes(operator), reason: decodeEscapes(reason) }),
    );
  },
);

Then('a new seal is refused with code {string}', async function (this: VramWorld, code: string) {
  const outcome = await this.attempt(() => this.vram.sealModel(randomBytes(4096)));
  assert.equal(outcome.ok, false, 'the seal was accepted');
  assert.equal((this.vramError() as VramError).code, code);
});

Then('a new seal succeeds', async function (this: VramWorld) {
  const shard = await this.inCorrelation(() =>
    this.vram.sealModel(randomBytes(4096), { shardId: 'probe' }),
  );
  this.shards.set('probe', shard);
});

// Capacity

Then('the VRAM in use is {int} bytes', function (this: VramWorld, bytes: number) {
  assert.equal(
    this.inCorrelation(() => this.vram.usedVram()),
    bytes,
  );
});

Then(
  'the VRAM in use on device {int} is {int} bytes',
  function (this: VramWorld, device: number, bytes: number) {
    assert.equal(
      this.inCorrelation(() => this.vram.usedVram(device)),
      bytes,
    );
  },
);

Then('the available VRAM is {int} MiB', function (this: VramWorld, mib: number) {
  assert.equal(
    this.inCorrelation(() => this.vram.availableVram()),
    mib * MiB,
  );
});

Then('the available VRAM is {int} bytes', function (this: VramWorld, bytes: number) {
  assert.equal(
    this.inCorrelation(() => this.vram.availableVram()),
    bytes,
  );
});

Then(
  'the available VRAM on device {int} is {int} bytes',
  function (this: VramWorld, device: number, bytes: number) {
    assert.equal(
      this.inCorrelation(() => this.vram.availableVram(device)),
      bytes,
    );
  },
);

Then('the total VRAM is {int} MiB', function (this: VramWorld, mib: number) {
  assert.equal(
    this.inCorrelation(() => this.vram.totalVram()),
    mib * MiB,
  );
});

Then('used plus available VRAM equals the total', function (this: VramWorld) {
  const m = this.vram;
  this.inCorrelation(() => assert.equal(m.usedVram() + m.availableVram(), m.totalVram()));
});

Then('{int} shard(s) is/are resident', function (this: VramWorld, count: number) {
  assert.equal(this.vram.shards().length, count);
});

Then('shard {string} is resident', function (this: VramWorld, id: string) {
  assert.ok(
    this.vram.shards().some((s) => s.shardId === id),
    `${id} is not resident`,
  );
});

Then('shard {string} is not resident', function (this: VramWorld, id: string) {
  assert.ok(!this.vram.shards().some((s) => s.shardId === id), `${id} is still resident`);
});

Then(
  '{int} of the seals succeed and the rest fail with code {string}',
  function (this: VramWorld, ok: number, code: string) {
    const settled = this.lastSettled();
    const succeeded = settled.filter((r) => r.status === 'fulfilled').length;
    assert.equal(succeeded, ok, `${succeeded} seals succeeded`);
    for (const r of settled) {
      if (r.status === 'rejected')
        assert.equal((r.reason as VramError).code, code, String(r.reason));
    }
  },
);
