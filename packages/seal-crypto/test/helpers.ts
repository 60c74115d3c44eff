import { readFileSync } from 'node:fs';

const vectorsDir = new URL('./vectors/', import.meta.url);

/** Reads a JSON test-vector file from test/vectors/. */
export function readVectors<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(name, vectorsDir), 'utf8')) as T;
}

export function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Deterministic pseudo-random bytes (xorshift32), so large inputs are cheap and reproducible. */
export function pseudoRandomBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[Math.floor(bit / 8) % copy.length]! ^= 1 << (bit % 8);
  return copy;
}

/**
 * The README byte tables' primitives, written out independently of the encoder: big-endian
 * integers and u32-length-prefixed byte strings. Tests build the expected payloads with it.
 */
export class ReferenceLayout {
  readonly #bytes: number[] = [];

  /** An unsigned big-endian integer of `width` bytes. */
  uint(value: number | bigint, width: number): this {
    const v = BigInt(value);
    for (let i = width - 1; i >= 0; i--) this.#bytes.push(Number((v >> BigInt(8 * i)) & 0xffn));
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.#bytes.push(...bytes);
    return this;
  }

  /** u32 length, then the bytes. */
  prefixed(bytes: Uint8Array): this {
    return this.uint(bytes.length, 4).raw(bytes);
  }

  /** A string as the payloads write it: u32 byte length, then UTF-8. */
  str(text: string): this {
    return this.prefixed(new TextEncoder().encode(text));
  }

  finish(): Uint8Array {
    return new Uint8Array(this.#bytes);
  }
}
