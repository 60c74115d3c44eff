import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import {
  deriveKey,
  encodeSealPayload,
  HKDF_SALT,
  hkdfSha256,
  KEY_DERIVATION_LABELS,
  SEAL_PAYLOAD_TAG,
  SEAL_PAYLOAD_VERSION,
  SealCryptoError,
  type SealFields,
  sha256,
  signSeal,
  verifySealSignature,
} from '@vramseal/seal-crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ascii, flipBit, ReferenceLayout, toHex } from './helpers.js';

const key = deriveKey('wrk-0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b4', 'seal');
const otherKey = deriveKey('wrk-0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b5', 'seal');

function sampleFields(overrides: Partial<SealFields> = {}): SealFields {
  return {
    keyId: key.id,
    shardId: 'llama-3-8b/shard-00002',
    device: 1,
    byteLength: 5_368_709_120,
    digest: sha256(ascii('weights')),
    treeRoot: sha256(ascii('tree')),
    leafSize: 65_536,
    sealedAt: 1_785_000_000_123,
    modelRef: 'meta-llama/Meta-Llama-3-8B@main',
    shardIndex: 2,
    totalShards: 4,
    ...overrides,
  };
}

/** The README's byte layout, written out independently of the encoder. */
function layoutFromReadme(f: SealFields): Uint8Array {
  return new ReferenceLayout()
    .raw(ascii('vramseal/seal-payload'))
    .uint(0, 1)
    .uint(1, 2)
    .str(f.keyId)
    .str(f.shardId)
    .uint(f.device, 4)
    .uint(f.byteLength, 8)
    .raw(f.digest)
    .raw(f.treeRoot)
    .uint(f.leafSize, 4)
    .uint(f.sealedAt, 8)
    .str(f.modelRef)
    .uint(f.shardIndex, 4)
    .uint(f.totalShards, 4)
    .finish();
}

const fieldsArb: fc.Arbitrary<SealFields> = fc
  .record({
    shardId: fc.string({ minLength: 1, maxLength: 40 }),
    device: fc.integer({ min: 0, max: 0xffff_ffff }),
    byteLength: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    digest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    treeRoot: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    leafSize: fc.integer({ min: 6, max: 30 }).map((bits) => 2 ** bits),
    sealedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    modelRef: fc.string({ maxLength: 40 }),
    totalShards: fc.integer({ min: 1, max: 0xffff_ffff }),
    shardFraction: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  })
  .map(({ shardFraction, ...rest }) => ({
    ...rest,
    keyId: key.id,
    shardIndex: Math.floor(shardFraction * rest.totalShards),
  }));

/** Flips one bit of one field, keeping the result a valid SealFields (else null). */
function flipFieldBit(fields: SealFields, field: keyof SealFields, bit: number): SealFields | null {
  const value = fields[field];
  let flipped: unknown;
  if (value instanceof Uint8Array) flipped = flipBit(value, bit % 256);
  else if (typeof value === 'number') {
    const b = BigInt(bit % 53);
    flipped = Number(BigInt(value) ^ (1n << b));
  } else if (typeof value === 'string') {
    if (value.length === 0) return null;
    const at = bit % value.length;
    const code = value.charCodeAt(at) ^ (1 << (bit % 7));
    flipped = value.slice(0, at) + String.fromCharCode(code) + value.slice(at + 1);
  }
  const mutated = { ...fields, [field]: flipped };
  try {
    encodeSealPayload(mutated);
    return mutated;
  } catch {
    return null;
  }
}

