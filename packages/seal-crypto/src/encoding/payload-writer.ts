import { assertString } from '../errors/arguments.js';
import { outOfRange } from '../errors/errors.js';

// The pieces every signed payload of this package is built from (seal, attestation): one writer,
// one rule for strings, so the byte formats cannot drift apart in how they encode a field.

const utf8 = new TextEncoder();

/** In a `u` regex a surrogate pair is one code point, so \p{Cs} matches only lone halves. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Appends fields in order: integers unsigned big-endian, `string` as u32 byte length + UTF-8,
 * `lengthPrefixed` as u32 byte length + the bytes, `bytes` raw (fixed-length fields only).
 */
export class PayloadWriter {
  readonly #parts: Uint8Array[] = [];

  bytes(value: Uint8Array): void {
    this.#parts.push(value);
  }

  lengthPrefixed(value: Uint8Array): void {
    this.u32(value.length);
    this.#parts.push(value);
  }

  string(value: string): void {
    this.lengthPrefixed(utf8.encode(value));
  }

  u16(value: number): void {
    const part = new Uint8Array(2);
    new DataView(part.buffer).setUint16(0, value);
    this.#parts.push(part);
  }

  u32(value: number): void {
    const part = new Uint8Array(4);
    new DataView(part.buffer).setUint32(0, value);
    this.#parts.push(part);
  }

  u64(value: number): void {
    const part = new Uint8Array(8);
    new DataView(part.buffer).setBigUint64(0, BigInt(value));
    this.#parts.push(part);
  }

  finish(): Uint8Array {
    const total = this.#parts.reduce((sum, part) => sum + part.length, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const part of this.#parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

/** The ASCII tag bytes of a payload. */
export function encodeAscii(text: string): Uint8Array {
  return utf8.encode(text);
}

/**
 * Strings must be well-formed UTF-16: a lone surrogate would be encoded as U+FFFD, so two
 * different strings would sign the same bytes. Length is checked in UTF-8 bytes.
 */
export function assertText(
  value: unknown,
  name: string,
  minBytes: number,
  maxBytes: number,
): asserts value is string {
  assertString(value, name);
  if (LONE_SURROGATE.test(value)) {
    throw outOfRange(name, `${name} contains a lone surrogate (not valid Unicode); fix the string`);
  }
  const length = utf8.encode(value).length;
  if (length < minBytes || length > maxBytes) {
    throw outOfRange(
      name,
      `${name} must be ${minBytes}..${maxBytes} bytes of UTF-8, got ${length}`,
    );
  }
}
