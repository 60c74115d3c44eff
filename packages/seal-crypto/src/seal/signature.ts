import { assertBytes } from '../errors/arguments.js';
import { invalidType, SealCryptoError } from '../errors/errors.js';
import { hmacSha256 } from '../hash/hmac.js';
import { timingSafeEqual } from '../hash/timing-safe-equal.js';
import { isSecretKey, type SecretKey } from '../key/secret-key.js';
import { encodeSealPayload, type SealFields } from './payload.js';

/**
 * The seal signature: HMAC-SHA256(key, encodeSealPayload(fields)), 32 bytes. `key` must be a seal
 * key, and `fields.keyId` must be `key.id`, so a seal always names the key that can check it.
 */
export function signSeal(key: SecretKey, fields: SealFields): Uint8Array {
  assertSealKey(key);
  const payload = encodeSealPayload(fields);
  if (fields.keyId !== key.id) {
    throw new SealCryptoError(
      'KEY_ID_MISMATCH',
      `fields.keyId (${fields.keyId}) is not the id of the signing key (${key.id}); set keyId: key.id`,
    );
  }
  return hmacSha256(key, payload);
}

/**
 * True when `signature` is the seal signature of `fields` under `key`; false for any other
 * signature, including one from another seal key or of another length. Compared in constant time.
 * A key derived for another purpose throws KEY_PURPOSE_MISMATCH, as in signSeal.
 */
export function verifySealSignature(
  key: SecretKey,
  fields: SealFields,
  signature: Uint8Array,
): boolean {
  assertSealKey(key);
  const payload = encodeSealPayload(fields);
  assertBytes(signature, 'signature');
  const expected = hmacSha256(key, payload);
  const matches = timingSafeEqual(expected, signature);
  return matches && fields.keyId === key.id;
}

/**
 * Keys never cross purposes (one HKDF label each): an audit key here is a configuration mistake,
 * and reporting it beats a "signature invalid" that would look like tampering.
 */
function assertSealKey(key: unknown): asserts key is SecretKey {
  if (!isSecretKey(key)) {
    throw invalidType(
      'key',
      'key must be a SecretKey (from deriveKey(secret, "seal") or loadKeyFile)',
    );
  }
  if (key.purpose !== 'seal') {
    throw new SealCryptoError(
      'KEY_PURPOSE_MISMATCH',
      `key ${key.id} was derived for "${key.purpose}"; seals need deriveKey(secret, 'seal') or loadKeyFile(path, 'seal')`,
    );
  }
}
