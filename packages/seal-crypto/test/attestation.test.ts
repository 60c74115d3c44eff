import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  verify,
} from 'node:crypto';
import {
  ATTESTATION_PAYLOAD_TAG,
  ATTESTATION_PAYLOAD_VERSION,
  type AttestationFields,
  deriveKey,
  encodeAttestationPayload,
  encodeSealPayload,
  type SealFields,
  sha256,
  signAttestation,
  verifyAttestationSignature,
} from '@vramseal/seal-crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ascii, flipBit, hex, ReferenceLayout, readVectors, toHex } from './helpers.js';

interface AttestationVector {
  fields: {
    seal: Record<string, string | number>;
    deviceName: string;
    deviceUuid: string;
    computeCapability: string;
    memoryType: string;
    measuredTreeRoot: string;
    nonce: string;
    attestedAt: number;
  };
  sealPayloadLength: number;
  ed25519Seed: string;
  ed25519PublicKey: string;
  payload: string;
  signature: string;
}

const vector = readVectors<AttestationVector>('attestation-payload.json');

function vectorFields(): AttestationFields {
  const { seal, measuredTreeRoot, nonce, ...rest } = vector.fields;
  return {
    ...rest,
    seal: {
      ...seal,
      digest: hex(seal.digest as string),
      treeRoot: hex(seal.treeRoot as string),
    } as unknown as SealFields,
    measuredTreeRoot: hex(measuredTreeRoot),
    nonce: hex(nonce),
  };
}

/** An Ed25519 private key from a raw 32-byte RFC 8032 seed (PKCS#8 wrapper of RFC 8410). */
function ed25519FromSeed(seedHex: string): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), hex(seedHex)]),
    format: 'der',
    type: 'pkcs8',
  });
}

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const sealKey = deriveKey('wrk-0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b4', 'seal');

function sampleFields(overrides: Partial<AttestationFields> = {}): AttestationFields {
  return {
    seal: {
      keyId: sealKey.id,
      shardId: 'llama-3-8b/shard-00002',
      device: 0,
      byteLength: 1_073_741_824,
      digest: sha256(ascii('weights')),
      treeRoot: sha256(ascii('tree')),
      leafSize: 65_536,
      sealedAt: 1_785_000_000_123,
      modelRef: 'meta-llama/Meta-Llama-3-8B@main',
      shardIndex: 2,
      totalShards: 4,
    },
    deviceName: 'NVIDIA H200',
    deviceUuid: 'GPU-5f0b6c2e-8d1a-4b3c-9e7f-0a1b2c3d4e5f',
    computeCapability: '9.0',
    memoryType: 'device',
    measuredTreeRoot: sha256(ascii('tree')),
    nonce: new Uint8Array(randomBytes(32)),
    attestedAt: 1_785_000_060_000,
    ...overrides,
  };
}

/** The README's byte table, written out independently of the encoder. */
function layoutFromReadme(f: AttestationFields): Uint8Array {
  return new ReferenceLayout()
    .raw(ascii('vramseal/attestation-payload'))
    .uint(0, 1)
    .uint(1, 2)
    .prefixed(encodeSealPayload(f.seal))
    .str(f.deviceName)
    .str(f.deviceUuid)
    .str(f.computeCapability)
    .str(f.memoryType)
    .raw(f.measuredTreeRoot)
    .prefixed(f.nonce)
    .uint(f.attestedAt, 8)
    .finish();
}

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
/** Valid values of every seal field (shardIndex alone: it must also be < totalShards). */
const sealArbs = {
  keyId: fc.stringMatching(/^[0-9a-f]{16}$/),
  shardId: fc.string({ minLength: 1, maxLength: 30 }),
  device: fc.integer({ min: 0, max: 0xffff_ffff }),
  byteLength: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  digest: bytes32,
  treeRoot: bytes32,
  leafSize: fc.integer({ min: 6, max: 30 }).map((bits) => 2 ** bits),
  sealedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  modelRef: fc.string({ maxLength: 30 }),
  shardIndex: fc.nat(),
  totalShards: fc.integer({ min: 1, max: 0xffff_ffff }),
} satisfies Record<keyof SealFields, fc.Arbitrary<unknown>>;
const { shardIndex: _index, ...independent } = sealArbs;
const sealArb: fc.Arbitrary<SealFields> = fc
  .record({
    ...independent,
    shardFraction: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
  })
  .map(({ shardFraction, ...rest }) => ({
    ...rest,
    shardIndex: Math.floor(shardFraction * rest.totalShards),
  }));

