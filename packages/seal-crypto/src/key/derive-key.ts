import { types } from 'node:util';
import { invalidType, SealCryptoError } from '../errors/errors.js';
import { hkdfSha256 } from './hkdf.js';
import { createSecretKey, type KeyPurpose, type SecretKey } from './secret-key.js';

/** Fixed, public HKDF salt (RFC 5869 s3.1: a non-secret salt still strengthens extraction). */
export const HKDF_SALT = 'vramseal/v1/hkdf-salt';

/** One `info` label per purpose (RFC 5869 s3.2), so a seal key can never be an audit key. */
export const KEY_DERIVATION_LABELS: Readonly<Record<KeyPurpose, string>> = Object.freeze({
  seal: 'vramseal/v1/seal',
  audit: 'vramseal/v1/audit',
});

const MIN_SECRET_BYTES = 16;
const MIN_DISTINCT_BYTES = 5;
const KEY_LENGTH = 32;
const utf8 = new TextEncoder();

/**
 * Derives the 32-byte key for `purpose` from a worker token (string, UTF-8) or key material
 * (bytes, e.g. from loadKeyFile) with HKDF-SHA256. Weak secrets are refused with WEAK_SECRET.
 */
export function deriveKey(secret: string | Uint8Array, purpose: KeyPurpose): SecretKey {
  const ikm = secretBytes(secret);
  try {
    assertPurpose(purpose);
    assertStrongSecret(ikm);
    const bytes = hkdfSha256(
      ikm,
      utf8.encode(HKDF_SALT),
      utf8.encode(KEY_DERIVATION_LABELS[purpose]),
      KEY_LENGTH,
    );
    const key = createSecretKey(bytes, purpose);
    bytes.fill(0);
    return key;
  } finally {
    // A token's UTF-8 bytes are ours to wipe; bytes the caller passed are the caller's.
    if (ikm !== secret) ikm.fill(0);
  }
}

function secretBytes(secret: unknown): Uint8Array {
  if (typeof secret === 'string') return utf8.encode(secret);
  if (types.isUint8Array(secret)) return secret;
  throw invalidType(
    'secret',
    `secret must be a string (a worker token) or a Uint8Array (key material), got ${
      secret === null ? 'null' : typeof secret
    }`,
  );
}

function assertPurpose(purpose: unknown): asserts purpose is KeyPurpose {
  if (purpose !== 'seal' && purpose !== 'audit') {
    throw invalidType(
      'purpose',
      `purpose must be 'seal' or 'audit', got ${JSON.stringify(purpose)}`,
    );
  }
}

/**
 * A secret is weak when it is shorter than 16 bytes, or trivially repetitive: one short unit
 * repeated ("aaaa...", "abcabc...", "passwordpassword"), or built from fewer than 5 distinct bytes.
 * The message says what was wrong, never what the secret was.
 */
function assertStrongSecret(ikm: Uint8Array): void {
  if (ikm.length < MIN_SECRET_BYTES) {
    throw new SealCryptoError(
      'WEAK_SECRET',
      `secret is too short: ${ikm.length} bytes, need at least ${MIN_SECRET_BYTES}; ` +
        'use a random token of 32+ characters (e.g. `openssl rand -hex 32`)',
    );
  }
  if (smallestPeriod(ikm) <= ikm.length / 2 || distinctByteCount(ikm) < MIN_DISTINCT_BYTES) {
    throw new SealCryptoError(
      'WEAK_SECRET',
      'secret is trivially repetitive (a short pattern repeated, or fewer than ' +
        `${MIN_DISTINCT_BYTES} distinct bytes); use a random token (e.g. \`openssl rand -hex 32\`)`,
    );
  }
}

/** Smallest p such that bytes[i] == bytes[i - p] for all i >= p (KMP failure function). */
function smallestPeriod(bytes: Uint8Array): number {
  const failure = new Int32Array(bytes.length);
  for (let i = 1, k = 0; i < bytes.length; i++) {
    while (k > 0 && bytes[i] !== bytes[k]) k = failure[k - 1]!;
    if (bytes[i] === bytes[k]) k++;
    failure[i] = k;
  }
  return bytes.length - (failure[bytes.length - 1] ?? 0);
}

function distinctByteCount(bytes: Uint8Array): number {
  return new Set(bytes).size;
}
