import { createHmac, type KeyObject } from 'node:crypto';
import { assertBytes } from '../errors/arguments.js';
import { invalidType } from '../errors/errors.js';
import { isSecretKey, type SecretKey, secretKeyObject } from '../key/secret-key.js';
import { toPlainBytes } from './sha256.js';

/**
 * HMAC-SHA256 (RFC 2104, FIPS 198-1) of `data`: 32 bytes. Pass a SecretKey to use a derived key
 * without ever handling its bytes, or raw key bytes (any length, as RFC 2104 allows).
 */
export function hmacSha256(key: Uint8Array | SecretKey, data: Uint8Array): Uint8Array {
  const hmacKey = hmacKeyOf(key);
  assertBytes(data, 'data');
  return toPlainBytes(createHmac('sha256', hmacKey).update(data).digest());
}

/**
 * HMAC-SHA256 of `data` as 64 lowercase hex characters: the form audit records store. A string is
 * MACed as its UTF-8 bytes, with no copy into a Buffer first (the audit log MACs one short JSON
 * text per record, so this is its hot path). A string with a lone surrogate has no UTF-8 encoding
 * and is refused rather than silently MACed as U+FFFD.
 */
export function hmacSha256Hex(key: Uint8Array | SecretKey, data: Uint8Array | string): string {
  const hmacKey = hmacKeyOf(key);
  if (typeof data === 'string') {
    if (!isWellFormed(data)) {
      throw invalidType(
        'data',
        'data is a string with a lone surrogate, which has no UTF-8 encoding; pass well-formed text or bytes',
      );
    }
    return createHmac('sha256', hmacKey).update(data, 'utf8').digest('hex');
  }
  assertBytes(data, 'data');
  return createHmac('sha256', hmacKey).update(data).digest('hex');
}

function hmacKeyOf(key: unknown): KeyObject | Uint8Array {
  if (isSecretKey(key)) return secretKeyObject(key);
  if (typeof key === 'string') {
    throw invalidType(
      'key',
      'key must be a SecretKey or a Uint8Array, got a string; derive a key with deriveKey(secret, purpose)',
    );
  }
  assertBytes(key, 'key');
  return key;
}

/** String.prototype.isWellFormed (Node >= 20; not yet in the ES2023 lib this package compiles against). */
function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}
