import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  type AttestationFields,
  HKDF_SALT,
  hkdfSha256,
  KEY_DERIVATION_LABELS,
  signAttestation,
} from '@vramseal/seal-crypto';
import {
  ATTESTATION_FORMAT,
  type AttestationStatement,
  type SealedShard,
  VramError,
  verifyAttestation,
} from '@vramseal/vram-manager';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAKE_GPU_NAME, fakeGpu, mockBackend } from './fake-gpu.js';
import {
  attestationKeys,
  expectCleanObservability,
  type Harness,
  harness,
  MiB,
  narrationOf,
  randomShard,
  SEALED_SHARD_FIELDS,
  TOKEN,
} from './helpers.js';

let h: Harness | undefined;
const NONCE = 'verifier-nonce-7f3a9c21';
const publicKey = attestationKeys.publicKey;

type Mutable = { -readonly [K in keyof AttestationStatement]: AttestationStatement[K] } & Record<
  string,
  unknown
>;

function copy(statement: AttestationStatement): Mutable {
  return JSON.parse(JSON.stringify(statement));
}

/** Flips one hex digit, keeping it lowercase hex. */
const flipHex = (hex: string, at = 0) =>
  hex.slice(0, at) + ((Number.parseInt(hex[at]!, 16) + 1) % 16).toString(16) + hex.slice(at + 1);

/** The fields a statement signs, built here from the statement's JSON (independently of src). */
function fieldsOf(s: AttestationStatement): AttestationFields {
  return {
    seal: {
      keyId: s.shard.keyId,
      shardId: s.shard.shardId,
      device: s.shard.gpuDevice,
      byteLength: s.shard.vramBytes,
      digest: Buffer.from(s.shard.digest, 'hex'),
      treeRoot: Buffer.from(s.shard.treeRoot, 'hex'),
      leafSize: s.shard.leafSize,
      sealedAt: s.shard.sealedAt,
      modelRef: s.shard.modelRef,
      shardIndex: s.shard.shardIndex,
      totalShards: s.shard.totalShards,
    },
    deviceName: s.device.name,
    deviceUuid: s.device.uuid,
    computeCapability: s.device.computeCapability,
    memoryType: s.device.memoryType,
    measuredTreeRoot: Buffer.from(s.measuredTreeRoot, 'hex'),
    nonce: Buffer.from(s.nonce, 'hex'),
    attestedAt: s.attestedAt,
  };
}

/** Signs a statement with the manager's own attestation key (what a manager would have said). */
function resign(s: Mutable): Mutable {
  s.signature = Buffer.from(signAttestation(attestationKeys.privateKey, fieldsOf(s))).toString(
    'base64',
  );
  return s;
}

async function sealed(
  options: Parameters<typeof harness>[0] = {},
): Promise<{ shard: SealedShard; data: Uint8Array; statement: AttestationStatement }> {
  h = await harness(options);
  const data = randomShard(2 * MiB + 11);
  const shard = await h.manager.sealModel(data, {
    shardId: 'attested-shard',
    modelRef: 'org/model@rev1',
    shardIndex: 1,
    totalShards: 4,
  });
  const statement = await h.manager.attestVramResidency(shard, { nonce: NONCE });
  return { shard, data, statement };
}

