import { createHmac } from 'node:crypto';
import { assertBytes } from '../errors/arguments.js';
import { invalidType } from '../errors/errors.js';
import { isSecretKey, type SecretKey, secretKeyBytes } from '../key/secret-key.js';
import { toPlainBytes } from './sha256.js';

/**
 * HMAC-SHA256 (RFC 2104, FIPS 198-1) of `data`: 32 bytes. Pass a SecretKey to use a derived key
 * without ever handling its bytes, or raw key bytes (any length, as RFC 2104 allows).
 */
export function hmacSha256(key: Uint8Array | SecretKey, data: Uint8Array): Uint8Array {
  const keyBytes = hmacKeyBytes(key);
  assertBytes(data, 'data');
  return toPlainBytes(createHmac('sha256', keyBytes).update(data).digest());
}

function hmacKeyBytes(key: unknown): Uint8Array {
  if (isSecretKey(key)) return secretKeyBytes(key);
  if (typeof key === 'string') {
    throw invalidType(
      'key',
      'key must be a SecretKey or a Uint8Array, got a string; derive a key with deriveKey(secret, purpose)',
    );
  }
  assertBytes(key, 'key');
  return key;
}
