import assert from 'node:assert/strict';
import { Then, When } from '@cucumber/cucumber';
import {
  deriveKey,
  type SealFields,
  type SecretKey,
  signSeal,
  verifySealSignature,
} from '@vramseal/seal-crypto';
import type { SealedShard } from '@vramseal/vram-manager';
import { flipBit, tamperField } from '../tamper.js';
import type { VramWorld } from '../world.js';

// Seal-crypto steps on the seal fields of a shard the VRAM manager sealed. The manager keeps its
// signature to itself, so these steps sign the same fields with the same key (derived from the
// scenario's worker token, checked against the shard's keyId) and test the signature that way.

/**
 * The seal-crypto fields a SealedShard's signature covers: the manager's field names mapped to
 * seal-crypto's (gpuDevice -> device, vramBytes -> byteLength, hex digests -> 32 bytes).
 */
export function sealFieldsOf(shard: SealedShard): SealFields {
  return {
    keyId: shard.keyId,
    shardId: shard.shardId,
    device: shard.gpuDevice,
    byteLength: shard.vramBytes,
    digest: Uint8Array.from(Buffer.from(shard.digest, 'hex')),
    treeRoot: Uint8Array.from(Buffer.from(shard.treeRoot, 'hex')),
    leafSize: shard.leafSize,
    sealedAt: shard.sealedAt,
    modelRef: shard.modelRef,
    shardIndex: shard.shardIndex,
    totalShards: shard.totalShards,
  };
}

/**
 * The scenario manager's seal key, derived again from the worker token. Fails when its id is not
 * the manager's: then the steps would be testing some other key.
 */
export function workerSealKey(world: VramWorld): SecretKey {
  const key = deriveKey(world.need(world.workerToken, 'worker token'), 'seal');
  assert.equal(
    key.id,
    world.vram.keyId,
    "the key derived from the worker token is not the manager's seal key",
  );
  return key;
}

When(
  "the seal fields of shard {string} are signed with the worker's seal key",
  function (this: VramWorld, id: string) {
    const shard = this.sealed(id);
    const key = workerSealKey(this);
    assert.equal(shard.keyId, key.id, `shard ${id} names seal key ${shard.keyId}, not ${key.id}`);
    this.sealKey = key;
    this.verificationKey = key;
    this.sealFields = sealFieldsOf(shard);
    this.signature = signSeal(key, this.sealFields);
  },
);

When('the seal field {string} is tampered with', function (this: VramWorld, field: string) {
  this.sealFields = tamperField(this.need(this.sealFields, 'seal fields'), field);
});

When('one bit of the signature is flipped', function (this: VramWorld) {
  this.signature = flipBit(this.need(this.signature, 'signature'), 5);
});

When(
  'the seal is checked with a key derived from the worker token {string}',
  function (this: VramWorld, token: string) {
    this.verificationKey = deriveKey(token, 'seal');
  },
);

When(
  'a seal key is derived from the worker token {string}',
  function (this: VramWorld, token: string) {
    try {
      this.attemptedKey = deriveKey(token, 'seal');
    } catch (error) {
      this.lastError = error;
    }
  },
);

Then('the seal signature verifies', function (this: VramWorld) {
  assert.equal(verifyCurrentSeal(this), true, 'an untouched seal must verify');
});

Then('the seal signature is rejected', function (this: VramWorld) {
  assert.equal(verifyCurrentSeal(this), false, 'a changed seal or a foreign key must not verify');
});

Then('key derivation fails with code {string}', function (this: VramWorld, code: string) {
  assert.ok(this.lastError instanceof Error, 'key derivation should have failed');
  assert.equal((this.lastError as Error & { code?: string }).code, code);
  assert.equal(this.attemptedKey, undefined, 'no key may exist after a refused derivation');
});

function verifyCurrentSeal(world: VramWorld): boolean {
  return verifySealSignature(
    world.need(world.verificationKey, 'verification key'),
    world.need(world.sealFields, 'seal fields'),
    world.need(world.signature, 'signature'),
  );
}
