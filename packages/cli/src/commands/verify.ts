import { statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SealedShard, VramManager } from '@vramseal/vram-manager';
import { CliError, cannotRead, codeOf, EXIT_CODES, type ExitCode, messageOf } from '../errors.js';
import { type InputOrigins, inputError, MANAGER_ORIGINS, shownName } from '../input/input-error.js';
import { workerKeys } from '../key/worker-key.js';
import {
  type ManifestShard,
  manifestFileProblem,
  manifestMacValid,
  readManifest,
  signatureValid,
} from '../manifest/manifest.js';
import type { BackendChoice, Session } from '../session/session.js';
import { formatMs } from '../terminal/format.js';
import { renderTable } from '../terminal/table.js';
import type { Terminal } from '../terminal/terminal.js';
import { auditDocument, auditLine, auditSettings, openCommandSession } from './shared.js';

export interface VerifyCommandOptions {
  backend: BackendChoice;
  device: number | 'auto';
  keyFile?: string;
  auditDir?: string;
  signingKey?: string;
  deep: boolean;
  workerId: string;
}

/** What failed for a shard: the manifest entry, the file, or the device copy. */
export type ShardCheck = 'signature' | 'size' | 'digest' | 'tree_root' | 'device' | 'shard_set';

export interface ShardResult {
  shardId: string;
  file: string;
  /** `ok`; `mismatch`: the bytes or the entry are not what was sealed; `error`: not checked. */
  status: 'ok' | 'mismatch' | 'error';
  check: ShardCheck | null;
  detail: string | null;
  code: string | null;
  ms: number;
}

/**
 * `vramseal verify`: for every manifest entry, checks its signature with the seal key, then loads
 * the file onto the chosen backend and seals it again with the manifest's digest as the expected
 * SHA-256 (a difference is refused and audited by the manager as an integrity violation), compares
 * the new tree root with the manifest's, and verifies the fresh seal against device memory
 * (`--deep`: the flat digest too). Shard sets are then checked whole (every index once).
 */
