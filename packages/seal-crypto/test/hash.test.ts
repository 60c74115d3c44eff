import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import {
  createSha256,
  deriveKey,
  hmacSha256,
  hmacSha256Hex,
  SealCryptoError,
  sha256,
  sha256Hex,
  timingSafeEqual,
} from '@vramseal/seal-crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ascii, hex, readVectors, toHex } from './helpers.js';

interface Sha256Vector {
  name: string;
  text?: string;
  hex?: string;
  repeat?: { text: string; count: number };
  sha256: string;
}
interface HmacVector {
  case: number;
  key: string;
  data: string;
  hmacSha256: string;
  truncatedToBytes?: number;
}

const shaVectors = readVectors<{ vectors: Sha256Vector[] }>('sha256.json').vectors;
const hmacVectors = readVectors<{ vectors: HmacVector[] }>('hmac-sha256.json').vectors;

function messageOf(vector: Sha256Vector): Uint8Array {
  if (vector.text !== undefined) return ascii(vector.text);
  if (vector.hex !== undefined) return hex(vector.hex);
  if (vector.repeat !== undefined) return ascii(vector.repeat.text.repeat(vector.repeat.count));
  throw new Error(`vector ${vector.name} has no message`);
}

describe('sha256 against NIST FIPS 180-2 / CAVP vectors', () => {
  it('covers the required messages', () => {
    expect(shaVectors.length).toBeGreaterThanOrEqual(5);
  });

  for (const vector of shaVectors) {
    it(vector.name, () => {
      const message = messageOf(vector);
      expect(toHex(sha256(message))).toBe(vector.sha256);
      expect(sha256Hex(message)).toBe(vector.sha256);
    });

    it(`${vector.name}, fed incrementally in uneven chunks`, () => {
      const message = messageOf(vector);
      const hasher = createSha256();
      for (let offset = 0, step = 1; offset < message.length; offset += step, step = step * 3 + 1) {
        hasher.update(message.subarray(offset, offset + step));
      }
      expect(toHex(hasher.digest())).toBe(vector.sha256);
    });
  }
});

describe('hmacSha256 against RFC 4231 test cases 1-7', () => {
  for (const vector of hmacVectors) {
    it(`test case ${vector.case}`, () => {
      const mac = hmacSha256(hex(vector.key), hex(vector.data));
      expect(mac).toHaveLength(32);
      const compared = vector.truncatedToBytes ?? 32;
      expect(toHex(mac.subarray(0, compared))).toBe(vector.hmacSha256);
    });
  }
});

describe('cross-check with @noble/hashes on random inputs', () => {
  it('sha256 equals noble sha256', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (data) => {
        expect(toHex(sha256(data))).toBe(toHex(nobleSha256(data)));
      }),
    );
  });

  it('incremental sha256 equals noble sha256 for any split', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
        const hasher = createSha256();
        for (const chunk of chunks) hasher.update(chunk);
        const whole = new Uint8Array(Buffer.concat(chunks));
        expect(toHex(hasher.digest())).toBe(toHex(nobleSha256(whole)));
      }),
    );
  });

  it('hmacSha256 equals noble hmac(sha256)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 1024 }),
        (key, data) => {
          expect(toHex(hmacSha256(key, data))).toBe(toHex(nobleHmac(nobleSha256, key, data)));
        },
      ),
    );
  });
});

