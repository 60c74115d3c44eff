import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { Then, When } from '@cucumber/cucumber';
import {
  deriveKey,
  encodeSealPayload,
  hmacSha256,
  loadKeyFile,
  type SealFields,
  type SecretKey,
  signSeal,
  timingSafeEqual,
  verifySealSignature,
} from '@vramseal/seal-crypto';
import { eventShows } from '../assertions/narration.js';
import { randomBytes } from '../tamper.js';
import type { VramWorld } from '../world.js';
import { keyFileSecrets } from './key-files.js';
import { decodeEscapes } from './manager-setup.js';
import { sealFieldsOf, workerSealKey } from './seal.js';
import { stateOf } from './seal-field-state.js';
import { sealShard } from './sealing.js';

// Signature robustness: keys, key files and worker tokens at their limits, and the seal fields of
// shards the manager sealed, signed with seal-crypto under the manager's own key (see seal.ts).
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
    assert.ok(
      !forms.some((form) => eventShows(event, form)),
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
    assert.ok(
      !secrets.some((s) => eventShows(event, s)),
      `the ${event.action} event shows key bytes`,
    );
  }
});