export async function verifyCommand(
  term: Terminal,
  manifestFile: string,
  options: VerifyCommandOptions,
): Promise<ExitCode> {
  const { manifest, dir } = readManifest(manifestFile);
  const keys = workerKeys(options.keyFile, term.io.env);
  if (manifest.keyId !== keys.seal.id) {
    throw new CliError(
      'WRONG_KEY',
      `manifest ${manifestFile} was sealed with key ${manifest.keyId}, but ${keys.source} gives key ${keys.seal.id}; pass the key it was sealed with`,
    );
  }
  // First the manifest as a whole: no entry, path or count is trusted before its MAC is.
  if (!manifestMacValid(keys.seal, manifest)) {
    throw new CliError(
      'MANIFEST_EDITED',
      `TAMPERED: manifest ${manifestFile} was edited after sealing (its "mac" is not the seal key's MAC of its contents); no file was checked: find out who changed it, and seal the model again from files you trust`,
      { exitCode: EXIT_CODES.mismatch },
    );
  }
  manifest.shards.forEach((entry, i) => {
    const problem = manifestFileProblem(entry.file);
    if (problem !== undefined) {
      throw new CliError(
        'BAD_MANIFEST',
        `manifest ${manifestFile}: shards[${i}].file ${JSON.stringify(entry.file)} ${problem}, and verify reads only files inside the manifest's folder; seal the model again with the manifest in a folder that holds every file`,
      );
    }
  });
  const audit = auditSettings(options);
  const session = await openCommandSession(options, keys, audit, term);
  const results: ShardResult[] = [];
  const fresh = new Map<string, { shard: SealedShard; manager: VramManager }>();
  try {
    // The first manager is made before any file is read: an unusable --worker-id stops here.
    const first = manifest.shards[0]!;
    await session.manager(first.leafSize).catch((error) => {
      throw inputError(error, verifyOrigins(manifestFile, 0, first));
    });
    for (const [i, entry] of manifest.shards.entries()) {
      const started = performance.now();
      const origins = verifyOrigins(manifestFile, i, entry);
      const result = await verifyShard(session, dir, entry, options, fresh, origins);
      results.push({ ...result, ms: performance.now() - started });
    }
    await verifySets(manifest.shards, results, fresh);
  } finally {
    await session.close();
  }

  const mismatches = results.filter((r) => r.status === 'mismatch').length;
  const errors = results.filter((r) => r.status === 'error').length;
  // A proven mismatch outranks a file that could not be read: tampering was found either way.
  const exitCode =
    mismatches > 0 ? EXIT_CODES.mismatch : errors > 0 ? EXIT_CODES.error : EXIT_CODES.ok;
  const info = session.backend.backendInfo();
  term.document({
    ok: exitCode === EXIT_CODES.ok,
    exitCode,
    manifest: path.resolve(manifestFile),
    backend: { kind: info.kind, selectedBecause: info.selectedBecause },
    deep: options.deep,
    keyId: keys.seal.id,
    ...auditDocument(audit),
    shards: results.map((r) => ({ ...r, ms: Number(r.ms.toFixed(3)) })),
  });
  term.lines(resultTable(term, results));
  term.line();
  const { paint } = term;
  if (exitCode === EXIT_CODES.ok) {
    term.line(
      paint(
        'green',
        `OK: ${results.length} shard(s) match manifest ${manifestFile} (re-sealed on ${info.kind}${options.deep ? ', deep' : ''})`,
      ),
    );
  } else if (exitCode === EXIT_CODES.mismatch) {
    term.line(
      paint(
        ['red', 'bold'],
        `TAMPERED: ${mismatches} of ${results.length} shard(s) do not match manifest ${manifestFile}`,
      ),
    );
  } else {
    term.line(paint('red', `ERROR: ${errors} of ${results.length} shard(s) could not be checked`));
  }
  for (const r of results) {
    if (r.status !== 'ok') term.line(`  ${r.shardId}: ${r.detail}`);
  }
  const auditText = auditLine(audit);
  if (auditText !== undefined) term.line(auditText);
  return exitCode;
}

async function verifyShard(
  session: Session,
  dir: string,
  entry: ManifestShard,
  options: VerifyCommandOptions,
  fresh: Map<string, { shard: SealedShard; manager: VramManager }>,
  origins: InputOrigins,
): Promise<Omit<ShardResult, 'ms'>> {
  const file = path.resolve(dir, entry.file);
  const base = { shardId: entry.shardId, file: entry.file };
  const mismatch = (check: ShardCheck, detail: string, code: string | null = null) => ({
    ...base,
    status: 'mismatch' as const,
    check,
    detail,
    code,
  });
  const failed = (detail: string, code: string | null) => ({
    ...base,
    status: 'error' as const,
    check: null,
    detail,
    code,
  });

  if (!signatureValid(session.options.keys.seal, entry)) {
    return mismatch(
      'signature',
      'the manifest entry does not match its signature: the manifest was edited after sealing',
    );
  }
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return failed(`${entry.file} is not a regular file`, 'UNREADABLE_INPUT');
    size = stat.size;
  } catch (error) {
    return failed(cannotRead(entry.file, error), 'UNREADABLE_INPUT');
  }
  if (size !== entry.vramBytes) {
    return mismatch('size', `${entry.file} has ${size} bytes; ${entry.vramBytes} were sealed`);
  }
  let manager: VramManager;
  let shard: SealedShard;
  try {
    manager = await session.manager(entry.leafSize);
    shard = await manager.sealModel(file, {
      shardId: entry.shardId,
      modelRef: entry.modelRef,
      shardIndex: entry.shardIndex,
      totalShards: entry.totalShards,
      device: options.device,
      expectedSha256: entry.digest,
    });
  } catch (error) {
    const code = codeOf(error) ?? null;
    if (code === 'INTEGRITY_VIOLATION') {
      return mismatch(
        'digest',
        `${entry.file} has another SHA-256 than the one sealed: its bytes changed`,
        code,
      );
    }
    return failed(messageOf(inputError(error, origins)), code);
  }
  fresh.set(entry.shardId, { shard, manager });
  if (shard.treeRoot !== entry.treeRoot || shard.leafSize !== entry.leafSize) {
    return mismatch(
      'tree_root',
      `the tree root of ${entry.file} on the device differs from the one sealed`,
    );
  }
  try {
    await manager.verifySealed(shard, { deep: options.deep });
  } catch (error) {
    const code = codeOf(error) ?? null;
    if (code === 'SEAL_VERIFICATION_FAILED') {
      return mismatch(
        'device',
        `device memory changed after the upload: ${messageOf(error)}`,
        code,
      );
    }
    return failed(messageOf(error), code);
  }
  return { ...base, status: 'ok', check: null, detail: null, code: null };
}

