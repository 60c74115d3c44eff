import assert from 'node:assert/strict';
import { generateKeyPairSync, hkdfSync, randomBytes as nodeRandomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Given, Then, When } from '@cucumber/cucumber';
import { AuditLogger } from '@vramseal/audit-logging';
import { deriveKey, HKDF_SALT, KEY_DERIVATION_LABELS, loadKeyFile } from '@vramseal/seal-crypto';
import { VramManager } from '@vramseal/vram-manager';
import { scenarioBackend } from '../scenario/backend-choice.js';
import type { VramWorld } from '../world.js';
import { decodeEscapes } from './manager-setup.js';
import { stateOf } from './seal-field-state.js';

// Worker tokens and key files at their limits: weak, huge, malformed, exposed; another worker.

// Worker tokens

When(
  'a VRAM manager is created directly with the worker token {string}',
  async function (this: VramWorld, rawToken: string) {
    const workerToken = decodeEscapes(rawToken);
    const outcome = await this.attempt(() =>
      VramManager.create({
        backend: scenarioBackend(),
        workerToken,
        workerId: this.workerId,
        narrator: this.narration.narrator,
      }),
    );
    // Made after all: the scenario fails on its Then, and the After hook below closes it.
    if (outcome.ok) this.extraManagers.push(outcome.value as VramManager);
  },
);

Then('the error names the option {string}', function (this: VramWorld, option: string) {
  const error = this.vramError();
  assert.equal(error.option, option, error.message);
});

Then('the error does not echo the worker token {string}', function (this: VramWorld, raw: string) {
  const token = decodeEscapes(raw);
  assert.ok(token.length > 0, 'an empty token cannot be looked for');
  const error = this.vramError();
  for (const text of [error.message, JSON.stringify(error), inspect(error, { depth: 5 })]) {
    assert.ok(!text.includes(token), 'the error shows the worker token');
  }
});

Given(
  'a VRAM manager with a worker token of {int} random characters',
  async function (this: VramWorld, length: number) {
    const token = nodeRandomBytes(Math.ceil((length * 3) / 4) + 3)
      .toString('base64url')
      .slice(0, length);
    assert.equal(token.length, length);
    await this.startManager({ workerToken: token });
  },
);

Given(
  'a second VRAM manager, of worker {string} with the worker token {string}',
  async function (this: VramWorld, workerId: string, token: string) {
    const mine = stateOf(this);
    assert.equal(mine.secondManager, undefined, 'this scenario already has a second manager');
    mine.secondManager = await this.inCorrelation(() =>
      VramManager.create({
        backend: scenarioBackend(),
        workerToken: token,
        workerId,
        narrator: this.narration.narrator,
      }),
    );
    this.extraManagers.push(mine.secondManager);
  },
);

When('the second manager verifies shard {string}', async function (this: VramWorld, id: string) {
  const second = this.need(stateOf(this).secondManager, 'second VRAM manager');
  const shard = this.sealed(id);
  await this.attempt(() => second.verifySealed(shard));
});

Then('the second manager is {word}', function (this: VramWorld, wanted: string) {
  assert.equal(this.need(stateOf(this).secondManager, 'second VRAM manager').state, wanted);
});

// Key files

Given('a key file holding {int} random bytes', function (this: VramWorld, length: number) {
  writeKeyFile(this, nodeRandomBytes(length));
});

Given('a key file holding {int} random hex characters', function (this: VramWorld, length: number) {
  writeKeyFile(this, Buffer.from(hexCharacters(length)));
});

Given(
  'a key file holding {int} random hex characters and a newline',
  function (this: VramWorld, length: number) {
    writeKeyFile(this, Buffer.from(`${hexCharacters(length)}\n`));
  },
);

Given('the key file is readable by its group', function (this: VramWorld) {
  chmodSync(this.need(stateOf(this).keyFile, 'key file'), 0o640);
});

Given('the key file is reached through a symbolic link', function (this: VramWorld) {
  const file = this.need(stateOf(this).keyFile, 'key file');
  const link = `${file}.link`;
  symlinkSync(file, link);
  stateOf(this).keyFile = link;
});

