import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeSealPayload, HKDF_SALT, KEY_DERIVATION_LABELS } from '@vramseal/seal-crypto';
import type { SealedShardJSON } from '@vramseal/vram-manager';
import { afterEach } from 'vitest';

/** The built command, as `npm i @vramseal/cli` installs it. */
export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** A worker token good enough for deriveKey (random-looking, over 16 bytes). */
export const TOKEN = 'cli-test-token-7f3a9c1e5b2d8046a1e9';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `vramseal <args>` in a clean environment: no token, no colour variables, unless given.
 * VRAMSEAL_BACKEND is passed through, so the same tests can run on a GPU.
 */
export function run(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Run {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === 'NO_COLOR' || k === 'FORCE_COLOR') continue;
    if (k.startsWith('VRAMSEAL_') && k !== 'VRAMSEAL_BACKEND') continue;
    env[k] = v;
  }
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...env, ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs with the test token in VRAMSEAL_WORKER_TOKEN. */
export function runWithToken(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Run {
  return run(args, { ...options, env: { VRAMSEAL_WORKER_TOKEN: TOKEN, ...options.env } });
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the test. */
export function tmp(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'vramseal-cli-test-'));
  dirs.push(dir);
  return dir;
}

/** A model directory of random weight files with these sizes; returns the files. */
export function makeModel(dir: string, sizes: number[]): string[] {
  mkdirSync(dir, { recursive: true });
  return sizes.map((size, i) => {
    const file = path.join(dir, `weights-${i}.bin`);
    writeFileSync(file, randomBytes(size));
    return file;
  });
}

/** A 32-byte key file (64 hex characters) with this mode; returns its path and its text. */
export function makeKeyFile(dir: string, mode = 0o600): { file: string; hex: string } {
  const hex = randomBytes(32).toString('hex');
  const file = path.join(dir, 'worker.key');
  writeFileSync(file, `${hex}\n`, { mode });
  return { file, hex };
}

/** No stack trace: no "    at " frame lines. */
export function hasStack(text: string): boolean {
  return /^\s+at .+:\d+:\d+\)?$/m.test(text);
}

/**
 * The 32 key bytes deriveKey makes for `purpose`, derived here from the documented HKDF salt and
 * labels with node:crypto alone, so tests can look for them in output without the CLI's code.
 */
export function derivedKeyBytes(secret: string | Uint8Array, purpose: 'seal' | 'audit'): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, KEY_DERIVATION_LABELS[purpose], 32));
}

/** A manifest entry: the shard's sealed fields, its file, and the seal's signature. */
export type ShardJson = SealedShardJSON & { file: string; signature: string };

/** seal-crypto's SealFields of a manifest entry, mapped here independently of the CLI's code. */
export function fieldsOf(shard: ShardJson) {
  return {
    keyId: shard.keyId,
    shardId: shard.shardId,
    device: shard.gpuDevice,
    byteLength: shard.vramBytes,
    digest: Buffer.from(shard.digest, 'hex'),
    treeRoot: Buffer.from(shard.treeRoot, 'hex'),
    leafSize: shard.leafSize,
    sealedAt: shard.sealedAt,
    modelRef: shard.modelRef,
    shardIndex: shard.shardIndex,
    totalShards: shard.totalShards,
  };
}

export interface ManifestJson {
  format: string;
  version: number;
  keyId: string;
  createdAt: string;
  createdBy: string;
  backend: string;
  shards: ShardJson[];
  mac: string;
}

/**
 * The manifest MAC exactly as the README documents its bytes, written here from the README, not
 * from the CLI: HMAC-SHA256(seal key, tag || format || version || keyId || createdAt || createdBy
 * || backend || count || per entry: file || length-prefixed seal payload || signature).
 */
export function manifestMacOf(manifest: ManifestJson, secret: string | Uint8Array = TOKEN): string {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const text = (s: string) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
  const parts = [
    Buffer.from('vramseal/seal-manifest\0', 'ascii'),
    text(manifest.format),
    u16(manifest.version),
    text(manifest.keyId),
    text(manifest.createdAt),
    text(manifest.createdBy),
    text(manifest.backend),
    u32(manifest.shards.length),
  ];
  for (const shard of manifest.shards) {
    const payload = encodeSealPayload(fieldsOf(shard));
    parts.push(
      text(shard.file),
      u32(payload.length),
      Buffer.from(payload),
      Buffer.from(shard.signature, 'hex'),
    );
  }
  return createHmac('sha256', derivedKeyBytes(secret, 'seal'))
    .update(Buffer.concat(parts))
    .digest('hex');
}

/**
 * Puts a FIFO where `file` was. Anything that opens it for reading blocks until a writer comes,
 * which in these tests is never: a command that returns promptly did not open it. Unlike a file
 * mode, this holds for root too.
 */
export function replaceWithFifo(file: string): void {
  rmSync(file, { force: true });
  execFileSync('mkfifo', [file]);
}
