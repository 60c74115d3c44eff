import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  deriveKey,
  HKDF_SALT,
  hkdfSha256,
  KEY_DERIVATION_LABELS,
  loadKeyFile,
} from '@vramseal/seal-crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { pseudoRandomBytes } from './helpers.js';

// Every buffer loadKeyFile reads the file into, so the test can check that each was zeroed.
const readBuffers = vi.hoisted(() => [] as Uint8Array[]);
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const spied = ((fd: number, buffer: Uint8Array, ...rest: unknown[]) => {
    readBuffers.push(buffer);
    return (fs.readSync as (...args: unknown[]) => number)(fd, buffer, ...rest);
  }) as typeof fs.readSync;
  return { ...fs, default: { ...fs, readSync: spied }, readSync: spied };
});

const dir = mkdtempSync(join(tmpdir(), 'seal-crypto-key-memory-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyFile(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** Node's shared allocation pool: small Buffers (Buffer.from of a short string or hex) are carved out of it. */
function currentPool(): ArrayBufferLike {
  return Buffer.from('probe').buffer;
}

/** Hex of a view (Buffer.from(bytes) would copy the key into the very pool under test). */
function viewHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function contains(haystack: ArrayBufferLike, needle: Uint8Array): boolean {
  return Buffer.from(haystack as ArrayBuffer).indexOf(needle) !== -1;
}

describe('loadKeyFile leaves no key material behind', () => {
  const cases = [
    ['64 hex characters', (key: Uint8Array) => `${viewHex(key)}\n`],
    ['32 raw bytes', (key: Uint8Array) => key],
  ] as const;

  for (const [form, content] of cases) {
    it(`${form}: not in Node's shared Buffer pool, and the read buffer is zeroed`, () => {
      const key = pseudoRandomBytes(32, form.length * 977);
      const path = keyFile(`${form.length}.key`, content(key));
      const poolBefore = currentPool();
      readBuffers.length = 0;

      const material = loadKeyFile(path);
      loadKeyFile(path, 'seal');
      loadKeyFile(path, 'audit');

      expect(viewHex(material)).toBe(viewHex(key));
      // The returned material is memory of its own, not a view of the pool.
      expect(material.buffer).not.toBe(poolBefore);
      expect(material.byteLength).toBe(material.buffer.byteLength);
      for (const pool of new Set([poolBefore, currentPool()])) {
        expect(contains(pool, key)).toBe(false);
      }
      expect(readBuffers.length).toBeGreaterThan(0);
      for (const buffer of readBuffers) expect(buffer.every((byte) => byte === 0)).toBe(true);
    });
  }
});

describe('deriveKey leaves no key material in the pool', () => {
  it('from a worker token', () => {
    const token = 'wrk-7f3a9c21e4b86d05f1a2c3d4e5f60718';
    const utf8 = new TextEncoder();
    const expected = hkdfSha256(
      utf8.encode(token),
      utf8.encode(HKDF_SALT),
      utf8.encode(KEY_DERIVATION_LABELS.seal),
      32,
    );
    const poolBefore = currentPool();
    deriveKey(token, 'seal');
    for (const pool of new Set([poolBefore, currentPool()])) {
      expect(contains(pool, expected)).toBe(false);
    }
  });
});
