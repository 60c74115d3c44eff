import { types } from 'node:util';
import { invalidType, outOfRange } from './errors.js';

// One tiny set of boundary checks, so every export rejects bad input the same way:
// a TypeError or RangeError (code INVALID_ARGUMENT, see errors.ts) that names the argument, says
// what was wrong and what to pass instead.

/** What a value is (its type, a length), never its contents: it may be key material. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `a string (${value.length} chars)`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no prototype'})`;
  return `a ${typeof value}`;
}

/** Bytes are a Uint8Array (a Buffer is one). Strings are refused: their encoding would be a guess. */
export function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!types.isUint8Array(value)) {
    throw invalidType(
      name,
      `${name} must be a Uint8Array (a Buffer is fine), got ${describe(value)}; ` +
        'encode text explicitly, e.g. new TextEncoder().encode(text)',
    );
  }
}

export function assertBytesOfLength(
  value: unknown,
  length: number,
  name: string,
): asserts value is Uint8Array {
  assertBytes(value, name);
  if (value.length !== length) {
    throw outOfRange(name, `${name} must be exactly ${length} bytes, got ${value.length}`);
  }
}

export function assertBytesArray(value: unknown, name: string): asserts value is Uint8Array[] {
  if (!Array.isArray(value)) {
    throw invalidType(name, `${name} must be an array of Uint8Array, got ${describe(value)}`);
  }
  for (let i = 0; i < value.length; i++) assertBytes(value[i], `${name}[${i}]`);
}

export function assertHashArray(value: unknown, name: string): asserts value is Uint8Array[] {
  assertBytesArray(value, name);
  for (let i = 0; i < value.length; i++) assertBytesOfLength(value[i], 32, `${name}[${i}]`);
}

export function assertInteger(
  value: unknown,
  name: string,
  min: number,
  max: number,
): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw invalidType(name, `${name} must be an integer number, got ${describe(value)}`);
  }
  if (value < min || value > max) {
    throw outOfRange(name, `${name} must be between ${min} and ${max}, got ${value}`);
  }
}

export function assertString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') {
    throw invalidType(name, `${name} must be a string, got ${describe(value)}`);
  }
}

/**
 * A tree size or index: a non-negative safe integer number, or a bigint. Numbers above 2^53 are
 * refused as a type error, because they have already lost precision; pass a bigint instead.
 */
export function toBigIntCount(value: unknown, name: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  throw invalidType(
    name,
    `${name} must be a safe integer number or a bigint, got ${
      typeof value === 'number' ? String(value) : describe(value)
    }`,
  );
}