/** Where each argument of a re-seal came from: the manifest's entry, or a flag. */
function verifyOrigins(manifestFile: string, i: number, entry: ManifestShard): InputOrigins {
  const field = (name: string) => ({
    name: `shards[${i}].${name} of manifest ${manifestFile}`,
    fix: 'seal the model again',
  });
  return {
    ...MANAGER_ORIGINS,
    'options.device': {
      name: '--device',
      fix: '`vramseal devices` lists them',
    },
    'options.shardId': field('shardId'),
    'options.modelRef': field('modelRef'),
    'options.shardIndex': field('shardIndex'),
    'options.totalShards': field('totalShards'),
    'options.expectedSha256': field('digest'),
    leafSize: field('leafSize'),
    source: { name: shownName(entry.file) },
  };
}

/**
 * A shard set (one model ref, totalShards > 1) whose listed members all matched is checked whole
 * by the manager: every index 0..n-1 exactly once. A member missing from the manifest fails it.
 */
async function verifySets(
  entries: readonly ManifestShard[],
  results: ShardResult[],
  fresh: Map<string, { shard: SealedShard; manager: VramManager }>,
): Promise<void> {
  const sets = new Map<string, ManifestShard[]>();
  for (const entry of entries) {
    if (entry.totalShards < 2) continue;
    const key = JSON.stringify([entry.modelRef, entry.totalShards]);
    sets.set(key, [...(sets.get(key) ?? []), entry]);
  }
  for (const members of sets.values()) {
    const rows = members.map((m) => results.find((r) => r.shardId === m.shardId)!);
    if (rows.some((r) => r.status !== 'ok')) continue;
    const shards = members.map((m) => fresh.get(m.shardId)!);
    // One manager holds a set; members sealed with different leaf sizes cannot be checked as one.
    if (shards.some((s) => s.manager !== shards[0]!.manager)) continue;
    try {
      await shards[0]!.manager.verifyShardSet(shards.map((s) => s.shard));
    } catch (error) {
      for (const row of rows) {
        row.status = 'mismatch';
        row.check = 'shard_set';
        row.code = codeOf(error) ?? null;
        row.detail = `model ${members[0]!.modelRef} is not a whole shard set: ${messageOf(error)}`;
      }
    }
  }
}

function resultTable(term: Terminal, results: readonly ShardResult[]): string[] {
  return renderTable(
    [
      { header: 'shard' },
      { header: 'file' },
      { header: 'result' },
      { header: 'check' },
      { header: 'time', align: 'right' },
    ],
    results.map((r) => [
      { text: r.shardId, style: 'cyan' },
      r.file,
      r.status === 'ok'
        ? { text: 'ok', style: 'green' }
        : { text: r.status === 'mismatch' ? 'MISMATCH' : 'ERROR', style: 'red' },
      r.check ?? (r.status === 'ok' ? 'signature, digest, tree root' : '-'),
      formatMs(r.ms),
    ]),
    term.paint,
  );
}