/** Valid values of every top-level field (strings may hold any Unicode, not only ASCII). */
const topArbs = {
  deviceName: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  deviceUuid: fc.string({ minLength: 1, maxLength: 40 }),
  computeCapability: fc.string({ maxLength: 6 }),
  memoryType: fc.oneof(fc.constantFrom('device', 'host', 'managed'), fc.string({ minLength: 1 })),
  measuredTreeRoot: bytes32,
  nonce: fc.uint8Array({ minLength: 8, maxLength: 64 }),
  attestedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
};
const fieldsArb: fc.Arbitrary<AttestationFields> = fc.record({ seal: sealArb, ...topArbs });

type FieldPath = keyof Omit<AttestationFields, 'seal'> | `seal.${keyof SealFields}`;
const allPaths: FieldPath[] = [
  ...(Object.keys(topArbs) as (keyof typeof topArbs)[]),
  ...(Object.keys(sealArbs) as (keyof SealFields)[]).map((f) => `seal.${f}` as const),
];

function withField(fields: AttestationFields, path: FieldPath, value: unknown): AttestationFields {
  if (path.startsWith('seal.')) {
    return { ...fields, seal: { ...fields.seal, [path.slice(5)]: value } };
  }
  return { ...fields, [path]: value };
}

function fieldValue(fields: AttestationFields, path: FieldPath): unknown {
  return path.startsWith('seal.')
    ? fields.seal[path.slice(5) as keyof SealFields]
    : fields[path as keyof AttestationFields];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return toHex(a) === toHex(b);
  return a === b;
}

