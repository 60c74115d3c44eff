import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CliError, EXIT_CODES, type ExitCode } from '../errors.js';
import { type InputOrigins, inputError, MANAGER_ORIGINS, shownName } from '../input/input-error.js';
import { workerKeys } from '../key/worker-key.js';
import {
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  type ManifestShard,
  manifestFileProblem,
  manifestMac,
  manifestPath,
  signShard,
  type UnsignedManifest,
  writeManifest,
} from '../manifest/manifest.js';
import { planShards, type ShardPlan } from '../model/shard-plan.js';
import type { BackendChoice } from '../session/session.js';
import { formatBytes, formatMs, formatRate, shortHex } from '../terminal/format.js';
import { startProgress } from '../terminal/progress.js';
import { renderTable } from '../terminal/table.js';
import type { Terminal } from '../terminal/terminal.js';
import { auditDocument, auditLine, auditSettings, openCommandSession, TOOL } from './shared.js';

export interface SealCommandOptions {
  backend: BackendChoice;
  device: number | 'auto';
  keyFile?: string;
  auditDir?: string;
  signingKey?: string;
  expectSha256?: string;
  manifest: string;
  modelRef?: string;
  workerId: string;
}

export interface SealedRow extends ManifestShard {
  ms: number;
}

/**
 * `vramseal seal`: seals every file (a directory is a shard set), one after another, on the chosen
 * backend, then writes the manifest `verify` reads. All or nothing: if one file fails, no manifest
 * is written and the error names the file.
 */
export async function sealCommand(
  term: Terminal,
  inputs: string[],
  options: SealCommandOptions,
): Promise<ExitCode> {
  const expected = options.expectSha256?.toLowerCase();
  if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
    throw new CliError(
      'USAGE',
      '--expect-sha256 is not a SHA-256 digest; give the 64 hex characters of the file hash',
    );
  }
  const keys = workerKeys(options.keyFile, term.io.env);
  const audit = auditSettings(options);
  const manifestFile = path.resolve(options.manifest);
  const plans = planShards(inputs, {
    ...(options.modelRef === undefined ? {} : { modelRef: options.modelRef }),
    exclude: [manifestFile],
  });
  const manifestDir = path.dirname(manifestFile);
  const files = plans.map((plan) => manifestPath(manifestDir, plan.file));
  files.forEach((file, i) => {
    if (manifestFileProblem(file) !== undefined) {
      throw new CliError(
        'USAGE',
        `--manifest ${options.manifest} would name ${plans[i]!.label} as ${JSON.stringify(file)}, outside the manifest's folder, and verify reads only files inside it; write the manifest into a folder that holds every file (e.g. --manifest ${path.basename(manifestFile)} in the folder above the model)`,
      );
    }
  });
  if (expected !== undefined && plans.length !== 1) {
    throw new CliError(
      'USAGE',
      `--expect-sha256 is one file's digest, but ${plans.length} files were named; seal that file on its own`,
    );
  }
  const session = await openCommandSession(options, keys, audit, term);
  const rows: SealedRow[] = [];
  try {
    const manager = await session.manager().catch((error) => {
      throw inputError(error, MANAGER_ORIGINS);
    });
    for (const [i, plan] of plans.entries()) {
      const progress = startProgress(term, plan.label, plan.size);
      const started = performance.now();
      try {
        const shard = await manager
          .sealModel(plan.file, {
            shardId: plan.shardId,
            modelRef: plan.modelRef,
            shardIndex: plan.shardIndex,
            totalShards: plan.totalShards,
            device: options.device,
            ...(expected === undefined ? {} : { expectedSha256: expected }),
            onProgress: ({ bytesDone }) => progress.update(bytesDone),
          })
          .catch((error) => {
            throw inputError(error, sealOrigins(plan));
          });
        const json = shard.toJSON();
        rows.push({
          ...json,
          file: files[i]!,
          signature: signShard(keys.seal, json),
          ms: performance.now() - started,
        });
      } finally {
        progress.stop();
      }
    }
  } finally {
    await session.close();
  }

  const unsigned: UnsignedManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    keyId: keys.seal.id,
    createdAt: new Date().toISOString(),
    createdBy: TOOL,
    backend: session.backend.kind,
    shards: rows.map(({ ms: _ms, ...shard }) => shard),
  };
  writeManifest(manifestFile, { ...unsigned, mac: manifestMac(keys.seal, unsigned) });

  const info = session.backend.backendInfo();
  term.document({
    ok: true,
    manifest: manifestFile,
    backend: { kind: info.kind, selectedBecause: info.selectedBecause },
    keyId: keys.seal.id,
    ...auditDocument(audit),
    shards: rows.map((row) => ({ ...row, ms: Number(row.ms.toFixed(3)) })),
  });
  term.lines(sealTable(term, rows));
  term.line();
  term.line(
    `manifest ${options.manifest}: ${rows.length} shard(s), key id ${keys.seal.id} (${keys.source})`,
  );
  term.line(
    `backend  ${info.kind}${info.kind === 'mock' ? ' (host memory standing in for VRAM; `vramseal devices` says why)' : ''}`,
  );
  const auditText = auditLine(audit);
  if (auditText !== undefined) term.line(auditText);
  return EXIT_CODES.ok;
}

/** Where each argument of a seal came from on the command line, for errors about it. */
function sealOrigins(plan: ShardPlan): InputOrigins {
  return {
    ...MANAGER_ORIGINS,
    'options.device': {
      name: '--device',
      fix: '`vramseal devices` lists them',
    },
    'options.modelRef':
      plan.modelRefFrom === '--model-ref'
        ? { name: '--model-ref' }
        : {
            name: `the model ref taken from ${plan.modelRefFrom}`,
            fix: 'rename it, or give a model ref with --model-ref <ref>',
          },
    'options.shardId': {
      name: `the shard id made from the name of ${shownName(plan.label)}`,
      fix: 'rename the file',
    },
    'options.expectedSha256': {
      name: '--expect-sha256',
    },
    source: { name: shownName(plan.label) },
    'source file size': { name: shownName(plan.label), fix: 'remove the empty file' },
  };
}

/** shard, size, device, digest, tree root, time, throughput: one row per sealed file. */
export function sealTable(term: Terminal, rows: readonly SealedRow[]): string[] {
  return renderTable(
    [
      { header: 'shard' },
      { header: 'size', align: 'right' },
      { header: 'device', align: 'right' },
      { header: 'digest (sha256)' },
      { header: 'tree root' },
      { header: 'time', align: 'right' },
      { header: 'throughput', align: 'right' },
    ],
    rows.map((r) => [
      { text: r.shardId, style: 'cyan' },
      formatBytes(r.vramBytes),
      String(r.gpuDevice),
      shortHex(r.digest),
      shortHex(r.treeRoot),
      formatMs(r.ms),
      formatRate(r.vramBytes, r.ms),
    ]),
    term.paint,
  );
}
