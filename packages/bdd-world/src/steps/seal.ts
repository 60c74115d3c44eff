import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import {
  deriveKey,
  type SealFields,
  sha256,
  signSeal,
  treeDigest,
  verifySealSignature,
} from '@vramseal/seal-crypto';
import { flipBit, randomBytes, tamperField } from '../tamper.js';
import type { VramsealWorld } from '../world.js';

const LEAF_SIZE = 65536;

Given(
  'a seal key derived from the worker token {string}',
  function (this: VramsealWorld, token: string) {
    this.sealKey = deriveKey(token, 'seal');
  },
);

Given(
  'a model shard {string} of {int} random bytes on device {int}',
  function (this: VramsealWorld, shardId: string, length: number, device: number) {
    this.shard = { shardId, device, bytes: randomBytes(length) };
  },
);

Given('the shard is sealed', async function (this: VramsealWorld) {
  const key = this.need(this.sealKey, 'seal key');
  const shard = this.need(this.shard, 'model shard');
  const tree = await treeDigest(shard.bytes, { leafSize: LEAF_SIZE });
  const [modelRef] = shard.shardId.split('/');
  this.sealFields = {
    keyId: key.id,
    shardId: shard.shardId,
    device: shard.device,
    byteLength: shard.bytes.length,
    digest: sha256(shard.bytes),
    treeRoot: tree.root,
    leafSize: tree.leafSize,
    sealedAt: Date.now(),
    modelRef: modelRef ?? shard.shardId,
    shardIndex: 1,
    totalShards: 4,
  } satisfies SealFields;
  this.signature = signSeal(key, this.sealFields);
  this.verificationKey = key;
});

When('the seal field {string} is tampered with', function (this: VramsealWorld, field: string) {
  this.sealFields = tamperField(this.need(this.sealFields, 'sealed shard'), field);
});

When('one bit of the signature is flipped', function (this: VramsealWorld) {
  this.signature = flipBit(this.need(this.signature, 'signature'), 5);
});

When(
  'the seal is checked with a key derived from the worker token {string}',
  function (this: VramsealWorld, token: string) {
    this.verificationKey = deriveKey(token, 'seal');
  },
);

When(
  'a seal key is derived from the worker token {string}',
  function (this: VramsealWorld, token: string) {
    try {
      this.attemptedKey = deriveKey(token, 'seal');
    } catch (error) {
      this.lastError = error;
    }
  },
);

Then('the seal signature verifies', function (this: VramsealWorld) {
  assert.equal(verifyCurrentSeal(this), true, 'an untouched seal must verify');
});

Then('the seal signature is rejected', function (this: VramsealWorld) {
  assert.equal(verifyCurrentSeal(this), false, 'a changed seal or a foreign key must not verify');
});

Then('key derivation fails with code {string}', function (this: VramsealWorld, code: string) {
  assert.ok(this.lastError instanceof Error, 'key derivation should have failed');
  assert.equal((this.lastError as Error & { code?: string }).code, code);
  assert.equal(this.attemptedKey, undefined, 'no key may exist after a refused derivation');
});

function verifyCurrentSeal(world: VramsealWorld): boolean {
  return verifySealSignature(
    world.need(world.verificationKey, 'verification key'),
    world.need(world.sealFields, 'seal fields'),
    world.need(world.signature, 'signature'),
  );
}