describe('encodeAttestationPayload', () => {
  it('produces the golden bytes of test/vectors/attestation-payload.json', () => {
    expect(toHex(encodeAttestationPayload(vectorFields()))).toBe(vector.payload);
  });

  it('places the fields where the README byte table says (checked by hand on the vector)', () => {
    const payload = encodeAttestationPayload(vectorFields());
    // 'vramseal/attestation-payload' is 28 ASCII bytes, then 0x00: the version u16 is at 29.
    expect(new TextDecoder().decode(payload.subarray(0, 28))).toBe(ATTESTATION_PAYLOAD_TAG);
    expect([...payload.subarray(28, 31)]).toEqual([0x00, 0x00, 0x01]);
    // Seal payload length at 31 (u32). Counted by hand from the seal byte table: 22 tag + 2 version
    // + (4+16) keyId + (4+22) shardId + 4 device + 8 byteLength + 32 digest + 32 treeRoot
    // + 4 leafSize + 8 sealedAt + (4+16) modelRef ('örg/modèl@main': 14 chars, ö and è 2 bytes
    // each) + 4 shardIndex + 4 totalShards = 186 = 0xba.
    expect([...payload.subarray(31, 35)]).toEqual([0, 0, 0, 0xba]);
    expect(vector.sealPayloadLength).toBe(186);
    // ...followed by exactly the bytes encodeSealPayload returns (one definition, not a copy).
    expect(toHex(payload.subarray(35, 35 + 186))).toBe(
      toHex(encodeSealPayload(vectorFields().seal)),
    );
    // deviceName at 35 + 186 = 221: u32 length 11, then 'NVIDIA H200'.
    expect([...payload.subarray(221, 225)]).toEqual([0, 0, 0, 11]);
    expect(new TextDecoder().decode(payload.subarray(225, 236))).toBe('NVIDIA H200');
    // The last 8 bytes are attestedAt (u64 big-endian).
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    expect(view.getBigUint64(payload.length - 8)).toBe(1_785_000_060_000n);
  });

  it('follows the README byte table for random fields', () => {
    fc.assert(
      fc.property(fieldsArb, (f) => {
        expect(toHex(encodeAttestationPayload(f))).toBe(toHex(layoutFromReadme(f)));
      }),
    );
  });

  it('exports its tag and version', () => {
    expect(ATTESTATION_PAYLOAD_TAG).toBe('vramseal/attestation-payload');
    expect(ATTESTATION_PAYLOAD_VERSION).toBe(1);
  });

  it('changing any single field changes the bytes and breaks the signature (property)', () => {
    const mutation = fieldsArb.chain((fields) =>
      fc.constantFrom(...allPaths).chain((path) => {
        const arb = path.startsWith('seal.')
          ? sealArbs[path.slice(5) as keyof SealFields]
          : topArbs[path as keyof typeof topArbs];
        return arb.map((value) => ({ fields, path, value }));
      }),
    );
    const seen = new Set<FieldPath>();
    fc.assert(
      fc.property(mutation, ({ fields, path, value }) => {
        fc.pre(!sameValue(fieldValue(fields, path), value));
        const mutated = withField(fields, path, value);
        // shardIndex must stay below totalShards: other values are refused, not encoded.
        fc.pre(mutated.seal.shardIndex < mutated.seal.totalShards);
        seen.add(path);
        const signature = signAttestation(privateKey, fields);
        expect(toHex(encodeAttestationPayload(mutated))).not.toBe(
          toHex(encodeAttestationPayload(fields)),
        );
        expect(verifyAttestationSignature(publicKey, mutated, signature)).toBe(false);
        expect(verifyAttestationSignature(publicKey, fields, signature)).toBe(true);
      }),
      { numRuns: 400 },
    );
    // Every field was exercised at least once (the property is not vacuous for any of them).
    expect([...seen].sort()).toEqual([...allPaths].sort());
  });

  it('is injective across field boundaries (moving bytes between neighbours changes it)', () => {
    const pairs: [Partial<AttestationFields>, Partial<AttestationFields>][] = [
      [
        { deviceName: 'ab', deviceUuid: 'c' },
        { deviceName: 'a', deviceUuid: 'bc' },
      ],
      [
        { computeCapability: '', memoryType: '9.0device' },
        { computeCapability: '9.0', memoryType: 'device' },
      ],
      [
        { nonce: new Uint8Array(8), attestedAt: 0 },
        { nonce: new Uint8Array(9), attestedAt: 0 },
      ],
    ];
    for (const [a, b] of pairs) {
      expect(toHex(encodeAttestationPayload(sampleFields(a)))).not.toBe(
        toHex(encodeAttestationPayload(sampleFields(b))),
      );
    }
  });

  it('accepts the limits of every range', () => {
    const limits: Partial<AttestationFields>[] = [
      { deviceName: 'x'.repeat(65_535) },
      { deviceName: '\u{1f600}' },
      { deviceUuid: `${'é'.repeat(127)}x` }, // 255 bytes
      { computeCapability: '' },
      { computeCapability: 'x'.repeat(255) },
      { memoryType: 'x' },
      { nonce: new Uint8Array(8) },
      { nonce: new Uint8Array(1024) },
      { attestedAt: 0 },
      { attestedAt: Number.MAX_SAFE_INTEGER },
    ];
    for (const override of limits) {
      expect(() => encodeAttestationPayload(sampleFields(override))).not.toThrow();
    }
  });

  const base = sampleFields();
  it.each<[string, unknown, ErrorConstructor, RegExp]>([
    ['null fields', null, TypeError, /^fields must be an AttestationFields object/],
    ['no seal', { ...base, seal: undefined }, TypeError, /fields\.seal must be a SealFields/],
    [
      'a short seal digest',
      { ...base, seal: { ...base.seal, digest: new Uint8Array(31) } },
      RangeError,
      /^fields\.seal\.digest must be exactly 32 bytes/,
    ],
    [
      'a seal keyId that is not hex',
      { ...base, seal: { ...base.seal, keyId: 'XYZ' } },
      RangeError,
      /^fields\.seal\.keyId/,
    ],
    [
      'seal shardIndex >= totalShards',
      { ...base, seal: { ...base.seal, shardIndex: 4 } },
      RangeError,
      /^fields\.seal\.shardIndex/,
    ],
    [
      'a seal leafSize that is no power of two',
      { ...base, seal: { ...base.seal, leafSize: 1000 } },
      RangeError,
      /^fields\.seal\.leafSize must be a power of two/,
    ],
    ['empty deviceName', { ...base, deviceName: '' }, RangeError, /^fields\.deviceName must be 1/],
    [
      'deviceName over 65535 bytes',
      { ...base, deviceName: 'x'.repeat(65_536) },
      RangeError,
      /^fields\.deviceName/,
    ],
    [
      'a lone surrogate in deviceName',
      { ...base, deviceName: 'H200\ud800' },
      RangeError,
      /^fields\.deviceName contains a lone surrogate/,
    ],
    ['numeric deviceName', { ...base, deviceName: 0 }, TypeError, /^fields\.deviceName must be a/],
    ['empty deviceUuid', { ...base, deviceUuid: '' }, RangeError, /^fields\.deviceUuid/],
    [
      'deviceUuid over 255 bytes',
      { ...base, deviceUuid: 'é'.repeat(128) },
      RangeError,
      /^fields\.deviceUuid must be 1\.\.255 bytes of UTF-8, got 256/,
    ],
    [
      'computeCapability over 255 bytes',
      { ...base, computeCapability: 'x'.repeat(256) },
      RangeError,
      /^fields\.computeCapability/,
    ],
    [
      'missing computeCapability',
      { ...base, computeCapability: undefined },
      TypeError,
      /^fields\.computeCapability must be a string/,
    ],
    ['empty memoryType', { ...base, memoryType: '' }, RangeError, /^fields\.memoryType/],
    [
      'a hex-string measuredTreeRoot',
      { ...base, measuredTreeRoot: 'ab'.repeat(32) },
      TypeError,
      /^fields\.measuredTreeRoot must be a Uint8Array/,
    ],
    [
      'a 33-byte measuredTreeRoot',
      { ...base, measuredTreeRoot: new Uint8Array(33) },
      RangeError,
      /^fields\.measuredTreeRoot must be exactly 32 bytes/,
    ],
    [
      'a 7-byte nonce',
      { ...base, nonce: new Uint8Array(7) },
      RangeError,
      /^fields\.nonce must be 8\.\.1024 bytes, got 7/,
    ],
    [
      'a 1025-byte nonce',
      { ...base, nonce: new Uint8Array(1025) },
      RangeError,
      /^fields\.nonce must be 8\.\.1024 bytes, got 1025/,
    ],
    [
      'a string nonce',
      { ...base, nonce: 'nonce-nonce' },
      TypeError,
      /^fields\.nonce must be a Uint8Array/,
    ],
    ['negative attestedAt', { ...base, attestedAt: -1 }, RangeError, /^fields\.attestedAt/],
    ['fractional attestedAt', { ...base, attestedAt: 1.5 }, TypeError, /^fields\.attestedAt/],
    [
      'attestedAt past 2^53-1',
      { ...base, attestedAt: 2 ** 53 },
      RangeError,
      /^fields\.attestedAt must be between 0 and 9007199254740991/,
    ],
    [
      'an ISO attestedAt',
      { ...base, attestedAt: '2026-01-01T00:00:00Z' },
      TypeError,
      /^fields\.attestedAt/,
    ],
  ])('refuses %s with the right error naming the field', (_why, fields, type, message) => {
    const f = fields as AttestationFields;
    for (const attempt of [
      () => encodeAttestationPayload(f),
      () => signAttestation(privateKey, f),
      () => verifyAttestationSignature(publicKey, f, new Uint8Array(64)),
    ]) {
      expect(attempt).toThrow(type);
      expect(attempt).toThrow(message);
    }
  });
});