describe('attestVramResidency on the mock', () => {
  it('makes a statement that verifies with allowHostMemory, and is not_device_memory without it', async () => {
    const before = Date.now();
    const { shard, statement } = await sealed({ backend: mockBackend([64 * MiB]) });
    expect(statement).toMatchObject({
      format: ATTESTATION_FORMAT,
      version: 1,
      shard: shard.toJSON(),
      device: {
        name: 'mock-0',
        uuid: h!.backend.deviceInfo(0).uuid,
        computeCapability: '',
        memoryType: 'host',
      },
      measuredTreeRoot: shard.treeRoot,
      nonce: Buffer.from(NONCE).toString('hex'),
    });
    expect(statement.attestedAt).toBeGreaterThanOrEqual(before);
    expect(statement.attestedAt).toBeLessThanOrEqual(Date.now());
    expect(Buffer.from(statement.signature, 'base64')).toHaveLength(64);

    const key = h!.manager.attestationPublicKey!;
    expect(key.asymmetricKeyType).toBe('ed25519');
    expect(key.type).toBe('public');
    expect(verifyAttestation(statement, key, { nonce: NONCE, allowHostMemory: true })).toEqual({
      ok: true,
      reason: null,
    });
    expect(verifyAttestation(statement, key, { nonce: NONCE })).toMatchObject({
      ok: false,
      reason: 'not_device_memory',
    });
    // The nonce as bytes is the same nonce.
    expect(
      verifyAttestation(statement, key, { nonce: Buffer.from(NONCE), allowHostMemory: true }).ok,
    ).toBe(true);
    // A PEM public key works as well as a KeyObject.
    const pem = key.export({ type: 'spki', format: 'pem' }).toString();
    expect(verifyAttestation(statement, pem, { nonce: NONCE, allowHostMemory: true }).ok).toBe(
      true,
    );

    expect(narrationOf(h!, 'attest')).toMatchObject([
      { level: 'info', shard_id: 'attested-shard' },
    ]);
    await expectCleanObservability(h!);
  });

  it('round-trips through JSON: the parsed object and the JSON string both verify', async () => {
    const { statement } = await sealed();
    const json = JSON.stringify(statement);
    const options = { nonce: NONCE, allowHostMemory: true };
    expect(verifyAttestation(JSON.parse(json), publicKey, options).ok).toBe(true);
    expect(verifyAttestation(json, publicKey, options).ok).toBe(true);
    // Deterministic Ed25519 over fields built independently here: the same signature.
    expect(resign(copy(statement)).signature).toBe(statement.signature);
  });
});

describe('attestVramResidency on a (fake) GPU', () => {
  it("memoryType 'device' verifies without allowHostMemory; the device is named by name and uuid", async () => {
    const gpu = fakeGpu({ devices: [64 * MiB] });
    const { statement } = await sealed({ backend: gpu.backend, policy: { vramOnly: true } });
    expect(statement.device).toEqual({
      name: FAKE_GPU_NAME,
      uuid: gpu.backend.deviceInfo(0).uuid,
      computeCapability: '9.0',
      memoryType: 'device',
    });
    expect(verifyAttestation(statement, publicKey, { nonce: NONCE })).toEqual({
      ok: true,
      reason: null,
    });
    await expectCleanObservability(h!);
  });
});

