import { randomBytes as nodeRandomBytes } from 'node:crypto';

/** Random bytes for a scenario's shard: real data, so every run hashes something new. */
export function randomBytes(length: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(length));
}

/** A copy of `bytes` with one bit flipped: the smallest change an attacker can make. */
export function flipBit(bytes: Uint8Array, bitIndex = 0): Uint8Array {
  if (bitIndex < 0 || bitIndex >= bytes.length * 8) {
    throw new RangeError(`bitIndex ${bitIndex} is outside the ${bytes.length}-byte value`);
  }
  const copy = Uint8Array.from(bytes);
  copy[bitIndex >> 3]! ^= 1 << (bitIndex & 7);
  return copy;
}

/**
 * A copy of `fields` with the named field changed as little as its type allows: a string gets its
 * last character changed (a hex string stays hex, so the change is a valid value, not a malformed one), a number is incremented (a power of two is doubled, so a leaf size stays valid), a bigint is
 * incremented, bytes get one bit flipped. Throws if the
 * field does not exist, so a scenario cannot "tamper" with nothing and pass.
 */
export function tamperField<T extends object>(fields: T, name: string): T {
  if (!Object.hasOwn(fields, name)) {
    throw new Error(`cannot tamper with "${name}": the seal fields have no such field`);
  }
  const value = (fields as Record<string, unknown>)[name];
  return { ...fields, [name]: smallestChange(value, name) };
}

/**
 * The smallest change a value's type allows that keeps it well-formed (see tamperField): the one
 * rule every tampering step uses, so a rejection proves the check caught it, not input validation.
 */
export function smallestChange(value: unknown, name = 'the value'): unknown {
  if (typeof value === 'string') return tamperedString(value);
  if (typeof value === 'number') return tamperedNumber(value);
  if (typeof value === 'bigint') return value + 1n;
  if (value instanceof Uint8Array) return flipBit(value, 0);
  throw new Error(`cannot tamper with "${name}": unsupported type ${typeof value}`);
}

/** The last character changed; hex stays hex so a key id remains well-formed after tampering. */
function tamperedString(value: string): string {
  const last = value.at(-1);
  if (last === undefined) return 'x';
  const replacement = /^[0-9a-f]+$/.test(value)
    ? ((Number.parseInt(last, 16) + 1) % 16).toString(16)
    : last === 'x'
      ? 'y'
      : 'x';
  return value.slice(0, -1) + replacement;
}

/** +1, except that a power of two is doubled: a leaf size must stay a power of two to be valid. */
function tamperedNumber(value: number): number {
  const isPowerOfTwo = Number.isInteger(value) && value > 1 && (value & (value - 1)) === 0;
  return isPowerOfTwo ? value * 2 : value + 1;
}

/** A fresh worker token (32 random bytes, base64url): strong enough for deriveKey, new each call. */
export function randomToken(): string {
  return `bdd-token-${nodeRandomBytes(32).toString('base64url')}`;
}