describe('signAttestation / verifyAttestationSignature', () => {
  it('signs the golden vector with RFC 8032 Ed25519 (deterministic signature)', () => {
    const seedKey = ed25519FromSeed(vector.ed25519Seed);
    const pub = createPublicKey(seedKey);
    const raw = pub.export({ format: 'der', type: 'spki' }).subarray(-32);
    expect(toHex(raw)).toBe(vector.ed25519PublicKey);
    const signature = signAttestation(seedKey, vectorFields());
    expect(toHex(signature)).toBe(vector.signature);
    expect(verifyAttestationSignature(pub, vectorFields(), hex(vector.signature))).toBe(true);
    // Plain node:crypto agrees: the signature is over exactly encodeAttestationPayload's bytes.
    expect(verify(null, hex(vector.payload), pub, hex(vector.signature))).toBe(true);
  });

  it('returns a plain 64-byte Uint8Array', () => {
    const signature = signAttestation(privateKey, sampleFields());
    expect(signature).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(signature)).toBe(false);
    expect(signature.length).toBe(64);
  });

  it('verifies its own signatures, with the public key or the private key', () => {
    fc.assert(
      fc.property(fieldsArb, (fields) => {
        const signature = signAttestation(privateKey, fields);
        expect(verifyAttestationSignature(publicKey, fields, signature)).toBe(true);
        expect(verifyAttestationSignature(privateKey, fields, signature)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('is false for another key', () => {
    const fields = sampleFields();
    const signature = signAttestation(privateKey, fields);
    expect(verifyAttestationSignature(other.publicKey, fields, signature)).toBe(false);
    expect(verifyAttestationSignature(other.privateKey, fields, signature)).toBe(false);
    const foreign = signAttestation(other.privateKey, fields);
    expect(verifyAttestationSignature(publicKey, fields, foreign)).toBe(false);
  });

  it('is false for another nonce (a replayed attestation does not answer a new challenge)', () => {
    const fields = sampleFields({ nonce: new Uint8Array(randomBytes(32)) });
    const signature = signAttestation(privateKey, fields);
    const fresh = { ...fields, nonce: new Uint8Array(randomBytes(32)) };
    expect(verifyAttestationSignature(publicKey, fresh, signature)).toBe(false);
    const oneBitOff = { ...fields, nonce: flipBit(fields.nonce, 0) };
    expect(verifyAttestationSignature(publicKey, oneBitOff, signature)).toBe(false);
  });

  it('is false (not an error) for a wrong signature of any length or content', () => {
    const fields = sampleFields();
    const signature = signAttestation(privateKey, fields);
    for (const wrong of [
      new Uint8Array(0),
      signature.subarray(0, 63),
      new Uint8Array([...signature, 0]),
      new Uint8Array(64),
      new Uint8Array(randomBytes(64)),
      new Uint8Array(64).fill(0xff),
      new Uint8Array(32), // an HMAC seal signature's length
    ]) {
      expect(verifyAttestationSignature(publicKey, fields, wrong)).toBe(false);
    }
    for (let bit = 0; bit < 512; bit += 7) {
      expect(verifyAttestationSignature(publicKey, fields, flipBit(signature, bit))).toBe(false);
    }
  });

  it('refuses a signature that is not bytes with a TypeError naming it', () => {
    const fields = sampleFields();
    const hexSignature = toHex(signAttestation(privateKey, fields));
    expect(() =>
      verifyAttestationSignature(publicKey, fields, hexSignature as unknown as Uint8Array),
    ).toThrow(/^signature must be a Uint8Array/);
  });

  describe('key checks', () => {
    const rawSeed = new Uint8Array(randomBytes(32));
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const pemBody = pem.split('\n')[1]!;
    const badPrivateKeys: [string, unknown][] = [
      ['an Ed25519 public key', publicKey],
      ['an X25519 private key', generateKeyPairSync('x25519').privateKey],
      ['an Ed448 private key', generateKeyPairSync('ed448').privateKey],
      ['an EC P-256 private key', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
      ['a secret KeyObject', createSecretKey(rawSeed)],
      ['a seal SecretKey', sealKey],
      ['raw seed bytes', rawSeed],
      ['a PEM string', pem],
      ['undefined', undefined],
    ];
    it.each(badPrivateKeys)('signAttestation refuses %s, naming privateKey', (_what, key) => {
      let error: unknown;
      try {
        signAttestation(key as KeyObject, sampleFields());
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TypeError);
      const message = (error as Error).message;
      expect(message).toMatch(/^privateKey must be an Ed25519 private KeyObject/);
      expect(message).not.toContain(toHex(rawSeed));
      expect(message).not.toContain(Buffer.from(rawSeed).toString('base64'));
      expect(message).not.toContain(pemBody);
      expect(message).not.toContain(String([...rawSeed]));
    });

    const badPublicKeys: [string, unknown][] = [
      ['an X25519 public key', generateKeyPairSync('x25519').publicKey],
      ['a secret KeyObject', createSecretKey(rawSeed)],
      ['raw public key bytes', rawSeed],
      ['a PEM string', pem],
      ['a seal SecretKey', sealKey],
      ['null', null],
    ];
    it.each(badPublicKeys)('verifyAttestationSignature refuses %s, naming publicKey', (_w, key) => {
      const fields = sampleFields();
      const signature = signAttestation(privateKey, fields);
      let error: unknown;
      try {
        verifyAttestationSignature(key as KeyObject, fields, signature);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(TypeError);
      const message = (error as Error).message;
      expect(message).toMatch(/^publicKey must be an Ed25519 KeyObject/);
      expect(message).not.toContain(toHex(rawSeed));
      expect(message).not.toContain(pemBody);
    });

    it('says what kind of key was passed instead', () => {
      expect(() => signAttestation(publicKey, sampleFields())).toThrow(/got a public key/);
      expect(() =>
        signAttestation(generateKeyPairSync('x25519').privateKey, sampleFields()),
      ).toThrow(/got a private key of type x25519/);
      expect(() => signAttestation(createSecretKey(rawSeed), sampleFields())).toThrow(
        /got a secret \(symmetric\) KeyObject/,
      );
      expect(() => signAttestation(rawSeed as never, sampleFields())).toThrow(
        /got an object \(Uint8Array\)/,
      );
    });
  });
});