describe('verifyAttestation refuses any change', () => {
  const bad = 'bad_signature';
  // Every change that keeps the statement well formed reaches the signature check, which comes
  // before the tree-root and memory-type checks: so each one is bad_signature.
  const changes: [string, (s: Mutable) => void][] = [
    [
      'shard.shardId',
      (s) => {
        s.shard.shardId = 'another-shard';
      },
    ],
    [
      'shard.gpuDevice',
      (s) => {
        s.shard.gpuDevice += 1;
      },
    ],
    [
      'shard.vramBytes',
      (s) => {
        s.shard.vramBytes += 1;
      },
    ],
    [
      'shard.digest',
      (s) => {
        s.shard.digest = flipHex(s.shard.digest, 10);
      },
    ],
    [
      'shard.treeRoot',
      (s) => {
        s.shard.treeRoot = flipHex(s.shard.treeRoot, 63);
      },
    ],
    [
      'shard.leafSize',
      (s) => {
        s.shard.leafSize *= 2;
      },
    ],
    [
      'shard.sealedAt',
      (s) => {
        s.shard.sealedAt -= 1;
      },
    ],
    [
      'shard.modelRef',
      (s) => {
        s.shard.modelRef = 'org/model@rev2';
      },
    ],
    [
      'shard.shardIndex',
      (s) => {
        s.shard.shardIndex = 2;
      },
    ],
    [
      'shard.totalShards',
      (s) => {
        s.shard.totalShards = 5;
      },
    ],
    [
      'shard.keyId',
      (s) => {
        s.shard.keyId = flipHex(s.shard.keyId);
      },
    ],
    [
      'device.name',
      (s) => {
        s.device.name = 'NVIDIA H100 80GB HBM3';
      },
    ],
    [
      'device.uuid',
      (s) => {
        s.device.uuid = 'GPU-00000000-0000-0000-0000-000000000000';
      },
    ],
    [
      'device.computeCapability',
      (s) => {
        s.device.computeCapability = '9.0';
      },
    ],
    [
      'device.memoryType',
      (s) => {
        s.device.memoryType = 'device';
      },
    ],
    [
      'measuredTreeRoot',
      (s) => {
        s.measuredTreeRoot = flipHex(s.measuredTreeRoot, 5);
      },
    ],
    [
      'attestedAt',
      (s) => {
        s.attestedAt += 1;
      },
    ],
    [
      'signature',
      (s) => {
        const sig = Buffer.from(s.signature, 'base64');
        sig[17]! ^= 0x01;
        s.signature = sig.toString('base64');
      },
    ],
  ];

  it.each(changes)('a changed %s is bad_signature', async (_field, change) => {
    const { statement } = await sealed({ backend: mockBackend([64 * MiB]) });
    const changed = copy(statement);
    change(changed);
    expect(changed).not.toEqual(copy(statement));
    for (const allowHostMemory of [true, false]) {
      const check = verifyAttestation(changed, publicKey, { nonce: NONCE, allowHostMemory });
      expect(check).toMatchObject({ ok: false, reason: bad });
      expect(
        verifyAttestation(JSON.stringify(changed), publicKey, { nonce: NONCE, allowHostMemory }),
      ).toEqual(check);
    }
  });

  it('a changed nonce is bad_signature under that nonce, and nonce_mismatch under the original', async () => {
    const { statement } = await sealed();
    const changed = copy(statement);
    changed.nonce = Buffer.from('another-nonce-1234').toString('hex');
    expect(
      verifyAttestation(changed, publicKey, { nonce: 'another-nonce-1234', allowHostMemory: true }),
    ).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
    expect(
      verifyAttestation(changed, publicKey, { nonce: NONCE, allowHostMemory: true }),
    ).toMatchObject({
      ok: false,
      reason: 'nonce_mismatch',
    });
  });

  it('any one-character change anywhere in the JSON, and any flipped signature bit, fails', async () => {
    const { statement } = await sealed();
    const json = JSON.stringify(statement);
    const options = { nonce: NONCE, allowHostMemory: true };
    expect(verifyAttestation(json, publicKey, options).ok).toBe(true);
    // The signature's own characters are covered bit by bit below (base64 has spare bits in its
    // last character, so a character change there need not change a byte).
    const sigStart = json.indexOf(statement.signature);
    const sigEnd = sigStart + statement.signature.length;
    const other = (c: string): string => {
      if (/[0-9]/.test(c)) return String((Number(c) + 1) % 10);
      if (/[a-e]/.test(c)) return String.fromCharCode(c.charCodeAt(0) + 1);
      if (c === 'f') return 'a';
      if (/[a-zA-Z]/.test(c)) return c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
      return 'x';
    };
    const reasons = new Set<string>();
    for (let i = 0; i < json.length; i++) {
      if (i >= sigStart && i < sigEnd) continue;
      const changed = json.slice(0, i) + other(json[i]!) + json.slice(i + 1);
      const check = verifyAttestation(changed, publicKey, options);
      expect(check.ok, `character ${i} (${json.slice(Math.max(0, i - 12), i + 12)})`).toBe(false);
      if (!check.ok) reasons.add(check.reason);
    }
    expect([...reasons].sort()).toEqual([
      'bad_signature',
      'malformed',
      'nonce_mismatch',
      'wrong_format',
    ]);
    const signature = Buffer.from(statement.signature, 'base64');
    for (let bit = 0; bit < signature.length * 8; bit++) {
      const flipped = Buffer.from(signature);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const changed = { ...statement, signature: flipped.toString('base64') };
      expect(verifyAttestation(changed, publicKey, options)).toMatchObject({
        ok: false,
        reason: 'bad_signature',
      });
    }
  });

  it('signed statements that measured another tree root or non-device memory fail those checks', async () => {
    const { statement } = await sealed({ backend: fakeGpu({ devices: [64 * MiB] }).backend });
    const options = { nonce: NONCE };
    expect(verifyAttestation(resign(copy(statement)), publicKey, options).ok).toBe(true);
    const drifted = copy(statement);
    drifted.measuredTreeRoot = flipHex(drifted.measuredTreeRoot, 0);
    expect(verifyAttestation(resign(drifted), publicKey, options)).toMatchObject({
      ok: false,
      reason: 'tree_root_mismatch',
    });
    for (const memoryType of ['host', 'managed']) {
      const hosted = copy(statement);
      hosted.device.memoryType = memoryType;
      resign(hosted);
      expect(verifyAttestation(hosted, publicKey, options)).toMatchObject({
        ok: false,
        reason: 'not_device_memory',
      });
      expect(verifyAttestation(hosted, publicKey, { ...options, allowHostMemory: true }).ok).toBe(
        true,
      );
    }
  });

  it('another nonce is nonce_mismatch; another key is bad_signature; wrong format/version is wrong_format', async () => {
    const { statement } = await sealed();
    expect(
      verifyAttestation(statement, publicKey, {
        nonce: 'verifier-nonce-7f3a9c22',
        allowHostMemory: true,
      }),
    ).toMatchObject({ ok: false, reason: 'nonce_mismatch' });
    expect(
      verifyAttestation(statement, publicKey, { nonce: randomBytes(16), allowHostMemory: true }),
    ).toMatchObject({
      ok: false,
      reason: 'nonce_mismatch',
    });
    const stranger = generateKeyPairSync('ed25519');
    expect(
      verifyAttestation(statement, stranger.publicKey, { nonce: NONCE, allowHostMemory: true }),
    ).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
    expect(
      verifyAttestation({ ...statement, format: 'other' as never }, publicKey, { nonce: NONCE }),
    ).toMatchObject({
      ok: false,
      reason: 'wrong_format',
    });
    expect(
      verifyAttestation({ ...statement, version: 2 as never }, publicKey, { nonce: NONCE }),
    ).toMatchObject({
      ok: false,
      reason: 'wrong_format',
    });
  });

  it("malformed input is 'malformed' and never throws", async () => {
    const { statement } = await sealed();
    const options = { nonce: NONCE, allowHostMemory: true };
    const s = copy(statement);
    const malformed: unknown[] = [
      null,
      undefined,
      42,
      true,
      [],
      'not json',
      '',
      '{"format":',
      '{}',
      'null',
      { ...s, shard: undefined },
      { ...s, shard: 'x' },
      { ...s, device: undefined },
      { ...s, device: { ...s.device, uuid: 7 } },
      { ...s, measuredTreeRoot: s.measuredTreeRoot.toUpperCase() },
      { ...s, measuredTreeRoot: s.measuredTreeRoot.slice(2) },
      { ...s, nonce: `${s.nonce}0` },
      { ...s, nonce: 'zz' },
      { ...s, signature: '!!!' },
      { ...s, signature: 42 },
      { ...s, attestedAt: -1 },
      { ...s, attestedAt: 1.5 },
      { ...s, attestedAt: String(s.attestedAt) },
      { ...s, shard: { ...s.shard, vramBytes: String(s.shard.vramBytes) } },
      { ...s, shard: { ...s.shard, digest: s.shard.digest.toUpperCase() } },
      { ...s, shard: { ...s.shard, shardIndex: 4 } }, // index >= totalShards: no seal has it
      { ...s, device: { ...s.device, memoryType: '' } },
    ];
    for (const input of malformed) {
      let check: ReturnType<typeof verifyAttestation> | undefined;
      expect(
        () => {
          check = verifyAttestation(input as AttestationStatement, publicKey, options);
        },
        JSON.stringify(input)?.slice(0, 80),
      ).not.toThrow();
      expect(check, JSON.stringify(input)?.slice(0, 80)).toMatchObject({
        ok: false,
        reason: 'malformed',
      });
    }
    // Arbitrary values and strings: never a throw, never ok.
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.string(), fc.json()), (input) => {
        const check = verifyAttestation(input as AttestationStatement, publicKey, options);
        return check.ok === false && ['malformed', 'wrong_format'].includes(check.reason);
      }),
      { numRuns: 300 },
    );
  });
});

