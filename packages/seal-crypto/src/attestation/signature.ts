import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { types } from 'node:util';
import { assertBytes, describe } from '../errors/arguments.js';
import { invalidType } from '../errors/errors.js';
import { type AttestationFields, encodeAttestationPayload } from './payload.js';

/** Length of an Ed25519 signature (RFC 8032). */
const SIGNATURE_BYTES = 64;

/**
 * Signs a residency attestation: Ed25519 over encodeAttestationPayload(fields), 64 bytes
 * (`crypto.sign(null, payload, privateKey)`; RFC 8032 signatures are deterministic).
 */
export function signAttestation(privateKey: KeyObject, fields: AttestationFields): Uint8Array {
  assertEd25519Key(privateKey, 'privateKey', 'private');
  const payload = encodeAttestationPayload(fields);
  return new Uint8Array(sign(null, payload, privateKey));
}

/**
 * True when `signature` is the Ed25519 signature of `fields` under `publicKey` (a private key is
 * reduced to its public half). False for any other signature: another length, another key, any
 * changed field. Throws only for malformed arguments (TypeError/RangeError naming them).
 */
export function verifyAttestationSignature(
  publicKey: KeyObject,
  fields: AttestationFields,
  signature: Uint8Array,
): boolean {
  assertEd25519Key(publicKey, 'publicKey', 'any');
  const payload = encodeAttestationPayload(fields);
  assertBytes(signature, 'signature');
  if (signature.length !== SIGNATURE_BYTES) return false;
  const key = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  return verify(null, payload, key, signature);
}

/**
 * An Ed25519 KeyObject of the wanted kind. The message says what was passed (its type and key
 * kind, never its bytes: a raw key or a PEM string passed by mistake must not reach a log).
 */
function assertEd25519Key(
  value: unknown,
  name: string,
  want: 'private' | 'any',
): asserts value is KeyObject {
  const expected =
    want === 'private'
      ? `${name} must be an Ed25519 private KeyObject (generateKeyPairSync('ed25519').privateKey, or createPrivateKey(pem))`
      : `${name} must be an Ed25519 KeyObject, public or private (createPublicKey(pem), or the private key, whose public half is used)`;
  if (!types.isKeyObject(value)) {
    throw invalidType(name, `${expected}, got ${describe(value)}`);
  }
  const key = value as KeyObject;
  if (key.type === 'secret') {
    throw invalidType(name, `${expected}, got a secret (symmetric) KeyObject`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw invalidType(
      name,
      `${expected}, got a ${key.type} key of type ${key.asymmetricKeyType ?? 'unknown'}`,
    );
  }
  if (want === 'private' && key.type !== 'private') {
    throw invalidType(name, `${expected}, got a ${key.type} key: sign with the private half`);
  }
}
