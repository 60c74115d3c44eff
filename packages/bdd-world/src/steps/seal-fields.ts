import assert from 'node:assert/strict';
import { generateKeyPairSync, hkdfSync, randomBytes as nodeRandomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { After, Given, Then, When } from '@cucumber/cucumber';
import { AuditLogger } from '@vramseal/audit-logging';
import {
  deriveKey,
  encodeSealPayload,
  HKDF_SALT,
  hmacSha256,
  KEY_DERIVATION_LABELS,
  loadKeyFile,
  type SealFields,
  type SecretKey,
  signSeal,
  timingSafeEqual,
  verifySealSignature,
} from '@vramseal/seal-crypto';
import { VramManager } from '@vramseal/vram-manager';
import { scenarioBackend } from '../scenario/backend-choice.js';
import { randomBytes } from '../tamper.js';
import type { VramWorld } from '../world.js';
import { decodeEscapes } from './manager-setup.js';
import { sealFieldsOf, workerSealKey } from './seal.js';
import { sealShard } from './sealing.js';

// Signature robustness: keys, key files and worker tokens at their limits, and the seal fields of
// shards the manager sealed, signed with seal-crypto under the manager's own key (see seal.ts).

interface SealFieldState {
  /** The signature before the last re-signing (determinism). */
  previousSignature?: Uint8Array;
  /** Fields a step tried to sign, and what signing and verifying them threw. */
  refused?: { sign: unknown; verify: unknown };
  keyFile?: string;
  /** A manager of another worker (another token), narrating into the scenario's narration. */
  secondManager?: VramManager;
  /** Managers a step made besides the scenario's own; closed after the scenario. */
  readonly extraManagers: VramManager[];
}

const state = new WeakMap<VramWorld, SealFieldState>();

function stateOf(world: VramWorld): SealFieldState {
  let found = state.get(world);
  if (!found) {
    found = { extraManagers: [] };
    state.set(world, found);
  }
  return found;
}

After(async function (this: VramWorld) {
  const found = state.get(this);
  const managers = [found?.secondManager, ...(found?.extraManagers ?? [])];
  for (const manager of managers) {
    if (manager) await this.inCorrelation(() => manager.close());
  }
});

// The signature itself

When('bit {int} of the signature is flipped', function (this: VramWorld, bit: number) {
  const signature = Uint8Array.from(this.need(this.signature, 'signature'));
  assert.ok(bit >= 0 && bit < signature.length * 8, `the signature has no bit ${bit}`);
  signature[bit >> 3]! ^= 1 << (bit & 7);
  this.signature = signature;
});

When('every bit of the signature is flipped', function (this: VramWorld) {
  this.signature = this.need(this.signature, 'signature').map((byte) => byte ^ 0xff);
});

When('the signature is resized to {int} bytes', function (this: VramWorld, length: number) {
  const signature = this.need(this.signature, 'signature');
  const resized = new Uint8Array(length);
  resized.set(signature.subarray(0, length));
  this.signature = resized;
});

Then('every single-bit flip of the signature is rejected', function (this: VramWorld) {
  const key = this.need(this.verificationKey, 'verification key');
  const fields = this.need(this.sealFields, 'seal fields');
  const signature = this.need(this.signature, 'signature');
  assert.equal(verifySealSignature(key, fields, signature), true, 'the unflipped signature fails');
  const accepted: number[] = [];
  for (let bit = 0; bit < signature.length * 8; bit++) {
    const flipped = Uint8Array.from(signature);
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    if (verifySealSignature(key, fields, flipped)) accepted.push(bit);
  }
  assert.equal(signature.length * 8, 256, 'an HMAC-SHA256 signature has 256 bits');
  assert.deepEqual(accepted, [], `signatures with these bits flipped verified: ${accepted}`);
});

// Determinism and distinctness

When(
  'the seal fields are signed again with a key derived afresh from the worker token',
  function (this: VramWorld) {
    stateOf(this).previousSignature = this.need(this.signature, 'signature');
    const key = deriveKey(this.need(this.workerToken, 'worker token'), 'seal');
    this.signature = signSeal(key, this.need(this.sealFields, 'seal fields'));
  },
);

Then('both signatures are identical', function (this: VramWorld) {
  const previous = this.need(stateOf(this).previousSignature, 'earlier signature');
  const current = this.need(this.signature, 'signature');
  assert.equal(Buffer.from(current).toString('hex'), Buffer.from(previous).toString('hex'));
});

Then(
  'the seal fields of shards {string} and {string} have different signatures, and neither verifies the other',
  function (this: VramWorld, first: string, second: string) {
    const key = workerSealKey(this);
    const a = sealFieldsOf(this.sealed(first));
    const b = sealFieldsOf(this.sealed(second));
    const signatureA = signSeal(key, a);
    const signatureB = signSeal(key, b);
    assert.equal(timingSafeEqual(signatureA, signatureB), false, 'two shards share a signature');
    assert.equal(verifySealSignature(key, a, signatureA), true);
    assert.equal(verifySealSignature(key, b, signatureB), true);
    assert.equal(
      verifySealSignature(key, a, signatureB),
      false,
      `${second}'s signature verifies ${first}`,
    );
    assert.equal(
      verifySealSignature(key, b, signatureA),
      false,
      `${first}'s signature verifies ${second}`,
    );
  },
);

When(
  'shard {string} is sealed from the same bytes as shard {string}',
  async function (this: VramWorld, id: string, original: string) {
    const bytes = this.need(this.shardBytes.get(original), `bytes of shard ${original}`);
    await sealShard(this, id, Uint8Array.from(bytes));
  },
);

Then(
  'shards {string} and {string} have the same digest and tree root',
  function (this: VramWorld, first: string, second: string) {
    const a = this.sealed(first);
    const b = this.sealed(second);
    assert.equal(a.digest, b.digest);
    assert.equal(a.treeRoot, b.treeRoot);
  },
);

Then(
  'keys derived from the worker token and from {string} sign the same seal payload differently',
  function (this: VramWorld, otherToken: string) {
    const mine = workerSealKey(this);
    const other = deriveKey(otherToken, 'seal');
    assert.notEqual(other.id, mine.id, 'two tokens gave the same key id');
    const payload = encodeSealPayload(this.need(this.sealFields, 'seal fields'));
    const macMine = hmacSha256(mine, payload);
    const macOther = hmacSha256(other, payload);
    assert.equal(timingSafeEqual(macMine, macOther), false, 'two keys gave the same MAC');
    // The other key signs the fields as its own seal (keyId is its id): the worker's key rejects it.
    const theirs = { ...this.need(this.sealFields, 'seal fields'), keyId: other.id };
    assert.equal(verifySealSignature(mine, theirs, signSeal(other, theirs)), false);
  },
);

Then(
  "checking the seal with the worker's audit key fails with code {string}",
  function (this: VramWorld, code: string) {
    const auditKey = deriveKey(this.need(this.workerToken, 'worker token'), 'audit');
    assert.throws(
      () =>
        verifySealSignature(
          auditKey,
          this.need(this.sealFields, 'seal fields'),
          this.need(this.signature, 'signature'),
        ),
      (error: unknown) => (error as { code?: string }).code === code,
    );
  },
);

// Fields a seal cannot have

/** Signs and verifies `fields`; keeps the signature when both work, else what each threw. */
function trySigning(world: VramWorld, fields: SealFields): void {
  const key = world.need(world.sealKey, 'seal key');
  const refused: { sign: unknown; verify: unknown } = { sign: undefined, verify: undefined };
  let signature: Uint8Array | undefined;
  try {
    signature = signSeal(key, fields);
  } catch (error) {
    refused.sign = error;
  }
  try {
    verifySealSignature(key, fields, signature ?? new Uint8Array(32));
  } catch (error) {
    refused.verify = error;
  }
  if (refused.sign === undefined && refused.verify === undefined) {
    world.sealFields = fields;
    world.signature = signature;
    stateOf(world).refused = undefined;
  } else {
    stateOf(world).refused = refused;
  }
}

When(
  'the seal fields are signed with the shard id {string}',
  function (this: VramWorld, rawId: string) {
    trySigning(this, {
      ...this.need(this.sealFields, 'seal fields'),
      shardId: decodeEscapes(rawId),
    });
  },
);

When(
  'the seal fields are signed with a digest of {int} bytes',
  function (this: VramWorld, length: number) {
    trySigning(this, { ...this.need(this.sealFields, 'seal fields'), digest: randomBytes(length) });
  },
);

When(
  'the seal fields are signed with a tree root of {int} bytes',
  function (this: VramWorld, length: number) {
    trySigning(this, {
      ...this.need(this.sealFields, 'seal fields'),
      treeRoot: randomBytes(length),
    });
  },
);

Then(
  'signing and verifying are both refused with a RangeError naming {string}',
  function (this: VramWorld, field: string) {
    const refused = this.need(stateOf(this).refused, 'refused signing');
    for (const [what, error] of Object.entries(refused)) {
      assert.ok(
        error instanceof RangeError,
        `${what}: expected a RangeError, got ${inspect(error)}`,
      );
      assert.ok(
        error.message.includes(field),
        `${what}: "${error.message}" does not name ${field}`,
      );
    }
  },
);

Then(
  'the shard ids {string} and {string} give different signatures',
  function (this: VramWorld, first: string, second: string) {
    const key = this.need(this.sealKey, 'seal key');
    const fields = this.need(this.sealFields, 'seal fields');
    const a = decodeEscapes(first);
    const b = decodeEscapes(second);
    assert.notEqual(a, b, 'the two ids are the same string');
    const signatureA = signSeal(key, { ...fields, shardId: a });
    const signatureB = signSeal(key, { ...fields, shardId: b });
    assert.equal(timingSafeEqual(signatureA, signatureB), false);
    assert.equal(verifySealSignature(key, { ...fields, shardId: a }, signatureB), false);
  },
);

When(
  'the digest of shard {string} is cut to {int} hex characters',
  function (this: VramWorld, id: string, length: number) {
    const shard = this.sealed(id) as unknown as Record<string, unknown>;
    shard.digest = String(shard.digest).slice(0, length);
  },
);

When(
  'shard {string} of {int} bytes is sealed under an id of {int} characters',
  async function (this: VramWorld, name: string, n: number, length: number) {
    const id = longId(name, length);
    const shard = await sealShard(this, id, randomBytes(n));
    // Kept under the short name too, so other steps can name it.
    this.shards.set(name, shard);
  },
);

When(
  'sealing {int} bytes is attempted with an id of {int} characters',
  async function (this: VramWorld, n: number, length: number) {
    const id = longId('too-long', length);
    await this.attempt(() => this.vram.sealModel(randomBytes(n), { shardId: id }));
  },
);

/** `name-abcdefghij...` to exactly `length` characters of the shard id alphabet. */
function longId(name: string, length: number): string {
  let id = `${name}-`;
  for (let i = 0; id.length < length; i++) id += String.fromCharCode(97 + (i % 26));
  return id.slice(0, length);
}

Then(
  'shard {string} has an id of {int} characters',
  function (this: VramWorld, name: string, length: number) {
    assert.equal(this.sealed(name).shardId.length, length);
  },
);

Then(
  'the {string} event of shard {string} carries its full id in a sentence of at most {int} characters',
  function (this: VramWorld, action: string, name: string, limit: number) {
    this.narrationChecks++;
    const id = this.sealed(name).shardId;
    const events = this.narration.events.filter((e) => e.action === action && e.shard_id === id);
    assert.ok(events.length > 0, `no ${action} event has shard_id ${id}`);
    for (const event of events) {
      assert.ok(event.human.length <= limit, `${event.human.length} characters: ${event.human}`);
      assert.ok(!event.human.includes(id), 'the sentence holds the whole id, not a shortened one');
    }
  },
);

// Narration of keys and signatures

/**
 * Every signature the scenario knows: the one the steps hold (and the one before it), and the
 * signature the manager made for each sealed shard (same key, same fields, so the same bytes).
 */
function knownSignatures(world: VramWorld): Buffer[] {
  const found = [world.signature, stateOf(world).previousSignature];
  const key = expectedSealKey(world);
  for (const shard of world.shards.values()) {
    try {
      found.push(signSeal(key, sealFieldsOf(shard)));
    } catch {
      // A field a step broke on purpose: that shard has no valid signature to look for.
    }
  }
  return found
    .filter((signature): signature is Uint8Array => (signature?.length ?? 0) >= 16)
    .map((signature) => Buffer.from(signature));
}

Then('the narration never shows a seal signature', function (this: VramWorld) {
  this.narrationChecks++;
  const signatures = knownSignatures(this);
  assert.ok(signatures.length > 0, 'the scenario knows no signature to look for');
  assert.ok(this.narration.events.length > 0, 'nothing was narrated');
  const forms = signatures.flatMap((s) => [
    s.toString('hex'),
    s.toString('base64'),
    s.toString('base64url'),
  ]);
  for (const event of this.narration.events) {
    const text = JSON.stringify(event);
    assert.ok(
      !forms.some((form) => text.includes(form)),
      `the ${event.action} event shows a seal signature`,
    );
  }
});

/**
 * The seal key's id as a verifier would compute it: from the key file when the worker started
 * with one, else from the worker token. Never asked of the manager.
 */
function expectedSealKey(world: VramWorld): SecretKey {
  const file = stateOf(world).keyFile;
  if (file !== undefined) return loadKeyFile(file, 'seal');
  return deriveKey(world.need(world.workerToken, 'worker token'), 'seal');
}

Then('the narration names the seal key by its id only', function (this: VramWorld) {
  this.narrationChecks++;
  const key = expectedSealKey(this);
  const init = this.narration.events.filter((e) => e.action === 'init');
  const signs = this.narration.events.filter((e) => e.action === 'sign');
  assert.equal(init.length, 1, 'one init event');
  assert.ok(signs.length > 0, 'no sign event was narrated');
  for (const event of [...init, ...signs]) {
    assert.equal((event.context as { key_id?: unknown }).key_id, key.id, `${event.action} event`);
  }
  const secrets = (keyFileSecrets(this) ?? this.knownSecrets()).filter((s) => s.length > 0);
  for (const event of this.narration.events) {
    const text = JSON.stringify(event);
    assert.ok(!secrets.some((s) => text.includes(s)), `the ${event.action} event shows key bytes`);
  }
});

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
    if (outcome.ok) stateOf(this).extraManagers.push(outcome.value as VramManager);
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
function keyFileSecrets(world: VramWorld): string[] | undefined {
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
  const outcome = this.need(this.outcome, 'worker start');
  if (!outcome.ok) throw new Error('the worker did not start', { cause: outcome.error });
  assert.equal(this.vram.keyId, loadKeyFile(file, 'seal').id);
});

Then(
  'the worker does not start, failing with code {string}',
  function (this: VramWorld, code: string) {
    const outcome = this.need(this.outcome, 'worker start');
    assert.equal(outcome.ok, false, 'the worker started');
    const error = (outcome as { error: unknown }).error as Error & { code?: string };
    assert.equal(error.code, code, error.message);
    assert.equal(this.manager, undefined, 'a VRAM manager exists after a refused start');
  },
);

Then("the error does not show the key file's contents", function (this: VramWorld) {
  const outcome = this.need(this.outcome, 'worker start');
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