describe('attestVramResidency refusals', () => {
  it('no attestationKey configured: CONFIG_ERROR naming attestationKey', async () => {
    h = await harness({ attestationKey: undefined });
    expect(h.manager.attestationPublicKey).toBeUndefined();
    const shard = await h.manager.sealModel(randomShard(100));
    await expect(h.manager.attestVramResidency(shard, { nonce: NONCE })).rejects.toMatchObject({
      code: 'CONFIG_ERROR',
      option: 'attestationKey',
    });
    expect(h.manager.state).toBe('ready');
  });

  it('a shard that is not resident is NOT_SEALED (and does not stop the manager)', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(100), { shardId: 'gone' });
    await h.manager.deallocate(shard);
    await expect(h.manager.attestVramResidency(shard, { nonce: NONCE })).rejects.toMatchObject({
      code: 'NOT_SEALED',
      shardId: 'gone',
    });
    await expect(
      h.manager.attestVramResidency({ shardId: 'never' } as never, { nonce: NONCE }),
    ).rejects.toMatchObject({
      code: 'NOT_SEALED',
    });
    await expect(
      h.manager.attestVramResidency(null as never, { nonce: NONCE }),
    ).rejects.toMatchObject({
      code: 'NOT_SEALED',
    });
    expect(h.manager.state).toBe('ready');
  });

  it.each([
    ['a 7-character string', 'abcdefg'],
    ['7 bytes', new Uint8Array(7)],
    ['an empty string', ''],
    ['1025 bytes', new Uint8Array(1025)],
    ['a number', 12345678],
    ['undefined', undefined],
  ])('a nonce of %s is INVALID_INPUT naming options.nonce', async (_label, nonce) => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(100));
    const error = await h.manager
      .attestVramResidency(shard, { nonce: nonce as never })
      .catch((e) => e);
    expect(error).toBeInstanceOf(VramError);
    expect(error).toMatchObject({ code: 'INVALID_INPUT', argument: 'options.nonce' });
    expect(h.manager.state).toBe('ready');
  });

  it('8-byte and 1024-byte nonces, and a multi-byte string of 8 bytes, are accepted', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(100));
    for (const nonce of [new Uint8Array(8).fill(1), randomBytes(1024), 'éééé']) {
      const statement = await h.manager.attestVramResidency(shard, { nonce });
      expect(verifyAttestation(statement, publicKey, { nonce, allowHostMemory: true }).ok).toBe(
        true,
      );
    }
  });

  it('tampered device memory: attest rejects SEAL_VERIFICATION_FAILED (tree_root) and the manager stops', async () => {
    h = await harness();
    const shard = await h.manager.sealModel(randomShard(MiB), { shardId: 'tampered' });
    h.manager.injectFault(shard, { offset: 4242, xorMask: 0x10 });
    const error = await h.manager.attestVramResidency(shard, { nonce: NONCE }).catch((e) => e);
    const audited = h.auditEvents().filter((e) => e.type === 'seal_verification_failed');
    expect(error).toBeInstanceOf(VramError);
    expect(error).toMatchObject({
      code: 'SEAL_VERIFICATION_FAILED',
      check: 'tree_root',
      shardId: 'tampered',
      fatal: true,
    });
    expect(h.manager.state).toBe('stopped');
    expect(h.manager.stoppedBecause).toMatchObject({
      cause: 'seal_verification_failed',
      check: 'tree_root',
    });
    expect(audited).toMatchObject([
      { shardId: 'tampered', check: 'tree_root', expectedTreeRoot: shard.treeRoot },
    ]);
    expect(narrationOf(h, 'attest')).toEqual([]);
    await expect(h.manager.attestVramResidency(shard, { nonce: NONCE })).rejects.toMatchObject({
      code: 'MANAGER_STOPPED',
    });
  });
});

