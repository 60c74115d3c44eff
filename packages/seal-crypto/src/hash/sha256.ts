import { createHash, type Hash } from 'node:crypto';
import { assertBytes } from '../errors/arguments.js';
import { SealCryptoError } from '../errors/errors.js';

/** Copy node's Buffer into a plain Uint8Array, so callers never hold a view of Node's buffer pool. */
export function toPlainBytes(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer);
}

/** SHA-256 (FIPS 180-4) of `data`: 32 bytes. node:crypto (OpenSSL, SHA-NI) does the work. */
export function sha256(data: Uint8Array): Uint8Array {
  assertBytes(data, 'data');
  return toPlainBytes(createHash('sha256').update(data).digest());
}

/** SHA-256 of `data` as 64 lowercase hex characters. */
export function sha256Hex(data: Uint8Array): string {
  assertBytes(data, 'data');
  return createHash('sha256').update(data).digest('hex');
}

/** An incremental SHA-256: feed chunks with `update`, then call `digest` once. */
export interface Sha256 {
  /** Adds `chunk` to the message; returns the same hasher so calls chain. */
  update(chunk: Uint8Array): Sha256;
  /** The 32-byte digest of everything fed so far; the hasher cannot be used afterwards. */
  digest(): Uint8Array;
}

class IncrementalSha256 implements Sha256 {
  #hash: Hash | undefined = createHash('sha256');

  update(chunk: Uint8Array): Sha256 {
    assertBytes(chunk, 'chunk');
    this.#live().update(chunk);
    return this;
  }

  digest(): Uint8Array {
    const digest = toPlainBytes(this.#live().digest());
    this.#hash = undefined;
    return digest;
  }

  #live(): Hash {
    if (this.#hash === undefined) {
      throw new SealCryptoError(
        'HASH_FINALIZED',
        'this SHA-256 hasher already returned its digest; create a new one with createSha256()',
      );
    }
    return this.#hash;
  }
}

export function createSha256(): Sha256 {
  return new IncrementalSha256();
}
