import { assertBytes, assertInteger } from '../errors/arguments.js';
import { hmacSha256 } from '../hash/hmac.js';

const HASH_LENGTH = 32;

/**
 * HKDF-SHA256 (RFC 5869): `length` bytes of output keying material from input keying material
 * `ikm`, an optional `salt` (empty = HashLen zero bytes, s2.2) and context `info`.
 * `length` is 1..8160 (255 * HashLen, s2.3).
 */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  assertBytes(ikm, 'ikm');
  assertBytes(salt, 'salt');
  assertBytes(info, 'info');
  assertInteger(length, 'length', 1, 255 * HASH_LENGTH);
  return hkdfExpand(hkdfExtract(salt, ikm), info, length);
}

/** RFC 5869 s2.2: PRK = HMAC-Hash(salt, IKM); an absent salt is HashLen zeros. */
function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hmacSha256(salt.length === 0 ? new Uint8Array(HASH_LENGTH) : salt, ikm);
}

/** RFC 5869 s2.3: T(i) = HMAC-Hash(PRK, T(i-1) | info | i), OKM = first L bytes of T(1) | T(2) | ... */
function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const okm = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 1, filled = 0; filled < length; i++) {
    const input = new Uint8Array(previous.length + info.length + 1);
    input.set(previous, 0);
    input.set(info, previous.length);
    input[input.length - 1] = i;
    previous = hmacSha256(prk, input);
    okm.set(previous.subarray(0, length - filled), filled);
    filled += previous.length;
  }
  return okm;
}