describe('what a statement holds', () => {
  it('exactly the documented fields, and no key material', async () => {
    const { statement } = await sealed();
    expect(Object.keys(statement).sort()).toEqual(
      [
        'attestedAt',
        'device',
        'format',
        'measuredTreeRoot',
        'nonce',
        'shard',
        'signature',
        'version',
      ].sort(),
    );
    expect(Object.keys(statement.device).sort()).toEqual([
      'computeCapability',
      'memoryType',
      'name',
      'uuid',
    ]);
    expect(Object.keys(statement.shard).sort()).toEqual([...SEALED_SHARD_FIELDS].sort());
    const json = JSON.stringify(statement);
    const utf8 = new TextEncoder();
    const sealKeyBytes = Buffer.from(
      hkdfSha256(
        utf8.encode(TOKEN),
        utf8.encode(HKDF_SALT),
        utf8.encode(KEY_DERIVATION_LABELS.seal),
        32,
      ),
    );
    const jwk = attestationKeys.privateKey.export({ format: 'jwk' });
    const seed = Buffer.from(jwk.d!, 'base64url');
    const forbidden = [
      TOKEN,
      sealKeyBytes.toString('hex'),
      sealKeyBytes.toString('base64'),
      sealKeyBytes.toString('base64url'),
      seed.toString('hex'),
      seed.toString('base64'),
      jwk.d!,
      'PRIVATE KEY',
    ];
    for (const secret of forbidden) expect(json).not.toContain(secret);
    // The key id (a public fingerprint of the seal key) is the only thing about the key in it.
    expect(statement.shard.keyId).toBe(h!.manager.keyId);
    expect(statement.shard.keyId).toMatch(/^[0-9a-f]{16}$/);
  });
});