function hexCharacters(length: number): string {
  return nodeRandomBytes(Math.ceil(length / 2))
    .toString('hex')
    .slice(0, length);
}

function writeKeyFile(world: VramWorld, content: Uint8Array): void {
  const dir = join(world.tempDir(), 'keys');
  mkdirSync(dir, { mode: 0o700 });
  const file = join(dir, 'seal.key');
  writeFileSync(file, content, { mode: 0o600 });
  stateOf(world).keyFile = file;
}

/**
 * What must never show while a worker runs on a key file: the material in hex and base64, and
 * the seal and audit keys HKDF derives from it. Undefined when the file holds no valid key.
 */
export function keyFileSecrets(world: VramWorld): string[] | undefined {
  const file = stateOf(world).keyFile;
  if (file === undefined) return undefined;
  let material: Uint8Array;
  try {
    material = loadKeyFile(file);
  } catch {
    return undefined;
  }
  const secrets = [Buffer.from(material).toString('hex'), Buffer.from(material).toString('base64')];
  for (const label of Object.values(KEY_DERIVATION_LABELS)) {
    const key = Buffer.from(hkdfSync('sha256', material, HKDF_SALT, label, 32));
    secrets.push(key.toString('hex'), key.toString('base64'));
  }
  return secrets;
}

/**
 * A worker start-up with a key file: load the seal key from it (loadKeyFile, mode 0600, no
 * symlinks), open the audit log keyed by the same material, create the VRAM manager with the
 * seal key. Any refusal is the scenario's outcome, and no manager exists after one.
 */
When('the worker starts with the key file', async function (this: VramWorld) {
  const file = this.need(stateOf(this).keyFile, 'key file');
  await this.attempt(async () => {
    const sealKey = loadKeyFile(file, 'seal');
    const material = loadKeyFile(file);
    const auditKey = deriveKey(material, 'audit');
    material.fill(0);
    const signing = generateKeyPairSync('ed25519');
    const audit = {
      dir: join(this.tempDir(), 'audit'),
      serviceId: this.workerId,
      key: auditKey,
      signingKey: signing.privateKey,
      publicKey: signing.publicKey,
    };
    const logger = await AuditLogger.open({ ...audit, durability: 'hybrid', checkpointEvery: 16 });
    this.managerAudit = { ...audit, logger };
    this.manager = await VramManager.create({
      backend: scenarioBackend(),
      sealKey,
      workerId: this.workerId,
      audit: logger,
      narrator: this.narration.narrator,
      allowFaultInjection: true,
    });
    return this.manager;
  });
});

Then("the worker runs with the key file's seal key", function (this: VramWorld) {
  const file = this.need(stateOf(this).keyFile, 'key file');
  const outcome = this.lastOutcome();
  if (!outcome.ok) throw new Error('the worker did not start', { cause: outcome.error });
  assert.equal(this.vram.keyId, loadKeyFile(file, 'seal').id);
});

Then(
  'the worker does not start, failing with code {string}',
  function (this: VramWorld, code: string) {
    const outcome = this.lastOutcome();
    assert.equal(outcome.ok, false, 'the worker started');
    const error = (outcome as { error: unknown }).error as Error & { code?: string };
    assert.equal(error.code, code, error.message);
    assert.equal(this.manager, undefined, 'a VRAM manager exists after a refused start');
  },
);

Then("the error does not show the key file's contents", function (this: VramWorld) {
  const outcome = this.lastOutcome();
  assert.equal(outcome.ok, false, 'the worker started');
  const error = (outcome as { error: unknown }).error;
  const file = this.need(stateOf(this).keyFile, 'key file');
  const raw = readFileSync(file);
  const forms = [raw.toString('hex'), raw.toString('base64'), raw.toString('latin1').trim()].filter(
    (form) => form.length >= 16,
  );
  assert.ok(forms.length > 0, 'the key file is too short to look for');
  for (const text of [String((error as Error).message), inspect(error, { depth: 5 })]) {
    assert.ok(
      !forms.some((form) => text.includes(form)),
      "the error shows the key file's contents",
    );
  }
});
