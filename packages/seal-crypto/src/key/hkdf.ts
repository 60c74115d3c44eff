import { hkdfSync } from 'node:crypto';
import { assertBytes, assertInteger } from '../errors/arguments.js';
import { outOfRange } from '../errors/errors.js';

const HASH_LENGTH = 32;
/** OpenSSL's HKDF, which node:crypto runs, takes at most 1024 bytes of `info`. */
const MAX_INFO_BYTES = 1024;

/**
 * HKDF-SHA256 (RFC 5869): `length` bytes of output keying material from input keying material
 * `ikm`, an optional `salt` (empty = HashLen zero bytes, s2.2) and context `info` (at most 1024
 * bytes). `length` is 1..8160 (255 * HashLen, s2.3). node:crypto's `hkdfSync` (OpenSSL) does the
 * work; the intermediate PRK and T(i) blocks never reach JavaScript. The result is memory of its
 * own: zero it when done.
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
  if (info.length > MAX_INFO_BYTES) {
    throw outOfRange('info', `info must be at most ${MAX_INFO_BYTES} bytes, got ${info.length}`);
  }
  assertInteger(length, 'length', 1, 255 * HASH_LENGTH);
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}
