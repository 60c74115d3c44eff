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
 * A copy of `fields` with the named field changed as little as its type allows: a string gets one
 * character changed, a number or bigint is incremented, bytes get one bit flipped. Throws if the
 * field does not exist, so a scenario cannot "tamper" with nothing and pass.
 */
export function tamperField<T extends object>(fields: T, name: string): T {
  if (!Object.hasOwn(fields, name)) {
    throw new Error(`cannot tamper with "${name}": the seal fields have no such field`);
  }
  const value = (fields as Record<string, unknown>)[name];
  return { ...fields, [name]: tamperedValue(name, value) };
}

function tamperedValue(name: string, value: unknown): unknown {
  if (typeof value === 'string') {
    const last = value.at(-1) ?? 'a';
    return value.slice(0, -1) + (last === 'x' ? 'y' : 'x');
  }
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'bigint') return value + 1n;
  if (value instanceof Uint8Array) return flipBit(value, 0);
  throw new Error(`cannot tamper with "${name}": unsupported type ${typeof value}`);
}