describe('sha256 results and argument checks', () => {
  it('returns a plain Uint8Array, not a Buffer', () => {
    const digest = sha256(Buffer.from('abc'));
    expect(Object.getPrototypeOf(digest)).toBe(Uint8Array.prototype);
  });

  it('accepts a Buffer and a subarray view alike', () => {
    const bytes = ascii('xxabcxx');
    expect(toHex(sha256(bytes.subarray(2, 5)))).toBe(toHex(sha256(Buffer.from('abc'))));
  });

  it('refuses a string with a TypeError that names the argument', () => {
    expect(() => sha256('abc' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => sha256('abc' as unknown as Uint8Array)).toThrow(/data must be a Uint8Array/);
    expect(() => sha256Hex(null as unknown as Uint8Array)).toThrow(/data must be a Uint8Array/);
    expect(() => createSha256().update([1, 2] as unknown as Uint8Array)).toThrow(/chunk/);
  });

  it('update chains and a finished hasher refuses more input', () => {
    const hasher = createSha256();
    expect(hasher.update(ascii('a'))).toBe(hasher);
    hasher.digest();
    expect(() => hasher.update(ascii('b'))).toThrow(SealCryptoError);
    try {
      hasher.digest();
      expect.unreachable('digest after digest must throw');
    } catch (error) {
      expect((error as SealCryptoError).code).toBe('HASH_FINALIZED');
    }
  });

  it('hmacSha256 refuses a string key and non-byte data', () => {
    expect(() => hmacSha256('secret' as unknown as Uint8Array, ascii('x'))).toThrow(
      /key must be a SecretKey or a Uint8Array/,
    );
    expect(() => hmacSha256(ascii('k'), 'x' as unknown as Uint8Array)).toThrow(/data must be/);
  });
});

describe('hmacSha256Hex', () => {
  it('is the hex of hmacSha256 for the RFC 4231 vectors', () => {
    for (const vector of hmacVectors) {
      const mac = hmacSha256Hex(hex(vector.key), hex(vector.data));
      const compared = (vector.truncatedToBytes ?? 32) * 2;
      expect(mac).toMatch(/^[0-9a-f]{64}$/);
      expect(mac.slice(0, compared), `case ${vector.case}`).toBe(vector.hmacSha256);
    }
  });

  it('MACs a string as its UTF-8 bytes, and bytes as hmacSha256 does, with a SecretKey (property)', () => {
    const key = deriveKey('hmac-hex-test-token-5d1c9a7e3b', 'audit');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        const bytes = new TextEncoder().encode(text);
        expect(hmacSha256Hex(key, text)).toBe(toHex(hmacSha256(key, bytes)));
        expect(hmacSha256Hex(key, bytes)).toBe(toHex(hmacSha256(key, bytes)));
      }),
    );
  });

  it('refuses a string with a lone surrogate (it has no UTF-8 encoding) instead of MACing U+FFFD', () => {
    const error = (() => {
      try {
        hmacSha256Hex(ascii('k'), 'a\ud800b');
      } catch (e) {
        return e as SealCryptoError;
      }
      throw new Error('a lone surrogate was MACed');
    })();
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.argument).toBe('data');
    expect(error.message).toMatch(/lone surrogate/);
    // A well-formed pair is text like any other.
    expect(hmacSha256Hex(ascii('k'), 'a\ud83d\ude00b')).toBe(
      toHex(hmacSha256(ascii('k'), new TextEncoder().encode('a\u{1f600}b'))),
    );
  });

  it('refuses a string key and data that is neither bytes nor a string', () => {
    expect(() => hmacSha256Hex('secret' as unknown as Uint8Array, 'x')).toThrow(
      /key must be a SecretKey or a Uint8Array/,
    );
    expect(() => hmacSha256Hex(ascii('k'), 42 as unknown as string)).toThrow(
      /data must be a Uint8Array \(a Buffer is fine\), got a number/,
    );
  });
});

describe('timingSafeEqual', () => {
  it('is true exactly when the bytes are equal', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (a, b) => {
        expect(timingSafeEqual(a, b)).toBe(Buffer.compare(a, b) === 0);
        expect(timingSafeEqual(a, new Uint8Array(a))).toBe(true);
      }),
    );
  });

  it('is false on a length mismatch, including a prefix', () => {
    expect(timingSafeEqual(ascii('abc'), ascii('abcd'))).toBe(false);
    expect(timingSafeEqual(new Uint8Array(0), new Uint8Array(1))).toBe(false);
  });

  it('refuses non-bytes with a TypeError naming the argument', () => {
    expect(() => timingSafeEqual(ascii('a'), 'a' as unknown as Uint8Array)).toThrow(/^b must be/);
  });
});
