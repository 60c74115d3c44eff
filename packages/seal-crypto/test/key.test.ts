import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format, inspect } from 'node:util';
import {
  deriveKey,
  HKDF_SALT,
  hkdfSha256,
  hmacSha256,
  KEY_DERIVATION_LABELS,
  loadKeyFile,
  SealCryptoError,
  SecretKey,
  sha256,
} from '@vramseal/seal-crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ascii, hex, readVectors, toHex } from './helpers.js';

interface HkdfVector {
  case: number;
  ikm: string;
  salt: string;
  info: string;
  length: number;
  okm: string;
}
const hkdfVectors = readVectors<{ vectors: HkdfVector[] }>('hkdf-sha256.json').vectors;

const TOKEN = 'wrk-7f3a9c21e4b86d05f1a2c3d4e5f60718';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof SealCryptoError ? error.code : `not a SealCryptoError: ${error}`;
  }
  return undefined;
}

describe('hkdfSha256 against RFC 5869 test cases 1-3', () => {
  for (const v of hkdfVectors) {
    it(`test case ${v.case}`, () => {
      expect(toHex(hkdfSha256(hex(v.ikm), hex(v.salt), hex(v.info), v.length))).toBe(v.okm);
    });
  }

  it('refuses lengths outside 1..255*32 and non-byte inputs', () => {
    expect(() => hkdfSha256(ascii('k'), ascii(''), ascii(''), 0)).toThrow(RangeError);
    expect(() => hkdfSha256(ascii('k'), ascii(''), ascii(''), 8161)).toThrow(/length/);
    expect(() => hkdfSha256('k' as unknown as Uint8Array, ascii(''), ascii(''), 32)).toThrow(
      /ikm must be a Uint8Array/,
    );
    expect(() => hkdfSha256(ascii('k'), ascii(''), new Uint8Array(1025), 32)).toThrow(RangeError);
    expect(hkdfSha256(ascii('k'), ascii(''), new Uint8Array(1024), 32)).toHaveLength(32);
  });
});

describe('deriveKey', () => {
  it('is HKDF-SHA256(secret, fixed salt, purpose label) with a 32-byte output', () => {
    for (const purpose of ['seal', 'audit'] as const) {
      const key = deriveKey(TOKEN, purpose);
      const expected = hkdfSha256(
        ascii(TOKEN),
        ascii(HKDF_SALT),
        ascii(KEY_DERIVATION_LABELS[purpose]),
        32,
      );
      // Same key <=> same HMAC output; the id is the first 8 bytes of SHA-256(key).
      expect(toHex(hmacSha256(key, ascii('m')))).toBe(toHex(hmacSha256(expected, ascii('m'))));
      expect(key.id).toBe(toHex(sha256(expected).subarray(0, 8)));
      expect(key.purpose).toBe(purpose);
    }
  });

  it('uses one fixed, distinct label per purpose', () => {
    expect(KEY_DERIVATION_LABELS).toEqual({ seal: 'vramseal/v1/seal', audit: 'vramseal/v1/audit' });
    expect(deriveKey(TOKEN, 'seal').id).not.toBe(deriveKey(TOKEN, 'audit').id);
  });

  it('is deterministic and treats a string as its UTF-8 bytes', () => {
    expect(deriveKey(TOKEN, 'seal').id).toBe(deriveKey(ascii(TOKEN), 'seal').id);
    expect(deriveKey(TOKEN, 'seal').id).not.toBe(deriveKey(`${TOKEN}x`, 'seal').id);
  });

  it.each([
    ['too short (15 bytes)', 'abcdefghijklmno'],
    ['one byte repeated', 'a'.repeat(40)],
    ['a word repeated', 'passwordpassword'],
    ['a short pattern repeated', '0123'.repeat(10)],
    ['fewer than 5 distinct bytes', 'aabbaabbccaabbaaccab'],
  ])('refuses a weak secret: %s', (_why, secret) => {
    expect(codeOf(() => deriveKey(secret, 'seal'))).toBe('WEAK_SECRET');
  });

  it('never puts the secret in the error message', () => {
    const secret = 'zq'.repeat(12);
    try {
      deriveKey(secret, 'seal');
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain(secret);
      expect((error as Error).message).toMatch(/repetitive/);
    }
  });

  it('refuses wrong argument types with a TypeError naming the argument', () => {
    expect(() => deriveKey(42 as unknown as string, 'seal')).toThrow(/secret must be a string/);
    expect(() => deriveKey(TOKEN, 'signing' as 'seal')).toThrow(
      /purpose must be 'seal' or 'audit'/,
    );
  });
});

