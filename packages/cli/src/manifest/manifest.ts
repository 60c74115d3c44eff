import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  type SealFields,
  type SecretKey,
  signSeal,
  verifySealSignature,
} from '@vramseal/seal-crypto';
import type { SealedShardJSON } from '@vramseal/vram-manager';
import { CliError, codeOf } from '../errors.js';

/** `format` of every manifest `vramseal seal` writes. */
export const MANIFEST_FORMAT = 'vramseal-seal-manifest';
/** Layout version: bump it for any change a version-1 reader would misread. */
export const MANIFEST_VERSION = 1;

/** One sealed file: the seal's fields (a `SealedShard`'s JSON), where the file is, the signature. */
export interface ManifestShard extends SealedShardJSON {
  /** The sealed file, relative to the manifest's folder, with `/` separators. */
  file: string;
  /** HMAC-SHA256 seal signature over seal-crypto's seal payload of the fields: 64 lowercase hex. */
  signature: string;
}

export interface SealManifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  /** When `vramseal seal` wrote it, ISO 8601 UTC. */
  createdAt: string;
  /** The tool that wrote it, e.g. `@vramseal/cli 0.1.0`. */
  createdBy: string;
  /** The backend the shards were sealed on: `cuda` or `mock`. */
  backend: 'cuda' | 'mock';
  shards: ManifestShard[];
}

/** seal-crypto's seal fields of a shard: the same mapping the manager signs with. */
export function sealFieldsOf(shard: SealedShardJSON): SealFields {
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

/** The signature `VramManager` made for this seal (HMAC with the seal key), as hex. */
export function signShard(key: SecretKey, shard: SealedShardJSON): string {
  return Buffer.from(signSeal(key, sealFieldsOf(shard))).toString('hex');
}

/** True when the manifest entry's signature is the seal key's signature of its fields. */
export function signatureValid(key: SecretKey, shard: ManifestShard): boolean {
  return verifySealSignature(key, sealFieldsOf(shard), Buffer.from(shard.signature, 'hex'));
}

const HEX64 = /^[0-9a-f]{64}$/;
const KEY_ID = /^[0-9a-f]{16}$/;
const SHARD_ID = /^[A-Za-z0-9_-]{1,256}$/;
const TOP_KEYS = ['format', 'version', 'createdAt', 'createdBy', 'backend', 'shards'];
const SHARD_KEYS = [
  'shardId',
  'file',
  'vramBytes',
  'digest',
  'treeRoot',
  'leafSize',
  'signature',
  'modelRef',
  'shardIndex',
  'totalShards',
  'keyId',
  'gpuDevice',
  'sealedAt',
];

type Check = (value: unknown) => boolean;
const isUint: Check = (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isString: Check = (v) => typeof v === 'string';
const SHARD_FIELDS: Record<string, [Check, string]> = {
  shardId: [(v) => isString(v) && SHARD_ID.test(v as string), '1-256 of A-Z a-z 0-9 _ -'],
  file: [(v) => isString(v) && (v as string).length > 0, 'a non-empty file path'],
  vramBytes: [isUint, 'a byte count'],
  digest: [(v) => isString(v) && HEX64.test(v as string), '64 lowercase hex characters'],
  treeRoot: [(v) => isString(v) && HEX64.test(v as string), '64 lowercase hex characters'],
  leafSize: [
    (v) => isUint(v) && (v as number) >= 64 && ((v as number) & ((v as number) - 1)) === 0,
    'a power of two, at least 64',
  ],
  signature: [(v) => isString(v) && HEX64.test(v as string), '64 lowercase hex characters'],
  modelRef: [isString, 'a string'],
  shardIndex: [isUint, 'a shard index'],
  totalShards: [(v) => isUint(v) && (v as number) >= 1, 'a shard count of at least 1'],
  keyId: [(v) => isString(v) && KEY_ID.test(v as string), '16 lowercase hex characters'],
  gpuDevice: [isUint, 'a device index'],
  sealedAt: [isUint, 'milliseconds since the epoch'],
};

function bad(source: string, problem: string): CliError {
  return new CliError(
    'BAD_MANIFEST',
    `${source} is not a usable seal manifest: ${problem}; pass a manifest written by \`vramseal seal\`, unedited`,
  );
}

/**
 * Checks every field of a manifest (unknown fields too) and returns it typed. Any problem is a
 * BAD_MANIFEST naming the first field at fault.
 */
export function parseManifest(text: string, source = 'the manifest'): SealManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw bad(source, `it is not JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw bad(source, 'it is not a JSON object');
  }
  const m = value as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT) throw bad(source, `"format" is not "${MANIFEST_FORMAT}"`);
  if (m.version !== MANIFEST_VERSION) {
    throw bad(source, `"version" ${JSON.stringify(m.version)} is not ${MANIFEST_VERSION}`);
  }
  const unknown = Object.keys(m).find((k) => !TOP_KEYS.includes(k));
  if (unknown !== undefined) throw bad(source, `it has an unknown field "${unknown}"`);
  if (typeof m.createdAt !== 'string') throw bad(source, '"createdAt" is missing');
  if (typeof m.createdBy !== 'string') throw bad(source, '"createdBy" is missing');
  if (m.backend !== 'cuda' && m.backend !== 'mock')
    throw bad(source, '"backend" is not cuda or mock');
  if (!Array.isArray(m.shards) || m.shards.length === 0) {
    throw bad(source, '"shards" is not a non-empty list');
  }
  const ids = new Set<string>();
  m.shards.forEach((shard, i) => {
    const where = `shards[${i}]`;
    if (shard === null || typeof shard !== 'object' || Array.isArray(shard)) {
      throw bad(source, `${where} is not an object`);
    }
    const s = shard as Record<string, unknown>;
    const extra = Object.keys(s).find((k) => !SHARD_KEYS.includes(k));
    if (extra !== undefined) throw bad(source, `${where} has an unknown field "${extra}"`);
    for (const [field, [check, expected]] of Object.entries(SHARD_FIELDS)) {
      if (!(field in s)) throw bad(source, `${where}.${field} is missing`);
      if (!check(s[field])) throw bad(source, `${where}.${field} is not ${expected}`);
    }
    if ((s.shardIndex as number) >= (s.totalShards as number)) {
      throw bad(source, `${where}.shardIndex is not below its totalShards`);
    }
    if (ids.has(s.shardId as string)) throw bad(source, `${where}.shardId repeats an earlier one`);
    ids.add(s.shardId as string);
  });
  return m as unknown as SealManifest;
}

/** Reads and checks a manifest file; returns it with the folder its `file` paths start from. */
export function readManifest(file: string): { manifest: SealManifest; dir: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(
      'UNREADABLE_INPUT',
      `cannot read the manifest ${file} (${codeOf(error) ?? (error as Error).message}); check the path and its permissions`,
      { cause: error },
    );
  }
  return {
    manifest: parseManifest(text, `manifest ${file}`),
    dir: path.dirname(path.resolve(file)),
  };
}

/** The path of `file` as a manifest in `manifestDir` records it. */
export function manifestPath(manifestDir: string, file: string): string {
  return path.relative(manifestDir, path.resolve(file)).split(path.sep).join('/');
}

/** Writes the manifest whole or not at all (a temp file renamed over the target). */
export function writeManifest(file: string, manifest: SealManifest): void {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o644, flag: 'wx' });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new CliError(
      'CANNOT_WRITE',
      `cannot write the manifest ${file} (${codeOf(error) ?? (error as Error).message}); choose a writable path with --manifest`,
      { cause: error },
    );
  }
}