describe('encodeSealPayload', () => {
  it('follows the documented byte layout exactly', () => {
    const fields = sampleFields();
    expect(toHex(encodeSealPayload(fields))).toBe(toHex(layoutFromReadme(fields)));
    fc.assert(
      fc.property(fieldsArb, (f) => {
        expect(toHex(encodeSealPayload(f))).toBe(toHex(layoutFromReadme(f)));
      }),
    );
  });

  it('opens with the domain-separation tag and the version', () => {
    expect(SEAL_PAYLOAD_TAG).toBe('vramseal/seal-payload\u0000');
    expect(SEAL_PAYLOAD_VERSION).toBe(1);
    const payload = encodeSealPayload(sampleFields());
    expect(new TextDecoder().decode(payload.subarray(0, 22))).toBe(SEAL_PAYLOAD_TAG);
    expect(payload[22]).toBe(0);
    expect(payload[23]).toBe(SEAL_PAYLOAD_VERSION);
  });

  it('is injective across field boundaries (moving bytes between strings changes it)', () => {
    const a = encodeSealPayload(sampleFields({ shardId: 'ab', modelRef: 'c' }));
    const b = encodeSealPayload(sampleFields({ shardId: 'a', modelRef: 'bc' }));
    expect(toHex(a)).not.toBe(toHex(b));
  });

  it.each<[string, Partial<Record<keyof SealFields, unknown>>, RegExp]>([
    ['keyId not hex', { keyId: 'XYZ' }, /fields\.keyId/],
    ['empty shardId', { shardId: '' }, /fields\.shardId/],
    ['lone surrogate', { shardId: 'a\ud800' }, /lone surrogate/],
    ['negative device', { device: -1 }, /fields\.device/],
    ['fractional byteLength', { byteLength: 1.5 }, /fields\.byteLength/],
    ['short digest', { digest: new Uint8Array(31) }, /fields\.digest must be exactly 32 bytes/],
    ['hex-string treeRoot', { treeRoot: 'ab'.repeat(32) }, /fields\.treeRoot must be a Uint8Array/],
    ['leafSize not a power of two', { leafSize: 1000 }, /fields\.leafSize/],
    ['ISO sealedAt', { sealedAt: '2026-01-01T00:00:00Z' }, /fields\.sealedAt/],
    ['shardIndex >= totalShards', { shardIndex: 4 }, /fields\.shardIndex/],
    ['zero totalShards', { totalShards: 0, shardIndex: 0 }, /fields\.totalShards/],
    ['missing modelRef', { modelRef: undefined }, /fields\.modelRef must be a string/],
  ])('refuses %s with a TypeError/RangeError naming the field', (_why, override, message) => {
    const fields = { ...sampleFields(), ...override } as SealFields;
    expect(() => encodeSealPayload(fields)).toThrow(message);
    expect(() => signSeal(key, fields)).toThrow(message);
    expect(() => verifySealSignature(key, fields, new Uint8Array(32))).toThrow(message);
  });
});

describe('signSeal / verifySealSignature', () => {
  it('signs with HMAC-SHA256(seal key, payload)', () => {
    const fields = sampleFields();
    const keyBytes = hkdfSha256(
      ascii('wrk-0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b4'),
      ascii(HKDF_SALT),
      ascii(KEY_DERIVATION_LABELS.seal),
      32,
    );
    const expected = nobleHmac(nobleSha256, keyBytes, layoutFromReadme(fields));
    expect(toHex(signSeal(key, fields))).toBe(toHex(expected));
  });

  it('verifies its own signatures', () => {
    fc.assert(
      fc.property(fieldsArb, (fields) => {
        expect(verifySealSignature(key, fields, signSeal(key, fields))).toBe(true);
      }),
    );
  });

  it('flipping any bit of any signed field makes verification false', () => {
    const fieldNames = Object.keys(sampleFields()) as (keyof SealFields)[];
    fc.assert(
      fc.property(fieldsArb, fc.constantFrom(...fieldNames), fc.nat(), (fields, field, bit) => {
        const signature = signSeal(key, fields);
        const mutated = flipFieldBit(fields, field, bit);
        fc.pre(mutated !== null);
        expect(verifySealSignature(key, mutated!, signature)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('flipping any bit of the signature makes verification false', () => {
    fc.assert(
      fc.property(fieldsArb, fc.integer({ min: 0, max: 255 }), (fields, bit) => {
        const signature = signSeal(key, fields);
        expect(verifySealSignature(key, fields, flipBit(signature, bit))).toBe(false);
      }),
    );
  });

  it('is false (not an error) for a signature of another length or from another key', () => {
    const fields = sampleFields();
    const signature = signSeal(key, fields);
    expect(verifySealSignature(key, fields, signature.subarray(0, 31))).toBe(false);
    expect(verifySealSignature(key, fields, new Uint8Array(0))).toBe(false);
    const foreign = signSeal(otherKey, sampleFields({ keyId: otherKey.id }));
    expect(verifySealSignature(key, fields, foreign)).toBe(false);
    expect(verifySealSignature(otherKey, fields, signature)).toBe(false);
  });

  it('refuses to sign fields that name another key', () => {
    try {
      signSeal(otherKey, sampleFields());
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SealCryptoError);
      expect((error as SealCryptoError).code).toBe('KEY_ID_MISMATCH');
    }
  });

  it('refuses a key derived for another purpose, when signing and when verifying', () => {
    const auditKey = deriveKey('wrk-0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b4', 'audit');
    const fields = sampleFields({ keyId: auditKey.id });
    const signature = signSeal(key, sampleFields());
    for (const attempt of [
      () => signSeal(auditKey, fields),
      () => verifySealSignature(auditKey, fields, signature),
    ]) {
      try {
        attempt();
        expect.unreachable('an audit key must not sign or check seals');
      } catch (error) {
        expect((error as SealCryptoError).code).toBe('KEY_PURPOSE_MISMATCH');
        expect((error as Error).message).toContain(`deriveKey(secret, 'seal')`);
      }
    }
  });

  it('refuses a non-SecretKey key and a non-byte signature with a TypeError', () => {
    const fields = sampleFields();
    expect(() => signSeal(new Uint8Array(32) as never, fields)).toThrow(/key must be a SecretKey/);
    expect(() => verifySealSignature(key, fields, 'sig' as unknown as Uint8Array)).toThrow(
      /signature must be a Uint8Array/,
    );
  });
});
