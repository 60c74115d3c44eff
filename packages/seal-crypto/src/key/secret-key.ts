import { createHash, createSecretKey as createKeyObject, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { invalidType } from '../errors/errors.js';

/** What a key is for; each purpose gets its own HKDF `info` label, so keys never cross purposes. */
export type KeyPurpose = 'seal' | 'audit';

// Module-internal: lets hmacSha256 (and nothing outside this package) use a key.
let readKeyObject: (key: SecretKey) => KeyObject;
const CONSTRUCT = Symbol('SecretKey.construct');

/**
 * A 32-byte HMAC key that never shows its bytes: `String(key)`, template literals, `toJSON` and
 * `util.inspect` print only `SecretKey(<purpose>:<id>)`. Get one from `deriveKey` or
 * `loadKeyFile(path, purpose)`; use it through `hmacSha256`, `signSeal`, `verifySealSignature`.
 */
export class SecretKey {
  /** First 8 bytes of SHA-256(key bytes), 16 lowercase hex chars: names the key, reveals nothing. */
  readonly id: string;
  readonly purpose: KeyPurpose;
  /**
   * The key bytes, as a node:crypto KeyObject: held in native memory rather than on the JS heap,
   * never printed, and handed to createHmac as is.
   */
  readonly #keyObject: KeyObject;

  static {
    readKeyObject = (key) => key.#keyObject;
  }

  /** @internal Use deriveKey() or loadKeyFile(path, purpose). */
  constructor(token: symbol, bytes: Uint8Array, purpose: KeyPurpose) {
    if (token !== CONSTRUCT) {
      throw invalidType(
        'token',
        'SecretKey cannot be constructed directly; use deriveKey() or loadKeyFile()',
      );
    }
    this.#keyObject = createKeyObject(bytes);
    this.purpose = purpose;
    this.id = keyIdOf(bytes);
    Object.freeze(this);
  }

  toString(): string {
    return `SecretKey(${this.purpose}:${this.id})`;
  }

  toJSON(): { type: 'SecretKey'; id: string; purpose: KeyPurpose } {
    return { type: 'SecretKey', id: this.id, purpose: this.purpose };
  }

  [Symbol.toPrimitive](): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Key id = first 8 bytes of SHA-256(key), hex (DESIGN.md "Keys"). */
function keyIdOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export function createSecretKey(bytes: Uint8Array, purpose: KeyPurpose): SecretKey {
  return new SecretKey(CONSTRUCT, bytes, purpose);
}

export function isSecretKey(value: unknown): value is SecretKey {
  return value instanceof SecretKey;
}

/** Package-internal accessor for HMAC; deliberately not exported from index.ts. */
export function secretKeyObject(key: SecretKey): KeyObject {
  return readKeyObject(key);
}