describe('SecretKey never shows its bytes', () => {
  const key = deriveKey(TOKEN, 'audit');
  const keyHex = toHex(
    hkdfSha256(ascii(TOKEN), ascii(HKDF_SALT), ascii(KEY_DERIVATION_LABELS.audit), 32),
  );
  const keyBase64 = Buffer.from(keyHex, 'hex').toString('base64');

  it.each([
    ['String()', () => String(key)],
    ['template literal', () => `${key}`],
    ['JSON.stringify', () => JSON.stringify({ key })],
    ['util.inspect', () => inspect(key, { showHidden: true, depth: 10 })],
    ['util.inspect of a container', () => inspect({ nested: [key] })],
    [
      'util.inspect without custom inspect',
      () => inspect(key, { customInspect: false, showHidden: true }),
    ],
    ['console-style formatting', () => format('%o %O %s %j', key, key, key, key)],
    ['Object.entries', () => JSON.stringify(Object.entries(key))],
    ['structuredClone', () => inspect(structuredClone(key), { showHidden: true })],
  ])('%s shows only the id', (_how, render) => {
    const text = render();
    expect(text).toContain(key.id);
    expect(text).not.toContain(keyHex);
    expect(text).not.toContain(keyBase64);
    expect(text).not.toMatch(/[0-9a-f]{32}/);
  });

  it('has a 16-hex-char id and cannot be constructed or changed from outside', () => {
    expect(key.id).toMatch(/^[0-9a-f]{16}$/);
    expect(
      () =>
        new (SecretKey as unknown as new (...a: unknown[]) => unknown)(
          Symbol(),
          new Uint8Array(32),
          'seal',
        ),
    ).toThrow(/use deriveKey/);
    expect(Object.isFrozen(key)).toBe(true);
  });
});

describe('loadKeyFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seal-crypto-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const material = hex('8c1f3e5a7b9d2c4e6f8a0b1c3d5e7f9a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e');

  function keyFile(name: string, content: string | Uint8Array, mode = 0o600): string {
    const path = join(dir, name);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  }

  it('reads 64 hex chars with surrounding whitespace, upper or lower case', () => {
    const path = keyFile('hex.key', `  ${toHex(material).toUpperCase()}\n`);
    expect(toHex(loadKeyFile(path))).toBe(toHex(material));
  });

  it('reads 32 raw bytes', () => {
    expect(toHex(loadKeyFile(keyFile('raw.key', material)))).toBe(toHex(material));
  });

  it('with a purpose, returns deriveKey(material, purpose)', () => {
    const key = loadKeyFile(keyFile('purpose.key', toHex(material)), 'seal');
    expect(key).toBeInstanceOf(SecretKey);
    expect(key.id).toBe(deriveKey(material, 'seal').id);
  });

  it.each([0o640, 0o604, 0o644, 0o660])('refuses mode %o with a chmod 600 hint', (mode) => {
    const path = keyFile(`mode-${mode.toString(8)}.key`, toHex(material), mode);
    expect(codeOf(() => loadKeyFile(path))).toBe('KEY_FILE_PERMISSIONS');
    expect(() => loadKeyFile(path)).toThrow(`chmod 600 ${path}`);
  });

  it('accepts mode 0400', () => {
    const path = keyFile('readonly.key', toHex(material), 0o400);
    expect(toHex(loadKeyFile(path))).toBe(toHex(material));
  });

  it('refuses a symlink, even to a good key file', () => {
    const link = join(dir, 'link.key');
    symlinkSync(keyFile('target.key', toHex(material)), link);
    expect(codeOf(() => loadKeyFile(link))).toBe('KEY_FILE_SYMLINK');
  });

  it.each([
    ['too short hex', 'abcd'],
    ['65 hex chars', `${toHex(material)}0`],
    ['non-hex text', 'z'.repeat(64)],
    ['32 hex chars (16 bytes)', toHex(material.subarray(0, 16))],
    ['empty file', ''],
  ])('refuses a malformed file (%s) without echoing it', (_why, content) => {
    const path = keyFile(`bad-${_why.replace(/\W+/g, '-')}.key`, content);
    try {
      loadKeyFile(path);
      expect.unreachable();
    } catch (error) {
      expect((error as SealCryptoError).code).toBe('KEY_FILE_FORMAT');
      if (content.length > 0) expect((error as Error).message).not.toContain(content);
    }
  });

  it('reports a missing file or a directory clearly', () => {
    expect(codeOf(() => loadKeyFile(join(dir, 'missing.key')))).toBe('KEY_FILE_UNREADABLE');
    expect(() => loadKeyFile(join(dir, 'missing.key'))).toThrow(/ENOENT/);
    expect(codeOf(() => loadKeyFile(dir))).toBe('KEY_FILE_FORMAT');
  });

  it('refuses a non-string path with a TypeError', () => {
    expect(() => loadKeyFile(42 as unknown as string)).toThrow(/path must be a string/);
  });
});
