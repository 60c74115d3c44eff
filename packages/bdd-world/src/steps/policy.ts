import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Then, When } from '@cucumber/cucumber';
import { signAttestation } from '@vramseal/seal-crypto';
import {
  type AttestationStatement,
  attestationFieldsOf,
  verifyAttestation,
} from '@vramseal/vram-manager';
import { fieldAt } from '../assertions/narration.js';
import { smallestChange } from '../tamper.js';
import type { VramWorld } from '../world.js';

When('the VRAM-only policy is enforced', async function (this: VramWorld) {
  await this.attempt(() => this.vram.enforceVramOnlyPolicy());
});

Then('the policy violations are {string}', function (this: VramWorld, kinds: string) {
  const error = this.vramError();
  assert.equal(error.code, 'POLICY_VIOLATION', error.message);
  const found = (error.violations ?? []).map((v) => v.kind).sort();
  assert.deepEqual(
    found,
    kinds
      .split(',')
      .map((k) => k.trim())
      .sort(),
  );
});

Then('the manager says it is VRAM-only', function (this: VramWorld) {
  assert.equal(
    this.inCorrelation(() => this.vram.isVramOnly()),
    true,
  );
});

Then('the manager says it is not VRAM-only', function (this: VramWorld) {
  assert.equal(
    this.inCorrelation(() => this.vram.isVramOnly()),
    false,
  );
});

Then(
  'device {int} is reported as {string} with VRAM-only {string}',
  function (this: VramWorld, index: number, name: string, verdict: string) {
    const device = this.vram.devices().find((d) => d.index === index);
    assert.ok(device, `no device ${index}`);
    assert.equal(device.name, name);
    assert.equal(device.vramOnly.ok, verdict === 'yes', device.vramOnly.reason);
    assert.ok(device.vramOnly.reason.length > 0, 'the verdict gives no reason');
  },
);

When('shard {string} is attested with a fresh nonce', async function (this: VramWorld, id: string) {
  const nonce = randomBytes(16).toString('hex');
  const statement = await this.inCorrelation(() =>
    this.vram.attestVramResidency(this.sealed(id), { nonce }),
  );
  this.attestation = {
    statement,
    nonce,
    publicKey: this.need(this.vram.attestationPublicKey, 'attestation key'),
  };
});

When('attesting shard {string} is attempted', async function (this: VramWorld, id: string) {
  const shard = this.sealed(id);
  await this.attempt(() => this.vram.attestVramResidency(shard, { nonce: randomBytes(16) }));
});

When('the attested {string} is changed', function (this: VramWorld, path: string) {
  const attestation = this.need(this.attestation, 'attestation');
  const copy = structuredClone(attestation.statement) as unknown as Record<string, unknown>;
  const parts = path.split('.');
  const last = parts.pop()!;
  const holder =
    parts.length > 0 ? (fieldAt(copy, parts.join('.')) as Record<string, unknown>) : copy;
  assert.ok(holder && Object.hasOwn(holder, last), `an attestation has no field "${path}"`);
  holder[last] = smallestChange(holder[last], path);
  attestation.statement = copy as unknown as AttestationStatement;
});

When(
  "the attested measurement drifts and the statement is signed again with the manager's key",
  function (this: VramWorld) {
    // What a compromised or buggy signer could produce: a validly signed statement whose
    // measurement differs from the seal. The verifier must compare the two, not trust the signer.
    const attestation = this.need(this.attestation, 'attestation');
    const drifted = structuredClone(attestation.statement);
    const root = drifted.measuredTreeRoot;
    drifted.measuredTreeRoot = `${root.slice(0, -1)}${root.endsWith('0') ? '1' : '0'}`;
    const fields = attestationFieldsOf(drifted);
    assert.ok(fields, 'the statement has the fields of a seal');
    const key = this.need(this.attestationKey, 'attestation key');
    drifted.signature = Buffer.from(signAttestation(key, fields)).toString('base64');
    attestation.statement = drifted;
  },
);

When('the attestation is presented for another nonce', function (this: VramWorld) {
  this.need(this.attestation, 'attestation').nonce = randomBytes(16).toString('hex');
});

When('the attestation is checked with another public key', function (this: VramWorld) {
  this.need(this.attestation, 'attestation').publicKey = generateKeyPairSync('ed25519').publicKey;
});

Then("the attestation verifies, accepting the mock's host memory", function (this: VramWorld) {
  const { statement, nonce, publicKey } = this.need(this.attestation, 'attestation');
  const check = verifyAttestation(statement, publicKey, { nonce, allowHostMemory: true });
  assert.deepEqual(check, { ok: true, reason: null });
});

Then('the attestation verifies', function (this: VramWorld) {
  const { statement, nonce, publicKey } = this.need(this.attestation, 'attestation');
  const check = verifyAttestation(statement, publicKey, { nonce });
  assert.deepEqual(check, { ok: true, reason: null });
});

Then(
  'the attestation is rejected with reason {string}',
  function (this: VramWorld, reason: string) {
    const { statement, nonce, publicKey } = this.need(this.attestation, 'attestation');
    // The mock's memory is honestly 'host': accept it here so the reason under test is the one
    // the step names, not the memory type.
    const allowHostMemory = reason !== 'not_device_memory';
    const check = verifyAttestation(statement, publicKey, { nonce, allowHostMemory });
    assert.equal(check.ok, false, 'the attestation verified');
    assert.equal(check.reason, reason);
  },
);

Then('the attested memory type is {string}', function (this: VramWorld, type: string) {
  assert.equal(this.need(this.attestation, 'attestation').statement.device.memoryType, type);
});
